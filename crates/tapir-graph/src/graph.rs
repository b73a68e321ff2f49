//! The captured graph: a petgraph `StableDiGraph` of inputs, constants and recorded ops.

use crate::sym::{SymDims, SymInt, SymTable};
use crate::{ConstData, Op, SourceLocation, TensorMeta};
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, NodeIndexable};
use petgraph::Direction;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

/// Where a constant came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstOrigin {
    /// A tensor created outside the trace and used inside it (a weight, a buffer, a capture).
    Captured,
    /// A value the traced code wrote down: a Rust scalar, or a factory op's result.
    Literal,
}

/// What a node is.
#[derive(Debug)]
pub enum NodeKind {
    /// A graph input, in the order given to the trace.
    Input { name: String },
    /// A constant value; becomes an ONNX initializer.
    Constant { data: Arc<dyn ConstData>, name: Option<String>, origin: ConstOrigin },
    /// A recorded operation.
    Op(Box<dyn Op>),
}

/// A node and the values it produces.
#[derive(Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub outputs: SmallVec<[TensorMeta; 1]>,
    /// The user's source location that produced the node (ops and captured constants).
    pub location: Option<SourceLocation>,
    /// Recording order; printing and export sort by it for deterministic output.
    pub seq: u32,
    /// The module scope the node was recorded in (`layer1.0.conv1`), if any.
    pub scope: Option<std::sync::Arc<str>>,
}

impl Node {
    /// The op name for ops, `input` or `const` otherwise.
    pub fn op_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Input { .. } => "input",
            NodeKind::Constant { .. } => "const",
            NodeKind::Op(op) => op.name(),
        }
    }
}

/// A point where a traced value left the tensor world (a scalar, a bool, a host copy was read)
/// and the traced code could branch on it: the trace is only valid while it reads the same.
#[derive(Clone, Debug, PartialEq)]
pub struct Guard {
    /// What was read (`double_value`, `bool`, `to_vec`, ...).
    pub read: &'static str,
    /// The value observed, as text (`0.5`, `true`, `[1, 2, 3]`).
    pub observed: String,
    /// The value it was read from, if it is still in the graph, and that value's producing op.
    pub value: Option<ValueRef>,
    pub op: &'static str,
    pub location: SourceLocation,
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} of `{}` observed {}", self.location, self.read, self.op, self.observed)
    }
}

/// A data edge: output `output` of the source feeds input slot `slot` of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub output: u16,
    pub slot: u16,
}

/// One value: the `output`-th result of `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueRef {
    pub node: NodeIndex,
    pub output: u16,
}

/// A graph output: a value and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphOutput {
    pub value: ValueRef,
    pub name: String,
}

/// The captured program.
#[derive(Debug, Default)]
pub struct Graph {
    g: StableDiGraph<Node, Edge>,
    inputs: Vec<NodeIndex>,
    outputs: Vec<GraphOutput>,
    next_seq: u32,
    guards: Vec<Guard>,
    /// Dynamic dimensions, size expressions and size guards (empty for a static trace).
    syms: SymTable,
    /// Symbolic shapes of the values that have a dynamic dimension; every other value's shape
    /// is its observed one.
    sym_shapes: HashMap<ValueRef, SymDims>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(
        &mut self,
        kind: NodeKind,
        outputs: SmallVec<[TensorMeta; 1]>,
        location: Option<SourceLocation>,
    ) -> NodeIndex {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.g.add_node(Node { kind, outputs, location, seq, scope: None })
    }

    /// Adds a graph input.
    pub fn add_input(&mut self, name: impl Into<String>, meta: TensorMeta) -> ValueRef {
        let node = self.push(NodeKind::Input { name: name.into() }, smallvec::smallvec![meta], None);
        self.inputs.push(node);
        ValueRef { node, output: 0 }
    }

    /// Adds a constant.
    pub fn add_constant(
        &mut self,
        data: Arc<dyn ConstData>,
        name: Option<String>,
        origin: ConstOrigin,
        location: Option<SourceLocation>,
    ) -> ValueRef {
        let meta = data.meta().clone();
        let node = self.push(NodeKind::Constant { data, name, origin }, smallvec::smallvec![meta], location);
        ValueRef { node, output: 0 }
    }

    /// Adds an op reading `inputs` (in slot order) and producing values with `outputs` metadata.
    pub fn add_op(
        &mut self,
        op: Box<dyn Op>,
        inputs: &[ValueRef],
        outputs: SmallVec<[TensorMeta; 1]>,
        location: Option<SourceLocation>,
    ) -> NodeIndex {
        let node = self.push(NodeKind::Op(op), outputs, location);
        for (slot, v) in inputs.iter().enumerate() {
            self.g.add_edge(v.node, node, Edge { output: v.output, slot: slot as u16 });
        }
        node
    }

    /// Sets the scope of node `n`.
    pub fn set_scope(&mut self, n: NodeIndex, scope: Option<std::sync::Arc<str>>) {
        self.g[n].scope = scope;
    }

    /// Records a guard.
    pub fn add_guard(&mut self, guard: Guard) {
        self.guards.push(guard);
    }

    /// The guards recorded, in order.
    pub fn guards(&self) -> &[Guard] {
        &self.guards
    }

    /// Sets the graph outputs.
    pub fn set_outputs(&mut self, outputs: Vec<GraphOutput>) {
        self.outputs = outputs;
    }

    pub fn inputs(&self) -> &[NodeIndex] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[GraphOutput] {
        &self.outputs
    }

    pub fn node(&self, n: NodeIndex) -> &Node {
        &self.g[n]
    }

    /// Metadata of a value.
    pub fn meta(&self, v: ValueRef) -> &TensorMeta {
        &self.g[v.node].outputs[v.output as usize]
    }

    /// The inputs of node `n`, in slot order.
    pub fn node_inputs(&self, n: NodeIndex) -> SmallVec<[ValueRef; 4]> {
        let mut edges: SmallVec<[(u16, ValueRef); 4]> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .map(|e| (e.weight().slot, ValueRef { node: e.source(), output: e.weight().output }))
            .collect();
        edges.sort_unstable_by_key(|(slot, _)| *slot);
        edges.into_iter().map(|(_, v)| v).collect()
    }

    /// All nodes in recording order (a topological order, since ops record after their inputs).
    pub fn nodes_in_order(&self) -> Vec<NodeIndex> {
        let mut nodes: Vec<NodeIndex> = self.g.node_indices().collect();
        nodes.sort_unstable_by_key(|n| self.g[*n].seq);
        nodes
    }

    /// Whether node `n` is (still) in the graph.
    pub fn contains(&self, n: NodeIndex) -> bool {
        self.g.contains_node(n)
    }

    /// Number of nodes of every kind.
    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Removes every op and constant that no graph output depends on. Inputs always stay.
    pub fn prune_unreachable(&mut self) -> usize {
        let mut live = vec![false; self.g.node_bound()];
        let mut stack: Vec<NodeIndex> = self.outputs.iter().map(|o| o.value.node).collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut live[n.index()], true) {
                continue;
            }
            stack.extend(self.g.neighbors_directed(n, Direction::Incoming));
        }
        let dead: Vec<NodeIndex> = self
            .g
            .node_indices()
            .filter(|n| !live[n.index()] && !matches!(self.g[*n].kind, NodeKind::Input { .. }))
            .collect();
        for n in &dead {
            self.g.remove_node(*n);
        }
        for guard in &mut self.guards {
            if guard.value.is_some_and(|v| !self.g.contains_node(v.node)) {
                guard.value = None;
            }
        }
        dead.len()
    }

    /// How many times each op occurs, by op name.
    pub fn op_histogram(&self) -> BTreeMap<&'static str, usize> {
        let mut h = BTreeMap::new();
        for n in self.g.node_weights() {
            if let NodeKind::Op(op) = &n.kind {
                *h.entry(op.name()).or_insert(0) += 1;
            }
        }
        h
    }

    /// Constants, in recording order.
    pub fn constants(&self) -> impl Iterator<Item = (NodeIndex, &Node)> + '_ {
        self.nodes_in_order()
            .into_iter()
            .map(move |n| (n, &self.g[n]))
            .filter(|(_, node)| matches!(node.kind, NodeKind::Constant { .. }))
    }

    /// Replaces the data of constant `n` with `data` of the same dtype and shape. Errors
    /// (changing nothing) when `n` is not a constant or `data` has another dtype or shape.
    pub fn set_constant_data(&mut self, n: NodeIndex, data: Arc<dyn ConstData>) -> Result<(), String> {
        let node = self.g.node_weight_mut(n).ok_or("no such node")?;
        let NodeKind::Constant { data: old, .. } = &mut node.kind else {
            return Err("not a constant".into());
        };
        if data.meta() != old.meta() {
            return Err(format!("the new data is {}, the constant {}", data.meta(), old.meta()));
        }
        *old = data;
        Ok(())
    }

    /// Total number of elements held by captured constants (the model's parameters and buffers).
    pub fn parameter_count(&self) -> i64 {
        self.constants()
            .filter(|(_, n)| matches!(&n.kind, NodeKind::Constant { origin: ConstOrigin::Captured, .. }))
            .map(|(_, n)| n.outputs[0].numel())
            .sum()
    }

    /// Whether any dimension of this graph is dynamic.
    pub fn is_dynamic(&self) -> bool {
        self.syms.is_dynamic()
    }

    /// The dynamic dimensions, size expressions and size guards of the trace.
    pub fn syms(&self) -> &SymTable {
        &self.syms
    }

    /// Sets the trace's symbol table (when the trace ends).
    pub fn set_syms(&mut self, syms: SymTable) {
        self.syms = syms;
    }

    /// The symbolic shape of `v`, when it has a dynamic dimension.
    pub fn sym_shape(&self, v: ValueRef) -> Option<&SymDims> {
        self.sym_shapes.get(&v)
    }

    /// The shape of `v` as sizes: symbolic where dynamic, the observed numbers elsewhere.
    pub fn dims(&self, v: ValueRef) -> SymDims {
        match self.sym_shapes.get(&v) {
            Some(d) => d.clone(),
            None => self.meta(v).shape.iter().map(|&d| SymInt::from(d)).collect(),
        }
    }

    /// `v`'s type as text: `f32[batch,seq,64]` (dynamic sizes by their expressions).
    pub fn type_text(&self, v: ValueRef) -> String {
        let m = self.meta(v);
        match self.sym_shapes.get(&v) {
            Some(dims) => {
                let dims: Vec<String> = dims.iter().map(|d| self.syms.sym_text(*d)).collect();
                format!("{}[{}]", m.dtype, dims.join(","))
            }
            None => m.to_string(),
        }
    }

    /// Records the symbolic shape of `v` (kept only when a dimension is dynamic).
    pub fn set_sym_shape(&mut self, v: ValueRef, dims: SymDims) {
        if dims.iter().any(|d| !d.is_static()) {
            self.sym_shapes.insert(v, dims);
        }
    }

    /// The compact printed form, with dense value numbers. `with_locations` adds `@ file:line`.
    pub fn display(&self, with_locations: bool) -> GraphDisplay<'_> {
        GraphDisplay { graph: self, with_locations }
    }
}

/// See [`Graph::display`].
#[derive(Debug)]
pub struct GraphDisplay<'a> {
    graph: &'a Graph,
    with_locations: bool,
}

impl fmt::Display for GraphDisplay<'_> {
    /// One line per node: `%3: f32[2,4] = linear(%0, %1, %2)  @ src/model.rs:12:9`, then one
    /// `return` line naming the outputs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.graph;
        let order = g.nodes_in_order();
        let mut number = vec![0usize; g.g.node_bound()];
        for (i, n) in order.iter().enumerate() {
            number[n.index()] = i;
        }
        let value_name = |v: ValueRef| {
            if g.g[v.node].outputs.len() == 1 {
                format!("%{}", number[v.node.index()])
            } else {
                format!("%{}.{}", number[v.node.index()], v.output)
            }
        };
        for n in &order {
            let node = &g.g[*n];
            let lhs: Vec<String> = node
                .outputs
                .iter()
                .enumerate()
                .map(|(k, _)| {
                    let v = ValueRef { node: *n, output: k as u16 };
                    format!("{}: {}", value_name(v), g.type_text(v))
                })
                .collect();
            write!(f, "{} = ", lhs.join(", "))?;
            match &node.kind {
                NodeKind::Input { name } => write!(f, "input \"{name}\"")?,
                NodeKind::Constant { name, origin, .. } => {
                    let kind = match origin {
                        ConstOrigin::Captured => "captured",
                        ConstOrigin::Literal => "const",
                    };
                    match name {
                        Some(name) => write!(f, "{kind} \"{name}\"")?,
                        None => write!(f, "{kind}")?,
                    }
                }
                NodeKind::Op(op) => {
                    let args: Vec<String> = g.node_inputs(*n).into_iter().map(value_name).collect();
                    write!(f, "{}({})", op.name(), args.join(", "))?;
                    let attrs = crate::sym::with_printing(&g.syms, || op.describe());
                    if !attrs.is_empty() {
                        write!(f, " {{{attrs}}}")?;
                    }
                }
            }
            if self.with_locations {
                if let Some(loc) = node.location {
                    write!(f, "  @ {}:{}", loc.file, loc.line)?;
                }
            }
            writeln!(f)?;
        }
        let outs: Vec<String> =
            g.outputs.iter().map(|o| format!("{} as \"{}\"", value_name(o.value), o.name)).collect();
        writeln!(f, "return {}", outs.join(", "))?;
        for (i, d) in g.syms.dims.iter().enumerate() {
            let max = d.max.map_or(String::new(), |m| m.to_string());
            writeln!(
                f,
                "dim {} = input {} axis {} in {}..={max}  (traced {}; s{i})",
                d.name, d.input, d.axis, d.min, d.hint
            )?;
        }
        for guard in &g.syms.guards {
            write!(f, "guard {}  ({})", g.syms.guard_text(guard), guard.what)?;
            if self.with_locations {
                write!(f, "  @ {}:{}", guard.location.file, guard.location.line)?;
            }
            writeln!(f)?;
        }
        for guard in &g.guards {
            let from = guard.value.map_or_else(|| "a pruned value".to_owned(), value_name);
            write!(f, "guard {} of {from} ({}) == {}", guard.read, guard.op, guard.observed)?;
            if self.with_locations {
                write!(f, "  @ {}:{}", guard.location.file, guard.location.line)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
