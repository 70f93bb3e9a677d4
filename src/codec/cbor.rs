//! Deterministic CBOR (RFC 8949 section 4.2.1), the only wire format that is ever signed or hashed.
//!
//! The encoder always produces the core deterministic form: shortest argument encoding, definite
//! lengths, map entries sorted by the bytewise order of their encoded keys, no duplicate keys.
//! The decoder is strict: it accepts exactly the byte strings the encoder can produce (no floats,
//! no indefinite lengths, no non-shortest arguments, no unsorted or duplicate map keys, no
//! trailing bytes), so `encode(decode(b)) == b` whenever decoding succeeds. That property is what
//! lets an independent verifier check a signature without ever re-serialising.
//!
//! Only the subset kpcert uses is supported: unsigned and negative integers, byte strings, text
//! strings, arrays, maps, tags, `false`, `true` and `null`.

use std::borrow::Cow;
use std::fmt;

/// Deepest item accepted while decoding. The top-level item is at depth 0 and the items inside
/// an array, map or tag at depth `d` are at depth `d + 1`; an item deeper than this is refused.
/// kpcert structures reach depth 5.
pub const MAX_DEPTH: usize = 16;

/// A CBOR data item. Byte and text strings borrow from the bytes a decoded item came from (or
/// from what an encoder is given): decoding copies nothing but the shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    Bytes(Cow<'a, [u8]>),
    Text(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Kept in canonical order once encoded; construction order does not matter.
    Map(Vec<(Value<'a>, Value<'a>)>),
    Tag(u64, Box<Value<'a>>),
    Bool(bool),
    Null,
}

/// Why a byte string is not an acceptable deterministic CBOR item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    Truncated,
    TrailingBytes,
    NotShortest,
    Unsupported(u8),
    TooDeep,
    InvalidUtf8,
    UnsortedMap,
    DuplicateKey,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => write!(f, "cbor item is truncated"),
            DecodeError::TrailingBytes => write!(f, "trailing bytes after the cbor item"),
            DecodeError::NotShortest => write!(f, "cbor argument is not in its shortest form"),
            DecodeError::Unsupported(b) => write!(f, "unsupported cbor initial byte 0x{b:02x}"),
            DecodeError::TooDeep => write!(f, "cbor nesting is too deep"),
            DecodeError::InvalidUtf8 => write!(f, "cbor text string is not valid utf-8"),
            DecodeError::UnsortedMap => write!(f, "cbor map keys are not in deterministic order"),
            DecodeError::DuplicateKey => write!(f, "cbor map has a duplicate key"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why bytes are not a valid kpcert structure: not deterministic CBOR, or not the expected shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error(transparent)]
    Cbor(#[from] DecodeError),
    #[error("{0}")]
    Shape(String),
}

/// A shape error.
pub fn shape(msg: impl Into<String>) -> FormatError {
    FormatError::Shape(msg.into())
}

/// A map key: kpcert structures use text keys, the seal and COSE headers small integers.
pub trait Key: Copy + fmt::Display {
    /// Whether `v` is this key.
    fn is(self, v: &Value<'_>) -> bool;
}

impl Key for &str {
    fn is(self, v: &Value<'_>) -> bool {
        v.as_text() == Some(self)
    }
}

impl Key for u64 {
    fn is(self, v: &Value<'_>) -> bool {
        v.as_u64() == Some(self)
    }
}

/// The one strict map reader: a map that holds exactly the expected keys, with typed getters
/// whose errors name the field.
pub struct Fields<'a, 'v> {
    what: &'a str,
    map: &'a [(Value<'v>, Value<'v>)],
}

impl<'a, 'v> Fields<'a, 'v> {
    /// Opens `v` as a map with exactly the keys `keys` (in any order; the decoder already
    /// enforced canonical order and no duplicates).
    pub fn exact<K: Key>(
        what: &'a str,
        v: &'a Value<'v>,
        keys: &[K],
    ) -> Result<Fields<'a, 'v>, FormatError> {
        let map = v
            .as_map()
            .ok_or_else(|| shape(format!("{what} is not a map")))?;
        if map.len() != keys.len() || !map.iter().all(|(k, _)| keys.iter().any(|key| key.is(k))) {
            let list: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            return Err(shape(format!(
                "{what} must have exactly the keys {}",
                list.join(", ")
            )));
        }
        Ok(Fields { what, map })
    }

    /// The value under `key` (present: checked by [`Fields::exact`]).
    pub fn get<K: Key>(&self, key: K) -> &'a Value<'v> {
        &self
            .map
            .iter()
            .find(|(k, _)| key.is(k))
            .expect("checked key")
            .1
    }

    fn wrong<K: Key>(&self, key: K, what: &str) -> FormatError {
        shape(format!("{}.{key} is not {what}", self.what))
    }

    /// A text value.
    pub fn text<K: Key>(&self, key: K) -> Result<&'a str, FormatError> {
        self.get(key)
            .as_text()
            .ok_or_else(|| self.wrong(key, "a text string"))
    }

    /// An unsigned integer.
    pub fn uint<K: Key>(&self, key: K) -> Result<u64, FormatError> {
        self.get(key)
            .as_u64()
            .ok_or_else(|| self.wrong(key, "an unsigned integer"))
    }

    /// An unsigned integer that fits a `u32`.
    pub fn u32<K: Key>(&self, key: K) -> Result<u32, FormatError> {
        u32::try_from(self.uint(key)?).map_err(|_| self.wrong(key, "a 32-bit unsigned integer"))
    }

    /// A byte string.
    pub fn bytes<K: Key>(&self, key: K) -> Result<&'a [u8], FormatError> {
        self.get(key)
            .as_bytes()
            .ok_or_else(|| self.wrong(key, "a byte string"))
    }

    /// A byte string of exactly `N` bytes.
    pub fn array<K: Key, const N: usize>(&self, key: K) -> Result<[u8; N], FormatError> {
        self.bytes(key)?
            .try_into()
            .map_err(|_| self.wrong(key, &format!("{N} bytes")))
    }

    /// A boolean.
    pub fn bool<K: Key>(&self, key: K) -> Result<bool, FormatError> {
        self.get(key)
            .as_bool()
            .ok_or_else(|| self.wrong(key, "true or false"))
    }

    /// An array.
    pub fn list<K: Key>(&self, key: K) -> Result<&'a [Value<'v>], FormatError> {
        self.get(key)
            .as_array()
            .ok_or_else(|| self.wrong(key, "an array"))
    }

    /// A text value parsed by `parse`.
    pub fn parsed<K: Key, T>(
        &self,
        key: K,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, FormatError> {
        let s = self.text(key)?;
        parse(s).ok_or_else(|| shape(format!("{}.{key} has an invalid value {s:?}", self.what)))
    }
}

/// The body of a `[context, body]` array with the expected context string.
pub fn unwrap_context<'a, 'v>(
    value: &'a Value<'v>,
    context: &str,
) -> Result<&'a Value<'v>, FormatError> {
    match value.as_array() {
        Some([Value::Text(c), body]) if c.as_ref() == context => Ok(body),
        _ => Err(shape(format!("not a [{context:?}, body] array"))),
    }
}

/// `[context, body]`, encoded: how every kpcert structure that is signed or hashed starts.
pub fn with_context(context: &str, body: Value<'_>) -> Vec<u8> {
    Value::Array(vec![Value::text(context), body]).encode()
}

impl<'a> Value<'a> {
    /// A text string (owned, or borrowed from what outlives the item).
    pub fn text(s: impl Into<Cow<'a, str>>) -> Value<'a> {
        Value::Text(s.into())
    }

    /// A byte string (owned, or borrowed from what outlives the item).
    pub fn bytes(b: impl Into<Cow<'a, [u8]>>) -> Value<'a> {
        Value::Bytes(b.into())
    }

    /// A map with text keys, the shape of every kpcert structure.
    pub fn map<K: Into<Cow<'a, str>>>(
        entries: impl IntoIterator<Item = (K, Value<'a>)>,
    ) -> Value<'a> {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Text(k.into()), v))
                .collect(),
        )
    }

    /// A signed integer.
    pub fn int(i: i64) -> Value<'a> {
        if i >= 0 {
            Value::Uint(i as u64)
        } else {
            Value::Nint((-1 - i) as u64)
        }
    }

    /// The deterministic encoding of this item.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.encode_into(&mut out);
        out
    }

    /// Appends the deterministic encoding of this item to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Value::Uint(n) => head(out, 0, *n),
            Value::Nint(n) => head(out, 1, *n),
            Value::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend_from_slice(b);
            }
            Value::Text(s) => {
                head(out, 3, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(items) => {
                head(out, 4, items.len() as u64);
                for item in items {
                    item.encode_into(out);
                }
            }
            Value::Map(entries) => {
                let mut encoded: Vec<(Vec<u8>, &Value<'_>)> =
                    entries.iter().map(|(k, v)| (k.encode(), v)).collect();
                encoded.sort_by(|a, b| a.0.cmp(&b.0));
                debug_assert!(
                    encoded.windows(2).all(|w| w[0].0 != w[1].0),
                    "duplicate map key in a structure built by kpcert"
                );
                head(out, 5, encoded.len() as u64);
                for (k, v) in encoded {
                    out.extend_from_slice(&k);
                    v.encode_into(out);
                }
            }
            Value::Tag(tag, inner) => {
                head(out, 6, *tag);
                inner.encode_into(out);
            }
            Value::Bool(false) => out.push(0xf4),
            Value::Bool(true) => out.push(0xf5),
            Value::Null => out.push(0xf6),
        }
    }

    /// Decodes exactly one deterministic item that fills all of `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Value<'a>, DecodeError> {
        let mut reader = Reader { bytes, pos: 0 };
        let value = reader.item(0)?;
        if reader.pos != bytes.len() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(value)
    }

    /// The entries of a map, or `None`.
    pub fn as_map(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of an array, or `None`.
    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The string, or `None`.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The byte string, or `None`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The unsigned integer, or `None`.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Uint(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, or `None`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value under text key `key` of a map, or `None`.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u8::MAX as u64 {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= u16::MAX as u64 {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u32::MAX as u64 {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn argument(&mut self, initial: u8) -> Result<u64, DecodeError> {
        let info = initial & 0x1f;
        let (n, min) = match info {
            0..=23 => return Ok(info as u64),
            24 => (self.take(1)?[0] as u64, 24),
            25 => (
                u16::from_be_bytes(self.take(2)?.try_into().unwrap()) as u64,
                0x100,
            ),
            26 => (
                u32::from_be_bytes(self.take(4)?.try_into().unwrap()) as u64,
                0x1_0000,
            ),
            27 => (
                u64::from_be_bytes(self.take(8)?.try_into().unwrap()),
                0x1_0000_0000,
            ),
            _ => return Err(DecodeError::Unsupported(initial)),
        };
        if n < min {
            return Err(DecodeError::NotShortest);
        }
        Ok(n)
    }

    fn length(&mut self, initial: u8) -> Result<usize, DecodeError> {
        let n = self.argument(initial)?;
        // Every item takes at least one byte, so a length beyond what is left is truncation.
        if n > (self.bytes.len() - self.pos) as u64 {
            return Err(DecodeError::Truncated);
        }
        Ok(n as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let initial = self.take(1)?[0];
        match initial >> 5 {
            0 => Ok(Value::Uint(self.argument(initial)?)),
            1 => Ok(Value::Nint(self.argument(initial)?)),
            2 => {
                let n = self.length(initial)?;
                Ok(Value::Bytes(Cow::Borrowed(self.take(n)?)))
            }
            3 => {
                let n = self.length(initial)?;
                let raw = self.take(n)?;
                let s = std::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8)?;
                Ok(Value::Text(Cow::Borrowed(s)))
            }
            4 => {
                let n = self.length(initial)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(initial)?;
                let mut entries = Vec::with_capacity(n);
                let mut last_key: Option<&'a [u8]> = None;
                for _ in 0..n {
                    let start = self.pos;
                    let key = self.item(depth + 1)?;
                    let key_bytes = &self.bytes[start..self.pos];
                    if let Some(prev) = last_key {
                        match prev.cmp(key_bytes) {
                            std::cmp::Ordering::Less => {}
                            std::cmp::Ordering::Equal => return Err(DecodeError::DuplicateKey),
                            std::cmp::Ordering::Greater => return Err(DecodeError::UnsortedMap),
                        }
                    }
                    last_key = Some(key_bytes);
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            6 => {
                let tag = self.argument(initial)?;
                Ok(Value::Tag(tag, Box::new(self.item(depth + 1)?)))
            }
            _ => match initial {
                0xf4 => Ok(Value::Bool(false)),
                0xf5 => Ok(Value::Bool(true)),
                0xf6 => Ok(Value::Null),
                other => Err(DecodeError::Unsupported(other)),
            },
        }
    }
}

/// A schema-directed reader for the structures decoded most often (the ledger entries of
/// signed events, the issuances and confirmations they hold: every audit and replay reads one
/// an entry; issue 14). It expects one exact shape, item by item, and its callers answer `None`
/// as soon as an item or a field's value is not what they expect; they then decode with
/// [`Value::decode`] and [`Fields`], which accept or refuse and name the problem. It reads with
/// the general decoder's rules (the same [`Reader`]: shortest heads, definite lengths, UTF-8
/// text) and its callers read keys in canonical order and end with [`Walker::end`], so whatever
/// they accept the general decoder accepts with the same meaning (tested on byte substitutions,
/// removals, insertions and swapped keys of each kind of entry); it only skips building a tree
/// of values. Kept to the codec: a caller that skipped the key order or the end check could
/// accept what the strict decoder refuses.
pub(crate) struct Walker<'a> {
    reader: Reader<'a>,
}

impl<'a> Walker<'a> {
    pub fn new(bytes: &'a [u8]) -> Walker<'a> {
        Walker {
            reader: Reader { bytes, pos: 0 },
        }
    }

    /// The argument of the next item if it has this major type.
    fn head(&mut self, major: u8) -> Option<u64> {
        let initial = *self.reader.bytes.get(self.reader.pos)?;
        if initial >> 5 != major {
            return None;
        }
        self.reader.pos += 1;
        self.reader.argument(initial).ok()
    }

    /// A string's bytes, after its head of this major type.
    fn string(&mut self, major: u8) -> Option<&'a [u8]> {
        let n = usize::try_from(self.head(major)?).ok()?;
        self.reader.take(n).ok()
    }

    /// The head of an array of exactly `n` items.
    pub fn array(&mut self, n: u64) -> Option<()> {
        (self.head(4)? == n).then_some(())
    }

    /// The head of a map of exactly `n` entries.
    pub fn map(&mut self, n: u64) -> Option<()> {
        (self.head(5)? == n).then_some(())
    }

    /// A text string equal to `text` (a map key, a context, a known value).
    pub fn text_is(&mut self, text: &str) -> Option<()> {
        (self.string(3)? == text.as_bytes()).then_some(())
    }

    /// `[context, ` of a `[context, body]` array.
    pub fn context(&mut self, context: &str) -> Option<()> {
        self.array(2)?;
        self.text_is(context)
    }

    /// A text string.
    pub fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.string(3)?).ok()
    }

    /// A byte string.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        self.string(2)
    }

    /// An unsigned integer.
    pub fn uint(&mut self) -> Option<u64> {
        self.head(0)
    }

    /// A negative integer's argument `n` (the value is `-1 - n`).
    pub fn nint(&mut self) -> Option<u64> {
        self.head(1)
    }

    /// The head of a tag numbered `n`.
    pub fn tag(&mut self, n: u64) -> Option<()> {
        (self.head(6)? == n).then_some(())
    }

    /// The head of an array: its number of items (at most what is left, as the general decoder
    /// requires).
    pub fn array_len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.head(4)?).ok()?;
        (n <= self.reader.bytes.len() - self.reader.pos).then_some(n)
    }

    /// `true` or `false`.
    pub fn bool(&mut self) -> Option<bool> {
        let value = match self.reader.bytes.get(self.reader.pos)? {
            0xf4 => false,
            0xf5 => true,
            _ => return None,
        };
        self.reader.pos += 1;
        Some(value)
    }

    /// Whether the next item is `null` (consumed if it is).
    pub fn null(&mut self) -> bool {
        let is_null = self.reader.bytes.get(self.reader.pos) == Some(&0xf6);
        if is_null {
            self.reader.pos += 1;
        }
        is_null
    }

    /// Every byte was read.
    pub fn end(self) -> Option<()> {
        (self.reader.pos == self.reader.bytes.len()).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc8949_appendix_a_examples() {
        let cases: &[(Value, &str)] = &[
            (Value::Uint(0), "00"),
            (Value::Uint(23), "17"),
            (Value::Uint(24), "1818"),
            (Value::Uint(1000), "1903e8"),
            (Value::Uint(1_000_000), "1a000f4240"),
            (Value::Uint(1_000_000_000_000), "1b000000e8d4a51000"),
            (Value::int(-1), "20"),
            (Value::int(-1000), "3903e7"),
            (Value::bytes(vec![1, 2, 3, 4]), "4401020304"),
            (Value::text("IETF"), "6449455446"),
            (Value::text("\u{00fc}"), "62c3bc"),
            (Value::Array(vec![]), "80"),
            (Value::Bool(true), "f5"),
            (Value::Null, "f6"),
        ];
        for (value, want) in cases {
            let bytes = value.encode();
            assert_eq!(hex(&bytes), *want, "{value:?}");
            assert_eq!(&Value::decode(&bytes).unwrap(), value);
        }
    }

    #[test]
    fn maps_sort_by_encoded_key_bytes() {
        // Shorter text keys sort first because the length is in the initial byte.
        let v = Value::map([("bb", Value::Uint(1)), ("a", Value::Uint(2))]);
        assert_eq!(hex(&v.encode()), "a261610262626201");
        let encoded = v.encode();
        let decoded = Value::decode(&encoded).unwrap();
        assert_eq!(decoded.get("a"), Some(&Value::Uint(2)));
    }

    #[test]
    fn strict_decoding_rejects_non_deterministic_forms() {
        let check = |hexstr: &str, want: DecodeError| {
            let bytes: Vec<u8> = (0..hexstr.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hexstr[i..i + 2], 16).unwrap())
                .collect();
            assert_eq!(Value::decode(&bytes), Err(want), "{hexstr}");
        };
        check("1817", DecodeError::NotShortest);
        check("190017", DecodeError::NotShortest);
        check("a2616201616101", DecodeError::UnsortedMap);
        check("a2616101616101", DecodeError::DuplicateKey);
        check("9f00ff", DecodeError::Unsupported(0x9f));
        check("f93c00", DecodeError::Unsupported(0xf9));
        check("0000", DecodeError::TrailingBytes);
        check("62c3", DecodeError::Truncated);
        check("62fffe", DecodeError::InvalidUtf8);
        check("", DecodeError::Truncated);
        check("5bffffffffffffffff", DecodeError::Truncated);
    }
}
