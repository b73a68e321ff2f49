//! `Tensor::i`: tch's indexing with numbers, ranges, index tensors and new axes, one entry per
//! dimension from the first (`x.i((.., 0, 1..3))`), recorded as the ops it amounts to: select
//! for a number, slice for a range (Python's bounds: negative counts from the end, clamped),
//! index_select for an index tensor, unsqueeze for [`NewAxis`].

use crate::tensor::Tensor;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// Inserts a dimension of size 1 where it appears in an index (tch's `NewAxis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAxis;

/// One entry of an index.
#[derive(Debug)]
pub enum Indexer<'a> {
    /// One position: the dimension goes away.
    Select(i64),
    /// Positions `start..end` (`None`: from the first, to the last).
    Slice(Option<i64>, Option<i64>),
    /// The positions listed in a 1-D integer tensor.
    Positions(&'a Tensor),
    /// A new dimension of size 1.
    NewAxis,
}

impl From<i64> for Indexer<'_> {
    fn from(i: i64) -> Self {
        Indexer::Select(i)
    }
}
impl From<RangeFull> for Indexer<'_> {
    fn from(_: RangeFull) -> Self {
        Indexer::Slice(None, None)
    }
}
impl From<Range<i64>> for Indexer<'_> {
    fn from(r: Range<i64>) -> Self {
        Indexer::Slice(Some(r.start), Some(r.end))
    }
}
impl From<RangeFrom<i64>> for Indexer<'_> {
    fn from(r: RangeFrom<i64>) -> Self {
        Indexer::Slice(Some(r.start), None)
    }
}
impl From<RangeTo<i64>> for Indexer<'_> {
    fn from(r: RangeTo<i64>) -> Self {
        Indexer::Slice(None, Some(r.end))
    }
}
impl From<RangeInclusive<i64>> for Indexer<'_> {
    fn from(r: RangeInclusive<i64>) -> Self {
        let end = *r.end();
        // `a..=-1` reaches the last entry: no end bound.
        Indexer::Slice(Some(*r.start()), if end == -1 { None } else { Some(end + 1) })
    }
}
impl From<RangeToInclusive<i64>> for Indexer<'_> {
    fn from(r: RangeToInclusive<i64>) -> Self {
        Indexer::Slice(None, if r.end == -1 { None } else { Some(r.end + 1) })
    }
}
impl<'a> From<&'a Tensor> for Indexer<'a> {
    fn from(t: &'a Tensor) -> Self {
        Indexer::Positions(t)
    }
}
impl From<NewAxis> for Indexer<'_> {
    fn from(_: NewAxis) -> Self {
        Indexer::NewAxis
    }
}

/// What `Tensor::i` takes: one indexer, or a tuple of them (one per dimension from the first).
pub trait IndexOp<'a> {
    fn indexers(self) -> Vec<Indexer<'a>>;
}

impl<'a, T: Into<Indexer<'a>>> IndexOp<'a> for T {
    fn indexers(self) -> Vec<Indexer<'a>> {
        vec![self.into()]
    }
}

macro_rules! tuple_index {
    ($($t:ident),+) => {
        impl<'a, $($t: Into<Indexer<'a>>),+> IndexOp<'a> for ($($t,)+) {
            #[allow(non_snake_case)]
            fn indexers(self) -> Vec<Indexer<'a>> {
                let ($($t,)+) = self;
                vec![$($t.into()),+]
            }
        }
    };
}
tuple_index!(A);
tuple_index!(A, B);
tuple_index!(A, B, C);
tuple_index!(A, B, C, D);
tuple_index!(A, B, C, D, E);
tuple_index!(A, B, C, D, E, F);

impl Tensor {
    /// tch's indexing: `x.i(0)`, `x.i((.., 1..3))`, `x.i((.., -1))`, `x.i((NewAxis, ..))`,
    /// `x.i(&ids)`. Entries apply to dimensions from the first; missing ones are kept whole.
    #[track_caller]
    pub fn i<'a>(&self, index: impl IndexOp<'a>) -> Tensor {
        let mut x = self.shallow_clone();
        let mut dim = 0i64;
        for ix in index.indexers() {
            x = match ix {
                Indexer::Select(i) => x.select(dim, i),
                Indexer::Slice(None, None) => {
                    dim += 1;
                    continue;
                }
                Indexer::Slice(start, end) => {
                    let y = x.slice(dim, start, end, 1);
                    dim += 1;
                    y
                }
                Indexer::Positions(t) => {
                    let y = x.index_select(dim, t);
                    dim += 1;
                    y
                }
                Indexer::NewAxis => {
                    let y = x.unsqueeze(dim);
                    dim += 1;
                    y
                }
            };
        }
        x
    }
}
