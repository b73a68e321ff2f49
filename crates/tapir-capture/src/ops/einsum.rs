//! einsum: sums of products named by an equation (`"bij,bjk->bik"`).
//!
//! ONNX: Einsum (https://onnx.ai/onnx/operators/onnx__Einsum.html, opset 12+) with the same
//! equation; operands are cast to the output dtype first.

use super::{OpDef, OpDoc, SymDims, SymInt};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: the operands.
#[derive(Debug, Clone, PartialEq)]
pub struct Einsum {
    pub equation: String,
}

/// The output sizes of `equation` on operands of sizes `inputs`, as torch computes them: each
/// label's size is the broadcast of its sizes (1 broadcasts), the dimensions under `...`
/// broadcast right-aligned, and without `->` the output is `...` then the labels used once, in
/// alphabetical order. `None` for an equation it cannot read (torch's error comes from eager).
fn einsum_shape(equation: &str, inputs: &[SymDims]) -> Option<SymDims> {
    let equation: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (equation.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != inputs.len() {
        return None;
    }
    let one = |a: SymInt, b: SymInt| super::shape::broadcast_dims(&[&[a], &[b]])[0];
    let mut sizes: std::collections::BTreeMap<char, SymInt> = Default::default();
    let mut counts: std::collections::BTreeMap<char, usize> = Default::default();
    let mut ellipsis: Option<SymDims> = None;
    for (term, dims) in terms.iter().zip(inputs) {
        let (before, after) = match term.split_once("...") {
            Some((b, a)) => (b, Some(a)),
            None => (*term, None),
        };
        let labels = before.chars().count() + after.map_or(0, |a| a.chars().count());
        let spanned = dims.len().checked_sub(labels)?;
        if after.is_none() && spanned != 0 {
            return None;
        }
        let mut add = |c: char, d: SymInt| {
            if !c.is_ascii_alphabetic() {
                return None;
            }
            sizes.entry(c).and_modify(|s| *s = one(*s, d)).or_insert(d);
            *counts.entry(c).or_default() += 1;
            Some(())
        };
        let first = before.chars().count();
        for (k, c) in before.chars().enumerate() {
            add(c, dims[k])?;
        }
        if after.is_some() {
            let span = &dims[first..first + spanned];
            ellipsis = Some(match ellipsis {
                None => span.iter().copied().collect(),
                Some(e) => super::shape::broadcast_dims(&[&e, span]),
            });
        }
        for (k, c) in after.unwrap_or("").chars().enumerate() {
            add(c, dims[first + spanned + k])?;
        }
    }
    let mut out = SymDims::new();
    match rhs {
        Some(rhs) => {
            let (before, after) = match rhs.split_once("...") {
                Some((b, a)) => (b, Some(a)),
                None => (rhs, None),
            };
            for c in before.chars() {
                out.push(*sizes.get(&c)?);
            }
            if after.is_some() {
                out.extend(ellipsis.iter().flatten().copied());
            }
            for c in after.unwrap_or("").chars() {
                out.push(*sizes.get(&c)?);
            }
        }
        None => {
            out.extend(ellipsis.iter().flatten().copied());
            out.extend(counts.iter().filter(|(_, n)| **n == 1).map(|(c, _)| sizes[c]));
        }
    }
    Some(out)
}

impl OpDef for Einsum {
    type Output = tch::Tensor;
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        Some(vec![einsum_shape(&self.equation, inputs)?])
    }
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn name(&self) -> &'static str {
        "einsum"
    }
    fn describe(&self) -> String {
        format!("{:?}", self.equation)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_einsum(&self.equation, t, None::<&[i64]>)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let ins: Vec<_> = (0..cx.num_inputs()).map(|i| emit::input_as(cx, i, out)).collect();
        // ONNX's equations take no spaces.
        let equation: String = self.equation.chars().filter(|c| !c.is_whitespace()).collect();
        emit::one(cx.node("Einsum", &ins, vec![("equation", Attr::String(equation))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "einsum", methods: "`Tensor::einsum`" }];

impl Tensor {
    /// Einstein summation over `tensors` by `equation` (tch's `einsum`; `path` is its
    /// contraction-order hint, without effect on the values).
    #[track_caller]
    pub fn einsum<T: std::borrow::Borrow<Tensor>>(equation: &str, tensors: &[T], path: Option<&[i64]>) -> Tensor {
        let _ = path;
        let tensors: smallvec::SmallVec<[&Tensor; 4]> = tensors.iter().map(|t| t.borrow()).collect();
        record(Einsum { equation: equation.to_owned() }, &tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule against torch's own einsum on operands of the given shapes.
    #[test]
    fn shape_rule_matches_torch() {
        let cases: &[(&str, &[&[i64]])] = &[
            ("bij,bjk->bik", &[&[2, 3, 4], &[2, 4, 5]]),
            ("ij,jk", &[&[3, 4], &[4, 5]]),
            ("ba,ab", &[&[3, 4], &[4, 3]]),
            ("i,i->", &[&[4], &[4]]),
            ("i,j->ij", &[&[2], &[3]]),
            ("ii->i", &[&[3, 3]]),
            ("ii", &[&[3, 3]]),
            ("...ij,...jk->...ik", &[&[2, 1, 3, 4], &[5, 4, 6]]),
            ("...ij->...ji", &[&[7, 2, 3]]),
            ("b...,b...->b", &[&[2, 3, 4], &[2, 1, 4]]),
            ("ij,ij->ij", &[&[1, 3], &[2, 3]]),
            ("Ab,bC->AC", &[&[2, 3], &[3, 4]]),
            ("i...", &[&[2, 3, 4]]),
            (" bij -> bji ", &[&[2, 3, 4]]),
        ];
        for (equation, shapes) in cases {
            let operands: Vec<tch::Tensor> =
                shapes.iter().map(|s| tch::Tensor::zeros(*s, (tch::Kind::Float, tch::Device::Cpu))).collect();
            let want = tch::Tensor::einsum(equation, &operands, None::<&[i64]>).size();
            let dims: Vec<SymDims> = shapes.iter().map(|s| s.iter().map(|&d| SymInt::from(d)).collect()).collect();
            let got = einsum_shape(equation, &dims).map(|d| tapir_graph::sym::hints(&d).to_vec());
            assert_eq!(got, Some(want), "{equation} on {shapes:?}");
        }
        assert!(einsum_shape("ij,jk->ik", &[smallvec::smallvec![SymInt::from(2)]]).is_none());
        assert!(einsum_shape("ij->i?", &[smallvec::smallvec![SymInt::from(2), SymInt::from(2)]]).is_none());
    }
}
