//! upsample_nearest2d, upsample_bilinear2d and upsample_bicubic2d (what
//! torch.nn.functional.interpolate calls): resize the last two dimensions of `[N, C, H, W]` to
//! `output_size`, with torch's coordinate conventions. Scales, when given, are the ones torch
//! maps coordinates with (interpolate's `scale_factor`); otherwise the size ratio is.
//!
//! ONNX: Resize (https://onnx.ai/onnx/operators/onnx__Resize.html) with `sizes` (or `scales`
//! when torch was given scales): nearest is `asymmetric` + `floor`, as torch's legacy nearest;
//! bilinear and bicubic are `align_corners` or `pytorch_half_pixel`, bicubic with torch's
//! `cubic_coeff_a = -0.75`. Inputs are computed in float (integers are refused by torch except
//! for nearest, which ONNX Resize takes as is).

use super::{SymDims, SymInt, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// The interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    Nearest,
    Bilinear,
    Bicubic,
}

/// Inputs: `[x]` of rank 4.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsample {
    pub mode: Interpolation,
    pub output_size: [SymInt; 2],
    /// Not for nearest.
    pub align_corners: bool,
    /// torch's `scales_h`, `scales_w`: both given, or neither.
    pub scales: Option<[f64; 2]>,
}

impl OpDef for Upsample {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let n = x.len();
        let mut out: SymDims = x[..n - 2].iter().copied().collect();
        out.extend(self.output_size);
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        match self.mode {
            Interpolation::Nearest => "upsample_nearest2d",
            Interpolation::Bilinear => "upsample_bilinear2d",
            Interpolation::Bicubic => "upsample_bicubic2d",
        }
    }
    fn describe(&self) -> String {
        format!("output_size={:?}, align_corners={}, scales={:?}", self.output_size, self.align_corners, self.scales)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (h, w) = (self.scales.map(|s| s[0]), self.scales.map(|s| s[1]));
        let size = [self.output_size[0].get(), self.output_size[1].get()];
        let size = size.as_slice();
        match self.mode {
            Interpolation::Nearest => t[0].f_upsample_nearest2d(size, h, w),
            Interpolation::Bilinear => t[0].f_upsample_bilinear2d(size, self.align_corners, h, w),
            Interpolation::Bicubic => t[0].f_upsample_bicubic2d(size, self.align_corners, h, w),
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let mut attrs = vec![];
        let transform = match self.mode {
            Interpolation::Nearest => {
                attrs.push(("mode", Attr::String("nearest".into())));
                attrs.push(("nearest_mode", Attr::String("floor".into())));
                "asymmetric"
            }
            mode => {
                attrs.push(("mode", Attr::String(if mode == Interpolation::Bilinear { "linear" } else { "cubic" }.into())));
                if mode == Interpolation::Bicubic {
                    attrs.push(("cubic_coeff_a", Attr::Float(-0.75)));
                }
                if self.align_corners {
                    "align_corners"
                } else {
                    "pytorch_half_pixel"
                }
            }
        };
        attrs.push(("coordinate_transformation_mode", Attr::String(transform.into())));
        let roi = cx.absent();
        let ins = match self.scales {
            Some([h, w]) if self.mode == Interpolation::Nearest || !self.align_corners => {
                let scales = scales_const(cx, &[1.0, 1.0, h, w]);
                vec![x, roi, scales]
            }
            _ => {
                let mut sizes = cx.input_dims(0)[..2].to_vec();
                sizes.extend(self.output_size);
                let sizes = cx.dims_tensor(&sizes);
                let scales = cx.absent();
                vec![x, roi, scales, sizes]
            }
        };
        emit::one(cx.node("Resize", &ins, attrs))
    }
}

/// A float32 1-D constant: four scales from f64 values, exact for the usual factors.
fn scales_const(cx: &mut dyn Emit, scales: &[f64; 4]) -> tapir_graph::Sym {
    let parts: Vec<_> = scales
        .iter()
        .map(|s| {
            let c = cx.const_scalar(DType::F32, *s);
            emit::reshape(cx, c, &[1])
        })
        .collect();
    cx.node("Concat", &parts, vec![("axis", Attr::Int(0))])
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "upsample_nearest2d", methods: "`upsample_nearest2d`" },
    OpDoc { name: "upsample_bilinear2d", methods: "`upsample_bilinear2d`" },
    OpDoc { name: "upsample_bicubic2d", methods: "`upsample_bicubic2d`" },
];

fn size2(output_size: impl IntList) -> [SymInt; 2] {
    let d = output_size.to_sym_dims();
    [d.first().copied().unwrap_or(SymInt::from(0)), d.get(1).copied().unwrap_or(SymInt::from(0))]
}

fn scales(h: Option<f64>, w: Option<f64>) -> Option<[f64; 2]> {
    Some([h?, w?])
}

impl Tensor {
    #[track_caller]
    fn upsample(
        &self,
        mode: Interpolation,
        output_size: impl IntList,
        align_corners: bool,
        scales_h: Option<f64>,
        scales_w: Option<f64>,
    ) -> Tensor {
        let op = Upsample { mode, output_size: size2(output_size), align_corners, scales: scales(scales_h, scales_w) };
        record(op, &[self])
    }

    /// Nearest-neighbour resize of `[N, C, H, W]` to `output_size` (tch's signature).
    #[track_caller]
    pub fn upsample_nearest2d(
        &self,
        output_size: impl IntList,
        scales_h: impl Into<Option<f64>>,
        scales_w: impl Into<Option<f64>>,
    ) -> Tensor {
        self.upsample(Interpolation::Nearest, output_size, false, scales_h.into(), scales_w.into())
    }

    /// Bilinear resize of `[N, C, H, W]` to `output_size` (tch's signature).
    #[track_caller]
    pub fn upsample_bilinear2d(
        &self,
        output_size: impl IntList,
        align_corners: bool,
        scales_h: impl Into<Option<f64>>,
        scales_w: impl Into<Option<f64>>,
    ) -> Tensor {
        self.upsample(Interpolation::Bilinear, output_size, align_corners, scales_h.into(), scales_w.into())
    }

    /// Bicubic resize of `[N, C, H, W]` to `output_size` (tch's signature).
    #[track_caller]
    pub fn upsample_bicubic2d(
        &self,
        output_size: impl IntList,
        align_corners: bool,
        scales_h: impl Into<Option<f64>>,
        scales_w: impl Into<Option<f64>>,
    ) -> Tensor {
        self.upsample(Interpolation::Bicubic, output_size, align_corners, scales_h.into(), scales_w.into())
    }
}
