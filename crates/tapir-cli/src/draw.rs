//! An ONNX model file (any producer) as Graphviz DOT text, drawn the way `Traced::to_dot` draws a
//! trace: one box per node (op type, short attributes), scopes from node names (`a.b/Conv`,
//! `/a/b/Conv`) as nested clusters, edges labelled with the tensor they carry (with its type
//! where the file declares one), graph inputs and outputs as ovals, initializers folded into the
//! nodes that read them (listed in the tooltip), each node's `doc_string` (tapir: the source
//! location) in its tooltip, and nodes recorded where one of tapir's guards was taken
//! highlighted.

use crate::tensor_type;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use tapir::dot::{quote, Cluster};
use tapir::onnx::proto::{attribute_proto::AttributeType, AttributeProto, ModelProto};

/// A short attribute for a label: ints and floats, lists of up to 6 ints; others by name.
fn attribute(a: &AttributeProto) -> String {
    let name = a.name();
    match AttributeType::try_from(a.r#type.unwrap_or(0)) {
        Ok(AttributeType::Int) => format!("{name}={}", a.i()),
        Ok(AttributeType::Float) => format!("{name}={}", a.f()),
        Ok(AttributeType::Ints) if a.ints.len() <= 6 => format!("{name}={:?}", a.ints),
        Ok(AttributeType::String) => format!("{name}={}", String::from_utf8_lossy(a.s())),
        _ => name.to_owned(),
    }
}

/// The scope path of a node name: `layer1.0/Conv` -> `[layer1, 0]`; `/layer1/layer1.0/conv1/Conv`
/// (PyTorch's) -> `[layer1, 0, conv1]`.
fn scope(name: &str) -> Vec<String> {
    let Some((stem, _)) = name.rsplit_once('/') else { return vec![] };
    let segments: Vec<&str> = stem.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [one] => one.split('.').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        // One segment per module level, each possibly a dotted path: its last part names it.
        many => many.iter().map(|s| s.rsplit('.').next().unwrap_or(s).to_owned()).collect(),
    }
}

/// The model's graph as DOT text (see the module docs).
pub fn onnx_to_dot(model: &ModelProto) -> String {
    let Some(graph) = model.graph.as_ref() else { return "digraph onnx {}\n".to_owned() };
    let initializers: HashMap<&str, String> = graph
        .initializer
        .iter()
        .map(|t| (t.name(), format!("{}{:?}", crate::dtype_name(t.data_type()), t.dims)))
        .collect();
    let types: HashMap<&str, String> = graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info)
        .filter_map(|v| Some((v.name(), tensor_type(v, ", ")?)))
        .collect();
    let guards: Vec<&str> =
        model.metadata_props.iter().filter(|p| p.key().starts_with("tapir.guard.")).map(|p| p.value()).collect();
    // Who produces each value: a node's id, or a graph input's.
    let mut producer: HashMap<&str, String> = HashMap::new();
    let mut root = Cluster::default();
    let mut out = String::from("digraph onnx {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8, color=gray40];\n");
    for (k, input) in graph.input.iter().filter(|i| !initializers.contains_key(i.name())).enumerate() {
        let label = format!("{}\n{}", input.name(), types.get(input.name()).cloned().unwrap_or_default());
        let _ = writeln!(out, "  in{k} [label={}, shape=oval, style=filled, fillcolor=\"#dbeafe\"];", quote(&label));
        producer.insert(input.name(), format!("in{k}"));
    }
    let mut edges = String::new();
    let mut drawn_edges: HashSet<(String, String, &str)> = HashSet::new();
    for (k, node) in graph.node.iter().enumerate() {
        let id = format!("n{k}");
        let mut label = node.op_type().to_owned();
        if !node.domain().is_empty() {
            label = format!("{}.{label}", node.domain());
        }
        let attrs: Vec<String> = node.attribute.iter().map(attribute).collect();
        if !attrs.is_empty() {
            label.push('\n');
            label.push_str(&attrs.join(", "));
        }
        let mut tooltip = format!("{}\n{}", node.name(), node.doc_string());
        for i in &node.input {
            if let Some(t) = initializers.get(i.as_str()) {
                let _ = write!(tooltip, "\n{i}: {t}");
            }
        }
        let guard: Vec<&&str> = guards
            .iter()
            .filter(|g| !node.doc_string().is_empty() && g.starts_with(&format!("{}:", node.doc_string())))
            .collect();
        let (color, extra) = if guard.is_empty() {
            ("#f3f4f6", "")
        } else {
            for g in &guard {
                let _ = write!(tooltip, "\nguard: {g}");
            }
            ("#fde68a", ", penwidth=2, color=\"#b45309\"")
        };
        let line = format!(
            "{id} [label={}, tooltip={}, shape=box, style=\"rounded,filled\", fillcolor=\"{color}\"{extra}];",
            quote(&label),
            quote(tooltip.trim_end())
        );
        root.insert(&scope(node.name()), line);
        for i in node.input.iter().filter(|i| !i.is_empty() && !initializers.contains_key(i.as_str())) {
            if let Some(from) = producer.get(i.as_str()) {
                if drawn_edges.insert((from.clone(), id.clone(), i.as_str())) {
                    let what = types.get(i.as_str()).map_or(i.clone(), |t| format!("{i}\n{t}"));
                    let _ = writeln!(edges, "  {from} -> {id} [label={}];", quote(&what));
                }
            }
        }
        for o in &node.output {
            producer.insert(o.as_str(), id.clone());
        }
    }
    root.write_dot(&mut out, true);
    for (k, output) in graph.output.iter().enumerate() {
        let label = format!("{}\n{}", output.name(), types.get(output.name()).cloned().unwrap_or_default());
        let _ = writeln!(out, "  out{k} [label={}, shape=oval, style=filled, fillcolor=\"#dcfce7\"];", quote(&label));
        if let Some(from) = producer.get(output.name()) {
            let _ = writeln!(edges, "  {from} -> out{k};");
        }
    }
    out.push_str(&edges);
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_from_node_names() {
        assert_eq!(scope("layer1.0/Conv"), ["layer1", "0"]);
        assert_eq!(scope("/layer1/layer1.0/conv1/Conv"), ["layer1", "0", "conv1"]);
        assert_eq!(scope("Conv_3"), Vec::<String>::new());
    }
}
