//! Issuance and records (api/certificate.md, api/ledger.md): what an issuing authority signs,
//! `["kpcert/issuance/v2", {number, authority_id, key_id, issued_on, expires_on,
//! certificate_hash}]`, which the public ledger entry embeds; and the full record kept beside the
//! entry, `["kpcert/record/v2", {certificate, seal}]`, bound to it by the certificate hash.
//!
//! [`issue`] is the one producer of a certificate's signed bytes: the service calls it with the
//! keys it holds, `kpcert sign` with an authority's own key, and both produce the same bytes.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value, Walker};
use super::certificate::{decode_certificate, encode_certificate};
use super::seal::{open, seal, OpenedSeal, SealClaims};
use crate::crypto::{sha256, KeyId};
use crate::domain::{
    Certificate, CertificateNumber, CertificateRecord, Date, Issuance, SignedCertificate,
};

/// Context string of the issuance encoding.
pub const ISSUANCE_CONTEXT: &str = "kpcert/issuance/v2";
/// Context string of the record encoding.
pub const RECORD_CONTEXT: &str = "kpcert/record/v2";

const ISSUANCE_KEYS: [&str; 6] = [
    "number",
    "authority_id",
    "key_id",
    "issued_on",
    "expires_on",
    "certificate_hash",
];

/// The canonical issuance bytes: what the authority signs.
pub fn encode_issuance(i: &Issuance) -> Vec<u8> {
    with_context(
        ISSUANCE_CONTEXT,
        Value::map([
            ("number", Value::text(i.number.as_str())),
            ("authority_id", Value::text(&i.authority_id)),
            ("key_id", Value::text(i.key_id.to_string())),
            ("issued_on", Value::text(i.issued_on.to_string())),
            ("expires_on", Value::text(i.expires_on.to_string())),
            ("certificate_hash", Value::bytes(&i.certificate_hash[..])),
        ]),
    )
}

/// Decodes canonical issuance bytes.
pub fn decode_issuance(bytes: &[u8]) -> Result<Issuance, FormatError> {
    walk_issuance(bytes).map_or_else(|| decode_issuance_tree(bytes), Ok)
}

/// [`decode_issuance`] through a tree of values: it accepts or refuses any bytes, and names the
/// problem.
pub(super) fn decode_issuance_tree(bytes: &[u8]) -> Result<Issuance, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "issuance",
        unwrap_context(&value, ISSUANCE_CONTEXT)?,
        &ISSUANCE_KEYS,
    )?;
    Ok(Issuance {
        number: f.parsed("number", CertificateNumber::parse)?,
        authority_id: f.text("authority_id")?.to_owned(),
        key_id: f.parsed("key_id", KeyId::parse)?,
        issued_on: f.parsed("issued_on", Date::parse)?,
        expires_on: f.parsed("expires_on", Date::parse)?,
        certificate_hash: f.array("certificate_hash")?,
    })
}

/// [`decode_issuance`] of canonical bytes without a tree of values (issue 14: every entry of a
/// replay or an audit holds one); `None` for anything else, which the general decoder judges.
/// The keys are in canonical order (by length, then bytewise).
pub(super) fn walk_issuance(bytes: &[u8]) -> Option<Issuance> {
    let mut w = Walker::new(bytes);
    w.context(ISSUANCE_CONTEXT)?;
    w.map(ISSUANCE_KEYS.len() as u64)?;
    w.text_is("key_id")?;
    let key_id = KeyId::parse(w.text()?)?;
    w.text_is("number")?;
    let number = CertificateNumber::parse(w.text()?)?;
    w.text_is("issued_on")?;
    let issued_on = Date::parse(w.text()?)?;
    w.text_is("expires_on")?;
    let expires_on = Date::parse(w.text()?)?;
    w.text_is("authority_id")?;
    let authority_id = w.text()?.to_owned();
    w.text_is("certificate_hash")?;
    let certificate_hash = w.bytes()?.try_into().ok()?;
    w.end()?;
    Some(Issuance {
        number,
        authority_id,
        key_id,
        issued_on,
        expires_on,
        certificate_hash,
    })
}

/// The issuance of `certificate`, whose canonical bytes hash to `certificate_hash`.
pub fn issuance_of(certificate: &Certificate, certificate_hash: &[u8; 32]) -> Issuance {
    Issuance {
        number: certificate.number.clone(),
        authority_id: certificate.issuer.authority_id.clone(),
        key_id: certificate.issuer.key_id,
        issued_on: certificate.content.issued_on,
        expires_on: certificate.content.expires_on,
        certificate_hash: *certificate_hash,
    }
}

/// Signs `certificate` as its issuer: its canonical bytes and hash, the issuance and its
/// signature, and the seal, all with `sign` (the key of `certificate.issuer.key_id`).
pub fn issue(certificate: Certificate, sign: impl Fn(&[u8]) -> [u8; 64]) -> SignedCertificate {
    let canonical = encode_certificate(&certificate);
    let hash = sha256(&canonical);
    let issuance = issuance_of(&certificate, &hash);
    let signed = encode_issuance(&issuance);
    let signature = sign(&signed);
    let seal = seal(
        &SealClaims::of(&certificate, &hash),
        &certificate.issuer.key_id,
        &sign,
    );
    SignedCertificate {
        issuance,
        signed,
        signature,
        record: Some(Box::new(CertificateRecord {
            certificate,
            canonical,
            seal,
        })),
    }
}

/// The record bytes kept beside a certificate entry.
pub fn encode_record(r: &CertificateRecord) -> Vec<u8> {
    with_context(
        RECORD_CONTEXT,
        Value::map([
            ("certificate", Value::bytes(r.canonical.as_slice())),
            ("seal", Value::bytes(r.seal.as_slice())),
        ]),
    )
}

/// Decodes record bytes (the embedded certificate strictly; the seal is checked by
/// [`check_seal`]).
pub fn decode_record(bytes: &[u8]) -> Result<CertificateRecord, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "record",
        unwrap_context(&value, RECORD_CONTEXT)?,
        &["certificate", "seal"],
    )?;
    let canonical = f.bytes("certificate")?.to_vec();
    let certificate =
        decode_certificate(&canonical).map_err(|e| shape(format!("record.certificate: {e}")))?;
    Ok(CertificateRecord {
        certificate,
        canonical,
        seal: f.bytes("seal")?.to_vec(),
    })
}

/// Checks that a record's seal is the seal of its certificate under the issuance's key id (its
/// claims are those of the certificate and its hash); the caller verifies the seal's signature
/// with the key (alone, or in a batch) through the returned seal.
pub fn check_seal(record: &CertificateRecord, issuance: &Issuance) -> Result<OpenedSeal, String> {
    let opened = open(&record.seal).map_err(|e| format!("the record's seal: {e}"))?;
    if opened.key_id != issuance.key_id {
        return Err("the record's seal names another key than the issuance".into());
    }
    if opened.claims != SealClaims::of(&record.certificate, &issuance.certificate_hash) {
        return Err("the record's seal does not state the certificate it is kept with".into());
    }
    Ok(opened)
}
