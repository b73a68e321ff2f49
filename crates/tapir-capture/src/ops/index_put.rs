//! index_put with a boolean mask: `self[mask] = value` (or `+= value` with `accumulate`), the
//! value one number-like entry (a 0-d or one-element tensor). The mask covers the leading
//! dimensions of `self`. Values given per selected entry depend on how many entries the mask
//! selects, which is data: those are refused with a message.
//!
//! ONNX: Where(mask, value, self), or `self + Where(mask, value, 0)` to accumulate; the mask gets
//! trailing axes to broadcast over the remaining dimensions.

use super::{SymDims, bad_argument, lowering, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

/// Inputs: `[x, mask, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexPut {
    pub accumulate: bool,
}

impl OpDef for IndexPut {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "index_put"
    }
    fn describe(&self) -> String {
        format!("accumulate={}", self.accumulate)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_index_put(&[Some(t[1])], t[2], self.accumulate)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let (rank, mask_rank) = (cx.input_meta(0).rank(), cx.input_meta(1).rank());
        let x = emit::input_as(cx, 0, out);
        let mut mask = emit::input_as(cx, 1, DType::Bool);
        if mask_rank < rank {
            let axes: Vec<i64> = (mask_rank as i64..rank as i64).collect();
            mask = emit::unsqueeze(cx, mask, &axes);
        }
        let value = emit::input_as(cx, 2, out);
        let value = emit::reshape(cx, value, &[]);
        if !self.accumulate {
            return emit::one(lowering::select(cx, mask, value, x, out));
        }
        let zero = cx.const_scalar(out, 0.0);
        let add = lowering::select(cx, mask, value, zero, out);
        let op_type = if out == DType::Bool { "Or" } else { "Add" };
        emit::one(cx.node(op_type, &[x, add], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "index_put", methods: "`index_put` (a boolean mask, one value)" }];

impl Tensor {
    /// `self[mask] = values` (`accumulate`: `+=`), tch's signature. Supported: one index, a
    /// boolean mask over the leading dimensions, and a single value (0-d or one element).
    #[track_caller]
    pub fn index_put<T: std::borrow::Borrow<Tensor>>(&self, indices: &[Option<T>], values: &Tensor, accumulate: bool) -> Tensor {
        let mask = match indices {
            [Some(m)] if m.borrow().kind() == tch::Kind::Bool => m.borrow(),
            _ => {
                let why = "only one boolean mask is supported as the index (integer indices: use scatter)";
                return bad_argument("index_put", why.to_owned());
            }
        };
        if values.error().is_none() && values.size_unchecked().iter().product::<i64>() != 1 {
            let why = format!(
                "values must be one entry (0-d or one element), got shape {:?}: one value per selected entry depends on the mask's data",
                values.size_unchecked()
            );
            return bad_argument("index_put", why);
        }
        record(IndexPut { accumulate }, &[self, mask, values])
    }
}
