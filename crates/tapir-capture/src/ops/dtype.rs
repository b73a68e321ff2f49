//! Dtype rules several ops share: how output dtypes follow from input dtypes (and ranks), as
//! torch computes them, so that a shape-only trace knows every output's dtype without running
//! the op (see [`OpDef::dtypes`](crate::define::OpDef::dtypes)).
//!
//! Contract: each rule gives exactly the dtypes torch's eager op returns for inputs torch
//! accepts; debug builds check every real trace's eager results against the rule.

use crate::tensor::Scalar;
use smallvec::{smallvec, SmallVec};
use tapir_graph::{Category, DType, TensorMeta};

/// What a dtype rule returns: one dtype per output, or one dtype for every output.
pub type DTypes = SmallVec<[DType; 2]>;

/// One output of `d`.
pub fn one(d: DType) -> Option<DTypes> {
    Some(smallvec![d])
}

/// One output of input 0's dtype.
pub fn same(inputs: &[TensorMeta]) -> Option<DTypes> {
    one(inputs.first()?.dtype)
}

/// The dtype of a tch kind given as an op attribute (`None` for a kind ONNX cannot hold).
pub fn of_kind(kind: tch::Kind) -> Option<DType> {
    crate::kind::dtype_of(kind)
}

/// torch's default dtype for a result that must be floating point: integers and bools become
/// float32 (the default dtype), floats stay.
pub fn float_of(d: DType) -> DType {
    if d.is_float() {
        d
    } else {
        DType::F32
    }
}

/// What torch's integer-accumulating reductions (sum, prod, cumsum) give without a `dtype`
/// argument: int64 for integers and bools, the input's dtype for floats.
pub fn accumulated(d: DType) -> DType {
    if d.is_float() {
        d
    } else {
        DType::I64
    }
}

/// torch's `result_type` of tensor operands and Rust numbers (Python scalars): dimensioned
/// tensors decide, then 0-d tensors, then numbers; a lower class counts only when its category
/// (bool < integer < float) is higher than the classes above it.
pub fn result_type(tensors: &[&TensorMeta], scalars: &[Scalar]) -> Option<DType> {
    let promote = |acc: Option<DType>, d: DType| Some(acc.map_or(d, |a| a.promote(d)));
    let (mut dimmed, mut zero_d, mut wrapped) = (None, None, None);
    for t in tensors {
        if t.rank() == 0 {
            zero_d = promote(zero_d, t.dtype);
        } else {
            dimmed = promote(dimmed, t.dtype);
        }
    }
    for s in scalars {
        let d = match s {
            Scalar::Float(_) => DType::F32,
            Scalar::Int(_) => DType::I64,
            Scalar::Bool(_) => DType::Bool,
        };
        wrapped = promote(wrapped, d);
    }
    combine(dimmed, combine(zero_d, wrapped))
}

/// torch's `combine_categories`: `higher` unless `lower` is of a higher category.
fn combine(higher: Option<DType>, lower: Option<DType>) -> Option<DType> {
    match (higher, lower) {
        (None, l) => l,
        (h, None) => h,
        (Some(h), Some(l)) => Some(if h.is_float() {
            h
        } else if h.category() == Category::Bool || l.is_float() {
            h.promote(l)
        } else {
            h
        }),
    }
}

/// [`result_type`] of every input and `scalar`, as one output.
pub fn promoted(inputs: &[TensorMeta], scalar: Option<Scalar>) -> Option<DTypes> {
    let tensors: SmallVec<[&TensorMeta; 4]> = inputs.iter().collect();
    let scalars: SmallVec<[Scalar; 1]> = scalar.into_iter().collect();
    one(result_type(&tensors, &scalars)?)
}

/// The elementwise binary ops' rule: [`promoted`], and a float for true division (`div`).
pub fn binary_dtype(op: &str, inputs: &[TensorMeta], scalar: Option<Scalar>) -> Option<DTypes> {
    let d = promoted(inputs, scalar)?[0];
    one(if op == "div" { float_of(d) } else { d })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(d: DType, rank: usize) -> TensorMeta {
        TensorMeta::new(d, &vec![2; rank])
    }

    #[test]
    fn result_type_follows_torch() {
        use DType::*;
        // dimensioned tensors promote as usual
        assert_eq!(result_type(&[&t(I32, 1), &t(F16, 2)], &[]), Some(F16));
        // a 0-d tensor of the same category does not widen
        assert_eq!(result_type(&[&t(F16, 1), &t(F64, 0)], &[]), Some(F16));
        assert_eq!(result_type(&[&t(I32, 1), &t(I64, 0)], &[]), Some(I32));
        // but one of a higher category does, at its own type
        assert_eq!(result_type(&[&t(I32, 1), &t(F64, 0)], &[]), Some(F64));
        // numbers take the default dtype of their category
        assert_eq!(result_type(&[&t(I32, 1)], &[Scalar::Float(0.5)]), Some(F32));
        assert_eq!(result_type(&[&t(U8, 1)], &[Scalar::Int(300)]), Some(U8));
        assert_eq!(result_type(&[&t(Bool, 1)], &[Scalar::Int(1)]), Some(I64));
        assert_eq!(result_type(&[&t(F16, 1)], &[Scalar::Float(1.0)]), Some(F16));
        // a 0-d tensor outranks a number
        assert_eq!(result_type(&[&t(Bool, 1), &t(I32, 0)], &[Scalar::Float(1.0)]), Some(F32));
        assert_eq!(result_type(&[&t(I8, 0)], &[Scalar::Int(1)]), Some(I8));
    }
}
