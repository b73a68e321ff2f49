//! Type checking of emitted nodes against the ONNX operator schemas.
//!
//! Every node a lowering emits is checked, at the export's opset, against its operator's type
//! constraints (`schemas.rs`, generated from the `onnx` package): each input's dtype must be one
//! the operator takes, inputs sharing a type parameter must share a dtype, and the operator must
//! exist at that opset. The output dtypes follow from the bound type parameters, so the check
//! runs through the whole lowered graph and each op's results can be compared with the dtypes the
//! trace observed. A model ONNX would reject is an export error naming the op, never a file.

use crate::schemas::SCHEMAS;
use tapir_graph::{Attr, DType};

/// One formal input or output of a schema.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Index of its type parameter in the schema, or 255 for a fixed type.
    pub param: u8,
    /// The dtypes it accepts, one bit per [`DType::ALL`] entry.
    pub mask: u16,
    pub optional: bool,
    pub variadic: bool,
}

/// One version of an operator.
#[derive(Debug)]
pub(crate) struct Schema {
    pub op: &'static str,
    pub since: i64,
    pub inputs: &'static [Slot],
    pub outputs: &'static [Slot],
}

fn bit(d: DType) -> u16 {
    1 << DType::ALL.iter().position(|x| *x == d).unwrap_or(15)
}

fn allowed(mask: u16) -> String {
    let names: Vec<String> = DType::ALL.iter().filter(|d| mask & bit(**d) != 0).map(|d| d.to_string()).collect();
    if names.is_empty() {
        "no dtype tapir has".to_owned()
    } else {
        names.join(", ")
    }
}

/// The version of `op` in force at `opset`.
pub(crate) fn schema(op: &str, opset: i64) -> Option<&'static Schema> {
    let start = SCHEMAS.partition_point(|s| s.op < op);
    SCHEMAS[start..].iter().take_while(|s| s.op == op).filter(|s| s.since <= opset).last()
}

fn slot(slots: &'static [Slot], k: usize) -> Option<&'static Slot> {
    slots.get(k).or_else(|| slots.last().filter(|s| s.variadic))
}

/// Checks a node `op` at `opset` whose inputs have the dtypes `inputs` (`None`: absent or not
/// known) and returns its `n_outputs` output dtypes (`None` where the schema leaves them open).
pub(crate) fn check(
    op: &str,
    opset: i64,
    inputs: &[Option<DType>],
    attrs: &[(&'static str, Attr)],
    n_outputs: usize,
) -> Result<Vec<Option<DType>>, String> {
    let schema = schema(op, opset).ok_or_else(|| format!("ONNX has no operator {op} at opset {opset}"))?;
    let mut bound: [Option<DType>; 8] = [None; 8];
    for (k, dtype) in inputs.iter().enumerate() {
        let Some(s) = slot(schema.inputs, k) else {
            return Err(format!("{op}-{} takes {} inputs, given {}", schema.since, schema.inputs.len(), inputs.len()));
        };
        let Some(dtype) = *dtype else { continue };
        if s.mask & bit(dtype) == 0 {
            return Err(format!(
                "input {k} of {op} is {dtype}, which {op}-{} does not accept (it takes {})",
                schema.since,
                allowed(s.mask)
            ));
        }
        if let Some(b) = bound.get_mut(s.param as usize) {
            match *b {
                Some(other) if other != dtype => {
                    return Err(format!("inputs of {op} must have one dtype, given {other} and {dtype}"))
                }
                _ => *b = Some(dtype),
            }
        }
    }
    if let Some(k) =
        (inputs.len()..schema.inputs.len()).find(|&k| !schema.inputs[k].optional && !schema.inputs[k].variadic)
    {
        return Err(format!("{op}-{} needs input {k}, given {} inputs", schema.since, inputs.len()));
    }
    let outputs = (0..n_outputs)
        .map(|k| {
            if op == "Cast" {
                return attrs.iter().find_map(|(name, a)| match (name, a) {
                    (&"to", Attr::Int(code)) => DType::from_onnx_code(*code as i32),
                    _ => None,
                });
            }
            let s = slot(schema.outputs, k)?;
            match bound.get(s.param as usize).copied().flatten() {
                Some(d) => Some(d),
                None if s.mask.count_ones() == 1 => DType::ALL.into_iter().find(|d| s.mask & bit(*d) != 0),
                None => None,
            }
        })
        .collect();
    Ok(outputs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_sorted_for_lookup() {
        assert!(SCHEMAS.windows(2).all(|w| (w[0].op, w[0].since) < (w[1].op, w[1].since)));
    }

    #[test]
    fn checks_types_and_infers_outputs() {
        assert_eq!(check("Add", 20, &[Some(DType::F32), Some(DType::F32)], &[], 1), Ok(vec![Some(DType::F32)]));
        let err = check("Add", 13, &[Some(DType::Bool), Some(DType::Bool)], &[], 1).unwrap_err();
        assert!(err.contains("input 0 of Add is bool"), "{err}");
        assert!(check("Add", 13, &[Some(DType::F32), Some(DType::I64)], &[], 1).unwrap_err().contains("one dtype"));
        assert_eq!(check("Equal", 13, &[Some(DType::I64), Some(DType::I64)], &[], 1), Ok(vec![Some(DType::Bool)]));
        let cast = [("to", Attr::Int(DType::F16.onnx_code() as i64))];
        assert_eq!(check("Cast", 13, &[Some(DType::F32)], &cast, 1), Ok(vec![Some(DType::F16)]));
        assert!(check("Gelu", 17, &[Some(DType::F32)], &[], 1).unwrap_err().contains("no operator Gelu at opset 17"));
        assert_eq!(check("Concat", 13, &[Some(DType::I64); 5], &[], 1), Ok(vec![Some(DType::I64)]));
    }
}
