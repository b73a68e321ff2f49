//! The conformance tests' checks: `tapir::testing`, the verification users' tests get too.
pub use tapir::testing::*;
