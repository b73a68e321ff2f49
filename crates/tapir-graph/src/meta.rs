//! Observed type and shape of a value, and where in the user's code it was produced.

use crate::DType;
use smallvec::SmallVec;
use std::fmt;

/// A static shape: the sizes observed while tracing.
pub type Shape = SmallVec<[i64; 4]>;

/// Dtype and shape of one value, as observed when the op ran eagerly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorMeta {
    pub dtype: DType,
    pub shape: Shape,
}

impl TensorMeta {
    pub fn new(dtype: DType, shape: &[i64]) -> Self {
        TensorMeta { dtype, shape: shape.into() }
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> i64 {
        self.shape.iter().product()
    }

    /// Size in bytes of the data of a tensor with this metadata.
    pub fn byte_len(&self) -> usize {
        self.numel().max(0) as usize * self.dtype.size_bytes()
    }
}

impl fmt::Display for TensorMeta {
    /// `f32[2,3]`; a scalar prints as `f32[]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// A place in the user's source, taken from `#[track_caller]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceLocation {
    pub file: &'static str,
    pub line: u32,
    pub column: u32,
}

impl SourceLocation {
    /// The location of the caller of the `#[track_caller]` function that calls this.
    #[track_caller]
    pub fn caller() -> Self {
        std::panic::Location::caller().into()
    }
}

impl From<&'static std::panic::Location<'static>> for SourceLocation {
    fn from(l: &'static std::panic::Location<'static>) -> Self {
        SourceLocation { file: l.file(), line: l.line(), column: l.column() }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}
