//! Optimizations of a lowered model, each switchable in [`Optimizations`]:
//!
//! - **Constant folding**: a `Transpose`, `Split`, `Concat`, `Unsqueeze`, `Squeeze` or `Reshape`
//!   whose inputs are all initializers is computed now, its results become initializers (a
//!   linear layer's transposed weight, an LSTM's gate blocks in ONNX order).
//! - **BatchNormalization folding**: a `Conv` whose only consumer is an inference-mode
//!   `BatchNormalization` (float32 or float64 initializers) takes the normalization into its
//!   weight and bias, as PyTorch's exporters do: `W' = W * s`, `b' = (b - mean) * s + beta` with
//!   `s = scale / sqrt(var + eps)`.
//! - **Equal literals stored once**: small owned constants (the scalars, axes and shapes ops
//!   emit) with the same type, dims and bytes become one initializer.
//! - **Transposes merged**: a `Transpose` whose input is another `Transpose`'s output, read by
//!   nothing else, takes the composed permutation and the first one's input; the first is
//!   removed (attention's head split followed by the key transpose becomes one node).
//! - **Common subexpressions computed once**: a default-domain node with the same op type,
//!   inputs and attributes as an earlier one (the size computations of a dynamic model, repeated
//!   per layer) is removed and its readers read the earlier one's outputs. Random ops are never
//!   merged, nor a node whose output is a graph output.
//! - Initializers no node reads any more are dropped.
//!
//! Contract: the optimized model computes the same values as the unoptimized one, up to float
//! rounding in folded normalizations (a few ulps). Only data the folds need is read, each tensor
//! while its fold runs; the folded results are owned by the model (the weights they replace are
//! not written), so a model whose weights are mostly folded holds them in memory once.

use crate::fast_hash::{FastMap as HashMap, FastSet as HashSet};
use crate::lower::{InitData, Lowered};
use crate::proto::{attribute_proto, AttributeProto, NodeProto, TensorProto};

/// Which optimizations an export applies (all by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Optimizations {
    /// Compute ops whose inputs are all initializers at export time.
    pub fold_constants: bool,
    /// Fold inference BatchNormalization into the Conv before it.
    pub fold_batch_norm: bool,
    /// Store equal small constants (the literals ops emit: scalars, axes, shapes) once.
    pub dedup_constants: bool,
    /// Compute nodes with equal op type, inputs and attributes once.
    pub eliminate_common_subexpressions: bool,
    /// Merge a `Transpose` of a `Transpose` into one.
    pub merge_transposes: bool,
}

impl Default for Optimizations {
    fn default() -> Self {
        Optimizations {
            fold_constants: true,
            fold_batch_norm: true,
            dedup_constants: true,
            eliminate_common_subexpressions: true,
            merge_transposes: true,
        }
    }
}

impl Optimizations {
    /// No optimization: the model as the ops lowered it.
    pub fn none() -> Self {
        Optimizations {
            fold_constants: false,
            fold_batch_norm: false,
            dedup_constants: false,
            eliminate_common_subexpressions: false,
            merge_transposes: false,
        }
    }
}

/// Literals up to this size are deduplicated (weights are captured tensors, deduplicated by
/// identity at trace time, and never read for this).
const DEDUP_MAX_BYTES: usize = 4096;

/// ONNX `TensorProto.DataType` element sizes for the types tapir writes.
fn elem_size(data_type: i32) -> Option<usize> {
    Some(match data_type {
        1 | 6 | 12 => 4,      // float, int32, uint32
        2 | 3 | 9 => 1,       // uint8, int8, bool
        4 | 5 | 10 | 16 => 2, // uint16, int16, float16, bfloat16
        7 | 11 | 13 => 8,     // int64, double, uint64
        _ => return None,
    })
}

/// An initializer's bytes, read once.
fn read(data: &InitData) -> std::io::Result<Vec<u8>> {
    if let InitData::Bytes(b) = data {
        return Ok(b.clone());
    }
    let mut out = Vec::with_capacity(data.byte_len());
    data.write(&mut |chunk| {
        out.extend_from_slice(chunk);
        Ok(())
    })?;
    Ok(out)
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name.as_deref() == Some(name))
}

fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name)
        .and_then(|a| (a.r#type == Some(attribute_proto::AttributeType::Int as i32)).then_some(a.i).flatten())
}

fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).filter(|a| a.r#type == Some(attribute_proto::AttributeType::Ints as i32)).map(|a| a.ints.clone())
}

/// A constant value: dims, ONNX data type, row-major bytes.
#[derive(Clone)]
struct Value {
    dims: Vec<i64>,
    data_type: i32,
    bytes: Vec<u8>,
}

impl Value {
    fn ints(&self) -> Option<Vec<i64>> {
        (self.data_type == 7)
            .then(|| self.bytes.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default())).collect())
    }
}

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

/// Evaluates one foldable node on constant inputs; `None` when it is not one tapir folds.
fn eval(node: &NodeProto, ins: &[Option<&Value>]) -> Option<Vec<Value>> {
    let x = ins.first().copied().flatten()?;
    let es = elem_size(x.data_type)?;
    // Every input holds exactly its dims' bytes (anything else is left unfolded, never indexed).
    let consistent = |v: &Value| {
        elem_size(v.data_type).is_some_and(|e| v.dims.iter().product::<i64>().max(0) as usize * e == v.bytes.len())
    };
    if !ins.iter().flatten().all(|v| consistent(v)) {
        return None;
    }
    let rank = x.dims.len();
    match node.op_type.as_deref()? {
        "Transpose" => {
            let perm = attr_ints(node, "perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
            let perm: Vec<usize> = perm.iter().map(|&p| norm_axis(p, rank)).collect::<Option<_>>()?;
            let dims: Vec<i64> = perm.iter().map(|&p| x.dims[p]).collect();
            let mut in_strides = vec![1usize; rank];
            for k in (0..rank.saturating_sub(1)).rev() {
                in_strides[k] = in_strides[k + 1] * x.dims[k + 1] as usize;
            }
            let n: usize = dims.iter().product::<i64>() as usize;
            let mut bytes = Vec::with_capacity(n * es);
            let mut index = vec![0usize; rank];
            for _ in 0..n {
                let src: usize = index.iter().zip(&perm).map(|(i, &p)| i * in_strides[p]).sum();
                bytes.extend_from_slice(&x.bytes[src * es..(src + 1) * es]);
                for k in (0..rank).rev() {
                    index[k] += 1;
                    if index[k] < dims[k] as usize {
                        break;
                    }
                    index[k] = 0;
                }
            }
            Some(vec![Value { dims, data_type: x.data_type, bytes }])
        }
        "Concat" => {
            let axis = norm_axis(attr_int(node, "axis")?, rank)?;
            let parts: Vec<&Value> = ins.iter().copied().collect::<Option<_>>()?;
            let outer: usize = x.dims[..axis].iter().product::<i64>() as usize;
            let mut dims = x.dims.clone();
            dims[axis] = parts.iter().map(|p| p.dims.get(axis).copied().unwrap_or(0)).sum();
            let mut bytes = Vec::new();
            for o in 0..outer {
                for p in &parts {
                    let chunk = p.bytes.len() / outer.max(1);
                    bytes.extend_from_slice(&p.bytes[o * chunk..(o + 1) * chunk]);
                }
            }
            Some(vec![Value { dims, data_type: x.data_type, bytes }])
        }
        "Split" => {
            let axis = norm_axis(attr_int(node, "axis").unwrap_or(0), rank)?;
            let n_out = node.output.len();
            let sizes = match ins.get(1).copied().flatten() {
                Some(s) => s.ints()?,
                None => match attr_ints(node, "split") {
                    Some(s) => s,
                    None => vec![x.dims[axis] / n_out as i64; n_out],
                },
            };
            if sizes.len() != n_out || sizes.iter().sum::<i64>() != x.dims[axis] {
                return None;
            }
            let outer: usize = x.dims[..axis].iter().product::<i64>() as usize;
            let inner: usize = x.dims[axis + 1..].iter().product::<i64>() as usize * es;
            let row = x.dims[axis] as usize * inner;
            let mut start = 0usize;
            let mut outs = vec![];
            for s in sizes {
                let len = s as usize * inner;
                let mut bytes = Vec::with_capacity(outer * len);
                for o in 0..outer {
                    bytes.extend_from_slice(&x.bytes[o * row + start..o * row + start + len]);
                }
                let mut dims = x.dims.clone();
                dims[axis] = s;
                outs.push(Value { dims, data_type: x.data_type, bytes });
                start += len;
            }
            Some(outs)
        }
        "Unsqueeze" => {
            let axes = ins.get(1).copied().flatten()?.ints()?;
            let out_rank = rank + axes.len();
            let mut axes: Vec<usize> = axes.iter().map(|&a| norm_axis(a, out_rank)).collect::<Option<_>>()?;
            axes.sort_unstable();
            let mut dims = x.dims.clone();
            for a in axes {
                dims.insert(a, 1);
            }
            Some(vec![Value { dims, ..x.clone() }])
        }
        "Squeeze" => {
            let axes = ins.get(1).copied().flatten()?.ints()?;
            let axes: Vec<usize> = axes.iter().map(|&a| norm_axis(a, rank)).collect::<Option<_>>()?;
            let dims = x.dims.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, d)| *d).collect();
            Some(vec![Value { dims, ..x.clone() }])
        }
        "Reshape" => {
            let shape = ins.get(1).copied().flatten()?.ints()?;
            if shape.iter().any(|&d| d <= 0) {
                return None;
            }
            if shape.iter().product::<i64>() != x.dims.iter().product::<i64>() {
                return None;
            }
            Some(vec![Value { dims: shape, ..x.clone() }])
        }
        _ => None,
    }
}

/// The constant value named `name`: computed by an earlier fold (kept, for the folds that read
/// it next), or an initializer's data (read now, not kept: a weight is held only while its
/// fold runs).
fn load(
    name: &str,
    inits: &[(TensorProto, InitData)],
    index: &HashMap<String, usize>,
    cache: &mut HashMap<String, Value>,
) -> std::io::Result<Option<Value>> {
    if let Some(v) = cache.get(name) {
        return Ok(Some(v.clone()));
    }
    let Some(&i) = index.get(name) else { return Ok(None) };
    let (h, d) = &inits[i];
    Ok(Some(Value { dims: h.dims.clone(), data_type: h.data_type.unwrap_or(0), bytes: read(d)? }))
}

/// Applies `opts` to `lowered` in place.
// The loops index nodes while pushing initializers into the same model.
#[allow(clippy::needless_range_loop)]
pub(crate) fn optimize(lowered: &mut Lowered, opts: &Optimizations) -> std::io::Result<()> {
    if *opts == Optimizations::none() {
        return Ok(());
    }
    let graph_outputs: HashSet<String> = lowered.graph.output.iter().filter_map(|o| o.name.clone()).collect();
    let foldable = |n: &NodeProto| {
        matches!(n.op_type.as_deref(), Some("Transpose" | "Concat" | "Split" | "Unsqueeze" | "Squeeze" | "Reshape"))
    };
    let batch_norm = |n: &NodeProto| n.op_type.as_deref() == Some("BatchNormalization");
    let folds = (opts.fold_constants && lowered.graph.node.iter().any(foldable))
        || (opts.fold_batch_norm && lowered.graph.node.iter().any(batch_norm));
    if folds {
        fold(lowered, opts, &graph_outputs)?;
    }
    if opts.dedup_constants {
        dedup(lowered, &graph_outputs);
    }
    if opts.merge_transposes {
        merge_transposes(lowered, &graph_outputs);
    }
    if opts.eliminate_common_subexpressions {
        eliminate_common_subexpressions(lowered, &graph_outputs);
    }
    // Drop the initializers no node reads and no output returns.
    let used: HashSet<&str> = lowered
        .graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().map(String::as_str))
        .chain(graph_outputs.iter().map(String::as_str))
        .collect();
    lowered.initializers.retain(|(h, _)| h.name.as_deref().is_some_and(|n| used.contains(n)));
    Ok(())
}

/// Constant and batch-norm folding (see the module docs); nodes folded away are removed and each
/// op's node range shrinks with them.
fn fold(lowered: &mut Lowered, opts: &Optimizations, graph_outputs: &HashSet<String>) -> std::io::Result<()> {
    let mut index: HashMap<String, usize> =
        lowered.initializers.iter().enumerate().filter_map(|(i, (h, _))| h.name.clone().map(|n| (n, i))).collect();
    let mut cache: HashMap<String, Value> = HashMap::default();
    let mut removed = vec![false; lowered.graph.node.len()];
    // Folded values: their parameter of origin, and their new initializer names.
    let mut origins: HashMap<String, String> = HashMap::default();
    let mut renamed: HashMap<String, String> = HashMap::default();
    let mut taken: HashSet<String> = index.keys().cloned().collect();
    let mut next_suffix: HashMap<String, usize> = HashMap::default();
    if opts.fold_constants {
        #[allow(clippy::needless_range_loop)] // the loop pushes initializers while reading nodes
        for k in 0..lowered.graph.node.len() {
            let node = &lowered.graph.node[k];
            let foldable = matches!(
                node.op_type.as_deref(),
                Some("Transpose" | "Concat" | "Split" | "Unsqueeze" | "Squeeze" | "Reshape")
            ) && node.domain.as_deref().unwrap_or("").is_empty()
                && !node.output.iter().any(|o| graph_outputs.contains(o))
                && node.input.iter().all(|i| i.is_empty() || index.contains_key(i) || cache.contains_key(i));
            if !foldable {
                continue;
            }
            let node = node.clone();
            let mut ins = vec![];
            for name in &node.input {
                ins.push(if name.is_empty() { None } else { load(name, &lowered.initializers, &index, &mut cache)? });
            }
            let refs: Vec<Option<&Value>> = ins.iter().map(|v| v.as_ref()).collect();
            let Some(outs) = eval(&node, &refs) else { continue };
            // A folded value is named after the parameter it comes from (`<weight>.folded`),
            // so the model's initializers keep the parameters' names.
            let first = node.input.iter().find(|i| !i.is_empty()).cloned().unwrap_or_default();
            let origin = origins.get(&first).cloned().unwrap_or(first);
            for (name, v) in node.output.iter().zip(outs) {
                // `<origin>.folded`, then `_2`, `_3`, ...: each origin's count is kept, so many
                // folds of one value are named in linear time.
                let n = next_suffix.entry(origin.clone()).or_insert(1usize);
                let mut new_name = if *n == 1 { format!("{origin}.folded") } else { format!("{origin}.folded_{}", *n) };
                while taken.contains(&new_name) {
                    *n += 1;
                    new_name = format!("{origin}.folded_{}", *n);
                }
                *n += 1;
                taken.insert(new_name.clone());
                let header = TensorProto {
                    name: Some(new_name.clone()),
                    dims: v.dims.clone(),
                    data_type: Some(v.data_type),
                    ..Default::default()
                };
                lowered.initializers.push((header, InitData::Bytes(v.bytes.clone())));
                index.insert(name.clone(), lowered.initializers.len() - 1);
                cache.insert(name.clone(), v);
                origins.insert(name.clone(), origin.clone());
                renamed.insert(name.clone(), new_name);
            }
            removed[k] = true;
        }
    }
    for node in &mut lowered.graph.node {
        for input in &mut node.input {
            if let Some(new) = renamed.get(input) {
                *input = new.clone();
            }
        }
    }
    for (old, new) in &renamed {
        if let Some(i) = index.remove(old) {
            index.insert(new.clone(), i);
        }
        if let Some(v) = cache.remove(old) {
            cache.insert(new.clone(), v);
        }
    }
    let has_batch_norm = || lowered.graph.node.iter().any(|n| n.op_type.as_deref() == Some("BatchNormalization"));
    if opts.fold_batch_norm && has_batch_norm() {
        fold_batch_norms(lowered, &mut removed, &mut index, &mut cache, graph_outputs)?;
    }
    remove_nodes(lowered, &removed);
    Ok(())
}

/// Removes the nodes marked in `removed`; each op's node range shrinks with them.
fn remove_nodes(lowered: &mut Lowered, removed: &[bool]) {
    // `before[i]` nodes are kept before node `i`.
    let mut before = Vec::with_capacity(removed.len() + 1);
    let mut kept = 0usize;
    for r in removed {
        before.push(kept);
        kept += usize::from(!r);
    }
    before.push(kept);
    for (_, range) in &mut lowered.op_nodes {
        *range = before[range.start]..before[range.end];
    }
    let mut k = 0;
    lowered.graph.node.retain(|_| {
        k += 1;
        !removed[k - 1]
    });
}

fn is_transpose(n: &NodeProto) -> bool {
    n.op_type.as_deref() == Some("Transpose") && n.domain.as_deref().unwrap_or_default().is_empty()
}

/// Merges each `Transpose` of a `Transpose` (whose output nothing else reads) into one node with
/// the composed permutation: `transpose(transpose(x, p), q) = transpose(x, r)`, `r[i] = p[q[i]]`.
fn merge_transposes(lowered: &mut Lowered, graph_outputs: &HashSet<String>) {
    let nodes = &mut lowered.graph.node;
    if nodes.iter().filter(|n| is_transpose(n)).count() < 2 {
        return;
    }
    let mut readers: HashMap<&str, usize> = HashMap::default();
    for n in nodes.iter() {
        for i in &n.input {
            *readers.entry(i.as_str()).or_insert(0) += 1;
        }
    }
    // Transposes with their one input and output (a custom lowering's odd node is left alone).
    let single = |n: &NodeProto| is_transpose(n) && n.input.len() == 1 && n.output.len() == 1;
    let producer: HashMap<&str, usize> =
        nodes.iter().enumerate().filter(|(_, n)| single(n)).map(|(k, n)| (n.output[0].as_str(), k)).collect();
    // (first, second, composed permutation), found before any node changes.
    let mut merges: Vec<(usize, usize, Vec<i64>)> = vec![];
    let mut perms: HashMap<usize, Vec<i64>> = HashMap::default();
    for (k, n) in nodes.iter().enumerate() {
        if !single(n) {
            continue;
        }
        let Some(&j) = producer.get(n.input[0].as_str()) else { continue };
        let first_out = nodes[j].output[0].as_str();
        if readers.get(first_out) != Some(&1) || graph_outputs.contains(first_out) {
            continue;
        }
        // The first's permutation as merged so far (a chain merges step by step).
        let p = match perms.get(&j) {
            Some(p) => p.clone(),
            None => match attr_ints(&nodes[j], "perm") {
                Some(p) => p,
                None => continue,
            },
        };
        let Some(q) = attr_ints(n, "perm") else { continue };
        if p.len() != q.len() || q.iter().any(|&i| i < 0 || i as usize >= p.len()) {
            continue;
        }
        let r: Vec<i64> = q.iter().map(|&i| p[i as usize]).collect();
        perms.insert(k, r.clone());
        merges.push((j, k, r));
    }
    if merges.is_empty() {
        return;
    }
    let mut removed = vec![false; nodes.len()];
    // In node order, so a chain's later merge sees the earlier one's input.
    for (j, k, r) in merges {
        let input = nodes[j].input[0].clone();
        let second = &mut nodes[k];
        second.input[0] = input;
        for a in &mut second.attribute {
            if a.name.as_deref() == Some("perm") {
                a.ints = r.clone();
            }
        }
        removed[j] = true;
    }
    remove_nodes(lowered, &removed);
}

/// Ops whose results differ between two evaluations on the same inputs: never merged.
const RANDOM_OPS: &[&str] =
    &["RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"];

/// Removes each default-domain node equal to an earlier one (op type, inputs after renaming,
/// attributes); its readers read the earlier node's outputs. One pass in node order: inputs are
/// renamed before a node is compared, so chains of duplicates collapse.
fn eliminate_common_subexpressions(lowered: &mut Lowered, graph_outputs: &HashSet<String>) {
    use prost::Message;
    use std::hash::{BuildHasher, Hash, Hasher};
    let hasher = std::hash::BuildHasherDefault::<crate::fast_hash::FastHasher>::default();
    let nodes = &mut lowered.graph.node;
    let mut replace: HashMap<String, String> = HashMap::default();
    let mut seen: HashMap<u64, usize> = HashMap::default();
    seen.reserve(nodes.len());
    let mut removed = vec![false; nodes.len()];
    let mut attrs = Vec::new();
    for k in 0..nodes.len() {
        if !replace.is_empty() {
            for input in &mut nodes[k].input {
                if let Some(r) = replace.get(input.as_str()) {
                    input.clear();
                    input.push_str(r);
                }
            }
        }
        let node = &nodes[k];
        let op = node.op_type.as_deref().unwrap_or_default();
        if !node.domain.as_deref().unwrap_or_default().is_empty()
            || RANDOM_OPS.contains(&op)
            || node.output.is_empty()
            || node.output.iter().any(|o| graph_outputs.contains(o))
        {
            continue;
        }
        attrs.clear();
        for a in &node.attribute {
            a.encode(&mut attrs).unwrap_or_default();
        }
        let mut h = hasher.build_hasher();
        op.hash(&mut h);
        node.input.hash(&mut h);
        attrs.hash(&mut h);
        let key = h.finish();
        // The first node with this hash; on a hash collision between unequal nodes the later one
        // is simply kept (a missed merge, never a wrong one).
        let j = *seen.entry(key).or_insert(k);
        if j == k {
            continue;
        }
        let other = &nodes[j];
        if other.op_type == node.op_type
            && other.input == node.input
            && other.attribute == node.attribute
            && other.output.len() == node.output.len()
        {
            for (o, kept) in nodes[k].output.iter().zip(&nodes[j].output) {
                replace.insert(o.clone(), kept.clone());
            }
            removed[k] = true;
        }
    }
    if removed.iter().any(|r| *r) {
        remove_nodes(lowered, &removed);
    }
}

/// Makes every node read the first of equal small literal initializers (same type, dims and
/// bytes); the others are then unused and dropped.
fn dedup(lowered: &mut Lowered, graph_outputs: &HashSet<String>) {
    let (inits, nodes) = (&lowered.initializers, &mut lowered.graph.node);
    let mut first: HashMap<(i32, &[i64], &[u8]), usize> = HashMap::default();
    let mut same_as: HashMap<&str, usize> = HashMap::default();
    for (i, (h, d)) in inits.iter().enumerate() {
        let (InitData::Bytes(bytes), Some(name)) = (d, &h.name) else { continue };
        if bytes.len() > DEDUP_MAX_BYTES || graph_outputs.contains(name) {
            continue;
        }
        let key = (h.data_type.unwrap_or(0), h.dims.as_slice(), bytes.as_slice());
        match first.get(&key) {
            Some(&kept) => {
                same_as.insert(name, kept);
            }
            None => {
                first.insert(key, i);
            }
        }
    }
    if same_as.is_empty() {
        return;
    }
    for node in nodes {
        for input in &mut node.input {
            if let Some(&kept) = same_as.get(input.as_str()) {
                // Rewritten in place: the input's own allocation is reused.
                input.clear();
                input.push_str(inits[kept].0.name());
            }
        }
    }
}

fn floats(v: &Value) -> Option<Vec<f64>> {
    match v.data_type {
        1 => Some(v.bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()),
        11 => Some(v.bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())).collect()),
        _ => None,
    }
}

fn to_bytes(values: &[f64], data_type: i32) -> Vec<u8> {
    match data_type {
        1 => values.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

#[allow(clippy::needless_range_loop)]
fn fold_batch_norms(
    lowered: &mut Lowered,
    removed: &mut [bool],
    index: &mut HashMap<String, usize>,
    cache: &mut HashMap<String, Value>,
    graph_outputs: &HashSet<String>,
) -> std::io::Result<()> {
    let mut consumers: HashMap<String, usize> = HashMap::default();
    for (k, n) in lowered.graph.node.iter().enumerate() {
        if !removed[k] {
            for i in &n.input {
                *consumers.entry(i.clone()).or_insert(0) += 1;
            }
        }
    }
    let producer: HashMap<String, usize> = lowered
        .graph
        .node
        .iter()
        .enumerate()
        .filter(|(k, _)| !removed[*k])
        .flat_map(|(k, n)| n.output.iter().map(move |o| (o.clone(), k)))
        .collect();
    for k in 0..lowered.graph.node.len() {
        let bn = &lowered.graph.node[k];
        if removed[k] || bn.op_type.as_deref() != Some("BatchNormalization") || bn.output.len() != 1 {
            continue;
        }
        if attr_int(bn, "training_mode").unwrap_or(0) != 0 || bn.input.len() != 5 {
            continue;
        }
        let Some(&c) = producer.get(&bn.input[0]) else { continue };
        let conv = &lowered.graph.node[c];
        if conv.op_type.as_deref() != Some("Conv")
            || consumers.get(&bn.input[0]).copied() != Some(1)
            || graph_outputs.contains(&bn.input[0])
            || conv.input.len() < 2
        {
            continue;
        }
        let eps = attr(bn, "epsilon").and_then(|a| a.f).unwrap_or(1e-5) as f64;
        let (bn, conv) = (bn.clone(), conv.clone());
        // The weight is not read here: its folded form scales it while it is written.
        let Some(&wi) = index.get(&conv.input[1]) else { continue };
        let (w_header, w_data) = (&lowered.initializers[wi].0, lowered.initializers[wi].1.clone());
        let (w_dims, w_type) = (w_header.dims.clone(), w_header.data_type.unwrap_or(0));
        let mut params = vec![];
        for name in bn.input[1..].iter().chain(conv.input[2..].iter()) {
            params.push(load(name, &lowered.initializers, index, cache)?);
        }
        let [Some(scale), Some(beta), Some(mean), Some(var), rest @ ..] = params.as_slice() else { continue };
        let bias = rest.first().cloned().flatten();
        let (Some(s), Some(b2), Some(m), Some(v)) = (floats(scale), floats(beta), floats(mean), floats(var)) else {
            continue;
        };
        let out_ch = *w_dims.first().unwrap_or(&0) as usize;
        let numel = w_dims.iter().product::<i64>().max(0) as usize;
        let wide = match w_type {
            1 => false,
            11 => true,
            _ => continue,
        };
        if out_ch == 0 || s.len() != out_ch || !numel.is_multiple_of(out_ch) || w_type != scale.data_type {
            continue;
        }
        let b = match &bias {
            Some(b) => match floats(b) {
                Some(b) if b.len() == out_ch => b,
                _ => continue,
            },
            None => vec![0.0; out_ch],
        };
        let factor: Vec<f64> = (0..out_ch).map(|o| s[o] / (v[o] + eps).sqrt()).collect();
        let b2v: Vec<f64> = (0..out_ch).map(|o| (b[o] - m[o]) * factor[o] + b2[o]).collect();
        let w2 = InitData::Scaled { data: Box::new(w_data), factors: factor.into(), row: numel / out_ch, wide };
        // Named after what they replace: `<conv weight>.bn_folded`, `<bn bias>.bn_folded`.
        let unique = |base: String, index: &HashMap<String, usize>| {
            let mut name = base.clone();
            let mut n = 1;
            while index.contains_key(&name) {
                n += 1;
                name = format!("{base}_{n}");
            }
            name
        };
        let w_name = unique(format!("{}.bn_folded", conv.input[1]), index);
        let b_name = unique(format!("{}.bn_folded", bn.input[2]), index);
        let b2 = InitData::Bytes(to_bytes(&b2v, w_type));
        for (name, dims, data) in [(&w_name, w_dims, w2), (&b_name, vec![out_ch as i64], b2)] {
            let header = TensorProto { name: Some(name.clone()), dims, data_type: Some(w_type), ..Default::default() };
            lowered.initializers.push((header, data));
            index.insert(name.clone(), lowered.initializers.len() - 1);
        }
        let conv_node = &mut lowered.graph.node[c];
        conv_node.input.truncate(1);
        conv_node.input.push(w_name);
        conv_node.input.push(b_name);
        conv_node.output[0] = bn.output[0].clone();
        removed[k] = true;
    }
    Ok(())
}
