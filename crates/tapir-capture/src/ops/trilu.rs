//! tril and triu: the lower (upper) triangle of the last two dimensions, from a diagonal offset;
//! the rest is zero.
//!
//! ONNX: Trilu (https://onnx.ai/onnx/operators/onnx__Trilu.html, opset 14) for floats and int64;
//! below opset 14 and for other dtypes, a constant triangle mask and Where.

use super::{SymDims, lowering, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[x]` of rank 2 or more.
#[derive(Debug, Clone, PartialEq)]
pub struct Trilu {
    /// triu; tril otherwise.
    pub upper: bool,
    pub diagonal: i64,
}

impl OpDef for Trilu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        if self.upper {
            "triu"
        } else {
            "tril"
        }
    }
    fn describe(&self) -> String {
        format!("diagonal={}", self.diagonal)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.upper {
            t[0].f_triu(self.diagonal)
        } else {
            t[0].f_tril(self.diagonal)
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let dtype = cx.input_meta(0).dtype;
        if cx.opset() >= 14 && matches!(dtype, DType::F32 | DType::F64 | DType::I64) {
            let k = cx.const_scalar_i64(DType::I64, self.diagonal);
            return emit::one(cx.node("Trilu", &[x, k], vec![("upper", Attr::Int(self.upper as i64))]));
        }
        // The eager rule accepted the input: rank 2 or more.
        let shape = cx.input_dims(0);
        let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let keep = lowering::triangle_mask(cx, rows, cols, self.diagonal, self.upper);
        let zero = cx.const_scalar(dtype, 0.0);
        emit::one(lowering::select(cx, keep, x, zero, dtype))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "tril", methods: "`tril`" }, OpDoc { name: "triu", methods: "`triu`" }];

impl Tensor {
    /// The lower triangle of the last two dimensions: entries with `col - row <= diagonal`.
    #[track_caller]
    pub fn tril(&self, diagonal: i64) -> Tensor {
        record(Trilu { upper: false, diagonal }, &[self])
    }

    /// The upper triangle of the last two dimensions: entries with `col - row >= diagonal`.
    #[track_caller]
    pub fn triu(&self, diagonal: i64) -> Tensor {
        record(Trilu { upper: true, diagonal }, &[self])
    }
}
