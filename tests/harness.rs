//! The conformance tests' checks live in `tapir_cli::verify`, shared with the demo.
pub use tapir_cli::verify::*;
