//! Text encodings of bytes: the only module that touches the `data-encoding` crate.
//!
//! - base64, standard alphabet with padding (RFC 4648 section 4): hashes, signatures and
//!   canonical bytes in JSON and in signed notes, as C2SP and the HTTP API specify;
//! - base64url without padding (RFC 4648 section 5): bearer tokens;
//! - base32 without padding (RFC 4648 section 6): the QR seal; decoding accepts either case
//!   (scanners may lower-case) and refuses padding, impossible lengths (1, 3 or 6 mod 8) and
//!   non-zero trailing bits, so that every seal has exactly one text;
//! - hex, lower case: key ids, hashes in JSON; decoding accepts either case.

use data_encoding::{Encoding, Specification, BASE32_NOPAD, BASE64, BASE64URL_NOPAD, HEXLOWER};
use std::sync::OnceLock;

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Decodes standard base64 with padding; `None` on any deviation (including non-zero
/// trailing bits).
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.as_bytes()).ok()
}

/// Base64url without padding (bearer tokens).
pub fn base64url(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// Upper-case base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

fn base32_any_case() -> &'static Encoding {
    static ENCODING: OnceLock<Encoding> = OnceLock::new();
    ENCODING.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        spec.translate.from.push_str("abcdefghijklmnopqrstuvwxyz");
        spec.translate.to.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        spec.encoding().expect("a valid base32 specification")
    })
}

/// Decodes unpadded base32 in either case; `None` on any other character, padding, an
/// impossible length or non-zero trailing bits.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    base32_any_case().decode(text.as_bytes()).ok()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    HEXLOWER.encode(bytes)
}

fn hex_any_case() -> &'static Encoding {
    static ENCODING: OnceLock<Encoding> = OnceLock::new();
    ENCODING.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("0123456789abcdef");
        spec.translate.from.push_str("ABCDEF");
        spec.translate.to.push_str("abcdef");
        spec.encoding().expect("a valid hex specification")
    })
}

/// Decodes hex in either case; `None` on an odd length or any other character.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    hex_any_case().decode(text.as_bytes()).ok()
}

/// Decodes exactly `N` bytes of hex in either case, without allocating; `None` on another
/// length or any other character.
pub fn from_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    hex_any_case().decode_mut(text.as_bytes(), &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        for (raw, b32, b64) in [
            ("", "", ""),
            ("f", "MY", "Zg=="),
            ("fo", "MZXQ", "Zm8="),
            ("foo", "MZXW6", "Zm9v"),
            ("foob", "MZXW6YQ", "Zm9vYg=="),
            ("fooba", "MZXW6YTB", "Zm9vYmE="),
            ("foobar", "MZXW6YTBOI", "Zm9vYmFy"),
        ] {
            assert_eq!(base32(raw.as_bytes()), b32);
            assert_eq!(from_base32(b32).unwrap(), raw.as_bytes());
            assert_eq!(from_base32(&b32.to_lowercase()).unwrap(), raw.as_bytes());
            assert_eq!(base64(raw.as_bytes()), b64);
            assert_eq!(from_base64(b64).unwrap(), raw.as_bytes());
        }
    }

    #[test]
    fn only_canonical_text_decodes() {
        assert_eq!(from_base32("MZ1"), None, "not in the alphabet");
        assert_eq!(from_base32("MZ"), None, "non-zero trailing bits");
        assert_eq!(from_base32("MY======"), None, "padding");
        for len in [1, 3, 6, 9] {
            assert_eq!(from_base32(&"A".repeat(len)), None, "length {len}");
        }
        assert_eq!(from_base64("Zh=="), None, "non-zero trailing bits");
        assert_eq!(from_base64("Zg"), None, "missing padding");
        assert_eq!(
            from_hex(&hex(&[0, 1, 254, 255])),
            Some(vec![0, 1, 254, 255])
        );
        assert_eq!(from_hex("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+a"), None);
    }
}
