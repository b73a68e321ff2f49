//! Replay: run a captured graph on new inputs with tch, one node at a time, each op through its
//! `Op::eval`. Inputs must have the recorded dtypes and shapes, except along dynamic
//! dimensions: ops' sizes are then evaluated at the inputs' sizes.

use crate::constant::TchConst;
use crate::kind::dtype_of;
use crate::session::torch_message;
use crate::CaptureError;
use smallvec::SmallVec;
use std::any::Any;
use std::collections::HashMap;
use tapir_graph::{Graph, NodeKind, ValueRef};

/// Runs `f` on the inputs as tch tensors (the body of every op's `eval`).
pub(crate) fn run_eager(
    inputs: &[&dyn Any],
    f: impl FnOnce(&[&tch::Tensor]) -> Result<Vec<tch::Tensor>, tch::TchError>,
) -> Option<Result<Vec<Box<dyn Any>>, String>> {
    let ts: Option<SmallVec<[&tch::Tensor; 4]>> = inputs.iter().map(|a| a.downcast_ref::<tch::Tensor>()).collect();
    let Some(ts) = ts else {
        return Some(Err("replay inputs are not tch tensors".to_owned()));
    };
    Some(f(&ts).map(|v| v.into_iter().map(|t| Box::new(t) as Box<dyn Any>).collect()).map_err(|e| torch_message(&e)))
}

/// The size of each dynamic dimension at `inputs`, checked against the graph's inputs (static
/// sizes must match, one symbol one size), the declared ranges and the size guards.
pub fn dim_sizes(graph: &Graph, inputs: &[&tch::Tensor]) -> Result<Vec<i64>, CaptureError> {
    let table = graph.syms();
    let mut dims: Vec<Option<i64>> = vec![None; table.dims.len()];
    for (index, (&n, t)) in graph.inputs().iter().zip(inputs).enumerate() {
        let v = ValueRef { node: n, output: 0 };
        let want = graph.meta(v);
        let got = t.size();
        let bad = |message: String| CaptureError::ReplayInput { index, message };
        if dtype_of(t.kind()) != Some(want.dtype) || got.len() != want.rank() {
            return Err(bad(format!("expected {want}, got {:?}{got:?}", t.kind())));
        }
        let sym = graph.sym_shape(v);
        for (axis, (&g, &w)) in got.iter().zip(&want.shape).enumerate() {
            let symbol = sym.and_then(|s| table.expr(s[axis])).and_then(|p| match p.terms().next() {
                Some(([tapir_graph::sym::Atom::Sym(i)], 1)) if p.terms().count() == 1 => Some(*i as usize),
                _ => None,
            });
            match symbol {
                None if g != w => {
                    let specialized =
                        table.dims.iter().find(|d| d.input == index && d.axis == axis && d.specialized.is_some());
                    if let Some(d) = specialized {
                        return Err(bad(format!(
                            "dimension `{}` is {g}, but the trace made it static at {} (guard `{} == {}`): {}",
                            d.name,
                            d.hint,
                            d.name,
                            d.hint,
                            d.specialized.as_deref().unwrap_or_default()
                        )));
                    }
                    return Err(bad(format!(
                        "expected {want}, got {:?}{got:?}: axis {axis} is static (only declared dynamic dimensions may change)",
                        t.kind()
                    )));
                }
                None => {}
                Some(i) => match dims[i] {
                    Some(prev) if prev != g => {
                        return Err(bad(format!(
                            "dimension `{}` is {prev} in an earlier input and {g} here",
                            table.dims[i].name
                        )))
                    }
                    _ => dims[i] = Some(g),
                },
            }
        }
    }
    let dims: Vec<i64> = dims.iter().zip(&table.dims).map(|(d, decl)| d.unwrap_or(decl.hint)).collect();
    if let Some(why) = table.violation(&dims) {
        return Err(CaptureError::ReplayInput { index: 0, message: why });
    }
    Ok(dims)
}

/// Runs `graph` on `inputs` with tch and returns its outputs. Inputs must have the traced
/// dtypes and shapes, except along declared dynamic dimensions, whose sizes must be in range and
/// satisfy the trace's size guards.
pub fn replay(graph: &Graph, inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, CaptureError> {
    let _guard = tch::no_grad_guard();
    if inputs.len() != graph.inputs().len() {
        return Err(CaptureError::ReplayInput {
            index: inputs.len().min(graph.inputs().len()),
            message: format!("{} inputs given, the graph has {}", inputs.len(), graph.inputs().len()),
        });
    }
    if !graph.is_dynamic() {
        return replay_values(graph, inputs);
    }
    let dims = dim_sizes(graph, inputs)?;
    let table = graph.syms();
    let values = table.replay_values(&dims, &mut |_, _, _| None);
    tapir_graph::sym::with_replay_values(table, values, || replay_values(graph, inputs))
}

fn replay_values(graph: &Graph, inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, CaptureError> {
    let mut values: HashMap<ValueRef, tch::Tensor> = HashMap::new();
    let mut next_input = 0;
    let has_opaque = graph.is_dynamic()
        && graph.syms().exprs().iter().any(|p| {
            let mut atoms = vec![];
            p.atoms(&mut atoms);
            atoms.iter().any(|a| matches!(a, tapir_graph::sym::Atom::Dim { .. }))
        });
    for n in graph.nodes_in_order() {
        let node = graph.node(n);
        let v0 = ValueRef { node: n, output: 0 };
        match &node.kind {
            NodeKind::Input { .. } => {
                let t = inputs[next_input];
                let want = &node.outputs[0];
                let got_dtype = dtype_of(t.kind());
                if !graph.is_dynamic() && (got_dtype != Some(want.dtype) || t.size() != want.shape.as_slice()) {
                    return Err(CaptureError::ReplayInput {
                        index: next_input,
                        message: format!(
                            "expected {want}, got {:?}{:?} (traced shapes are static)",
                            t.kind(),
                            t.size()
                        ),
                    });
                }
                values.insert(v0, t.shallow_clone());
                next_input += 1;
            }
            NodeKind::Constant { data, .. } => {
                let c = data.as_any().downcast_ref::<TchConst>().ok_or_else(|| CaptureError::ReplayInput {
                    index: 0,
                    message: "constant not held by tch".into(),
                })?;
                values.insert(v0, c.tensor());
            }
            NodeKind::Op(op) => {
                if has_opaque {
                    // Sizes read from ops' results at run time: known once those ops ran.
                    let table = graph.syms();
                    let dims = dim_sizes(graph, inputs)?;
                    let now = table.replay_values(&dims, &mut |node, output, axis| {
                        let v = ValueRef { node: tapir_graph::NodeIndex::new(node as usize), output };
                        values.get(&v).and_then(|t| t.size().get(axis as usize).copied())
                    });
                    tapir_graph::sym::set_replay_values(table, now);
                }
                let ins = graph.node_inputs(n);
                let refs: Vec<&dyn Any> = ins.iter().map(|v| &values[v] as &dyn Any).collect();
                let location =
                    node.location.unwrap_or(tapir_graph::SourceLocation { file: "<unknown>", line: 0, column: 0 });
                let outs = match op.eval(&refs, &node.outputs) {
                    None => {
                        return Err(CaptureError::Replay {
                            op: op.name(),
                            location,
                            message: "this op has no replay".into(),
                        })
                    }
                    Some(Err(message)) => return Err(CaptureError::Replay { op: op.name(), location, message }),
                    Some(Ok(outs)) => outs,
                };
                for (k, o) in outs.into_iter().enumerate() {
                    let t = o.downcast::<tch::Tensor>().map_err(|_| CaptureError::Replay {
                        op: op.name(),
                        location,
                        message: "eval returned a non-tch value".into(),
                    })?;
                    values.insert(ValueRef { node: n, output: k as u16 }, *t);
                }
            }
        }
    }
    Ok(graph.outputs().iter().map(|o| values[&o.value].shallow_clone()).collect())
}
