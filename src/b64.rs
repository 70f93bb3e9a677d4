//! Base64 text encodings: the only module that touches the `base64` crate.
//!
//! Standard alphabet with padding (RFC 4648 section 4) is used for hashes, signatures and
//! canonical bytes in JSON and in signed notes, as C2SP and the HTTP API specify.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding; `None` on any deviation.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// URL-safe base64 without padding, for bearer tokens.
pub fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
