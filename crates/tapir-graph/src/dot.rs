//! The graph as Graphviz DOT text: one box per op (its name, attributes and output types), module
//! scopes as nested clusters, edges labelled with the tensor they carry, graph inputs and
//! outputs as ovals, captured weights folded into the op that uses them (listed in its tooltip,
//! not drawn), guards marked on the op whose value the traced code read (or listed in a note
//! when that value is no longer in the graph), and each node's source location as its tooltip.

use crate::graph::{Graph, NodeKind};
use crate::NodeIndex;
use std::collections::BTreeMap;
use std::fmt::Write;

/// DOT's quoted string: `"` and `\` escaped, newlines as `\n`.
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// DOT node lines grouped into clusters nested by scope path (`layer1.0` inside `layer1`).
#[derive(Debug, Default)]
pub struct Cluster {
    nodes: Vec<String>,
    children: BTreeMap<String, Cluster>,
}

impl Cluster {
    /// Adds the DOT line `node` to the cluster at `path` (the root for an empty path).
    pub fn insert<S: AsRef<str>>(&mut self, path: &[S], node: String) {
        match path.split_first() {
            None => self.nodes.push(node),
            Some((first, rest)) => self.children.entry(first.as_ref().to_owned()).or_default().insert(rest, node),
        }
    }

    /// Writes the clusters as `subgraph cluster_N` blocks. With `collapse_single`, a cluster
    /// holding one node and nothing else is written as that node alone.
    pub fn write_dot(&self, out: &mut String, collapse_single: bool) {
        self.write(out, "", 1, &mut 0, collapse_single);
    }

    fn write(&self, out: &mut String, prefix: &str, depth: usize, counter: &mut usize, collapse_single: bool) {
        let pad = "  ".repeat(depth);
        for n in &self.nodes {
            let _ = writeln!(out, "{pad}{n}");
        }
        for (name, child) in &self.children {
            if collapse_single && child.children.is_empty() && child.nodes.len() == 1 {
                let _ = writeln!(out, "{pad}{}", child.nodes[0]);
                continue;
            }
            *counter += 1;
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            let _ = writeln!(out, "{pad}subgraph cluster_{counter} {{");
            let _ = writeln!(out, "{pad}  label={}; style=rounded; color=gray60; fontcolor=gray30;", quote(&path));
            child.write(out, &path, depth + 1, counter, collapse_single);
            let _ = writeln!(out, "{pad}}}");
        }
    }
}

impl Graph {
    /// The graph as Graphviz DOT text (see the module docs). Deterministic: nodes in recording
    /// order.
    pub fn to_dot(&self) -> String {
        let id = |n: NodeIndex| format!("n{}", n.index());
        let mut root = Cluster::default();
        let mut edges = String::new();
        let mut guarded: BTreeMap<NodeIndex, Vec<String>> = BTreeMap::new();
        let mut detached = vec![];
        for g in self.guards() {
            let text = format!("{} -> {} at {}", g.read, g.observed, g.location);
            match g.value.filter(|v| self.contains(v.node)) {
                Some(v) => guarded.entry(v.node).or_default().push(text),
                // The value read is no longer in the graph (no output needed it).
                None => detached.push(format!("{} of {}", text, g.op)),
            }
        }
        for n in self.nodes_in_order() {
            let node = self.node(n);
            let types: Vec<String> = node.outputs.iter().map(|m| m.to_string()).collect();
            let location = node.location.map(|l| l.to_string()).unwrap_or_default();
            let line = match &node.kind {
                NodeKind::Constant { .. } => continue,
                NodeKind::Input { name } => {
                    let label = format!("{name}\n{}", types.join(", "));
                    format!("{} [label={}, shape=oval, style=filled, fillcolor=\"#dbeafe\"];", id(n), quote(&label))
                }
                NodeKind::Op(op) => {
                    let attrs = op.describe();
                    let mut label = op.name().to_owned();
                    if !attrs.is_empty() {
                        label.push('\n');
                        label.push_str(&attrs);
                    }
                    label.push('\n');
                    label.push_str(&types.join(", "));
                    let mut tooltip = location.clone();
                    // Captured weights and literals are not drawn: named in the tooltip.
                    for v in self.node_inputs(n) {
                        if let NodeKind::Constant { name, .. } = &self.node(v.node).kind {
                            let what = name.clone().unwrap_or_else(|| "constant".to_owned());
                            let _ = write!(tooltip, "\n{what}: {}", self.meta(v));
                        }
                    }
                    let (color, extra) = match guarded.get(&n) {
                        Some(reads) => {
                            for r in reads {
                                let _ = write!(tooltip, "\nguard: {r}");
                            }
                            ("#fde68a", ", penwidth=2, color=\"#b45309\"")
                        }
                        None => ("#f3f4f6", ""),
                    };
                    format!(
                        "{} [label={}, tooltip={}, shape=box, style=\"rounded,filled\", fillcolor=\"{color}\"{extra}];",
                        id(n),
                        quote(&label),
                        quote(&tooltip)
                    )
                }
            };
            let scope: Vec<&str> = node.scope.as_deref().map(|s| s.split('.').collect()).unwrap_or_default();
            root.insert(&scope, line);
            for v in self.node_inputs(n) {
                if matches!(self.node(v.node).kind, NodeKind::Constant { .. }) {
                    continue;
                }
                let _ = writeln!(edges, "  {} -> {} [label={}];", id(v.node), id(n), quote(&self.meta(v).to_string()));
            }
        }
        let mut out = String::from("digraph tapir {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8, color=gray40];\n");
        root.write_dot(&mut out, false);
        if !detached.is_empty() {
            let label = format!("guards: the trace holds while these reads give the same\n{}", detached.join("\n"));
            let _ =
                writeln!(out, "  guards [label={}, shape=note, style=filled, fillcolor=\"#fde68a\"];", quote(&label));
        }
        for (k, o) in self.outputs().iter().enumerate() {
            let _ = writeln!(
                out,
                "  out{k} [label={}, shape=oval, style=filled, fillcolor=\"#dcfce7\"];",
                quote(&format!("{}\n{}", o.name, self.meta(o.value)))
            );
            if !matches!(self.node(o.value.node).kind, NodeKind::Constant { .. }) {
                let _ = writeln!(edges, "  {} -> out{k};", id(o.value.node));
            }
        }
        out.push_str(&edges);
        out.push_str("}\n");
        out
    }
}
