//! The bodies of the fuzz targets (fuzz/fuzz_targets/*.rs, run with `cargo +nightly fuzz`): one
//! function per decoder that takes outside bytes, each asserting what must hold for every input
//! (no panic; what is accepted re-encodes to exactly the same bytes). The committed corpora
//! (fuzz/corpus/) are replayed through the same functions by a stable test on every CI run.

use crate::codec::cbor::Value;
use crate::codec::export::ExportReader;
use crate::codec::seal::{open, seal_from_qr_text};
use crate::codec::trust::TrustBundle;
use crate::codec::{decode_certificate, decode_entry, encode_certificate, encode_entry};
use crate::crypto::SigningKey;
use crate::tlog::NoteSigner;

/// Deterministic CBOR: whatever decodes re-encodes to the same bytes.
pub fn cbor(data: &[u8]) {
    if let Ok(value) = Value::decode(data) {
        assert_eq!(
            value.encode(),
            data,
            "decode accepted a non-canonical encoding"
        );
    }
}

/// Scanned QR text and the seal inside it: never a panic; an accepted seal is canonical CBOR;
/// what the seal walk accepts the tree decoder accepts with the same value.
pub fn seal(data: &[u8]) {
    if let Some(walked) = crate::codec::seal::walk_seal(data) {
        assert_eq!(
            Ok(walked),
            crate::codec::seal::open_tree(data),
            "the walk read a seal the tree reads otherwise"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = seal_from_qr_text(text) {
        if open(&bytes).is_ok() {
            cbor(&bytes);
        }
    }
    if let Ok(opened) = open(data) {
        let _ = opened.claims.number();
        cbor(data);
    }
}

/// Ledger entries, certificates, issuances, confirmations, voids and records: what decodes
/// re-encodes to the same bytes.
pub fn entry(data: &[u8]) {
    use crate::codec::lifecycle::{
        decode_confirmation, decode_void, encode_confirmation, encode_void,
    };
    use crate::codec::record::{decode_issuance, decode_record, encode_issuance, encode_record};
    re_encodes(data, "issuance", decode_issuance, encode_issuance);
    re_encodes(data, "record", decode_record, encode_record);
    re_encodes(
        data,
        "confirmation",
        decode_confirmation,
        encode_confirmation,
    );
    re_encodes(data, "void", decode_void, encode_void);
    re_encodes(data, "entry", decode_entry, encode_entry);
    re_encodes(data, "certificate", decode_certificate, encode_certificate);
}

/// If `data` decodes as `what`, it re-encodes to exactly `data`.
fn re_encodes<T>(
    data: &[u8],
    what: &str,
    decode: fn(&[u8]) -> Result<T, crate::codec::FormatError>,
    encode: fn(&T) -> Vec<u8>,
) {
    if let Ok(decoded) = decode(data) {
        assert_eq!(encode(&decoded), data, "{what} re-encodes differently");
    }
}

/// An issuance request body through the wire decoding and the rules: never a panic.
pub fn request(data: &[u8]) {
    if let Ok(value) = crate::http::json::parse_json_strict(data) {
        if let Ok((input, _)) = crate::http::parse_issue_request(&value) {
            let bw = crate::domain::CountryCode::participant("BW").expect("BW");
            let is_participant = |_c| true;
            let policy = crate::domain::IssuePolicy {
                issuer: bw,
                issued_on: crate::domain::Date::parse("2026-06-01").expect("a date"),
                default_validity_days: 60,
                max_validity_days: 90,
                is_participant: &is_participant,
            };
            if let Ok(content) = crate::domain::CertificateContent::validate(&input, &policy) {
                assert!(
                    content.problems(&policy).is_empty(),
                    "validated content breaks a rule"
                );
            }
        }
    }
}

/// A signed checkpoint note: never a panic under any key.
pub fn note(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verifier = NoteSigner::new("fuzz/ledger", SigningKey::from_seed(&[1; 32])).verifier();
    let _ = verifier.open(text);
    let _ = crate::tlog::NoteVerifier::parse(text);
}

/// An export file through the audit: never a panic.
pub fn export(data: &[u8]) {
    if let Ok(mut reader) = ExportReader::open(data) {
        for _ in reader.by_ref().take(64) {}
    }
    let verifier = NoteSigner::new("fuzz/ledger", SigningKey::from_seed(&[1; 32])).verifier();
    let _ = crate::audit::audit_export(
        data,
        &verifier,
        None,
        crate::audit::Options::default(),
        |_, _| {},
    );
}

/// A trust bundle, as CBOR and as the JSON file: never a panic; a decoded bundle re-encodes
/// to the same bytes.
pub fn bundle(data: &[u8]) {
    if let Ok(bundle) = TrustBundle::decode(data) {
        assert_eq!(bundle.encode(), data, "bundle re-encodes differently");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let root = SigningKey::from_seed(&[2; 32]).public_key();
        let _ = TrustBundle::open_signed_json(text, &root);
    }
}

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target by name (the corpus folders are named after them).
pub const TARGETS: [(&str, Target); 7] = [
    ("cbor", cbor),
    ("seal", seal),
    ("entry", entry),
    ("request", request),
    ("note", note),
    ("export", export),
    ("bundle", bundle),
];
