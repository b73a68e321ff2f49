//! The traced tensor type.

use crate::kind::{dtype_of, kind_of};
use crate::session;
use crate::CaptureError;
use std::sync::Arc;
use tapir_graph::{DType, SourceLocation, SymInt, ValueRef};

/// What a [`Tensor`] knows beyond its eager value.
#[derive(Clone, Debug)]
pub(crate) enum State {
    /// Computed with no trace active, or created outside any trace.
    Eager,
    /// A value of trace `trace`.
    Traced { trace: u64, value: ValueRef },
    /// An op this tensor depends on failed; the error travels with the tensor.
    Failed(Arc<CaptureError>),
}

/// A tensor whose ops run eagerly through tch and are recorded while a trace is active.
///
/// Ops never panic: an op that fails yields a tensor carrying the error, every op on it carries
/// the error on, and the trace (or [`Tensor::to_tch`] outside a trace) reports the first one,
/// with the op's name and source location.
///
/// ```
/// use tapir_capture::Tensor;
/// let x = Tensor::from(tch::Tensor::from_slice(&[1.0f32, -2.0, 3.0]));
/// let y = (&x * 2.0).relu();
/// assert_eq!(y.to_tch().unwrap().double_value(&[2]), 6.0);
/// ```
#[derive(Debug)]
pub struct Tensor {
    pub(crate) inner: tch::Tensor,
    pub(crate) state: State,
}

impl Tensor {
    pub(crate) fn from_state(inner: tch::Tensor, state: State) -> Self {
        Tensor { inner, state }
    }

    /// The eager value, or the error of the first failed op this tensor depends on.
    pub fn to_tch(&self) -> Result<tch::Tensor, CaptureError> {
        match &self.state {
            State::Failed(e) => Err(CaptureError::Carried(e.clone())),
            _ => Ok(self.inner.shallow_clone()),
        }
    }

    /// The eager value without checking for a carried error: an undefined tch tensor if an op
    /// failed. Prefer [`Tensor::to_tch`].
    pub fn as_tch(&self) -> &tch::Tensor {
        &self.inner
    }

    /// The error this tensor carries, if an op it depends on failed.
    pub fn error(&self) -> Option<&CaptureError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Whether this tensor is a value of a trace.
    pub fn is_traced(&self) -> bool {
        matches!(self.state, State::Traced { .. })
    }

    pub(crate) fn traced_value(&self, trace: u64) -> Option<ValueRef> {
        match self.state {
            State::Traced { trace: t, value } if t == trace => Some(value),
            _ => None,
        }
    }

    /// Observed sizes as plain integers (empty for a failed tensor): tch's `size`. Code that
    /// builds shapes from them is specialized to the traced shape; in a trace with dynamic
    /// dimensions, reading a dynamic size this way fails the trace (it would bake the size):
    /// read sizes with [`Tensor::sym_size`] there.
    #[track_caller]
    pub fn size(&self) -> Vec<i64> {
        self.size_at(SourceLocation::caller())
    }

    /// [`Tensor::size`], with the read's location given.
    fn size_at(&self, location: SourceLocation) -> Vec<i64> {
        let size = self.size_unchecked();
        if let State::Traced { .. } = self.state {
            let dims = session::dims_of(self);
            if dims.iter().any(|d| !d.is_static()) {
                tapir_graph::sym::with_active(|t| {
                    let which: Vec<String> = dims.iter().map(|d| t.sym_text(*d)).collect();
                    let message = format!(
                        "`size()` read the shape [{}] as plain integers, which bakes its dynamic sizes; read it with `sym_size()` (or `sym_size1..4`)",
                        which.join(", ")
                    );
                    for d in dims.iter().filter(|d| !d.is_static()) {
                        let p = t.poly(*d);
                        t.specialize_or_fail(&p, message.clone(), location);
                    }
                });
            }
        }
        size
    }

    /// The observed sizes without the dynamic-size check (for eager rules and internals).
    pub(crate) fn size_unchecked(&self) -> Vec<i64> {
        if self.inner.defined() {
            self.inner.size()
        } else {
            vec![]
        }
    }

    /// The sizes as [`SymInt`]s: in a trace with dynamic dimensions, the dynamic ones are
    /// expressions of the declared symbols (`batch`, `seq*4`) that ops compute in the exported
    /// graph; everywhere else, the observed numbers. Empty for a failed tensor.
    pub fn sym_size(&self) -> Vec<SymInt> {
        session::dims_of(self).into_vec()
    }

    /// `read`'s sizes of a tensor of rank `N`: the error this tensor carries if an op it
    /// depends on failed, or an error naming the caller's location if its rank is not `N`.
    #[track_caller]
    fn sizes_n<T: Copy, const N: usize>(
        &self,
        op: &'static str,
        read: impl FnOnce(&Self) -> Vec<T>,
    ) -> Result<[T; N], CaptureError> {
        if let State::Failed(e) = &self.state {
            return Err(CaptureError::Carried(e.clone()));
        }
        let size = read(self);
        let location = SourceLocation::caller();
        <[T; N]>::try_from(size.as_slice()).map_err(|_| CaptureError::Op {
            op,
            location,
            message: format!("expected a tensor with {N} dimension(s), got shape {:?}", self.size_unchecked()),
        })
    }

    /// The sizes of a tensor of rank `N` as [`SymInt`]s.
    #[track_caller]
    fn sym_sizes_n<const N: usize>(&self, op: &'static str) -> Result<[SymInt; N], CaptureError> {
        self.sizes_n(op, Tensor::sym_size)
    }

    /// [`Tensor::size1`] as a [`SymInt`].
    #[track_caller]
    pub fn sym_size1(&self) -> Result<SymInt, CaptureError> {
        self.sym_sizes_n::<1>("sym_size1").map(|[a]| a)
    }

    /// [`Tensor::size2`] as [`SymInt`]s.
    #[track_caller]
    pub fn sym_size2(&self) -> Result<(SymInt, SymInt), CaptureError> {
        self.sym_sizes_n::<2>("sym_size2").map(|[a, b]| (a, b))
    }

    /// [`Tensor::size3`] as [`SymInt`]s.
    #[track_caller]
    pub fn sym_size3(&self) -> Result<(SymInt, SymInt, SymInt), CaptureError> {
        self.sym_sizes_n::<3>("sym_size3").map(|[a, b, c]| (a, b, c))
    }

    /// [`Tensor::size4`] as [`SymInt`]s.
    #[track_caller]
    pub fn sym_size4(&self) -> Result<(SymInt, SymInt, SymInt, SymInt), CaptureError> {
        self.sym_sizes_n::<4>("sym_size4").map(|[a, b, c, d]| (a, b, c, d))
    }

    /// A tensor carrying `error`: every op on it carries the error on, and the active trace (if
    /// any) fails with it. For layers and user code that detect a misuse themselves (a wrong
    /// rank, a bad argument) and must return a tensor.
    pub fn from_error(error: CaptureError) -> Tensor {
        let error = match error {
            CaptureError::Carried(e) => e,
            other => Arc::new(other),
        };
        session::failed(error)
    }

    /// The sizes of a tensor of rank `N` as `i64`s (see [`Tensor::size`]).
    #[track_caller]
    fn i64_sizes_n<const N: usize>(&self, op: &'static str) -> Result<[i64; N], CaptureError> {
        let location = SourceLocation::caller();
        // `size` takes the caller's location for its dynamic-size check.
        self.sizes_n(op, |t| t.size_at(location))
    }

    /// The size of a 1-D tensor (tch's `size1`); an error for another rank or a failed tensor.
    #[track_caller]
    pub fn size1(&self) -> Result<i64, CaptureError> {
        self.i64_sizes_n::<1>("size1").map(|[a]| a)
    }

    /// The sizes of a 2-D tensor (tch's `size2`); an error for another rank or a failed tensor.
    #[track_caller]
    pub fn size2(&self) -> Result<(i64, i64), CaptureError> {
        self.i64_sizes_n::<2>("size2").map(|[a, b]| (a, b))
    }

    /// The sizes of a 3-D tensor (tch's `size3`); an error for another rank or a failed tensor.
    #[track_caller]
    pub fn size3(&self) -> Result<(i64, i64, i64), CaptureError> {
        self.i64_sizes_n::<3>("size3").map(|[a, b, c]| (a, b, c))
    }

    /// The sizes of a 4-D tensor (tch's `size4`); an error for another rank or a failed tensor.
    #[track_caller]
    pub fn size4(&self) -> Result<(i64, i64, i64, i64), CaptureError> {
        self.i64_sizes_n::<4>("size4").map(|[a, b, c, d]| (a, b, c, d))
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        if self.inner.defined() {
            self.inner.dim()
        } else {
            0
        }
    }

    /// The tch kind (`Float` for a failed tensor).
    pub fn kind(&self) -> tch::Kind {
        if self.inner.defined() {
            self.inner.kind()
        } else {
            tch::Kind::Float
        }
    }

    /// The dtype, if ONNX can hold it.
    pub fn dtype(&self) -> Option<DType> {
        dtype_of(self.kind())
    }

    pub fn device(&self) -> tch::Device {
        if self.inner.defined() {
            self.inner.device()
        } else {
            tch::Device::Cpu
        }
    }

    /// A copy of this tensor's handle that records as the same value.
    pub fn shallow_clone(&self) -> Tensor {
        Tensor { inner: self.inner.shallow_clone(), state: self.state.clone() }
    }

    /// Normalizes `dim` (which may be negative) against this tensor's rank.
    pub(crate) fn norm_dim(&self, dim: i64) -> i64 {
        if dim < 0 {
            dim + self.dim() as i64
        } else {
            dim
        }
    }
}

impl From<tch::Tensor> for Tensor {
    /// Wraps a tch tensor. Used inside a trace it becomes a captured constant.
    fn from(t: tch::Tensor) -> Self {
        Tensor { inner: t, state: State::Eager }
    }
}

impl From<&tch::Tensor> for Tensor {
    fn from(t: &tch::Tensor) -> Self {
        Tensor { inner: t.shallow_clone(), state: State::Eager }
    }
}

/// A Rust number used as an operand, with Python-scalar typing: it takes the tensor's dtype
/// when the tensor's category (bool < int < float) is at least the number's, and the default
/// dtype of its own category otherwise (f32 for floats, i64 for integers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Float(f64),
    Int(i64),
    Bool(bool),
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}
impl From<f32> for Scalar {
    fn from(v: f32) -> Self {
        Scalar::Float(v as f64)
    }
}
impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}
impl From<i32> for Scalar {
    fn from(v: i32) -> Self {
        Scalar::Int(v as i64)
    }
}
impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

impl std::fmt::Display for Scalar {
    /// As Rust writes the number (`2`, `2.0`, `true`): the printed graph shows its type.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Float(v) => write!(f, "{v:?}"),
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl Scalar {
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Float(v) => v,
            Scalar::Int(v) => v as f64,
            Scalar::Bool(v) => v as i64 as f64,
        }
    }

    /// The dtype this scalar takes next to a tensor of dtype `other`.
    pub fn dtype_next_to(self, other: DType) -> DType {
        use tapir_graph::Category;
        let (cat, default) = match self {
            Scalar::Float(_) => (Category::Float, DType::F32),
            Scalar::Int(_) => (Category::Integer, DType::I64),
            Scalar::Bool(_) => (Category::Bool, DType::Bool),
        };
        if other.category() >= cat {
            other
        } else {
            default
        }
    }

    /// The scalar as tch's (for tch's tensor-scalar ops).
    pub(crate) fn to_tch_scalar(self) -> tch::Scalar {
        match self {
            Scalar::Float(v) => v.into(),
            Scalar::Int(v) => v.into(),
            Scalar::Bool(v) => (v as i64).into(),
        }
    }

    /// A 0-D tch tensor holding this scalar with the dtype it takes next to `like`, on its device.
    pub(crate) fn tensor_next_to(self, like: &tch::Tensor) -> Result<tch::Tensor, tch::TchError> {
        let dtype = crate::kind::dtype_of(like.kind()).unwrap_or(DType::F32);
        self.to_tch(self.dtype_next_to(dtype), like.device())
    }

    /// A 0-D tch tensor holding this scalar as `dtype`, on `device`.
    pub(crate) fn to_tch(self, dtype: DType, device: tch::Device) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_scalar_tensor(self.to_tch_scalar(), (kind_of(dtype), device))
    }
}

impl Tensor {
    /// A scalar as a tensor operand next to `self`: a literal constant while tracing.
    #[track_caller]
    pub(crate) fn scalar_like(&self, s: Scalar) -> Tensor {
        let location = SourceLocation::caller();
        let dtype = self.dtype().unwrap_or(DType::F32);
        match s.to_tch(s.dtype_next_to(dtype), self.device()) {
            Ok(t) => session::record_literal(t, "scalar", location),
            Err(e) => session::failed(Arc::new(CaptureError::Op {
                op: "scalar",
                location,
                message: crate::session::torch_message(&e),
            })),
        }
    }
}

impl Default for Tensor {
    /// An undefined tensor (tch's `Tensor::default()`); any op on it is an op error.
    fn default() -> Self {
        Tensor { inner: tch::Tensor::new(), state: State::Eager }
    }
}

impl Clone for Tensor {
    /// Same as [`Tensor::shallow_clone`]: shares storage and records as the same value.
    fn clone(&self) -> Self {
        self.shallow_clone()
    }
}
