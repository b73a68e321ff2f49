//! Support for the `tapir` binary: example models and the verification that the demo and the
//! conformance tests share.

pub mod examples;
pub mod verify;
