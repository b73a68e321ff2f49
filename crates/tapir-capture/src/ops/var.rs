//! var and std over dimensions, with a correction (1: the unbiased estimate, torch's default;
//! 0: the biased one).
//!
//! ONNX: `sum((x - mean)^2) / (n - correction)` with ReduceMean and ReduceSum over the axes
//! (`n` the number of entries reduced, known from the shape), and Sqrt for std.

use super::{lowering, Dims, IntList, OpDef, OpDoc, SymDims, SymInt};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// std; var otherwise.
    pub std: bool,
    /// Non-negative, sorted dimensions; empty only for a 0-d input.
    pub dims: Dims,
    pub correction: i64,
    pub keepdim: bool,
}

impl OpDef for Var {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::reduced(inputs, &self.dims, self.keepdim, 1)
    }
    fn name(&self) -> &'static str {
        if self.std {
            "std"
        } else {
            "var"
        }
    }
    fn describe(&self) -> String {
        format!("dims={:?}, correction={}, keepdim={}", self.dims, self.correction, self.keepdim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        // Every dimension is listed (empty only for a 0-d input, where None means the same).
        let dims = if self.dims.is_empty() { None } else { Some(self.dims.as_slice()) };
        let c = tch::Scalar::from(self.correction);
        if self.std {
            t[0].f_std_correction(dims, c, self.keepdim)
        } else {
            t[0].f_var_correction(dims, c, self.keepdim)
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let meta = cx.input_meta(0).clone();
        let dtype = cx.output_meta(0).dtype;
        let dims: Dims = if self.dims.is_empty() { (0..meta.rank() as i64).collect() } else { self.dims.clone() };
        let n: i64 = dims.iter().map(|d| meta.shape.get(*d as usize).copied().unwrap_or(1)).product();
        let sym = cx.input_dims(0);
        let n_sym = dims.iter().fold(SymInt::from(1), |a, d| a * sym.get(*d as usize).copied().unwrap_or(SymInt::from(1)));
        if meta.numel() == 0 {
            // Over no entries the variance is NaN (0 / 0), as in torch; runtimes differ on
            // reducing empty tensors.
            let out = cx.output_meta(0).shape.clone();
            let nan = cx.const_scalar(dtype, f64::NAN);
            let shape = cx.const_i64s(&out);
            return emit::one(cx.node("Expand", &[nan, shape], vec![]));
        }
        let keepdim = self.keepdim;
        let std = self.std;
        let correction = self.correction;
        emit::rank0_as_rank1(cx, |cx, x| {
            let dims: Dims = if meta.rank() == 0 { smallvec::smallvec![0] } else { dims };
            let x = emit::cast(cx, x, meta.dtype, dtype);
            let mean = lowering::reduce(cx, "ReduceMean", x, &dims, true);
            let d = cx.node("Sub", &[x, mean], vec![]);
            let sq = cx.node("Mul", &[d, d], vec![]);
            let sum = lowering::reduce(cx, "ReduceSum", sq, &dims, keepdim);
            // torch divides by max(n - correction, 0): 0 gives inf or NaN, as here. On a
            // dynamic dimension the count is computed from the input's shape.
            let divisor = if n_sym.is_static() {
                cx.const_scalar(dtype, (n - correction).max(0) as f64)
            } else {
                let count = cx.dims_tensor(&[n_sym - correction]);
                let zero = cx.const_i64s(&[0]);
                let count = cx.node("Max", &[count, zero], vec![]);
                let count = emit::squeeze(cx, count, &[0]);
                emit::cast(cx, count, tapir_graph::DType::I64, dtype)
            };
            let var = cx.node("Div", &[sum, divisor], vec![]);
            emit::one(if std { cx.node("Sqrt", &[var], vec![]) } else { var })
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "var", methods: "`var`, `var_dim`, `var_correction`" },
    OpDoc { name: "std", methods: "`std`, `std_dim`, `std_correction`" },
];

impl Tensor {
    #[track_caller]
    fn var_op(&self, std: bool, dims: &[i64], correction: i64, keepdim: bool) -> Tensor {
        let mut dims: Dims = if dims.is_empty() {
            (0..self.dim() as i64).collect()
        } else {
            dims.iter().map(|d| self.norm_dim(*d)).collect()
        };
        dims.sort_unstable();
        record(Var { std, dims, correction, keepdim }, &[self])
    }

    /// The variance of all entries (`unbiased`: divided by n - 1).
    #[track_caller]
    pub fn var(&self, unbiased: bool) -> Tensor {
        self.var_op(false, &[], unbiased as i64, false)
    }

    /// The variance over `dims` (`unbiased`: divided by n - 1).
    #[track_caller]
    pub fn var_dim(&self, dims: impl IntList, unbiased: bool, keepdim: bool) -> Tensor {
        self.var_op(false, &dims.to_dims(), unbiased as i64, keepdim)
    }

    /// The variance over `dims` divided by `n - correction`.
    #[track_caller]
    pub fn var_correction(&self, dims: impl IntList, correction: i64, keepdim: bool) -> Tensor {
        self.var_op(false, &dims.to_dims(), correction, keepdim)
    }

    /// The standard deviation of all entries (`unbiased`: from the variance over n - 1).
    #[track_caller]
    pub fn std(&self, unbiased: bool) -> Tensor {
        self.var_op(true, &[], unbiased as i64, false)
    }

    /// The standard deviation over `dims`.
    #[track_caller]
    pub fn std_dim(&self, dims: impl IntList, unbiased: bool, keepdim: bool) -> Tensor {
        self.var_op(true, &dims.to_dims(), unbiased as i64, keepdim)
    }

    /// The standard deviation over `dims` from the variance over `n - correction`.
    #[track_caller]
    pub fn std_correction(&self, dims: impl IntList, correction: i64, keepdim: bool) -> Tensor {
        self.var_op(true, &dims.to_dims(), correction, keepdim)
    }
}
