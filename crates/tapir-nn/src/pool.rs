//! Pooling modules (no parameters).

use crate::Module;
use tapir::Tensor;

#[derive(Debug, Clone, Copy)]
pub struct MaxPool2d {
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct AvgPool2d {
    pub kernel: i64,
    pub stride: i64,
    pub padding: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct AdaptiveAvgPool2d {
    pub output: [i64; 2],
}

impl Module for MaxPool2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.max_pool2d([self.kernel], [self.stride], [self.padding], [1], false)
    }
}
impl Module for AvgPool2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.avg_pool2d([self.kernel], [self.stride], [self.padding], false, true, None)
    }
}
impl Module for AdaptiveAvgPool2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.adaptive_avg_pool2d(self.output)
    }
}
