//! Half-precision export: float32 computation converted to float16 or bfloat16 after lowering
//! and optimization, the way the common float16 converters do it.
//!
//! Contract:
//! - Every float32 value becomes the half type, except the values of *kept* nodes: nodes lowered
//!   from a recorded op named in [`HalfPrecision::float32_ops`] (normalizations, softmax and
//!   reductions that lose accuracy in half precision), `Softmax`/`LogSoftmax` nodes whatever op
//!   emitted them (attention), and nodes whose ONNX schema at the export's opset does not take
//!   the half type (bfloat16 `Conv` before opset 22, say). Kept nodes compute in float32; a
//!   `Cast` is placed on each edge that crosses between the two precisions.
//! - float32 initializers read only by kept nodes stay float32; the others are stored in the
//!   half type, converted (round to nearest even) while they stream to the file, so the weights
//!   are still read once and written once.
//! - Graph inputs and outputs stay float32 when [`HalfPrecision::keep_io_float32`] is set (the
//!   default), with a `Cast` after each input and before each output; otherwise they take the
//!   half type. Values of other dtypes (integers, bool, float64) are untouched.
//! - The converted graph is type-checked against the ONNX schemas again; a node ONNX would
//!   reject is an export error naming the recorded op, never a file. Custom-domain nodes, whose
//!   output dtypes tapir cannot know, are refused.

use crate::fast_hash::FastMap as HashMap;
use crate::lower::{InitData, Lowered};
use crate::proto::{attribute_proto::AttributeType, AttributeProto, NodeProto, StringStringEntryProto};
use crate::{ExportError, LocationText};
use tapir_graph::{Attr, DType, LowerError};

/// Converting an export's float32 computation to float16 or bfloat16 (see
/// [`crate::ExportOptions::half_precision`]).
///
/// ```
/// use tapir_onnx::{ExportOptions, HalfPrecision};
/// let options = ExportOptions { half_precision: Some(HalfPrecision::float16()), ..ExportOptions::default() };
/// assert!(options.half_precision.as_ref().is_some_and(|h| h.keep_io_float32));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HalfPrecision {
    /// [`DType::F16`] or [`DType::BF16`].
    pub dtype: DType,
    /// Keep float32 graph inputs and outputs (a `Cast` at each), so callers feed and read the
    /// same tensors as the float32 model. Default: true.
    pub keep_io_float32: bool,
    /// Recorded ops (by name, as in `docs/supported-ops.md`) computed in float32. Default:
    /// [`HalfPrecision::FLOAT32_OPS`].
    pub float32_ops: Vec<String>,
}

impl HalfPrecision {
    /// The ops kept in float32 by default: the normalizations, softmax, and the reductions
    /// whose sums lose accuracy in half precision (the ones tapir has from PyTorch autocast's
    /// float32 list).
    pub const FLOAT32_OPS: &'static [&'static str] = &[
        "batch_norm",
        "group_norm",
        "instance_norm",
        "layer_norm",
        "rms_norm",
        "softmax",
        "log_softmax",
        "logsumexp",
        "norm",
        "var",
        "std",
        "cumsum",
    ];

    /// float16 computation, float32 inputs and outputs, [`HalfPrecision::FLOAT32_OPS`] kept.
    pub fn float16() -> Self {
        Self::with_dtype(DType::F16)
    }

    /// bfloat16 computation, float32 inputs and outputs, [`HalfPrecision::FLOAT32_OPS`] kept.
    pub fn bfloat16() -> Self {
        Self::with_dtype(DType::BF16)
    }

    fn with_dtype(dtype: DType) -> Self {
        HalfPrecision {
            dtype,
            keep_io_float32: true,
            float32_ops: Self::FLOAT32_OPS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// ONNX nodes kept in float32 whichever op emitted them.
const FLOAT32_NODES: &[&str] = &["Softmax", "LogSoftmax"];

/// IEEE binary16 bits of `x`, rounding to nearest even.
pub(crate) fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = mant | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rounded = (m + half - 1 + ((m >> shift) & 1)) >> shift;
        return sign | rounded as u16;
    }
    let half = 0x1000u32;
    let m = mant + half - 1 + ((mant >> 13) & 1);
    let (e, m) = if m & 0x80_0000 != 0 { (e + 1, 0) } else { (e, m >> 13) };
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    sign | ((e as u16) << 10) | m as u16
}

/// bfloat16 bits of `x`, rounding to nearest even.
pub(crate) fn f32_to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

/// Converts little-endian float32 bytes to `to` (F16 or BF16), appending to `out`. `bytes`
/// must hold whole floats.
pub(crate) fn convert_f32_bytes(bytes: &[u8], to: DType, out: &mut Vec<u8>) {
    let convert = if to == DType::BF16 { f32_to_bf16_bits } else { f32_to_f16_bits };
    out.reserve(bytes.len() / 2);
    for c in bytes.chunks_exact(4) {
        let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        out.extend_from_slice(&convert(x).to_le_bytes());
    }
}

/// The output dtypes of `node` given its input dtypes; `Err` when ONNX would reject it.
fn infer(node: &NodeProto, opset: i64, inputs: &[Option<DType>]) -> Result<Vec<Option<DType>>, String> {
    let op = node.op_type();
    if !node.domain().is_empty() && node.domain() != "ai.onnx" {
        return Err(format!(
            "custom-domain node `{}.{op}` has output dtypes tapir cannot know, so half-precision casts cannot be placed around it; export this model in float32",
            node.domain()
        ));
    }
    let attrs: Vec<(&'static str, Attr)> = match (op, int_attr(node, "to")) {
        ("Cast", Some(to)) => vec![("to", Attr::Int(to))],
        _ => vec![],
    };
    crate::validate::check(op, opset, inputs, &attrs, node.output.len())
}

fn int_attr(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name() == name && a.r#type == Some(AttributeType::Int as i32)).and_then(|a| a.i)
}

/// Every value's dtype, walking the nodes in order; `Err((node index, why))` at the first node
/// ONNX would reject.
fn value_types(lowered: &Lowered, opset: i64) -> Result<HashMap<String, DType>, (usize, String)> {
    let mut types: HashMap<String, DType> = HashMap::default();
    for input in &lowered.graph.input {
        let code = input.r#type.as_ref().and_then(|t| t.value.as_ref()).and_then(|v| match v {
            crate::proto::type_proto::Value::TensorType(t) => t.elem_type,
        });
        if let Some(d) = code.and_then(DType::from_onnx_code) {
            types.insert(input.name().to_owned(), d);
        }
    }
    for (header, _) in &lowered.initializers {
        if let Some(d) = header.data_type.and_then(DType::from_onnx_code) {
            types.insert(header.name().to_owned(), d);
        }
    }
    for (k, node) in lowered.graph.node.iter().enumerate() {
        let ins: Vec<Option<DType>> = node.input.iter().map(|n| types.get(n).copied()).collect();
        let outs = infer(node, opset, &ins).map_err(|why| (k, why))?;
        for (name, d) in node.output.iter().zip(outs) {
            if let Some(d) = d {
                types.insert(name.clone(), d);
            }
        }
    }
    Ok(types)
}

/// The error for node `k` of `lowered`: named after the recorded op that emitted it.
fn node_error(lowered: &Lowered, k: usize, opset: i64, half: DType, why: String) -> ExportError {
    let at = lowered.op_nodes.iter().position(|(_, r)| r.contains(&k));
    let op = at.map_or("output", |i| lowered.op_nodes[i].0);
    let location = at.and_then(|i| lowered.op_locations.get(i).copied().flatten());
    ExportError::Lowering {
        source: LowerError::new(op, opset, format!("in {half} precision: {why}")),
        location: LocationText(location),
    }
}

/// Converts `lowered` to `half`'s precision (see the module's contract).
pub(crate) fn convert(lowered: &mut Lowered, half: &HalfPrecision, opset: i64) -> Result<(), ExportError> {
    let h = half.dtype;
    if h != DType::F16 && h != DType::BF16 {
        return Err(ExportError::InvalidOptions {
            reason: format!("half_precision.dtype must be f16 or bf16, given {h}"),
        });
    }
    let types = value_types(lowered, opset).map_err(|(k, why)| node_error(lowered, k, opset, h, why))?;
    let is_f32 = |name: &str| types.get(name) == Some(&DType::F32);

    // Which nodes compute in float32.
    let mut kept = vec![false; lowered.graph.node.len()];
    for (op, range) in &lowered.op_nodes {
        if half.float32_ops.iter().any(|o| o == op) {
            kept[range.clone()].fill(true);
        }
    }
    for (k, node) in lowered.graph.node.iter().enumerate() {
        if FLOAT32_NODES.contains(&node.op_type()) {
            kept[k] = true;
        }
        // A node whose schema does not take the half type where it takes float32 now.
        if !kept[k] {
            let ins: Vec<Option<DType>> =
                node.input.iter().map(|n| types.get(n).copied().map(|d| if d == DType::F32 { h } else { d })).collect();
            if infer(node, opset, &ins).is_err() {
                kept[k] = true;
            }
        }
    }
    // The dtype input `i` of node `k` must have after conversion.
    let wanted = |k: usize, i: usize, name: &str| -> Option<DType> {
        if !is_f32(name) {
            return None;
        }
        if kept[k] {
            return Some(DType::F32);
        }
        let node = &lowered.graph.node[k];
        let fixed = crate::validate::schema(node.op_type(), opset)
            .and_then(|s| s.inputs.get(i).or_else(|| s.inputs.last().filter(|s| s.variadic)))
            .is_some_and(|slot| slot.param == 255);
        Some(if fixed { DType::F32 } else { h })
    };
    let wants: Vec<Vec<Option<DType>>> = lowered
        .graph
        .node
        .iter()
        .enumerate()
        .map(|(k, node)| node.input.iter().enumerate().map(|(i, name)| wanted(k, i, name)).collect())
        .collect();

    // New dtypes of float32 values: graph inputs, initializers, node outputs.
    let mut now: HashMap<String, DType> = HashMap::default();
    for input in &mut lowered.graph.input {
        if is_f32(input.name()) {
            let d = if half.keep_io_float32 { DType::F32 } else { h };
            set_elem_type(input, d);
            now.insert(input.name().to_owned(), d);
        }
    }
    let mut init_half: HashMap<String, bool> = HashMap::default();
    for (header, _) in &lowered.initializers {
        if header.data_type == Some(DType::F32.onnx_code()) {
            init_half.insert(header.name().to_owned(), false);
        }
    }
    for (node, wants) in lowered.graph.node.iter().zip(&wants) {
        for (name, want) in node.input.iter().zip(wants) {
            if let Some(slot) = init_half.get_mut(name.as_str()) {
                *slot |= *want == Some(h);
            }
        }
    }
    for (header, data) in &mut lowered.initializers {
        if init_half.get(header.name()) != Some(&true) {
            if init_half.contains_key(header.name()) {
                now.insert(header.name().to_owned(), DType::F32);
            }
            continue;
        }
        header.data_type = Some(h.onnx_code());
        *data = match std::mem::replace(data, InitData::Bytes(vec![])) {
            InitData::Bytes(b) => {
                let mut out = Vec::with_capacity(b.len() / 2);
                convert_f32_bytes(&b, h, &mut out);
                InitData::Bytes(out)
            }
            converted @ InitData::Converted { .. } => converted,
            other => InitData::Converted { data: Box::new(other), to: h },
        };
        now.insert(header.name().to_owned(), h);
    }
    for (k, node) in lowered.graph.node.iter().enumerate() {
        for name in &node.output {
            if is_f32(name) {
                now.insert(name.clone(), if kept[k] { DType::F32 } else { h });
            }
        }
    }

    // Graph outputs: the dtype each must have, and the internal name of those that need a cast.
    let out_want = if half.keep_io_float32 { DType::F32 } else { h };
    let mut renamed: HashMap<String, String> = HashMap::default();
    for output in &mut lowered.graph.output {
        if !is_f32(output.name()) {
            continue;
        }
        if now.get(output.name()) != Some(&out_want) {
            renamed.insert(output.name().to_owned(), format!("{}.{}", output.name(), now[output.name()]));
        }
        set_elem_type(output, out_want);
    }

    // Rebuild the node list with the casts; each op's node range grows with its casts.
    let old_nodes = std::mem::take(&mut lowered.graph.node);
    let mut nodes = Vec::with_capacity(old_nodes.len() + 16);
    let mut starts = Vec::with_capacity(old_nodes.len() + 1);
    let mut casts: HashMap<(String, DType), String> = HashMap::default();
    for (k, mut node) in old_nodes.into_iter().enumerate() {
        starts.push(nodes.len());
        for (name, want) in node.input.iter_mut().zip(&wants[k]) {
            let Some(want) = *want else { continue };
            // The value's dtype now, by its original name (a graph output read inside the graph
            // is renamed to its half-precision internal name below).
            let current = now.get(name.as_str()).copied().unwrap_or(DType::F32);
            if let Some(r) = renamed.get(name.as_str()) {
                *name = r.clone();
            }
            if current != want {
                let key = (name.clone(), want);
                let cast = match casts.get(&key) {
                    Some(c) => c.clone(),
                    None => {
                        let c = format!("{name}.to_{want}");
                        nodes.push(cast_node(name, &c, want));
                        casts.insert(key, c.clone());
                        c
                    }
                };
                *name = cast;
            }
        }
        if !kept[k] && node.op_type() == "Cast" {
            for a in &mut node.attribute {
                if a.name() == "to" && a.i == Some(DType::F32.onnx_code() as i64) {
                    a.i = Some(h.onnx_code() as i64);
                }
            }
        }
        for name in &mut node.output {
            if let Some(r) = renamed.get(name.as_str()) {
                *name = r.clone();
            }
        }
        nodes.push(node);
    }
    starts.push(nodes.len());
    for (_, range) in &mut lowered.op_nodes {
        *range = starts[range.start]..starts[range.end];
    }
    for output in &lowered.graph.output {
        if let Some(internal) = renamed.get(output.name()) {
            nodes.push(cast_node(internal, output.name(), out_want));
        }
    }
    lowered.graph.node = nodes;
    lowered.model.metadata_props.push(StringStringEntryProto {
        key: Some("tapir.half_precision".to_owned()),
        value: Some(format!(
            "{h}; inputs and outputs {}; float32 kept for: {}",
            if half.keep_io_float32 { "float32" } else { "converted" },
            half.float32_ops.join(", ")
        )),
    });
    lowered.model.metadata_props.sort_by(|a, b| a.key.cmp(&b.key));

    // The converted graph must type-check as a whole, outputs included.
    let types = value_types(lowered, opset).map_err(|(k, why)| node_error(lowered, k, opset, h, why))?;
    for output in &lowered.graph.output {
        let declared = elem_type(output);
        let computed = types.get(output.name()).copied();
        if declared.is_some() && computed.is_some() && declared != computed {
            let why = format!("output `{}` is {computed:?}, declared {declared:?}", output.name());
            return Err(node_error(lowered, usize::MAX, opset, h, why));
        }
    }
    Ok(())
}

fn cast_node(input: &str, output: &str, to: DType) -> NodeProto {
    NodeProto {
        input: vec![input.to_owned()],
        output: vec![output.to_owned()],
        name: Some(format!("{output}/Cast")),
        op_type: Some("Cast".to_owned()),
        attribute: vec![AttributeProto {
            name: Some("to".to_owned()),
            r#type: Some(AttributeType::Int as i32),
            i: Some(to.onnx_code() as i64),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn tensor_type(v: &mut crate::proto::ValueInfoProto) -> Option<&mut crate::proto::type_proto::Tensor> {
    v.r#type.as_mut().and_then(|t| t.value.as_mut()).map(|v| match v {
        crate::proto::type_proto::Value::TensorType(t) => t,
    })
}

fn set_elem_type(v: &mut crate::proto::ValueInfoProto, d: DType) {
    if let Some(t) = tensor_type(v) {
        t.elem_type = Some(d.onnx_code());
    }
}

fn elem_type(v: &crate::proto::ValueInfoProto) -> Option<DType> {
    v.r#type.as_ref().and_then(|t| t.value.as_ref()).and_then(|v| match v {
        crate::proto::type_proto::Value::TensorType(t) => t.elem_type.and_then(DType::from_onnx_code),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_conversions() {
        assert_eq!(f32_to_f16_bits(1.0), 0x3c00);
        assert_eq!(f32_to_f16_bits(-2.0), 0xc000);
        assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
        assert_eq!(f32_to_f16_bits(1e9), 0x7c00);
        assert_eq!(f32_to_f16_bits(6e-8), 0x0001);
        assert_eq!(f32_to_bf16_bits(1.0), 0x3f80);
        assert_eq!(f32_to_bf16_bits(-0.5), 0xbf00);
        let mut out = vec![];
        convert_f32_bytes(&[1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat(), DType::F16, &mut out);
        assert_eq!(out, [0x00, 0x3c, 0x00, 0x40]);
    }
}
