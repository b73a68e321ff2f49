//! argmax and argmin along a dimension (or over the flattened tensor).
//!
//! ONNX: ArgMax / ArgMin with `axis`, `keepdims`, first occurrence (`select_last_index=0`, as
//! torch); over all elements, a Reshape to 1-D first.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct ArgReduce {
    pub max: bool,
    /// `None`: over the flattened tensor.
    pub dim: Option<i64>,
    pub keepdim: bool,
}

impl OpDef for ArgReduce {
    type Output = tch::Tensor;
    fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(tapir_graph::DType::I64)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let out = match self.dim {
            Some(d) => super::shape::reduce(x, &[d], self.keepdim)?,
            None if self.keepdim => x.iter().map(|_| SymInt::from(1)).collect(),
            None => SymDims::new(),
        };
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        if self.max {
            "argmax"
        } else {
            "argmin"
        }
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.max {
            t[0].f_argmax(self.dim, self.keepdim)
        } else {
            t[0].f_argmin(self.dim, self.keepdim)
        }
    }
    fn describe(&self) -> String {
        format!("dim={:?}, keepdim={}", self.dim, self.keepdim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let op_type = if self.max { "ArgMax" } else { "ArgMin" };
        let from = cx.input_meta(0).dtype;
        emit::rank0_as_rank1(cx, |cx, x| {
            // ArgMax/ArgMin have no bool form: bools compare as int32.
            let mut x = if from == DType::Bool { emit::cast(cx, x, from, DType::I32) } else { x };
            let (axis, keep) = match self.dim {
                Some(d) => (d, self.keepdim),
                None => {
                    x = emit::reshape(cx, x, &[-1]);
                    (0, false)
                }
            };
            let r = cx.node(op_type, &[x], vec![("axis", Attr::Int(axis)), ("keepdims", Attr::Int(keep as i64))]);
            let out_shape = cx.output_meta(0).shape.clone();
            if self.dim.is_none() && self.keepdim {
                return emit::one(emit::reshape(cx, r, &out_shape));
            }
            emit::one(r)
        })
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "argmax", methods: "`argmax`" }, OpDoc { name: "argmin", methods: "`argmin`" }];

impl Tensor {
    /// Index of the maximum along `dim` (`None`: over all elements).
    #[track_caller]
    pub fn argmax(&self, dim: impl Into<Option<i64>>, keepdim: bool) -> Tensor {
        let dim = dim.into().map(|d| self.norm_dim(d));
        record(ArgReduce { max: true, dim, keepdim }, &[self])
    }

    /// Index of the minimum along `dim` (`None`: over all elements).
    #[track_caller]
    pub fn argmin(&self, dim: impl Into<Option<i64>>, keepdim: bool) -> Tensor {
        let dim = dim.into().map(|d| self.norm_dim(d));
        record(ArgReduce { max: false, dim, keepdim }, &[self])
    }
}
