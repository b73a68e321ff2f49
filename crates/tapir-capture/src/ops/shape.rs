//! Shape rules several ops share: how output sizes follow from input sizes, written on
//! [`SymInt`]s so that a trace with dynamic dimensions knows every output size as an expression
//! of the declared symbols (see [`OpDef::shape`](crate::define::OpDef::shape)).
//!
//! Contract: each rule gives exactly the sizes torch computes (the session checks the observed
//! ones and fails the trace on a mismatch), and states the conditions an op needs between
//! sizes with [`SymInt::same_as`], which records them as guards.

use super::{SymDims, SymInt};

/// One output shaped like input 0.
pub fn same(inputs: &[SymDims]) -> Option<Vec<SymDims>> {
    Some(vec![inputs.first()?.clone()])
}

/// `n` outputs shaped like input 0.
pub fn same_n(inputs: &[SymDims], n: usize) -> Option<Vec<SymDims>> {
    let x = inputs.first()?;
    Some(vec![x.clone(); n])
}

/// Normalizes a possibly negative dimension against `rank`.
pub fn axis(dim: i64, rank: usize) -> Option<usize> {
    let d = if dim < 0 { dim + rank as i64 } else { dim };
    (0..rank as i64).contains(&d).then_some(d as usize)
}

/// The broadcast of several shapes (numpy rules), with the equalities it needs as guards.
pub fn broadcast_dims(shapes: &[&[SymInt]]) -> SymDims {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = SymDims::with_capacity(rank);
    for k in 0..rank {
        let mut dim: Option<SymInt> = None;
        for s in shapes {
            let Some(&d) = (k + s.len()).checked_sub(rank).and_then(|i| s.get(i)) else { continue };
            dim = Some(match dim {
                None => d,
                Some(cur) if d.as_static() == Some(1) => cur,
                Some(cur) if cur.as_static() == Some(1) => d,
                Some(cur) => {
                    if cur.hint() == 1 && d.hint() != 1 {
                        cur.same_as(SymInt::from(1), "broadcast");
                        d
                    } else if d.hint() == 1 && cur.hint() != 1 {
                        d.same_as(SymInt::from(1), "broadcast");
                        cur
                    } else {
                        cur.unify(d, "broadcast")
                    }
                }
            });
        }
        out.push(dim.unwrap_or(SymInt::from(1)));
    }
    out
}

/// One output: the broadcast of every input.
pub fn broadcast(inputs: &[SymDims]) -> Option<Vec<SymDims>> {
    let shapes: Vec<&[SymInt]> = inputs.iter().map(|s| s.as_slice()).collect();
    Some(vec![broadcast_dims(&shapes)])
}

/// The shape after reducing `dims` of `x` (all of them when empty), keeping them as 1s or not.
pub fn reduce(x: &[SymInt], dims: &[i64], keepdim: bool) -> Option<SymDims> {
    let rank = x.len();
    let mut reduced = vec![false; rank];
    if dims.is_empty() {
        reduced.iter_mut().for_each(|r| *r = true);
    }
    for &d in dims {
        if rank == 0 {
            continue;
        }
        reduced[axis(d, rank)?] = true;
    }
    Some(
        x.iter()
            .zip(&reduced)
            .filter_map(|(&d, &r)| match (r, keepdim) {
                (false, _) => Some(d),
                (true, true) => Some(SymInt::from(1)),
                (true, false) => None,
            })
            .collect(),
    )
}

/// `n` outputs of the shape of input 0 reduced over `dims` (a reduction, or a max/min with its
/// indices).
pub fn reduced(inputs: &[SymDims], dims: &[i64], keepdim: bool, n: usize) -> Option<Vec<SymDims>> {
    Some(vec![reduce(inputs.first()?, dims, keepdim)?; n])
}

/// `n` outputs of a pooling of input 0's last `kernel.len()` dimensions (floor mode; `None` for
/// ceil mode, whose last window rule makes the sizes opaque). A missing stride is the kernel's,
/// as in torch; the padding is on both sides.
pub fn pool(
    inputs: &[SymDims],
    kernel: &[i64],
    stride: &[i64],
    padding: &[i64],
    dilation: &[i64],
    ceil_mode: bool,
    n: usize,
) -> Option<Vec<SymDims>> {
    let x = inputs.first()?;
    let spatial = x.len().checked_sub(kernel.len())?;
    let mut out: SymDims = x[..spatial].iter().copied().collect();
    for (i, &k) in kernel.iter().enumerate() {
        let stride = stride.get(i).copied().unwrap_or(k);
        let pad = padding.get(i).copied().unwrap_or(0);
        let dilation = dilation.get(i).copied().unwrap_or(1);
        let size = x[spatial + i];
        out.push(if ceil_mode {
            // Conditional on the size: static sizes only (a dynamic one is read at run time).
            SymInt::from(window_ceil(size.as_static()?, k, stride.max(1), pad, dilation))
        } else {
            window(size, k, stride, 2 * pad, dilation)
        });
    }
    Some(vec![out; n])
}

/// torch's pooling output size in ceil mode: windows may overhang the end, but the last one
/// must start inside the input or its left padding.
fn window_ceil(size: i64, kernel: i64, stride: i64, pad: i64, dilation: i64) -> i64 {
    let span = size + 2 * pad - dilation * (kernel - 1) - 1;
    let mut out = (span + stride - 1).div_euclid(stride) + 1;
    if (out - 1) * stride >= size + pad {
        out -= 1;
    }
    out
}

/// The output size of a sliding window (convolution, pooling, floor mode):
/// `(size + pad_total - dilation * (kernel - 1) - 1) / stride + 1`.
pub fn window(size: SymInt, kernel: i64, stride: i64, pad_total: i64, dilation: i64) -> SymInt {
    (size + pad_total - dilation * (kernel - 1) - 1) / stride.max(1) + 1
}

/// `shape` with `-1` resolved against `numel` elements (torch's `infer_size`), and the
/// condition that the element counts agree.
pub fn infer_size(shape: &[SymInt], numel: SymInt) -> SymDims {
    let known = shape.iter().filter(|d| d.as_static() != Some(-1)).fold(SymInt::from(1), |a, &d| a * d);
    let out: SymDims = shape.iter().map(|&d| if d.as_static() == Some(-1) { numel / known } else { d }).collect();
    let total = out.iter().fold(SymInt::from(1), |a, &d| a * d);
    total.same_as(numel, "element count");
    out
}

/// The product of `dims`.
pub fn numel(dims: &[SymInt]) -> SymInt {
    dims.iter().fold(SymInt::from(1), |a, &d| a * d)
}
