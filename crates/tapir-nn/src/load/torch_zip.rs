//! PyTorch's `torch.save` zip format (`pytorch_model.bin`, `.pt`, `.pth`) read without running
//! Python: the zip's central directory locates `data.pkl` and the storages (`data/<key>`, stored
//! uncompressed), and a small pickle machine rebuilds the state_dict's structure. It only builds
//! data: globals outside a short allow-list become opaque values and are never called, so a
//! malicious file cannot run code (unlike `torch.load` without `weights_only`).

use super::checkpoint::Entry;
use std::collections::HashMap;

/// One file of the zip archive: where its bytes start in the file and how many there are.
#[derive(Debug, Clone, Copy)]
struct ZipEntry {
    start: usize,
    len: usize,
}

fn le(bytes: &[u8], at: usize, n: usize) -> Result<u64, String> {
    let b = at.checked_add(n).and_then(|end| bytes.get(at..end)).ok_or("truncated zip archive")?;
    Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
}

/// The archive's files by name. Only stored (uncompressed) entries are usable, which is how
/// `torch.save` writes them; a compressed one is an error when it is read.
fn zip_directory(bytes: &[u8]) -> Result<HashMap<String, Result<ZipEntry, String>>, String> {
    const EOCD: u32 = 0x0605_4b50;
    let min = bytes.len().saturating_sub(22 + 65535);
    let eocd = (min..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&i| le(bytes, i, 4).ok() == Some(EOCD as u64))
        .ok_or("not a zip archive (no end of central directory)")?;
    let mut count = le(bytes, eocd + 10, 2)?;
    let mut dir_offset = le(bytes, eocd + 16, 4)?;
    if count == 0xffff || dir_offset == 0xffff_ffff {
        // Zip64: the locator sits just before the end record.
        let locator = eocd.checked_sub(20).ok_or("truncated zip64 locator")?;
        if le(bytes, locator, 4)? != 0x0706_4b50 {
            return Err("zip64 locator missing".into());
        }
        let record = le(bytes, locator + 8, 8)? as usize;
        if le(bytes, record, 4)? != 0x0606_4b50 {
            return Err("zip64 end of central directory missing".into());
        }
        count = le(bytes, record + 32, 8)?;
        dir_offset = le(bytes, record + 48, 8)?;
    }
    let mut at = dir_offset as usize;
    let mut files = HashMap::new();
    for _ in 0..count {
        if le(bytes, at, 4)? != 0x0201_4b50 {
            return Err("corrupt zip central directory".into());
        }
        let method = le(bytes, at + 10, 2)?;
        let mut size = le(bytes, at + 20, 4)?;
        let name_len = le(bytes, at + 28, 2)? as usize;
        let extra_len = le(bytes, at + 30, 2)? as usize;
        let comment_len = le(bytes, at + 32, 2)? as usize;
        let mut local = le(bytes, at + 42, 4)?;
        let name_bytes = bytes.get(at + 46..at + 46 + name_len).ok_or("truncated zip entry name")?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        // Zip64 extended information: the 8-byte fields present are those whose 4-byte field is
        // saturated, in the order uncompressed size, compressed size, local header offset.
        let mut extra = at + 46 + name_len;
        let extra_end = extra + extra_len;
        while extra + 4 <= extra_end {
            let (id, len) = (le(bytes, extra, 2)?, le(bytes, extra + 2, 2)? as usize);
            if id == 1 {
                let mut field = extra + 4;
                let uncompressed = le(bytes, at + 24, 4)?;
                if uncompressed == 0xffff_ffff {
                    field += 8;
                }
                if size == 0xffff_ffff {
                    size = le(bytes, field, 8)?;
                    field += 8;
                }
                if local == 0xffff_ffff {
                    local = le(bytes, field, 8)?;
                }
            }
            extra += 4 + len;
        }
        let local = local as usize;
        let entry = if le(bytes, local, 4)? != 0x0403_4b50 {
            Err(format!("corrupt local header for `{name}`"))
        } else if method != 0 {
            Err(format!("`{name}` is compressed (method {method}); torch.save stores entries uncompressed"))
        } else {
            let start = local + 30 + le(bytes, local + 26, 2)? as usize + le(bytes, local + 28, 2)? as usize;
            match start.checked_add(size as usize) {
                Some(end) if end <= bytes.len() => Ok(ZipEntry { start, len: size as usize }),
                _ => Err(format!("`{name}` runs past the end of the file")),
            }
        };
        files.insert(name, entry);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(files)
}

/// A value of the pickle machine. Only what a state_dict is made of is represented; anything
/// else is `Opaque` (named by its global) and never evaluated. Payloads a state_dict does not
/// need are kept for `Debug` output in errors.
#[allow(dead_code)]
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    Storage { key: String, kind: tch::Kind },
    Tensor { key: String, kind: tch::Kind, offset: i64, size: Vec<i64>, stride: Vec<i64> },
    Opaque(String),
}

fn storage_kind(name: &str) -> Option<tch::Kind> {
    use tch::Kind as K;
    Some(match name.strip_prefix("torch.")? {
        "FloatStorage" => K::Float,
        "DoubleStorage" => K::Double,
        "HalfStorage" => K::Half,
        "BFloat16Storage" => K::BFloat16,
        "LongStorage" => K::Int64,
        "IntStorage" => K::Int,
        "ShortStorage" => K::Int16,
        "CharStorage" => K::Int8,
        "ByteStorage" => K::Uint8,
        "BoolStorage" => K::Bool,
        _ => return None,
    })
}

fn ints(v: &Value, what: &str) -> Result<Vec<i64>, String> {
    match v {
        Value::Tuple(xs) | Value::List(xs) => xs
            .iter()
            .map(|x| match x {
                Value::Int(i) => Ok(*i),
                other => Err(format!("{what}: expected an int, got {other:?}")),
            })
            .collect(),
        other => Err(format!("{what}: expected a tuple, got {other:?}")),
    }
}

/// Applies an allow-listed callable; anything else becomes an opaque value.
fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Global(name) = callable else { return Ok(Value::Opaque("call of a non-global".into())) };
    let args = match args {
        Value::Tuple(a) => a,
        _ => return Ok(Value::Opaque(name)),
    };
    match name.as_str() {
        "collections.OrderedDict" | "builtins.dict" | "__builtin__.dict" => match args.into_iter().next() {
            None => Ok(Value::Dict(vec![])),
            Some(Value::List(pairs)) => Ok(Value::Dict(
                pairs
                    .into_iter()
                    .filter_map(|p| match p {
                        Value::Tuple(kv) if kv.len() == 2 => {
                            let mut kv = kv.into_iter();
                            Some((kv.next()?, kv.next()?))
                        }
                        _ => None,
                    })
                    .collect(),
            )),
            Some(other) => Ok(other),
        },
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let [storage, offset, size, stride, ..] = args.as_slice() else {
                return Err(format!("{name}: {} arguments", args.len()));
            };
            let Value::Storage { key, kind } = storage else { return Err(format!("{name}: no storage")) };
            let Value::Int(offset) = offset else { return Err(format!("{name}: bad storage offset")) };
            Ok(Value::Tensor {
                key: key.clone(),
                kind: *kind,
                offset: *offset,
                size: ints(size, "tensor size")?,
                stride: ints(stride, "tensor stride")?,
            })
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            Ok(args.into_iter().next().unwrap_or(Value::None))
        }
        _ => Ok(Value::Opaque(name)),
    }
}

/// Runs the pickle program `data` and returns the object it builds. Storages are resolved by
/// `persistent_id` tuples `('storage', storage_type, key, location, numel)`.
fn unpickle(data: &[u8]) -> Result<Value, String> {
    let mut stack: Vec<Value> = vec![];
    let mut marks: Vec<usize> = vec![];
    let mut memo: HashMap<u64, Value> = HashMap::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
        let b = at.checked_add(n).and_then(|end| data.get(*at..end)).ok_or("truncated pickle")?;
        *at += n;
        Ok(b)
    };
    let uint = |b: &[u8]| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| "pickle stack underflow".to_owned());
    let pop_mark = |stack: &mut Vec<Value>, marks: &mut Vec<usize>| -> Result<Vec<Value>, String> {
        let m = marks.pop().ok_or("pickle MARK missing")?;
        if m > stack.len() {
            return Err("pickle MARK past the stack".into());
        }
        Ok(stack.split_off(m))
    };
    loop {
        let op = *take(&mut at, 1)?.first().ok_or("truncated pickle")?;
        match op {
            0x80 => {
                take(&mut at, 1)?;
            }
            0x95 => {
                take(&mut at, 8)?;
            }
            b'.' => return pop(&mut stack),
            b'(' => marks.push(stack.len()),
            b'}' => stack.push(Value::Dict(vec![])),
            b']' => stack.push(Value::List(vec![])),
            b')' => stack.push(Value::Tuple(vec![])),
            b't' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err("pickle stack underflow".into());
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => uint(take(&mut at, 4)?),
                    0x8c => uint(take(&mut at, 1)?),
                    _ => uint(take(&mut at, 8)?),
                } as usize;
                let s = String::from_utf8_lossy(take(&mut at, n)?).into_owned();
                stack.push(Value::Str(s));
            }
            b'B' | b'C' | 0x8e => {
                let n = match op {
                    b'B' => uint(take(&mut at, 4)?),
                    b'C' => uint(take(&mut at, 1)?),
                    _ => uint(take(&mut at, 8)?),
                } as usize;
                stack.push(Value::Bytes(take(&mut at, n)?.to_vec()));
            }
            b'J' => stack.push(Value::Int(i32::from_le_bytes(take(&mut at, 4)?.try_into().map_err(|_| "int")?) as i64)),
            b'K' => stack.push(Value::Int(uint(take(&mut at, 1)?) as i64)),
            b'M' => stack.push(Value::Int(uint(take(&mut at, 2)?) as i64)),
            0x8a => {
                let n = uint(take(&mut at, 1)?) as usize;
                let b = take(&mut at, n)?;
                if n > 8 {
                    return Err("pickle LONG1 wider than 64 bits".into());
                }
                let mut v = uint(b) as i64;
                if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                stack.push(Value::Int(v));
            }
            b'G' => stack.push(Value::Float(f64::from_be_bytes(take(&mut at, 8)?.try_into().map_err(|_| "float")?))),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'c' => {
                let mut line = || -> Result<String, String> {
                    let end = data[at..].iter().position(|&c| c == b'\n').ok_or("truncated GLOBAL")?;
                    let s = String::from_utf8_lossy(&data[at..at + end]).into_owned();
                    at += end + 1;
                    Ok(s)
                };
                let (module, name) = (line()?, line()?);
                stack.push(Value::Global(format!("{module}.{name}")));
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => stack.push(Value::Global(format!("{m}.{n}"))),
                    _ => return Err("STACK_GLOBAL of non-strings".into()),
                }
            }
            b'R' | 0x81 => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                stack.push(reduce(callable, args)?);
            }
            b'b' => {
                // BUILD sets an object's state; a state_dict's `_metadata` is not needed.
                pop(&mut stack)?;
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                if let Some(Value::Dict(d)) = stack.last_mut() {
                    d.push((k, v));
                }
            }
            b'u' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                if let Some(Value::Dict(d)) = stack.last_mut() {
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        d.push((k, v));
                    }
                }
            }
            b'a' => {
                let v = pop(&mut stack)?;
                if let Some(Value::List(l)) = stack.last_mut() {
                    l.push(v);
                }
            }
            b'e' => {
                let items = pop_mark(&mut stack, &mut marks)?;
                if let Some(Value::List(l)) = stack.last_mut() {
                    l.extend(items);
                }
            }
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => uint(take(&mut at, 1)?),
                    b'r' => uint(take(&mut at, 4)?),
                    _ => memo.len() as u64,
                };
                let top = stack.last().ok_or("pickle memo of an empty stack")?.clone();
                memo.insert(key, top);
            }
            b'h' | b'j' => {
                let key = if op == b'h' { uint(take(&mut at, 1)?) } else { uint(take(&mut at, 4)?) };
                stack.push(memo.get(&key).ok_or("pickle memo key missing")?.clone());
            }
            b'Q' => {
                let pid = pop(&mut stack)?;
                let Value::Tuple(fields) = pid else { return Err("persistent id is not a tuple".into()) };
                match fields.as_slice() {
                    [Value::Str(tag), Value::Global(ty), Value::Str(key), ..] if tag == "storage" => {
                        let kind = storage_kind(ty).ok_or_else(|| format!("storage type {ty} is not supported"))?;
                        stack.push(Value::Storage { key: key.clone(), kind });
                    }
                    other => return Err(format!("unsupported persistent id {other:?}")),
                }
            }
            other => return Err(format!("pickle opcode 0x{other:02x} is not supported")),
        }
    }
}

/// Flattens nested dicts into dotted keys, keeping tensors.
fn collect_tensors(prefix: &str, v: Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Dict(items) => {
            for (k, v) in items {
                let name = match k {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    _ => continue,
                };
                let full = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
                collect_tensors(&full, v, out);
            }
        }
        t @ Value::Tensor { .. } => out.push((prefix.to_owned(), t)),
        _ => {}
    }
}

/// The tensors of a `torch.save` zip archive held in `bytes` (file number `file`), as entries
/// pointing into it. Tensors in nested dicts get dotted names (`state_dict.layer.weight`).
pub(super) fn read_entries(bytes: &[u8], file: usize) -> Result<Vec<(String, Entry)>, String> {
    let dir = zip_directory(bytes)?;
    let (pkl_name, pkl) = dir
        .iter()
        .find(|(n, _)| n.ends_with("data.pkl") && n.matches('/').count() <= 1)
        .ok_or("no data.pkl in the archive (not a torch.save file)")?;
    let root = pkl_name.strip_suffix("data.pkl").unwrap_or_default().to_owned();
    let pkl = pkl.clone()?;
    if let Some(Ok(order)) = dir.get(&format!("{root}byteorder")) {
        if bytes.get(order.start..order.start + order.len) == Some(b"big") {
            return Err("saved on a big-endian machine; not supported".into());
        }
    }
    let value = unpickle(&bytes[pkl.start..pkl.start + pkl.len])?;
    let mut tensors = vec![];
    collect_tensors("", value, &mut tensors);
    let mut out = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let Value::Tensor { key, kind, offset, size, stride } = t else { continue };
        let storage = dir
            .get(&format!("{root}data/{key}"))
            .ok_or_else(|| format!("key `{name}`: storage {key} missing from the archive"))?
            .clone()
            .map_err(|e| format!("key `{name}`: {e}"))?;
        let elem = kind.elt_size_in_bytes();
        if size.len() != stride.len() || size.iter().chain(&stride).any(|&d| d < 0) || offset < 0 {
            return Err(format!("key `{name}`: invalid size {size:?} / stride {stride:?}"));
        }
        // Every element addressed (for an empty tensor: its start) must lie inside the storage.
        // Checked arithmetic: every number here comes from the file.
        let past = || format!("key `{name}`: size {size:?} and stride {stride:?} run past its storage");
        let bytes_to = |last: i64| (last as usize).checked_add(1).and_then(|n| n.checked_mul(elem));
        let end = if size.contains(&0) {
            (offset as usize).checked_mul(elem)
        } else {
            size.iter()
                .zip(&stride)
                .try_fold(offset, |acc, (&s, &st)| (s - 1).checked_mul(st).and_then(|x| acc.checked_add(x)))
                .and_then(bytes_to)
        };
        if end.is_none_or(|e| e > storage.len) {
            return Err(past());
        }
        out.push((
            name,
            Entry {
                file,
                start: storage.start + offset as usize * elem,
                kind,
                shape: size,
                strides: Some(stride),
                storage: (file, storage.start),
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_pickles_are_errors() {
        // The last: a BINUNICODE8 claiming 2^64 - 1 bytes.
        let huge = b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff";
        for bad in [&b""[..], b"\x80\x02", b"(t", b"\xff", b"h\x05", b"Q", b"c\x00", huge] {
            assert!(unpickle(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_globals_are_never_called() {
        // os.system("x") as a pickle: GLOBAL 'os system', MARK, 'x', TUPLE, REDUCE, STOP.
        let program = b"cos\nsystem\n(X\x01\x00\x00\x00xtR.";
        assert!(matches!(unpickle(program), Ok(Value::Opaque(n)) if n == "os.system"));
    }

    #[test]
    fn not_a_zip_is_an_error() {
        assert!(read_entries(b"hello world, this is not a zip archive at all", 0).is_err());
    }
}
