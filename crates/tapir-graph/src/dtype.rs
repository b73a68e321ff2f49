//! Element types a traced value can have, with their ONNX codes and PyTorch-style promotion.

use std::fmt;

/// The element type of a tensor. Every variant has an ONNX `TensorProto.DataType` counterpart;
/// tch kinds that ONNX cannot hold (complex, quantized) never become a `DType` (see
/// [`DType::onnx_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    U8,
    I8,
    I16,
    I32,
    I64,
    F16,
    BF16,
    F32,
    F64,
}

/// Broad category used by type promotion: bool < integer < floating point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Bool,
    Integer,
    Float,
}

impl DType {
    /// All dtypes, in a stable order.
    pub const ALL: [DType; 10] = [
        DType::Bool,
        DType::U8,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
    ];

    /// The ONNX `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::U8 => 2,
            DType::I8 => 3,
            DType::I16 => 5,
            DType::I32 => 6,
            DType::I64 => 7,
            DType::Bool => 9,
            DType::F16 => 10,
            DType::F64 => 11,
            DType::BF16 => 16,
        }
    }

    /// The dtype for an ONNX `TensorProto.DataType` code, if tapir supports it.
    pub fn from_onnx_code(code: i32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.onnx_code() == code)
    }

    /// Bytes per element.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    pub fn category(self) -> Category {
        match self {
            DType::Bool => Category::Bool,
            DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => Category::Integer,
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 => Category::Float,
        }
    }

    pub fn is_float(self) -> bool {
        self.category() == Category::Float
    }

    /// Short lowercase name used by the printer (`f32`, `i64`, `bool`, ...).
    pub fn short_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// PyTorch's promotion of two tensor operands of the same dimension class: the higher
    /// category wins; within a category the wider type wins (`f16` with `bf16` gives `f32`,
    /// `u8` with a signed type gives the next wider signed type).
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        if self == other {
            return self;
        }
        match (self.category(), other.category()) {
            (a, b) if a > b => self,
            (a, b) if a < b => other,
            (Category::Float, _) => match (self, other) {
                (F16, BF16) | (BF16, F16) => F32,
                _ => self.max(other),
            },
            _ => match (self, other) {
                (U8, I8) | (I8, U8) => I16,
                _ => self.max(other),
            },
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onnx_codes_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_onnx_code(d.onnx_code()), Some(d));
        }
    }

    #[test]
    fn promotion_follows_pytorch() {
        assert_eq!(DType::I64.promote(DType::F32), DType::F32);
        assert_eq!(DType::Bool.promote(DType::I32), DType::I32);
        assert_eq!(DType::F16.promote(DType::BF16), DType::F32);
        assert_eq!(DType::U8.promote(DType::I8), DType::I16);
        assert_eq!(DType::F32.promote(DType::F64), DType::F64);
    }
}
