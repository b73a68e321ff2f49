//! The lowering context: walks the graph in recording order and asks each op to emit its ONNX
//! nodes through [`Emit`].

use crate::fast_hash::FastMap as HashMap;
use crate::proto::{
    tensor_shape_proto::{dimension, Dimension},
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::{ir_version_for_opset, ExportError, ExportOptions, LocationText, MAX_OPSET, MIN_OPSET};
use smallvec::SmallVec;
use std::sync::Arc;
use tapir_graph::{
    Attr, ConstData, DType, Emit, Graph, LowerError, NodeKind, Outputs, SourceLocation, Sym, TensorMeta, ValueRef,
};

/// Bytes of an initializer: borrowed from a captured tensor, owned (literals, folded values),
/// or computed from another initializer's while they stream (so a weight is never held whole).
#[derive(Debug, Clone)]
pub enum InitData {
    Tensor(Arc<dyn ConstData>),
    Bytes(Vec<u8>),
    /// Float32 `data` written as `to` (float16 or bfloat16).
    Converted {
        data: Box<InitData>,
        to: DType,
    },
    /// Float32 (or float64, `wide`) `data` with each element of row `r` (`row` elements per
    /// row) multiplied by `factors[r]`: a batch norm folded into its conv's weight.
    Scaled {
        data: Box<InitData>,
        factors: Arc<[f64]>,
        row: usize,
        wide: bool,
    },
}

impl InitData {
    /// Bytes this initializer writes.
    pub fn byte_len(&self) -> usize {
        match self {
            InitData::Tensor(c) => c.meta().byte_len(),
            InitData::Bytes(b) => b.len(),
            InitData::Converted { data, to } => data.byte_len() / DType::F32.size_bytes() * to.size_bytes(),
            InitData::Scaled { data, .. } => data.byte_len(),
        }
    }

    /// Passes the bytes to `sink`, in pieces, as they are read or computed.
    pub fn write(&self, sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        match self {
            InitData::Tensor(t) => t.write_bytes(sink),
            InitData::Bytes(b) => sink(b),
            InitData::Converted { data, to } => {
                let mut out = Vec::new();
                by_elements(data, 4, &mut |whole| {
                    out.clear();
                    crate::half::convert_f32_bytes(whole, *to, &mut out);
                    sink(&out)
                })
            }
            InitData::Scaled { data, factors, row, wide } => {
                let (size, row) = (if *wide { 8 } else { 4 }, (*row).max(1));
                let mut at = 0usize;
                let mut out = Vec::new();
                by_elements(data, size, &mut |whole| {
                    out.clear();
                    for x in whole.chunks_exact(size) {
                        let f = factors.get(at / row).copied().unwrap_or(1.0);
                        if *wide {
                            let v = f64::from_le_bytes(x.try_into().unwrap_or_default());
                            out.extend_from_slice(&(v * f).to_le_bytes());
                        } else {
                            let v = f32::from_le_bytes(x.try_into().unwrap_or_default()) as f64;
                            out.extend_from_slice(&((v * f) as f32).to_le_bytes());
                        }
                        at += 1;
                    }
                    sink(&out)
                })
            }
        }
    }
}

/// Streams `data` to `f` in whole elements of `size` bytes (an element split between two
/// pieces waits for the next); an error when the data ends mid-element.
fn by_elements(data: &InitData, size: usize, f: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut carry: Vec<u8> = Vec::with_capacity(size);
    data.write(&mut |mut chunk| {
        if !carry.is_empty() {
            let take = (size - carry.len()).min(chunk.len());
            carry.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if carry.len() == size {
                f(&carry)?;
                carry.clear();
            }
        }
        let whole = chunk.len() / size * size;
        if whole > 0 {
            f(&chunk[..whole])?;
        }
        carry.extend_from_slice(&chunk[whole..]);
        Ok(())
    })?;
    if carry.is_empty() {
        Ok(())
    } else {
        Err(std::io::Error::other("the data ends mid-element"))
    }
}

/// A lowered model whose initializers still point at their data: [`crate::write`] streams it.
#[derive(Debug)]
pub struct Lowered {
    /// The model's own fields; its `graph` is `None` (the graph is [`Lowered::graph`]).
    pub model: ModelProto,
    /// The graph, with initializers listed in [`Lowered::initializers`] instead of inside it.
    pub graph: GraphProto,
    /// Initializer headers (name, dtype, dims; no data) and where their bytes come from.
    pub initializers: Vec<(TensorProto, InitData)>,
    /// For each recorded op, in order: its name and the range of `graph.node` it lowered to.
    pub op_nodes: Vec<(&'static str, std::ops::Range<usize>)>,
    /// Where each recorded op of [`Lowered::op_nodes`] was recorded.
    pub op_locations: Vec<Option<SourceLocation>>,
}

impl Lowered {
    /// Total bytes of initializer data.
    pub fn initializer_bytes(&self) -> usize {
        self.initializers.iter().map(|(_, d)| d.byte_len()).sum()
    }
}

/// A graph input's or output's type: observed sizes, with dynamic dimensions as `dim_param`
/// (the symbol's name, or the expression of symbols: `batch*seq`). A size that depends on an
/// op's runtime result rather than the symbols is left unnamed.
fn value_info(name: &str, meta: &TensorMeta, graph: &Graph, v: ValueRef) -> ValueInfoProto {
    let sym = graph.sym_shape(v);
    let dims = meta
        .shape
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let value = match sym.and_then(|s| graph.syms().expr(s[k])) {
                None => Some(dimension::Value::DimValue(*d)),
                Some(p) => {
                    let mut atoms = vec![];
                    p.atoms(&mut atoms);
                    if atoms.iter().all(|a| !matches!(a, tapir_graph::sym::Atom::Dim { .. })) {
                        Some(dimension::Value::DimParam(graph.syms().text(p)))
                    } else {
                        None
                    }
                }
            };
            Dimension { value, denotation: None }
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_owned()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(meta.dtype.onnx_code()),
                shape: Some(TensorShapeProto { dim: dims }),
            })),
            denotation: None,
        }),
        doc_string: None,
        metadata_props: vec![],
    }
}

fn tensor_header(name: &str, meta: &TensorMeta) -> TensorProto {
    TensorProto {
        dims: meta.shape.to_vec(),
        data_type: Some(meta.dtype.onnx_code()),
        name: Some(name.to_owned()),
        ..Default::default()
    }
}

fn attribute(name: &str, value: Attr) -> AttributeProto {
    use crate::proto::attribute_proto::AttributeType as T;
    let mut a = AttributeProto { name: Some(name.to_owned()), ..Default::default() };
    match value {
        Attr::Int(i) => {
            a.i = Some(i);
            a.set_type(T::Int);
        }
        Attr::Float(f) => {
            a.f = Some(f);
            a.set_type(T::Float);
        }
        Attr::Ints(v) => {
            a.ints = v;
            a.set_type(T::Ints);
        }
        Attr::Floats(v) => {
            a.floats = v;
            a.set_type(T::Floats);
        }
        Attr::String(s) => {
            a.s = Some(s.into_bytes());
            a.set_type(T::String);
        }
    }
    a
}

/// Literal bytes of `value` as a scalar of `dtype` (little-endian).
fn scalar_bytes(dtype: DType, value: f64) -> Vec<u8> {
    match dtype {
        DType::Bool => vec![(value != 0.0) as u8],
        DType::U8 => vec![value as u8],
        DType::I8 => (value as i8).to_le_bytes().to_vec(),
        DType::I16 => (value as i16).to_le_bytes().to_vec(),
        DType::I32 => (value as i32).to_le_bytes().to_vec(),
        DType::I64 => (value as i64).to_le_bytes().to_vec(),
        DType::F16 => crate::half::f32_to_f16_bits(value as f32).to_le_bytes().to_vec(),
        DType::BF16 => crate::half::f32_to_bf16_bits(value as f32).to_le_bytes().to_vec(),
        DType::F32 => (value as f32).to_le_bytes().to_vec(),
        DType::F64 => value.to_le_bytes().to_vec(),
    }
}

/// The graph symbol of each recorded value lowered so far, by node index and output (a dense
/// table: node indices are small and every node is lowered once).
#[derive(Default)]
struct ValueSyms(Vec<SmallVec<[Option<Sym>; 1]>>);

impl ValueSyms {
    fn get(&self, v: &ValueRef) -> Option<Sym> {
        self.0.get(v.node.index())?.get(v.output as usize).copied().flatten()
    }

    fn insert(&mut self, v: ValueRef, s: Sym) {
        let i = v.node.index();
        if self.0.len() <= i {
            self.0.resize_with(i + 1, SmallVec::new);
        }
        let outs = &mut self.0[i];
        let k = v.output as usize;
        if outs.len() <= k {
            outs.resize(k + 1, None);
        }
        outs[k] = Some(s);
    }
}

struct Cx<'g> {
    graph: &'g Graph,
    opset: i64,
    /// The graph value of each recorded value lowered so far.
    values: ValueSyms,
    /// The recorded values read and written by the op being lowered.
    cur_in_values: Vec<ValueRef>,
    cur_out_values: Vec<ValueRef>,
    /// Computed sizes (`[1]` int64 tensors) by expression, and `Shape` of values.
    size_cache: HashMap<tapir_graph::sym::Poly, Sym>,
    shape_cache: HashMap<ValueRef, Sym>,
    names: Vec<String>,
    /// Dtype of each symbol, where known (inputs, initializers, and node outputs the schemas
    /// determine).
    dtypes: Vec<Option<DType>>,
    /// The first node the op being lowered emitted that ONNX would reject.
    invalid: Option<String>,
    nodes: Vec<NodeProto>,
    initializers: Vec<(TensorProto, InitData)>,
    const_i64_cache: HashMap<Vec<i64>, Sym>,
    /// 0-d literals by dtype and little-endian bytes.
    scalar_cache: HashMap<(DType, [u8; 8]), Sym>,
    /// Symbols emitted by the op currently being lowered: sym -> (node index, output index).
    produced: HashMap<Sym, (usize, usize)>,
    cur_inputs: Vec<Sym>,
    cur_in_meta: Vec<&'g TensorMeta>,
    cur_out_meta: &'g [TensorMeta],
    cur_prefix: String,
    /// Node-name stem for the op being lowered: its module scope, or its value name.
    cur_node_stem: String,
    /// Uses of each `<stem>/<OpType>` node name: global for module scopes (many ops share one),
    /// per op otherwise (the stem is the op's own `<op>_<n>`, unique).
    node_names: HashMap<String, usize>,
    op_node_names: SmallVec<[(String, usize); 4]>,
    cur_scoped: bool,
    cur_doc: Option<String>,
    temp_counter: usize,
    /// Operator sets other than the default one that emitted nodes use, with their versions.
    domains: std::collections::BTreeMap<String, i64>,
}

impl Cx<'_> {
    fn sym(&mut self, name: String) -> Sym {
        self.names.push(name);
        self.dtypes.push(None);
        Sym(self.names.len() as u32 - 1)
    }

    fn typed_sym(&mut self, name: String, dtype: DType) -> Sym {
        let s = self.sym(name);
        self.dtypes[s.0 as usize] = Some(dtype);
        s
    }

    /// `<stem>/<OpType>`, with `_<k>` appended from the second use on, so names are unique.
    fn node_name(&mut self, op_type: &str) -> String {
        let base = format!("{}/{}", self.cur_node_stem, op_type);
        let count = if self.cur_scoped {
            self.node_names.entry(base.clone()).or_insert(0)
        } else {
            let i = match self.op_node_names.iter().position(|(b, _)| *b == base) {
                Some(i) => i,
                None => {
                    self.op_node_names.push((base.clone(), 0));
                    self.op_node_names.len() - 1
                }
            };
            &mut self.op_node_names[i].1
        };
        *count += 1;
        if *count == 1 {
            base
        } else {
            format!("{base}_{}", *count - 1)
        }
    }

    fn name(&self, s: Sym) -> &str {
        &self.names[s.0 as usize]
    }

    /// Appends a node whose outputs have `out_types` (`None`: unknown).
    fn push_node(
        &mut self,
        domain: Option<String>,
        op_type: &str,
        inputs: &[Sym],
        attrs: Vec<(&'static str, Attr)>,
        out_types: Vec<Option<DType>>,
    ) -> Outputs {
        let index = self.nodes.len();
        let mut outputs = Outputs::new();
        let mut out_names = Vec::with_capacity(out_types.len());
        for (k, dtype) in out_types.into_iter().enumerate() {
            self.temp_counter += 1;
            let name = format!("{}/{}_{}", self.cur_prefix, op_type, self.temp_counter);
            out_names.push(name.clone());
            let s = self.sym(name);
            self.dtypes[s.0 as usize] = dtype;
            self.produced.insert(s, (index, k));
            outputs.push(s);
        }
        let node = NodeProto {
            input: inputs.iter().map(|s| self.name(*s).to_owned()).collect(),
            output: out_names,
            name: Some(self.node_name(op_type)),
            op_type: Some(op_type.to_owned()),
            domain,
            overload: None,
            attribute: attrs.into_iter().map(|(n, v)| attribute(n, v)).collect(),
            doc_string: self.cur_doc.clone(),
            metadata_props: vec![],
        };
        self.nodes.push(node);
        outputs
    }

    /// A 0-d initializer holding `bytes`: one per distinct dtype and value in the model, named
    /// after the op that first needs it (each call still takes a temporary number, so the names
    /// of an op's other values do not depend on what earlier ops emitted).
    fn scalar_initializer(&mut self, dtype: DType, bytes: Vec<u8>) -> Sym {
        self.temp_counter += 1;
        let mut key = [0u8; 8];
        key[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
        if let Some(s) = self.scalar_cache.get(&(dtype, key)) {
            return *s;
        }
        let name = format!("{}/scalar_{}", self.cur_prefix, self.temp_counter);
        let s = self.add_initializer(name, &TensorMeta::new(dtype, &[]), InitData::Bytes(bytes));
        self.scalar_cache.insert((dtype, key), s);
        s
    }

    fn add_initializer(&mut self, name: String, header_meta: &TensorMeta, data: InitData) -> Sym {
        self.initializers.push((tensor_header(&name, header_meta), data));
        self.typed_sym(name, header_meta.dtype)
    }

    /// Size `axis` of recorded value `v` as a `[1]` int64 tensor.
    fn runtime_dim(&mut self, v: ValueRef, axis: i64) -> Sym {
        let shape = match self.shape_cache.get(&v) {
            Some(s) => *s,
            None => {
                // A size read at run time from a value the export does not compute (the trace
                // pruned it: no output needs its data) cannot be computed: an export error.
                let Some(x) = self.values.get(&v) else {
                    self.invalid.get_or_insert_with(|| {
                        "a size it uses was read from a value no output depends on; compute the size from a value the model uses".to_owned()
                    });
                    return self.const_i64s(&[0]);
                };
                let s = self.node("Shape", &[x], vec![]);
                self.shape_cache.insert(v, s);
                s
            }
        };
        let index = self.const_i64s(&[axis]);
        self.node("Gather", &[shape, index], vec![("axis", Attr::Int(0))])
    }

    /// The size `p` as a `[1]` int64 tensor computed from the inputs' shapes.
    fn size_of(&mut self, p: &tapir_graph::sym::Poly) -> Sym {
        use tapir_graph::sym::Atom;
        if let Some(s) = self.size_cache.get(p) {
            return *s;
        }
        let s = match p.as_constant() {
            Some(c) => self.const_i64s(&[c]),
            None => {
                let mut positive: Option<Sym> = None;
                let mut negative: Option<Sym> = None;
                for (monomial, coeff) in p.terms() {
                    let mut term: Option<Sym> = None;
                    for atom in monomial {
                        let a = match atom {
                            Atom::Sym(i) => {
                                let decl = &self.graph.syms().dims[*i as usize];
                                let input = self.graph.inputs()[decl.input];
                                self.runtime_dim(ValueRef { node: input, output: 0 }, decl.axis as i64)
                            }
                            Atom::Dim { node, output, axis } => {
                                let v = ValueRef { node: tapir_graph::NodeIndex::new(*node as usize), output: *output };
                                self.runtime_dim(v, *axis as i64)
                            }
                            Atom::Div(x, y) | Atom::Mod(x, y) => {
                                let (x, y) = (self.size_of(x), self.size_of(y));
                                let op = if matches!(atom, Atom::Div(..)) { "Div" } else { "Mod" };
                                self.node(op, &[x, y], vec![])
                            }
                        };
                        term = Some(match term {
                            None => a,
                            Some(t) => self.node("Mul", &[t, a], vec![]),
                        });
                    }
                    let magnitude = coeff.unsigned_abs() as i64;
                    let term = match term {
                        None => self.const_i64s(&[magnitude]),
                        Some(t) if magnitude == 1 => t,
                        Some(t) => {
                            let k = self.const_i64s(&[magnitude]);
                            self.node("Mul", &[t, k], vec![])
                        }
                    };
                    let acc = if coeff < 0 { &mut negative } else { &mut positive };
                    *acc = Some(match *acc {
                        None => term,
                        Some(a) => self.node("Add", &[a, term], vec![]),
                    });
                }
                match (positive, negative) {
                    (Some(a), Some(b)) => self.node("Sub", &[a, b], vec![]),
                    (Some(a), None) => a,
                    (None, Some(b)) => {
                        let zero = self.const_i64s(&[0]);
                        self.node("Sub", &[zero, b], vec![])
                    }
                    (None, None) => self.const_i64s(&[0]),
                }
            }
        };
        self.size_cache.insert(p.clone(), s);
        s
    }
}

impl Emit for Cx<'_> {
    fn opset(&self) -> i64 {
        self.opset
    }
    fn num_inputs(&self) -> usize {
        self.cur_inputs.len()
    }
    fn input(&self, i: usize) -> Sym {
        self.cur_inputs[i]
    }
    fn input_meta(&self, i: usize) -> &TensorMeta {
        self.cur_in_meta[i]
    }
    fn num_outputs(&self) -> usize {
        self.cur_out_meta.len()
    }
    fn output_meta(&self, i: usize) -> &TensorMeta {
        &self.cur_out_meta[i]
    }
    fn node_n(&mut self, op_type: &str, inputs: &[Sym], attrs: Vec<(&'static str, Attr)>, n_outputs: usize) -> Outputs {
        let in_types: SmallVec<[Option<DType>; 4]> = inputs.iter().map(|s| self.dtypes[s.0 as usize]).collect();
        let out_types = match crate::validate::check(op_type, self.opset, &in_types, &attrs, n_outputs) {
            Ok(types) => types,
            Err(why) => {
                self.invalid.get_or_insert(why);
                vec![None; n_outputs]
            }
        };
        self.push_node(None, op_type, inputs, attrs, out_types)
    }
    fn domain_node(
        &mut self,
        domain: &str,
        version: i64,
        op_type: &str,
        inputs: &[Sym],
        attrs: Vec<(&'static str, Attr)>,
        n_outputs: usize,
    ) -> Outputs {
        if domain.is_empty() || domain == "ai.onnx" {
            self.invalid
                .get_or_insert(format!("`{op_type}`: the default domain is written with `node`, not `domain_node`"));
        }
        match self.domains.get(domain) {
            Some(v) if *v != version => {
                let why = format!("operator set `{domain}` imported at versions {v} and {version}");
                self.invalid.get_or_insert(why);
            }
            _ => {
                self.domains.insert(domain.to_owned(), version);
            }
        }
        self.push_node(Some(domain.to_owned()), op_type, inputs, attrs, vec![None; n_outputs])
    }
    fn const_i64s(&mut self, values: &[i64]) -> Sym {
        if let Some(s) = self.const_i64_cache.get(values) {
            return *s;
        }
        let name = format!("const_i64_{}", self.const_i64_cache.len());
        let meta = TensorMeta::new(DType::I64, &[values.len() as i64]);
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let s = self.add_initializer(name, &meta, InitData::Bytes(bytes));
        self.const_i64_cache.insert(values.to_vec(), s);
        s
    }
    fn const_scalar(&mut self, dtype: DType, value: f64) -> Sym {
        self.scalar_initializer(dtype, scalar_bytes(dtype, value))
    }
    fn const_scalar_i64(&mut self, dtype: DType, value: i64) -> Sym {
        if dtype.is_float() {
            return self.const_scalar(dtype, value as f64);
        }
        let bytes = match dtype {
            DType::Bool => vec![(value != 0) as u8],
            DType::U8 => vec![value as u8],
            DType::I8 => (value as i8).to_le_bytes().to_vec(),
            DType::I16 => (value as i16).to_le_bytes().to_vec(),
            DType::I32 => (value as i32).to_le_bytes().to_vec(),
            _ => value.to_le_bytes().to_vec(),
        };
        self.scalar_initializer(dtype, bytes)
    }
    fn absent(&self) -> Sym {
        Sym(0)
    }
    fn input_dims(&self, i: usize) -> tapir_graph::SymDims {
        self.graph.dims(self.cur_in_values[i])
    }
    fn output_dims(&self, i: usize) -> tapir_graph::SymDims {
        self.graph.dims(self.cur_out_values[i])
    }
    fn dims_tensor(&mut self, dims: &[tapir_graph::SymInt]) -> Sym {
        if !self.graph.is_dynamic() {
            let values: SmallVec<[i64; 4]> = dims.iter().map(|d| d.hint()).collect();
            return self.const_i64s(&values);
        }
        // Sizes a lowering computed (`n - 1`) live in the active table, a copy of the graph's
        // installed for the lowering; the graph's own sizes are in both.
        let exprs: Vec<Option<tapir_graph::sym::Poly>> = dims
            .iter()
            .map(|d| {
                tapir_graph::sym::with_active(|t| t.expr(*d).cloned())
                    .unwrap_or_else(|| self.graph.syms().expr(*d).cloned())
            })
            .collect();
        if exprs.iter().all(Option::is_none) {
            let values: SmallVec<[i64; 4]> = dims.iter().map(|d| d.hint()).collect();
            return self.const_i64s(&values);
        }
        // Runs of static sizes stay one constant; each dynamic size is computed.
        let mut parts: Vec<Sym> = vec![];
        let mut run: Vec<i64> = vec![];
        for (d, p) in dims.iter().zip(&exprs) {
            match p {
                None => run.push(d.hint()),
                Some(p) => {
                    if !run.is_empty() {
                        parts.push(self.const_i64s(&run));
                        run.clear();
                    }
                    parts.push(self.size_of(p));
                }
            }
        }
        if !run.is_empty() {
            parts.push(self.const_i64s(&run));
        }
        if parts.len() == 1 {
            return parts[0];
        }
        self.node("Concat", &parts, vec![("axis", Attr::Int(0))])
    }
    fn is_dynamic(&self) -> bool {
        self.graph.is_dynamic()
    }
}

/// Refuses a constant whose tensor changed dtype or shape since the trace (see [`ConstData`]).
fn check_constant(name: &str, data: &dyn ConstData, location: Option<SourceLocation>) -> Result<(), ExportError> {
    let recorded = data.meta();
    let now = data.current_meta();
    if now.as_ref() == Ok(recorded) {
        return Ok(());
    }
    Err(ExportError::ConstantChanged {
        name: name.to_owned(),
        recorded: recorded.to_string(),
        now: now.map_or_else(|why| why, |m| m.to_string()),
        location: LocationText(location),
    })
}

fn check_opset(opset: i64) -> Result<(), ExportError> {
    if (MIN_OPSET..=MAX_OPSET).contains(&opset) {
        Ok(())
    } else {
        Err(ExportError::UnsupportedOpset { opset })
    }
}

/// Lowers `graph` for `options.opset`. Initializer data is not read here.
///
/// A graph with dynamic dimensions is lowered twice, the second time telling every op that each
/// dynamic size is another number: the two lowerings must be identical, so no lowering has
/// written a dynamic size it read from the observed shapes into the model. One that did is
/// refused, naming the op and where it was recorded.
pub fn lower(graph: &Graph, options: &ExportOptions) -> Result<Lowered, ExportError> {
    let lowered = lower_impl(graph, options, None)?;
    if !graph.is_dynamic() {
        return Ok(lowered);
    }
    let perturbed = perturbed_metas(graph);
    let baked = |op: &'static str, location: Option<SourceLocation>, why: String| {
        ExportError::Lowering {
        source: LowerError::new(
            op,
            options.opset,
            format!("its lowering reads the traced size of a dynamic dimension ({why}); this op cannot be exported with that dimension dynamic"),
        ),
        location: LocationText(location),
    }
    };
    let other = match lower_impl(graph, options, Some(&perturbed)) {
        Ok(other) => other,
        Err(ExportError::Lowering { source, location }) => {
            return Err(baked(source.op, location.0, format!("at other sizes it fails: {}", source.reason)))
        }
        Err(e) => return Err(e),
    };
    let op_at = |node: usize| {
        lowered
            .op_nodes
            .iter()
            .zip(&lowered.op_locations)
            .find(|((_, r), _)| r.contains(&node))
            .map(|((op, _), l)| (*op, *l))
    };
    let first_node = lowered.graph.node.iter().zip(&other.graph.node).position(|(a, b)| a != b);
    let first_node = first_node.or_else(|| {
        (lowered.graph.node.len() != other.graph.node.len())
            .then_some(lowered.graph.node.len().min(other.graph.node.len()))
    });
    let first_init = lowered.initializers.iter().zip(&other.initializers).position(|((ha, da), (hb, db))| {
        ha != hb
            || match (da, db) {
                (InitData::Bytes(a), InitData::Bytes(b)) => a != b,
                _ => false,
            }
    });
    let culprit = match (first_node, first_init) {
        (Some(k), _) => {
            let what = lowered.graph.node.get(k).and_then(|n| n.op_type.clone()).unwrap_or_default();
            op_at(k).map(|(op, l)| (op, l, format!("its `{what}` node changes with the size")))
        }
        (None, Some(j)) => {
            let name = lowered.initializers[j].0.name.clone().unwrap_or_default();
            let user = lowered.graph.node.iter().position(|n| n.input.contains(&name));
            user.and_then(op_at).map(|(op, l)| (op, l, format!("its constant `{name}` holds the traced size")))
        }
        (None, None) => None,
    };
    match culprit {
        Some((op, location, why)) => Err(baked(op, location, why)),
        None => Ok(lowered),
    }
}

/// Every value with a dynamic dimension, with each dynamic size changed: symbol `i` becomes
/// its traced size plus `3 + i`, and sizes read from ops' results grow by 3.
fn perturbed_metas(graph: &Graph) -> HashMap<tapir_graph::NodeIndex, SmallVec<[TensorMeta; 1]>> {
    use tapir_graph::sym::Atom;
    let table = graph.syms();
    let mut out = HashMap::default();
    for n in graph.nodes_in_order() {
        let node = graph.node(n);
        let mut metas: SmallVec<[TensorMeta; 1]> = node.outputs.clone();
        let mut changed = false;
        for (k, meta) in metas.iter_mut().enumerate() {
            let Some(dims) = graph.sym_shape(ValueRef { node: n, output: k as u16 }) else { continue };
            for (axis, d) in dims.iter().enumerate() {
                let Some(p) = table.expr(*d) else { continue };
                let v = p.eval(&mut |a| match a {
                    Atom::Sym(i) => table.dims.get(*i as usize).map(|d| d.hint + 3 + *i as i64),
                    Atom::Dim { node, output, axis } => {
                        let v = ValueRef { node: tapir_graph::NodeIndex::new(*node as usize), output: *output };
                        graph.contains(v.node).then(|| graph.meta(v).shape.get(*axis as usize).map(|s| s + 3)).flatten()
                    }
                    _ => None,
                });
                if let Some(v) = v.filter(|v| *v >= 0) {
                    meta.shape[axis] = v;
                    changed = true;
                }
            }
        }
        if changed {
            out.insert(n, metas);
        }
    }
    out
}

/// A symbol table installed as this thread's active one until dropped; the one it replaced comes
/// back then.
struct ActiveTable(Option<tapir_graph::SymTable>);

impl ActiveTable {
    fn install(table: tapir_graph::SymTable) -> ActiveTable {
        let previous = tapir_graph::sym::uninstall();
        tapir_graph::sym::install(table);
        ActiveTable(previous)
    }
}

impl Drop for ActiveTable {
    fn drop(&mut self) {
        tapir_graph::sym::uninstall();
        if let Some(previous) = self.0.take() {
            tapir_graph::sym::install(previous);
        }
    }
}

fn lower_impl<'g>(
    graph: &'g Graph,
    options: &ExportOptions,
    metas: Option<&'g HashMap<tapir_graph::NodeIndex, SmallVec<[TensorMeta; 1]>>>,
) -> Result<Lowered, ExportError> {
    let meta_of = |v: ValueRef| -> &'g TensorMeta {
        match metas.and_then(|m| m.get(&v.node)) {
            Some(m) => &m[v.output as usize],
            None => graph.meta(v),
        }
    };
    check_opset(options.opset)?;
    // Lowerings compute with sizes (`n - 1`, `heads * groups`): that arithmetic needs the trace's
    // table active. A copy of it is installed for the lowering (and whatever table was active on
    // this thread, a trace's, is put back after).
    let _table = graph.is_dynamic().then(|| ActiveTable::install(graph.syms().clone()));
    if graph.outputs().is_empty() {
        return Err(ExportError::EmptyGraph);
    }
    // Capacity for about one node and two names per recorded node (most ops lower to one node):
    // the tables grow once, not log(n) times (each regrowth of a large table is also a point
    // where glibc's allocator consolidates every small freed block).
    let n = graph.node_count();
    let mut cx = Cx {
        graph,
        opset: options.opset,
        values: ValueSyms(Vec::with_capacity(n + 1)),
        cur_in_values: vec![],
        cur_out_values: vec![],
        size_cache: HashMap::default(),
        shape_cache: HashMap::default(),
        names: Vec::with_capacity(2 * n + 1),
        dtypes: Vec::with_capacity(2 * n + 1),
        invalid: None,
        nodes: Vec::with_capacity(n),
        initializers: vec![],
        const_i64_cache: HashMap::default(),
        scalar_cache: HashMap::default(),
        produced: HashMap::default(),
        cur_inputs: vec![],
        cur_in_meta: vec![],
        cur_out_meta: &[],
        cur_prefix: String::new(),
        cur_node_stem: String::new(),
        node_names: HashMap::default(),
        op_node_names: SmallVec::new(),
        cur_scoped: false,
        cur_doc: None,
        temp_counter: 0,
        domains: Default::default(),
    };
    // Symbol 0: the absent optional input (an empty name).
    cx.names.push(String::new());
    cx.dtypes.push(None);
    let mut op_nodes = Vec::with_capacity(n);
    let mut op_locations = Vec::with_capacity(n);
    // The names graph outputs must carry; a value that is an output takes its output's name.
    let mut output_name: HashMap<ValueRef, &str> = HashMap::default();
    for o in graph.outputs() {
        output_name.entry(o.value).or_insert(&o.name);
    }
    let mut inputs = vec![];
    let mut op_number = 0usize;
    let mut const_number = 0usize;
    for n in graph.nodes_in_order() {
        let node = graph.node(n);
        let v0 = ValueRef { node: n, output: 0 };
        match &node.kind {
            NodeKind::Input { name } => {
                inputs.push(value_info(name, &node.outputs[0], graph, v0));
                let s = cx.typed_sym(name.clone(), node.outputs[0].dtype);
                cx.values.insert(v0, s);
            }
            NodeKind::Constant { data, name, .. } => {
                let name = name.clone().unwrap_or_else(|| {
                    const_number += 1;
                    format!("const_{const_number}")
                });
                check_constant(&name, data.as_ref(), node.location)?;
                let s = cx.add_initializer(name, &node.outputs[0], InitData::Tensor(data.clone()));
                cx.values.insert(v0, s);
            }
            NodeKind::Op(op) => {
                op_number += 1;
                let ins = graph.node_inputs(n);
                cx.cur_inputs.clear();
                for v in ins.iter() {
                    let Some(s) = cx.values.get(v) else {
                        return Err(ExportError::Lowering {
                            source: LowerError::new(
                                op.name(),
                                options.opset,
                                "an input was not lowered before it (a graph out of order)",
                            ),
                            location: LocationText(node.location),
                        });
                    };
                    cx.cur_inputs.push(s);
                }
                cx.cur_in_meta = ins.iter().map(|v| meta_of(*v)).collect();
                cx.cur_in_values = ins.to_vec();
                cx.cur_out_values = (0..node.outputs.len()).map(|k| ValueRef { node: n, output: k as u16 }).collect();
                cx.cur_out_meta = match metas.and_then(|m| m.get(&n)) {
                    Some(m) => m.as_slice(),
                    None => &node.outputs,
                };
                cx.cur_prefix = format!("{}_{}", op.name(), op_number);
                cx.cur_node_stem = match &node.scope {
                    Some(scope) => scope.to_string(),
                    None => cx.cur_prefix.clone(),
                };
                cx.cur_scoped = node.scope.is_some();
                cx.op_node_names.clear();
                cx.cur_doc = node.location.map(|l| l.to_string());
                cx.temp_counter = 0;
                cx.produced.clear();
                // An op whose every output is empty (a dimension of size 0) has no values to
                // compute: its outputs are empty constants of the right dtype and shape. ONNX ops
                // differ from torch on zero-size tensors (Reshape reads a 0 in its target as
                // "copy this dimension"), so this is both smaller and exact.
                let dynamic_out = cx.cur_out_values.iter().any(|v| graph.sym_shape(*v).is_some());
                if !dynamic_out && !node.outputs.is_empty() && node.outputs.iter().all(|m| m.numel() == 0) {
                    for (k, meta) in node.outputs.iter().enumerate() {
                        let name = format!("{}.empty{k}", cx.cur_prefix);
                        let s = cx.add_initializer(name, meta, InitData::Bytes(vec![]));
                        cx.values.insert(ValueRef { node: n, output: k as u16 }, s);
                    }
                    continue;
                }
                let first_node = cx.nodes.len();
                let lowered = match options.lowerings.get(op.name()) {
                    Some(replacement) => replacement(op.as_ref(), &mut cx),
                    None => op.lower(&mut cx),
                };
                op_nodes.push((op.name(), first_node..cx.nodes.len()));
                op_locations.push(node.location);
                let outs = lowered.map_err(|e: LowerError| ExportError::Lowering {
                    source: e,
                    location: LocationText(node.location),
                })?;
                // A node ONNX would reject, or results whose dtypes differ from the traced ones,
                // are errors here, never a file.
                let mut invalid = cx.invalid.take();
                if invalid.is_none() {
                    invalid = outs.iter().zip(&node.outputs).enumerate().find_map(|(k, (s, meta))| {
                        match cx.dtypes[s.0 as usize] {
                            Some(d) if d != meta.dtype => Some(format!(
                                "the lowering gives output {k} dtype {d}, the traced value is {}",
                                meta.dtype
                            )),
                            _ => None,
                        }
                    });
                }
                if let Some(why) = invalid {
                    return Err(ExportError::Lowering {
                        source: LowerError::new(op.name(), options.opset, why),
                        location: LocationText(node.location),
                    });
                }
                if outs.len() != node.outputs.len() {
                    return Err(ExportError::Lowering {
                        source: LowerError::new(
                            op.name(),
                            options.opset,
                            format!("lowering returned {} values for {} outputs", outs.len(), node.outputs.len()),
                        ),
                        location: LocationText(node.location),
                    });
                }
                for (k, s) in outs.into_iter().enumerate() {
                    let v = ValueRef { node: n, output: k as u16 };
                    // Give the op's result a readable name: the output name, or `<op>_<n>`.
                    let s = match cx.produced.remove(&s) {
                        Some((node_index, out_index)) => {
                            let name = match output_name.get(&v) {
                                Some(name) => (*name).to_owned(),
                                None if node.outputs.len() == 1 => cx.cur_prefix.clone(),
                                None => format!("{}.{k}", cx.cur_prefix),
                            };
                            cx.nodes[node_index].output[out_index] = name.clone();
                            cx.names[s.0 as usize] = name;
                            s
                        }
                        None => s,
                    };
                    cx.values.insert(v, s);
                }
            }
        }
    }
    // Graph outputs; a value that could not carry its output's name (an input, a constant, an
    // alias, or a value returned twice) goes through an `Identity`.
    let mut outputs = vec![];
    for o in graph.outputs() {
        let Some(s) = cx.values.get(&o.value) else {
            return Err(ExportError::Lowering {
                source: LowerError::new("output", options.opset, format!("output `{}` was not computed", o.name)),
                location: LocationText(None),
            });
        };
        if cx.name(s) != o.name {
            let index = cx.nodes.len();
            cx.nodes.push(NodeProto {
                input: vec![cx.name(s).to_owned()],
                output: vec![o.name.clone()],
                name: Some(format!("output_{index}/Identity")),
                op_type: Some("Identity".to_owned()),
                ..Default::default()
            });
        }
        outputs.push(value_info(&o.name, graph.meta(o.value), graph, o.value));
    }
    let mut metadata_props: Vec<StringStringEntryProto> = options
        .metadata
        .iter()
        .map(|(k, v)| StringStringEntryProto { key: Some(k.clone()), value: Some(v.clone()) })
        .collect();
    // Captured tensors without a name: possibly accidental constants (tapir.unnamed_capture.N).
    let unnamed = graph.constants().filter_map(|(_, n)| match &n.kind {
        NodeKind::Constant { name: None, origin: tapir_graph::ConstOrigin::Captured, .. } => Some(n),
        _ => None,
    });
    for (i, n) in unnamed.enumerate() {
        let at = LocationText(n.location);
        metadata_props.push(StringStringEntryProto {
            key: Some(format!("tapir.unnamed_capture.{i:04}")),
            value: Some(format!("{at}: {} captured from outside the trace", n.outputs[0])),
        });
    }
    // Guards: where the trace was specialized to an observed value (tapir.guard.N).
    for (i, g) in graph.guards().iter().enumerate() {
        metadata_props
            .push(StringStringEntryProto { key: Some(format!("tapir.guard.{i:04}")), value: Some(g.to_string()) });
    }
    // Dynamic dimensions and the conditions on them under which the model is valid.
    let syms = graph.syms();
    for d in &syms.dims {
        let max = d.max.map_or("inf".to_owned(), |m| m.to_string());
        let value = match &d.specialized {
            None => format!("input {} axis {}, {}..={max}, traced at {}", d.input, d.axis, d.min, d.hint),
            Some(why) => format!("input {} axis {}, static at {}: {why}", d.input, d.axis, d.hint),
        };
        metadata_props.push(StringStringEntryProto { key: Some(format!("tapir.dim.{}", d.name)), value: Some(value) });
    }
    for (i, g) in syms.guards.iter().enumerate() {
        metadata_props.push(StringStringEntryProto {
            key: Some(format!("tapir.size_guard.{i:04}")),
            value: Some(format!("{} ({}) at {}", syms.guard_text(g), g.what, g.location)),
        });
    }
    metadata_props.sort_by(|a, b| a.key.cmp(&b.key));
    let graph = GraphProto {
        node: cx.nodes,
        name: Some(options.graph_name.clone()),
        initializer: vec![],
        doc_string: None,
        input: inputs,
        output: outputs,
        value_info: vec![],
        metadata_props: vec![],
    };
    let model = ModelProto {
        ir_version: Some(ir_version_for_opset(options.opset)),
        opset_import: std::iter::once(OperatorSetIdProto { domain: Some(String::new()), version: Some(options.opset) })
            .chain(cx.domains.into_iter().map(|(d, v)| OperatorSetIdProto { domain: Some(d), version: Some(v) }))
            .collect(),
        producer_name: Some(options.producer_name.clone()),
        producer_version: Some(options.producer_version.clone()),
        domain: None,
        model_version: None,
        doc_string: options.doc_string.clone(),
        graph: None,
        metadata_props,
    };
    Ok(Lowered { model, graph, initializers: cx.initializers, op_nodes, op_locations })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ir_versions_follow_opsets() {
        assert_eq!(ir_version_for_opset(13), 7);
        assert_eq!(ir_version_for_opset(17), 8);
        assert_eq!(ir_version_for_opset(20), 9);
        assert_eq!(ir_version_for_opset(21), 10);
    }

    /// A constant that hands its bytes out three at a time (pieces split elements).
    #[derive(Debug)]
    struct Dribble(TensorMeta, Vec<u8>);

    impl ConstData for Dribble {
        fn meta(&self) -> &TensorMeta {
            &self.0
        }
        fn current_meta(&self) -> Result<TensorMeta, String> {
            Ok(self.0.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn write_bytes(&self, sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
            self.1.chunks(3).try_for_each(sink)
        }
    }

    fn collect(data: &InitData) -> Vec<u8> {
        let mut out = vec![];
        data.write(&mut |c| {
            out.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(out.len(), data.byte_len());
        out
    }

    #[test]
    fn scaled_and_converted_data_stream_whole_elements() {
        let values = [1.0f32, 2.0, 3.0, -4.0, 0.5, 8.0];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let source = InitData::Tensor(Arc::new(Dribble(TensorMeta::new(DType::F32, &[3, 2]), bytes)));
        let scaled = InitData::Scaled {
            data: Box::new(source.clone()),
            factors: vec![2.0, -1.0, 0.25].into(),
            row: 2,
            wide: false,
        };
        let got: Vec<f32> =
            collect(&scaled).chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!(got, [2.0, 4.0, -3.0, 4.0, 0.125, 2.0]);
        let half = InitData::Converted { data: Box::new(scaled), to: DType::F16 };
        let got = collect(&half);
        let mut want = vec![];
        crate::half::convert_f32_bytes(
            &[2.0f32, 4.0, -3.0, 4.0, 0.125, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
            DType::F16,
            &mut want,
        );
        assert_eq!(got, want);
        let cut = InitData::Tensor(Arc::new(Dribble(TensorMeta::new(DType::F32, &[1]), vec![0, 0, 128])));
        let err = InitData::Converted { data: Box::new(cut), to: DType::F16 }.write(&mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("mid-element"), "{err}");
    }
}
