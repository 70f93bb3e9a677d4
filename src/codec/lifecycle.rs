//! The lifecycle encodings (api/lifecycle.md): what an importing authority signs to confirm an
//! arrival, `["kpcert/confirmation/v1", {number, authority_id, key_id, received_on,
//! arrival_hash}]`, with the arrival it commits to, `["kpcert/arrival/v1", {...}]`, kept beside
//! the entry in `["kpcert/arrival-record/v1", {arrival, discrepancies}]`; and what an issuing
//! authority signs to void a certificate, `["kpcert/void/v1", {number, authority_id, key_id,
//! reason, replaced_by}]`.
//!
//! [`confirm`] and [`void`] are the one producer of these signed bytes: the service calls them
//! with the keys it holds, `kpcert sign` with an authority's own key.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value, Walker};
use crate::crypto::{sha256, KeyId};
use crate::domain::{
    Arrival, ArrivalLine, CertificateNumber, Confirmation, ConfirmationRecord, Date, Discrepancy,
    HsCode, Hundredths, SignedConfirmation, SignedVoid, Void,
};

/// Context string of the confirmation encoding (what the importing authority signs).
pub const CONFIRMATION_CONTEXT: &str = "kpcert/confirmation/v1";
/// Context string of the arrival encoding (the commercial content, committed by hash).
pub const ARRIVAL_CONTEXT: &str = "kpcert/arrival/v1";
/// Context string of the record kept beside a confirmation entry.
pub const ARRIVAL_RECORD_CONTEXT: &str = "kpcert/arrival-record/v1";
/// Context string of the void encoding (what the issuing authority signs).
pub const VOID_CONTEXT: &str = "kpcert/void/v1";

fn amount(v: u64, what: &str) -> Result<Hundredths, FormatError> {
    Hundredths::from_hundredths(v).ok_or_else(|| shape(format!("{what} out of range")))
}

fn number_or_null(n: &Option<CertificateNumber>) -> Value<'_> {
    match n {
        Some(n) => Value::text(n.as_str()),
        None => Value::Null,
    }
}

/// The canonical confirmation bytes: what the importing authority signs.
pub fn encode_confirmation(c: &Confirmation) -> Vec<u8> {
    with_context(
        CONFIRMATION_CONTEXT,
        Value::map([
            ("number", Value::text(c.number.as_str())),
            ("authority_id", Value::text(&c.authority_id)),
            ("key_id", Value::text(c.key_id.to_string())),
            ("received_on", Value::text(c.received_on.to_string())),
            ("arrival_hash", Value::bytes(&c.arrival_hash[..])),
        ]),
    )
}

/// Decodes canonical confirmation bytes.
pub fn decode_confirmation(bytes: &[u8]) -> Result<Confirmation, FormatError> {
    walk_confirmation(bytes).map_or_else(|| decode_confirmation_tree(bytes), Ok)
}

/// [`decode_confirmation`] of canonical bytes without a tree of values (issue 14: the audit
/// reads one an import); `None` for anything else, which the general decoder judges. The keys
/// are in canonical order (by length, then bytewise).
pub(super) fn walk_confirmation(bytes: &[u8]) -> Option<Confirmation> {
    let mut w = Walker::new(bytes);
    w.context(CONFIRMATION_CONTEXT)?;
    w.map(5)?;
    w.text_is("key_id")?;
    let key_id = KeyId::parse(w.text()?)?;
    w.text_is("number")?;
    let number = CertificateNumber::parse(w.text()?)?;
    w.text_is("received_on")?;
    let received_on = Date::parse(w.text()?)?;
    w.text_is("arrival_hash")?;
    let arrival_hash = w.bytes()?.try_into().ok()?;
    w.text_is("authority_id")?;
    let authority_id = w.text()?.to_owned();
    w.end()?;
    Some(Confirmation {
        number,
        authority_id,
        key_id,
        received_on,
        arrival_hash,
    })
}

/// [`decode_confirmation`] through a tree of values: it accepts or refuses any bytes, and names
/// the problem.
pub(super) fn decode_confirmation_tree(bytes: &[u8]) -> Result<Confirmation, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "confirmation",
        unwrap_context(&value, CONFIRMATION_CONTEXT)?,
        &[
            "number",
            "authority_id",
            "key_id",
            "received_on",
            "arrival_hash",
        ],
    )?;
    Ok(Confirmation {
        number: f.parsed("number", CertificateNumber::parse)?,
        authority_id: f.text("authority_id")?.to_owned(),
        key_id: f.parsed("key_id", KeyId::parse)?,
        received_on: f.parsed("received_on", Date::parse)?,
        arrival_hash: f.array("arrival_hash")?,
    })
}

/// The canonical arrival bytes, whose SHA-256 the confirmation commits to.
pub fn encode_arrival(a: &Arrival) -> Vec<u8> {
    with_context(
        ARRIVAL_CONTEXT,
        Value::map([
            ("number", Value::text(a.number.as_str())),
            ("received_on", Value::text(a.received_on.to_string())),
            ("parcels", Value::Uint(a.parcels as u64)),
            (
                "items",
                Value::Array(
                    a.items
                        .iter()
                        .map(|l| {
                            Value::map([
                                ("hs_code", Value::text(l.hs_code.as_str())),
                                ("centicarats", Value::Uint(l.carats.hundredths())),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("remarks", Value::text(&a.remarks)),
            ("salt", Value::bytes(&a.salt[..])),
        ]),
    )
}

/// Decodes canonical arrival bytes.
pub fn decode_arrival(bytes: &[u8]) -> Result<Arrival, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "arrival",
        unwrap_context(&value, ARRIVAL_CONTEXT)?,
        &[
            "number",
            "received_on",
            "parcels",
            "items",
            "remarks",
            "salt",
        ],
    )?;
    let items = f
        .list("items")?
        .iter()
        .map(|v| {
            let i = Fields::exact("arrival item", v, &["hs_code", "centicarats"])?;
            Ok(ArrivalLine {
                hs_code: i.parsed("hs_code", HsCode::parse)?,
                carats: amount(i.uint("centicarats")?, "arrival carats")?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    if items.is_empty()
        || !items.windows(2).all(|w| w[0].hs_code < w[1].hs_code)
        || items.iter().any(|l| l.carats.is_zero())
    {
        return Err(shape(
            "arrival items must be non-empty, sorted by distinct HS code, each above zero carats",
        ));
    }
    Ok(Arrival {
        number: f.parsed("number", CertificateNumber::parse)?,
        received_on: f.parsed("received_on", Date::parse)?,
        parcels: f.u32("parcels")?,
        items,
        remarks: f.text("remarks")?.to_owned(),
        salt: f.array("salt")?,
    })
}

fn discrepancy_value(d: &Discrepancy) -> Value<'_> {
    match d {
        Discrepancy::Parcels {
            certified,
            received,
        } => Value::map([
            ("kind", Value::text(d.kind())),
            ("certified", Value::Uint(*certified as u64)),
            ("received", Value::Uint(*received as u64)),
        ]),
        Discrepancy::Carats {
            hs_code,
            certified,
            received,
        } => Value::map([
            ("kind", Value::text(d.kind())),
            ("hs_code", Value::text(hs_code.as_str())),
            ("certified", Value::Uint(certified.hundredths())),
            ("received", Value::Uint(received.hundredths())),
        ]),
        Discrepancy::ArrivedAfterExpiry {
            expires_on,
            received_on,
        } => Value::map([
            ("kind", Value::text(d.kind())),
            ("expires_on", Value::text(expires_on.to_string())),
            ("received_on", Value::text(received_on.to_string())),
        ]),
    }
}

fn discrepancy_from(v: &Value) -> Result<Discrepancy, FormatError> {
    let kind = v
        .get("kind")
        .and_then(Value::as_text)
        .ok_or_else(|| shape("a discrepancy has no kind"))?;
    Ok(match kind {
        "parcels" => {
            let f = Fields::exact("discrepancy", v, &["kind", "certified", "received"])?;
            Discrepancy::Parcels {
                certified: f.u32("certified")?,
                received: f.u32("received")?,
            }
        }
        "carats" => {
            let f = Fields::exact(
                "discrepancy",
                v,
                &["kind", "hs_code", "certified", "received"],
            )?;
            Discrepancy::Carats {
                hs_code: f.parsed("hs_code", HsCode::parse)?,
                certified: amount(f.uint("certified")?, "certified carats")?,
                received: amount(f.uint("received")?, "received carats")?,
            }
        }
        "arrived_after_expiry" => {
            let f = Fields::exact("discrepancy", v, &["kind", "expires_on", "received_on"])?;
            Discrepancy::ArrivedAfterExpiry {
                expires_on: f.parsed("expires_on", Date::parse)?,
                received_on: f.parsed("received_on", Date::parse)?,
            }
        }
        other => return Err(shape(format!("unknown discrepancy kind {other:?}"))),
    })
}

/// The record bytes kept beside a confirmation entry.
pub fn encode_arrival_record(r: &ConfirmationRecord) -> Vec<u8> {
    with_context(
        ARRIVAL_RECORD_CONTEXT,
        Value::map([
            ("arrival", Value::bytes(r.canonical.as_slice())),
            (
                "discrepancies",
                Value::Array(r.discrepancies.iter().map(discrepancy_value).collect()),
            ),
        ]),
    )
}

/// Decodes the record kept beside a confirmation entry.
pub fn decode_arrival_record(bytes: &[u8]) -> Result<ConfirmationRecord, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "arrival record",
        unwrap_context(&value, ARRIVAL_RECORD_CONTEXT)?,
        &["arrival", "discrepancies"],
    )?;
    let canonical = f.bytes("arrival")?.to_vec();
    let arrival =
        decode_arrival(&canonical).map_err(|e| shape(format!("arrival record.arrival: {e}")))?;
    Ok(ConfirmationRecord {
        arrival,
        canonical,
        discrepancies: f
            .list("discrepancies")?
            .iter()
            .map(discrepancy_from)
            .collect::<Result<_, _>>()?,
    })
}

/// Confirms `arrival` as authority `authority_id` with key `key_id`: the canonical arrival, the
/// confirmation committing to it and its signature by `sign`, and the record with the
/// `discrepancies` found.
pub fn confirm(
    arrival: Arrival,
    authority_id: &str,
    key_id: KeyId,
    discrepancies: Vec<crate::domain::Discrepancy>,
    sign: impl Fn(&[u8]) -> [u8; 64],
) -> SignedConfirmation {
    let canonical = encode_arrival(&arrival);
    let confirmation = Confirmation {
        number: arrival.number.clone(),
        authority_id: authority_id.to_owned(),
        key_id,
        received_on: arrival.received_on,
        arrival_hash: sha256(&canonical),
    };
    let signed = encode_confirmation(&confirmation);
    let signature = sign(&signed);
    SignedConfirmation {
        confirmation,
        signed,
        signature,
        record: Some(Box::new(ConfirmationRecord {
            arrival,
            canonical,
            discrepancies,
        })),
    }
}

/// The canonical void bytes: what the issuing authority signs.
pub fn encode_void(v: &Void) -> Vec<u8> {
    with_context(
        VOID_CONTEXT,
        Value::map([
            ("number", Value::text(v.number.as_str())),
            ("authority_id", Value::text(&v.authority_id)),
            ("key_id", Value::text(v.key_id.to_string())),
            ("reason", Value::text(&v.reason)),
            ("replaced_by", number_or_null(&v.replaced_by)),
        ]),
    )
}

/// Decodes canonical void bytes.
pub fn decode_void(bytes: &[u8]) -> Result<Void, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "void",
        unwrap_context(&value, VOID_CONTEXT)?,
        &["number", "authority_id", "key_id", "reason", "replaced_by"],
    )?;
    Ok(Void {
        number: f.parsed("number", CertificateNumber::parse)?,
        authority_id: f.text("authority_id")?.to_owned(),
        key_id: f.parsed("key_id", KeyId::parse)?,
        reason: f.text("reason")?.to_owned(),
        replaced_by: match f.get("replaced_by") {
            Value::Null => None,
            _ => Some(f.parsed("replaced_by", CertificateNumber::parse)?),
        },
    })
}

/// Signs void `v` with `sign` (the key of `v.key_id`).
pub fn void(v: Void, sign: impl Fn(&[u8]) -> [u8; 64]) -> SignedVoid {
    let signed = encode_void(&v);
    let signature = sign(&signed);
    SignedVoid {
        void: v,
        signed,
        signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_encoding_decodes_to_what_was_encoded() {
        let arrival = Arrival {
            number: CertificateNumber::parse("BW-2026-000001").unwrap(),
            received_on: Date::parse("2026-12-01").unwrap(),
            parcels: 3,
            items: vec![ArrivalLine {
                hs_code: HsCode::Unsorted,
                carats: Hundredths::parse("1520.35").unwrap(),
            }],
            remarks: "one seal broken".into(),
            salt: [9; 16],
        };
        let found = vec![
            Discrepancy::Parcels {
                certified: 4,
                received: 3,
            },
            Discrepancy::ArrivedAfterExpiry {
                expires_on: Date::parse("2026-11-30").unwrap(),
                received_on: Date::parse("2026-12-01").unwrap(),
            },
        ];
        let key_id = KeyId::parse("0011223344556677").unwrap();
        let c = confirm(arrival, "BW-A1", key_id, found, |_| [1; 64]);
        assert_eq!(decode_confirmation(&c.signed).unwrap(), c.confirmation);
        let record = c.record.unwrap();
        assert_eq!(
            decode_arrival_record(&encode_arrival_record(&record)).unwrap(),
            *record
        );
        let v = void(
            Void {
                number: CertificateNumber::parse("BW-2026-000001").unwrap(),
                authority_id: "BW-A1".into(),
                key_id,
                reason: "typing error in the importer's address".into(),
                replaced_by: CertificateNumber::parse("BW-2026-000002"),
            },
            |_| [2; 64],
        );
        assert_eq!(decode_void(&v.signed).unwrap(), v.void);
    }
}
