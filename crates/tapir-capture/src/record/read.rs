//! Reading values out of tensors: the points where a traced value leaves the tensor world.
//!
//! Each read of a traced value records a guard (the value observed and the caller's location):
//! code that branches on it is specialized to this value in the trace. Reading a tensor that is
//! not a value of the active trace (a constant, an eager tensor) records nothing.

use crate::session::{guard, refuse_read_in_shape_only, torch_message};
use crate::tensor::Tensor;
use crate::CaptureError;
use tapir_graph::SourceLocation;

fn read_error(op: &'static str, location: SourceLocation, e: tch::TchError) -> CaptureError {
    CaptureError::Op { op, location, message: torch_message(&e) }
}

impl Tensor {
    fn checked(&self) -> Result<&tch::Tensor, CaptureError> {
        match self.error() {
            Some(e) => Err(CaptureError::Carried(std::sync::Arc::new(e.root().clone()))),
            None => Ok(&self.inner),
        }
    }

    /// The element at `idx` as `f64` (`&[]` for a 0-D tensor). A guard when traced.
    #[track_caller]
    pub fn double_value(&self, idx: &[i64]) -> Result<f64, CaptureError> {
        let location = SourceLocation::caller();
        refuse_read_in_shape_only(self, "double_value", location)?;
        let v = self.checked()?.f_double_value(idx).map_err(|e| read_error("double_value", location, e))?;
        guard(self, "double_value", || v.to_string(), location);
        Ok(v)
    }

    /// The element at `idx` as `i64`. A guard when traced.
    #[track_caller]
    pub fn int64_value(&self, idx: &[i64]) -> Result<i64, CaptureError> {
        let location = SourceLocation::caller();
        refuse_read_in_shape_only(self, "int64_value", location)?;
        let v = self.checked()?.f_int64_value(idx).map_err(|e| read_error("int64_value", location, e))?;
        guard(self, "int64_value", || v.to_string(), location);
        Ok(v)
    }

    /// Whether the element at `idx` is non-zero. A guard when traced.
    #[track_caller]
    pub fn bool_value(&self, idx: &[i64]) -> Result<bool, CaptureError> {
        let location = SourceLocation::caller();
        refuse_read_in_shape_only(self, "bool_value", location)?;
        let v = self.checked()?.f_double_value(idx).map_err(|e| read_error("bool_value", location, e))? != 0.0;
        guard(self, "bool_value", || v.to_string(), location);
        Ok(v)
    }

    /// All elements, row-major, as `kind` read into `Vec<T>`; a guard when traced.
    fn to_vec_as<T>(&self, kind: tch::Kind, location: SourceLocation) -> Result<Vec<T>, CaptureError>
    where
        T: std::fmt::Debug,
        Vec<T>: TryFrom<tch::Tensor, Error = tch::TchError>,
    {
        refuse_read_in_shape_only(self, "to_vec", location)?;
        let v = self
            .checked()?
            .f_to_kind(kind)
            .and_then(|t| t.f_flatten(0, -1))
            .and_then(Vec::<T>::try_from)
            .map_err(|e| read_error("to_vec", location, e))?;
        guard(self, "to_vec", || format!("{v:?}"), location);
        Ok(v)
    }

    /// All elements, row-major, as `f64`. A guard when traced.
    #[track_caller]
    pub fn to_vec_f64(&self) -> Result<Vec<f64>, CaptureError> {
        self.to_vec_as(tch::Kind::Double, SourceLocation::caller())
    }

    /// All elements, row-major, as `i64`. A guard when traced.
    #[track_caller]
    pub fn to_vec_i64(&self) -> Result<Vec<i64>, CaptureError> {
        self.to_vec_as(tch::Kind::Int64, SourceLocation::caller())
    }
}

/// The index of the only element, or an error naming how many there are.
fn single_index(t: &Tensor, location: SourceLocation) -> Result<Vec<i64>, CaptureError> {
    let n: i64 = t.size().iter().product();
    if n != 1 {
        return Err(CaptureError::Op {
            op: "item",
            location,
            message: format!("a tensor of {n} elements has no single value"),
        });
    }
    Ok(vec![0; t.dim()])
}

impl TryFrom<&Tensor> for f64 {
    type Error = CaptureError;
    /// The single element of a one-element tensor. A guard when traced.
    #[track_caller]
    fn try_from(t: &Tensor) -> Result<f64, CaptureError> {
        t.double_value(&single_index(t, SourceLocation::caller())?)
    }
}

impl TryFrom<&Tensor> for i64 {
    type Error = CaptureError;
    #[track_caller]
    fn try_from(t: &Tensor) -> Result<i64, CaptureError> {
        t.int64_value(&single_index(t, SourceLocation::caller())?)
    }
}

impl TryFrom<&Tensor> for bool {
    type Error = CaptureError;
    #[track_caller]
    fn try_from(t: &Tensor) -> Result<bool, CaptureError> {
        t.bool_value(&single_index(t, SourceLocation::caller())?)
    }
}

impl TryFrom<&Tensor> for Vec<f64> {
    type Error = CaptureError;
    #[track_caller]
    fn try_from(t: &Tensor) -> Result<Vec<f64>, CaptureError> {
        t.to_vec_f64()
    }
}

impl TryFrom<&Tensor> for Vec<i64> {
    type Error = CaptureError;
    #[track_caller]
    fn try_from(t: &Tensor) -> Result<Vec<i64>, CaptureError> {
        t.to_vec_i64()
    }
}
