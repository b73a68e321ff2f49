//! Replay: run a captured graph on new inputs with tch, one node at a time, each op through its
//! `Op::eval`. Shapes are static: inputs must have the recorded dtypes and shapes.

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

/// Runs `graph` on `inputs` with tch and returns its outputs.
pub fn replay(graph: &Graph, inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, CaptureError> {
    let _guard = tch::no_grad_guard();
    if inputs.len() != graph.inputs().len() {
        return Err(CaptureError::ReplayInput {
            index: inputs.len().min(graph.inputs().len()),
            message: format!("{} inputs given, the graph has {}", inputs.len(), graph.inputs().len()),
        });
    }
    let mut values: HashMap<ValueRef, tch::Tensor> = HashMap::new();
    let mut next_input = 0;
    for n in graph.nodes_in_order() {
        let node = graph.node(n);
        let v0 = ValueRef { node: n, output: 0 };
        match &node.kind {
            NodeKind::Input { .. } => {
                let t = inputs[next_input];
                let want = &node.outputs[0];
                let got_dtype = dtype_of(t.kind());
                if got_dtype != Some(want.dtype) || t.size() != want.shape.as_slice() {
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
