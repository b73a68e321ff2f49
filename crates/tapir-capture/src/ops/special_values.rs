//! isnan, isinf, isfinite and nan_to_num: tests for and replacement of NaN and infinities.
//!
//! ONNX: IsNaN, IsInf (floats; integers and bools are never NaN or infinite, so the tests are a
//! constant false there: `Not(Equal(x, x))`, which needs no new constant); isfinite is
//! `Not(Or(IsNaN, IsInf))`; nan_to_num replaces with Where, its defaults the dtype's largest and
//! smallest finite values, as torch's.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs, Sym};

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpecialValues {
    IsNan,
    IsInf,
    IsFinite,
    /// nan_to_num with the NaN, +inf and -inf replacements (`None`: torch's defaults).
    NanToNum { nan: f64, posinf: Option<f64>, neginf: Option<f64> },
}

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Special {
    pub f: SpecialValues,
}

/// The largest finite value of a float dtype.
fn max_finite(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => f64::MAX,
        DType::F16 => 65504.0,
        DType::BF16 => 3.3895313892515355e38,
        _ => f32::MAX as f64,
    }
}

fn is_false(cx: &mut dyn Emit, x: Sym, dtype: DType) -> Sym {
    // Equal has no bool form in every runtime: compare as uint8.
    let x = if dtype == DType::Bool { emit::cast(cx, x, dtype, DType::U8) } else { x };
    let same = cx.node("Equal", &[x, x], vec![]);
    cx.node("Not", &[same], vec![])
}

impl OpDef for Special {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(match self.f {
            SpecialValues::NanToNum { .. } => inputs.first()?.dtype,
            _ => tapir_graph::DType::Bool,
        })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        match self.f {
            SpecialValues::IsNan => "isnan",
            SpecialValues::IsInf => "isinf",
            SpecialValues::IsFinite => "isfinite",
            SpecialValues::NanToNum { .. } => "nan_to_num",
        }
    }
    fn describe(&self) -> String {
        match self.f {
            SpecialValues::NanToNum { nan, posinf, neginf } => {
                format!("nan={nan}, posinf={posinf:?}, neginf={neginf:?}")
            }
            _ => String::new(),
        }
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        match self.f {
            SpecialValues::IsNan => t[0].f_isnan(),
            SpecialValues::IsInf => t[0].f_isinf(),
            SpecialValues::IsFinite => t[0].f_isfinite(),
            SpecialValues::NanToNum { nan, posinf, neginf } => t[0].f_nan_to_num(nan, posinf, neginf),
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let dtype = cx.input_meta(0).dtype;
        let float = dtype.is_float();
        let y = match self.f {
            SpecialValues::IsNan | SpecialValues::IsInf if !float => is_false(cx, x, dtype),
            SpecialValues::IsNan => cx.node("IsNaN", &[x], vec![]),
            SpecialValues::IsInf => cx.node("IsInf", &[x], vec![]),
            SpecialValues::IsFinite if !float => {
                let f = is_false(cx, x, dtype);
                cx.node("Not", &[f], vec![])
            }
            SpecialValues::IsFinite => {
                let (nan, inf) = (cx.node("IsNaN", &[x], vec![]), cx.node("IsInf", &[x], vec![]));
                let bad = cx.node("Or", &[nan, inf], vec![]);
                cx.node("Not", &[bad], vec![])
            }
            SpecialValues::NanToNum { .. } if !float => x,
            SpecialValues::NanToNum { nan, posinf, neginf } => {
                let big = max_finite(dtype);
                let is_nan = cx.node("IsNaN", &[x], vec![]);
                let pos = cx.node("IsInf", &[x], vec![("detect_negative", Attr::Int(0))]);
                let neg = cx.node("IsInf", &[x], vec![("detect_positive", Attr::Int(0))]);
                let (nan, posinf, neginf) = (
                    cx.const_scalar(dtype, nan),
                    cx.const_scalar(dtype, posinf.unwrap_or(big)),
                    cx.const_scalar(dtype, neginf.unwrap_or(-big)),
                );
                let y = cx.node("Where", &[is_nan, nan, x], vec![]);
                let y = cx.node("Where", &[pos, posinf, y], vec![]);
                cx.node("Where", &[neg, neginf, y], vec![])
            }
        };
        emit::one(y)
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "isnan", methods: "`isnan`" },
    OpDoc { name: "isinf", methods: "`isinf`" },
    OpDoc { name: "isfinite", methods: "`isfinite`" },
    OpDoc { name: "nan_to_num", methods: "`nan_to_num`" },
];

impl Tensor {
    /// Where entries are NaN.
    #[track_caller]
    pub fn isnan(&self) -> Tensor {
        record(Special { f: SpecialValues::IsNan }, &[self])
    }

    /// Where entries are +inf or -inf.
    #[track_caller]
    pub fn isinf(&self) -> Tensor {
        record(Special { f: SpecialValues::IsInf }, &[self])
    }

    /// Where entries are neither NaN nor infinite.
    #[track_caller]
    pub fn isfinite(&self) -> Tensor {
        record(Special { f: SpecialValues::IsFinite }, &[self])
    }

    /// NaN replaced by `nan` (0 when `None`), +inf and -inf by `posinf` and `neginf` (the
    /// dtype's largest and smallest finite values when `None`), as torch's.
    #[track_caller]
    pub fn nan_to_num(
        &self,
        nan: impl Into<Option<f64>>,
        posinf: impl Into<Option<f64>>,
        neginf: impl Into<Option<f64>>,
    ) -> Tensor {
        let f = SpecialValues::NanToNum { nan: nan.into().unwrap_or(0.0), posinf: posinf.into(), neginf: neginf.into() };
        record(Special { f }, &[self])
    }
}
