//! pixel_shuffle and pixel_unshuffle: move `r * r` channels into an `r`-times larger spatial
//! grid, and back (`[.., C * r * r, H, W] <-> [.., C, H * r, W * r]`).
//!
//! ONNX: Reshape, Transpose, Reshape (DepthToSpace's CRD mode matches pixel_shuffle but has no
//! inverse for pixel_unshuffle's order, and takes 4-D only; the decomposition takes any batch
//! rank).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[x]` of rank 3 or more.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelShuffle {
    /// pixel_unshuffle (space to channels); pixel_shuffle otherwise.
    pub unshuffle: bool,
    pub factor: i64,
}

impl OpDef for PixelShuffle {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let r = self.factor;
        let n = x.len();
        let mut out: SymDims = x[..n - 3].iter().copied().collect();
        if self.unshuffle {
            out.extend([x[n - 3] * (r * r), x[n - 2] / r, x[n - 1] / r]);
        } else {
            out.extend([x[n - 3] / (r * r), x[n - 2] * r, x[n - 1] * r]);
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        if self.unshuffle {
            "pixel_unshuffle"
        } else {
            "pixel_shuffle"
        }
    }
    fn describe(&self) -> String {
        format!("factor={}", self.factor)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.unshuffle {
            t[0].f_pixel_unshuffle(self.factor)
        } else {
            t[0].f_pixel_shuffle(self.factor)
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (shape, out) = (cx.input_meta(0).shape.clone(), cx.output_meta(0).shape.clone());
        let r = self.factor;
        // The eager rule accepted the input: rank 3 or more.
        let k = shape.len() - 3;
        let batch = &shape[..k];
        let (c, h, w) = (shape[k], shape[k + 1], shape[k + 2]);
        let b = batch.len() as i64;
        let x = cx.input(0);
        let (split, perm): (Vec<i64>, Vec<i64>) = if self.unshuffle {
            // [.., C, H/r, r, W/r, r] -> [.., C, r, r, H/r, W/r]
            let s = [c, h / r, r, w / r, r];
            (s.to_vec(), vec![0, 2, 4, 1, 3])
        } else {
            // [.., C/r², r, r, H, W] -> [.., C/r², H, r, W, r]
            let s = [c / (r * r), r, r, h, w];
            (s.to_vec(), vec![0, 3, 1, 4, 2])
        };
        let mut full: Vec<i64> = batch.to_vec();
        full.extend(split);
        let mut perm_full: Vec<i64> = (0..b).collect();
        perm_full.extend(perm.iter().map(|p| p + b));
        let x = emit::reshape(cx, x, &full);
        let x = cx.node("Transpose", &[x], vec![("perm", Attr::Ints(perm_full))]);
        emit::one(emit::reshape(cx, x, &out))
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "pixel_shuffle", methods: "`pixel_shuffle`" },
    OpDoc { name: "pixel_unshuffle", methods: "`pixel_unshuffle`" },
];

impl Tensor {
    /// `[.., C * r * r, H, W]` to `[.., C, H * r, W * r]`.
    #[track_caller]
    pub fn pixel_shuffle(&self, upscale_factor: i64) -> Tensor {
        record(PixelShuffle { unshuffle: false, factor: upscale_factor }, &[self])
    }

    /// `[.., C, H * r, W * r]` to `[.., C * r * r, H, W]`.
    #[track_caller]
    pub fn pixel_unshuffle(&self, downscale_factor: i64) -> Tensor {
        record(PixelShuffle { unshuffle: true, factor: downscale_factor }, &[self])
    }
}
