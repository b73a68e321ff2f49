//! pad: add entries around the last dimensions, with a constant, by reflection, by repeating the
//! edge, or circularly (torch.nn.functional.pad). `pad` lists (begin, end) pairs from the last
//! dimension backwards, as torch's does; negative amounts crop.
//!
//! ONNX: Pad (https://onnx.ai/onnx/operators/onnx__Pad.html) with pads as an input (all begins,
//! then all ends, first axis first), the constant value as an input of the tensor's dtype,
//! `mode` constant / reflect / edge, and `wrap` for circular (opset 19+; refused below).

use super::{bad_argument, lowering, IntList, OpDef, OpDoc, SymDims, SymInt};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// How the new entries are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    Constant,
    Reflect,
    Replicate,
    Circular,
}

impl PadMode {
    fn torch(self) -> &'static str {
        match self {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Replicate => "replicate",
            PadMode::Circular => "circular",
        }
    }
}

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pad {
    /// torch's order: (begin, end) pairs from the last dimension backwards.
    /// Sizes, so a padding computed from dynamic sizes (a UNet's skip alignment) stays
    /// computed in the graph.
    pub pad: SymDims,
    pub mode: PadMode,
    /// The fill of constant mode.
    pub value: Scalar,
}

impl OpDef for Pad {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut out = inputs.first()?.clone();
        let n = out.len();
        for (i, pair) in self.pad.chunks(2).enumerate() {
            let d = n.checked_sub(1 + i)?;
            out[d] = out[d] + pair[0] + pair.get(1).copied().unwrap_or(SymInt::from(0));
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "pad"
    }
    fn describe(&self) -> String {
        format!("pad={:?}, mode={}, value={}", self.pad, self.mode.torch(), self.value)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let pad = tapir_graph::sym::values(&self.pad);
        let pad = pad.as_slice();
        match self.mode {
            PadMode::Constant => match self.value {
                Scalar::Float(v) => t[0].f_pad(pad, "constant", v),
                v if v.as_f64() == 0.0 => t[0].f_constant_pad_nd(pad),
                // An integer fill, exact: pad with 0, then put the value where the pad mask is.
                v => {
                    let padded = t[0].f_constant_pad_nd(pad)?;
                    let inside = t[0].f_ones_like()?.f_to_kind(tch::Kind::Bool)?.f_constant_pad_nd(pad)?;
                    padded.f_where_scalarother(&inside, v.to_tch_scalar())
                }
            },
            mode => t[0].f_pad(pad, mode.torch(), None),
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let meta = cx.input_meta(0).clone();
        let rank = meta.rank();
        let mode = match self.mode {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Replicate => "edge",
            PadMode::Circular if cx.opset() >= 19 => "wrap",
            PadMode::Circular => {
                return Err(LowerError::new("pad", cx.opset(), "circular padding needs Pad's wrap mode (opset 19)"))
            }
        };
        let zero = SymInt::from(0);
        let (mut begins, mut ends) = (vec![zero; rank], vec![zero; rank]);
        for (k, pair) in self.pad.chunks(2).enumerate() {
            let axis = rank - 1 - k;
            begins[axis] = pair[0];
            ends[axis] = pair.get(1).copied().unwrap_or(zero);
        }
        begins.extend(ends);
        // Bools pad as uint8 (not every runtime pads bools).
        let compute = if meta.dtype == DType::Bool { DType::U8 } else { meta.dtype };
        let x = emit::input_as(cx, 0, compute);
        let pads = cx.dims_tensor(&begins);
        let mut ins = vec![x, pads];
        if self.mode == PadMode::Constant {
            let value = if meta.dtype == DType::Bool {
                lowering::scalar(cx, compute, Scalar::Int((self.value.as_f64() != 0.0) as i64))
            } else {
                lowering::scalar(cx, compute, self.value)
            };
            ins.push(value);
        }
        let y = cx.node("Pad", &ins, vec![("mode", Attr::String(mode.into()))]);
        emit::one(emit::cast(cx, y, compute, meta.dtype))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc {
    name: "pad",
    methods: "`pad`, `constant_pad_nd`, `zero_pad1d`, `zero_pad2d`, `reflection_pad1d`, `reflection_pad2d`, `replication_pad1d`, `replication_pad2d`",
}];

impl Tensor {
    /// Pads with `mode` `"constant"` (with `value`, 0 when `None`), `"reflect"`, `"replicate"`
    /// or `"circular"`; `pad` holds (begin, end) pairs from the last dimension backwards.
    #[track_caller]
    pub fn pad(&self, pad: impl IntList, mode: &str, value: impl Into<Option<f64>>) -> Tensor {
        let mode = match mode {
            "constant" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            "replicate" => PadMode::Replicate,
            "circular" => PadMode::Circular,
            other => return bad_argument("pad", format!("unknown padding mode {other:?}")),
        };
        let value = Scalar::Float(value.into().unwrap_or(0.0));
        record(Pad { pad: pad.to_sym_dims(), mode, value }, &[self])
    }

    /// Constant padding with `value` (a Rust number, kept exact for integer tensors).
    #[track_caller]
    pub fn constant_pad_nd(&self, pad: impl IntList, value: impl Into<Scalar>) -> Tensor {
        record(Pad { pad: pad.to_sym_dims(), mode: PadMode::Constant, value: value.into() }, &[self])
    }

    /// Zero padding of the last dimension: `[left, right]`.
    #[track_caller]
    pub fn zero_pad1d(&self, left: i64, right: i64) -> Tensor {
        self.constant_pad_nd([left, right], 0)
    }

    /// Zero padding of the last two dimensions (tch's argument order).
    #[track_caller]
    pub fn zero_pad2d(&self, left: i64, right: i64, top: i64, bottom: i64) -> Tensor {
        self.constant_pad_nd([left, right, top, bottom], 0)
    }

    /// Reflection padding of the last dimension: `[left, right]`.
    #[track_caller]
    pub fn reflection_pad1d(&self, padding: impl IntList) -> Tensor {
        record(Pad { pad: padding.to_sym_dims(), mode: PadMode::Reflect, value: Scalar::Int(0) }, &[self])
    }

    /// Reflection padding of the last two dimensions: `[left, right, top, bottom]`.
    #[track_caller]
    pub fn reflection_pad2d(&self, padding: impl IntList) -> Tensor {
        record(Pad { pad: padding.to_sym_dims(), mode: PadMode::Reflect, value: Scalar::Int(0) }, &[self])
    }

    /// Edge padding of the last dimension: `[left, right]`.
    #[track_caller]
    pub fn replication_pad1d(&self, padding: impl IntList) -> Tensor {
        record(Pad { pad: padding.to_sym_dims(), mode: PadMode::Replicate, value: Scalar::Int(0) }, &[self])
    }

    /// Edge padding of the last two dimensions: `[left, right, top, bottom]`.
    #[track_caller]
    pub fn replication_pad2d(&self, padding: impl IntList) -> Tensor {
        record(Pad { pad: padding.to_sym_dims(), mode: PadMode::Replicate, value: Scalar::Int(0) }, &[self])
    }
}
