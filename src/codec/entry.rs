//! The canonical ledger entry encoding `["kpcert/entry/v2", {index, time, kind, actor, key_id,
//! payload, prev}]` (api/ledger.md): the Merkle leaf data, whose SHA-256 is the next entry's
//! `prev`. A certificate entry embeds the signed issuance only (a commitment to the certificate);
//! the full record is kept beside it and never part of the public entry. The decoder accepts exactly what the encoder produces, and only the kinds of
//! [`Kind::ALL`]: a v2 reader cannot judge an entry it does not understand, so an unknown kind
//! does not decode.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value, Walker};
use super::lifecycle::{decode_confirmation, decode_void};
use super::record::decode_issuance;
use crate::crypto::{sha256, Hash, KeyId, PublicKey};
use crate::domain::{
    Authority, CountryCode, Entry, Event, KeyAdded, KeyRevoked, Kind, Participant, ParticipantKind,
    SignedCertificate, SignedConfirmation, SignedVoid,
};

/// Context string of the ledger entry encoding.
pub const ENTRY_CONTEXT: &str = "kpcert/entry/v2";

const AUTHORITY_KEYS: [&str; 7] = [
    "authority_id",
    "participant",
    "name",
    "public_key",
    "key_id",
    "default_validity_days",
    "max_validity_days",
];

fn payload(event: &Event) -> Value<'_> {
    match event {
        Event::ParticipantRegistered(p) => Value::map([
            ("code", Value::text(p.code.as_str())),
            ("name", Value::text(&p.name)),
            ("region", Value::text(&p.region)),
            ("kind", Value::text(p.kind.as_str())),
        ]),
        Event::AuthorityRegistered(a) => Value::map([
            ("authority_id", Value::text(&a.id)),
            ("participant", Value::text(a.participant.as_str())),
            ("name", Value::text(&a.name)),
            ("public_key", Value::bytes(a.public_key.to_bytes().to_vec())),
            ("key_id", Value::text(a.key_id().to_string())),
            (
                "default_validity_days",
                Value::Uint(a.default_validity_days as u64),
            ),
            ("max_validity_days", Value::Uint(a.max_validity_days as u64)),
        ]),
        Event::KeyAdded(k) => Value::map([
            ("authority_id", Value::text(&k.authority_id)),
            ("public_key", Value::bytes(k.public_key.to_bytes().to_vec())),
            ("key_id", Value::text(k.public_key.key_id().to_string())),
        ]),
        Event::KeyRevoked(k) => Value::map([
            ("authority_id", Value::text(&k.authority_id)),
            ("public_key", Value::bytes(k.public_key.to_bytes().to_vec())),
            ("key_id", Value::text(k.public_key.key_id().to_string())),
            ("compromised_from", Value::Uint(k.compromised_from_ms)),
            ("reason", Value::text(&k.reason)),
        ]),
        Event::CertificateIssued(s) => Value::map([
            ("issuance", Value::bytes(s.signed.as_slice())),
            ("signature", Value::bytes(&s.signature[..])),
        ]),
        Event::ImportConfirmed(c) => Value::map([
            ("confirmation", Value::bytes(c.signed.as_slice())),
            ("signature", Value::bytes(&c.signature[..])),
        ]),
        Event::CertificateVoided(v) => Value::map([
            ("void", Value::bytes(v.signed.as_slice())),
            ("signature", Value::bytes(&v.signature[..])),
        ]),
        Event::StatusChanged(c) => super::standing::status_change_value(c),
        Event::TradeMeasureRecorded(m) => super::standing::trade_measure_value(m),
        Event::ShipmentApproved(a) => super::standing::approval_value(a),
        Event::DocumentRecorded(d) => super::document::document_value(d),
        Event::CaseStepRecorded(s) => super::case::step_value(s),
        Event::BenchmarkSet(b) => super::case::benchmark_value(b),
        Event::ProductionReported(r) => super::stats::production_value(r),
        Event::LedgerAudited(a) => super::stats::audit_value(a),
    }
}

/// The `public_key` of a payload, checked against its `key_id`.
fn key_of(f: &Fields<'_, '_>) -> Result<PublicKey, FormatError> {
    let public_key = PublicKey::from_bytes(f.bytes("public_key")?)
        .map_err(|e| shape(format!("payload.public_key: {e}")))?;
    if f.parsed("key_id", KeyId::parse)? != public_key.key_id() {
        return Err(shape("payload.key_id does not match payload.public_key"));
    }
    Ok(public_key)
}

fn event(kind: Kind, v: &Value) -> Result<Event, FormatError> {
    Ok(match kind {
        Kind::ParticipantRegistered => {
            let f = Fields::exact("payload", v, &["code", "name", "region", "kind"])?;
            Event::ParticipantRegistered(Participant {
                code: f.parsed("code", CountryCode::participant)?,
                name: f.text("name")?.to_owned(),
                region: f.text("region")?.to_owned(),
                kind: f.parsed("kind", ParticipantKind::parse)?,
            })
        }
        Kind::AuthorityRegistered => {
            let f = Fields::exact("payload", v, &AUTHORITY_KEYS)?;
            let public_key = key_of(&f)?;
            Event::AuthorityRegistered(Authority {
                id: f.text("authority_id")?.to_owned(),
                participant: f.parsed("participant", CountryCode::participant)?,
                name: f.text("name")?.to_owned(),
                public_key,
                default_validity_days: f.u32("default_validity_days")?,
                max_validity_days: f.u32("max_validity_days")?,
            })
        }
        Kind::KeyAdded => {
            let f = Fields::exact("payload", v, &["authority_id", "public_key", "key_id"])?;
            Event::KeyAdded(KeyAdded {
                authority_id: f.text("authority_id")?.to_owned(),
                public_key: key_of(&f)?,
            })
        }
        Kind::KeyRevoked => {
            let f = Fields::exact(
                "payload",
                v,
                &[
                    "authority_id",
                    "public_key",
                    "key_id",
                    "compromised_from",
                    "reason",
                ],
            )?;
            Event::KeyRevoked(KeyRevoked {
                authority_id: f.text("authority_id")?.to_owned(),
                public_key: key_of(&f)?,
                compromised_from_ms: f.uint("compromised_from")?,
                reason: f.text("reason")?.to_owned(),
            })
        }
        Kind::CertificateIssued => {
            let f = Fields::exact("payload", v, &["issuance", "signature"])?;
            let signed = f.bytes("issuance")?.to_vec();
            let issuance =
                decode_issuance(&signed).map_err(|e| shape(format!("payload.issuance: {e}")))?;
            Event::CertificateIssued(SignedCertificate {
                issuance,
                signed,
                signature: f.array("signature")?,
                record: None,
            })
        }
        Kind::ImportConfirmed => {
            let f = Fields::exact("payload", v, &["confirmation", "signature"])?;
            let signed = f.bytes("confirmation")?.to_vec();
            let confirmation = decode_confirmation(&signed)
                .map_err(|e| shape(format!("payload.confirmation: {e}")))?;
            Event::ImportConfirmed(SignedConfirmation {
                confirmation,
                signed,
                signature: f.array("signature")?,
                record: None,
            })
        }
        Kind::CertificateVoided => {
            let f = Fields::exact("payload", v, &["void", "signature"])?;
            let signed = f.bytes("void")?.to_vec();
            let void = decode_void(&signed).map_err(|e| shape(format!("payload.void: {e}")))?;
            Event::CertificateVoided(SignedVoid {
                void,
                signed,
                signature: f.array("signature")?,
            })
        }
        Kind::StatusChanged => Event::StatusChanged(super::standing::status_change_from(v)?),
        Kind::TradeMeasureRecorded => {
            Event::TradeMeasureRecorded(super::standing::trade_measure_from(v)?)
        }
        Kind::ShipmentApproved => Event::ShipmentApproved(super::standing::approval_from(v)?),
        Kind::DocumentRecorded => Event::DocumentRecorded(super::document::document_from(v)?),
        Kind::CaseStepRecorded => Event::CaseStepRecorded(super::case::step_from(v)?),
        Kind::BenchmarkSet => Event::BenchmarkSet(super::case::benchmark_from(v)?),
        Kind::ProductionReported => Event::ProductionReported(super::stats::production_from(v)?),
        Kind::LedgerAudited => Event::LedgerAudited(super::stats::audit_from(v)?),
    })
}

/// The canonical bytes of an entry: the Merkle leaf data.
pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    let body = Value::map([
        ("index", Value::Uint(entry.index)),
        ("time", Value::Uint(entry.time_ms)),
        ("kind", Value::text(entry.event.kind().as_str())),
        ("actor", Value::text(&entry.actor)),
        (
            "key_id",
            match entry.key_id {
                Some(id) => Value::text(id.to_string()),
                None => Value::Null,
            },
        ),
        ("payload", payload(&entry.event)),
        ("prev", Value::bytes(&entry.prev[..])),
    ]);
    with_context(ENTRY_CONTEXT, body)
}

/// Decodes canonical entry bytes (a certificate entry's embedded issuance included).
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, FormatError> {
    walk_signed_entry(bytes).map_or_else(|| decode_entry_tree(bytes), Ok)
}

/// [`decode_entry`] through a tree of values: it accepts or refuses any bytes, and names the
/// problem.
fn decode_entry_tree(bytes: &[u8]) -> Result<Entry, FormatError> {
    let value = Value::decode(bytes)?;
    let body = unwrap_context(&value, ENTRY_CONTEXT)?;
    let f = Fields::exact(
        "entry",
        body,
        &[
            "index", "time", "kind", "actor", "key_id", "payload", "prev",
        ],
    )?;
    let kind = f.text("kind")?;
    let kind = Kind::parse(kind).ok_or_else(|| {
        shape(format!(
            "unknown kind {kind:?} (a v2 ledger holds only {})",
            Kind::ALL.map(Kind::as_str).join(", ")
        ))
    })?;
    Ok(Entry {
        index: f.uint("index")?,
        time_ms: f.uint("time")?,
        actor: f.text("actor")?.to_owned(),
        key_id: match f.get("key_id") {
            Value::Null => None,
            _ => Some(f.parsed("key_id", KeyId::parse)?),
        },
        prev: f.array("prev")?,
        event: event(kind, f.get("payload"))?,
    })
}

/// [`decode_entry`] of a canonical entry of a signed event (a certificate's issuance, an import
/// confirmation or a void: all but a few entries of a ledger) without a tree of values (issue
/// 14: the audit's and the replay's decoding thread); `None` for anything else, which the
/// general decoder judges. The keys are read in canonical order: by length, then bytewise (each
/// key is shorter than 24 bytes, so its encoding is one head byte holding its length, then the
/// text).
fn walk_signed_entry(bytes: &[u8]) -> Option<Entry> {
    let mut w = Walker::new(bytes);
    w.context(ENTRY_CONTEXT)?;
    w.map(7)?;
    w.text_is("kind")?;
    let kind = Kind::parse(w.text()?)?;
    let signed_key = match kind {
        Kind::CertificateIssued => "issuance",
        Kind::ImportConfirmed => "confirmation",
        Kind::CertificateVoided => "void",
        _ => return None,
    };
    w.text_is("prev")?;
    let prev = w.bytes()?.try_into().ok()?;
    w.text_is("time")?;
    let time_ms = w.uint()?;
    w.text_is("actor")?;
    let actor = w.text()?.to_owned();
    w.text_is("index")?;
    let index = w.uint()?;
    w.text_is("key_id")?;
    let key_id = if w.null() {
        None
    } else {
        Some(KeyId::parse(w.text()?)?)
    };
    w.text_is("payload")?;
    w.map(2)?;
    let (signed, signature) = if (signed_key.len(), signed_key) < ("signature".len(), "signature") {
        w.text_is(signed_key)?;
        let signed = w.bytes()?;
        w.text_is("signature")?;
        (signed, w.bytes()?)
    } else {
        w.text_is("signature")?;
        let signature = w.bytes()?;
        w.text_is(signed_key)?;
        (w.bytes()?, signature)
    };
    let signature = signature.try_into().ok()?;
    w.end()?;
    let event = match kind {
        Kind::CertificateIssued => Event::CertificateIssued(SignedCertificate {
            issuance: decode_issuance(signed).ok()?,
            signed: signed.to_vec(),
            signature,
            record: None,
        }),
        Kind::ImportConfirmed => Event::ImportConfirmed(SignedConfirmation {
            confirmation: decode_confirmation(signed).ok()?,
            signed: signed.to_vec(),
            signature,
            record: None,
        }),
        _ => Event::CertificateVoided(SignedVoid {
            void: decode_void(signed).ok()?,
            signed: signed.to_vec(),
            signature,
        }),
    };
    Some(Entry {
        index,
        time_ms,
        actor,
        key_id,
        prev,
        event,
    })
}

/// The record kept beside an entry, if its kind has one: a certificate's or a confirmation's
/// (the commercial content its public entry commits to). `None` when the event carries no
/// record to write.
pub fn encode_entry_record(event: &Event) -> Option<Vec<u8>> {
    match event {
        Event::CertificateIssued(s) => s.record.as_deref().map(super::record::encode_record),
        Event::ImportConfirmed(c) => c
            .record
            .as_deref()
            .map(super::lifecycle::encode_arrival_record),
        _ => Some(Vec::new()),
    }
}

/// Whether entries of this kind are written with a record beside them.
pub fn has_record(kind: Kind) -> bool {
    matches!(kind, Kind::CertificateIssued | Kind::ImportConfirmed)
}

/// Decodes the record kept beside `entry` and attaches it to its event (structure only: the
/// caller or [`crate::domain::State::apply`] checks it against the entry's commitment). An
/// empty record leaves the event as it is.
pub fn attach_record(entry: &mut Entry, record: &[u8]) -> Result<(), FormatError> {
    if record.is_empty() {
        return Ok(());
    }
    match &mut entry.event {
        Event::CertificateIssued(s) => {
            s.record = Some(Box::new(super::record::decode_record(record)?));
        }
        Event::ImportConfirmed(c) => {
            c.record = Some(Box::new(super::lifecycle::decode_arrival_record(record)?));
        }
        _ => return Err(shape("an entry of this kind has no record")),
    }
    Ok(())
}

/// The hash that chains entries: SHA-256 of the canonical bytes.
pub fn entry_hash(entry_bytes: &[u8]) -> Hash {
    sha256(entry_bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::lifecycle::{encode_confirmation, encode_void};
    use crate::codec::record::encode_issuance;
    use crate::crypto::SigningKey;
    use crate::domain::{CertificateNumber, Confirmation, Date, Issuance, Void};

    /// An entry of each signed kind (issuance, confirmation, void), with and without a key id.
    fn signed_entries() -> Vec<Vec<u8>> {
        let key = SigningKey::from_seed(&[3; 32]);
        let key_id = key.public_key().key_id();
        let number = CertificateNumber::parse("BW-2026-000042").unwrap();
        let issuance = Issuance {
            number: number.clone(),
            authority_id: "BW-A1".into(),
            key_id,
            issued_on: Date::parse("2026-12-04").unwrap(),
            expires_on: Date::parse("2027-02-02").unwrap(),
            certificate_hash: [7; 32],
        };
        let signed = encode_issuance(&issuance);
        let issued = Event::CertificateIssued(SignedCertificate {
            issuance,
            signature: key.sign(&signed),
            signed,
            record: None,
        });
        let confirmation = Confirmation {
            number: number.clone(),
            authority_id: "AE-A1".into(),
            key_id,
            received_on: Date::parse("2026-12-06").unwrap(),
            arrival_hash: [5; 32],
        };
        let signed = encode_confirmation(&confirmation);
        let confirmed = Event::ImportConfirmed(SignedConfirmation {
            confirmation,
            signature: key.sign(&signed),
            signed,
            record: None,
        });
        let void = Void {
            number,
            authority_id: "BW-A1".into(),
            key_id,
            reason: "issued in error".into(),
            replaced_by: CertificateNumber::parse("BW-2026-000043"),
        };
        let signed = encode_void(&void);
        let voided = Event::CertificateVoided(SignedVoid {
            void,
            signature: key.sign(&signed),
            signed,
        });
        let mut entries = Vec::new();
        for event in [issued.clone(), confirmed, voided] {
            for key_id in [Some(key_id), None] {
                entries.push(encode_entry(&Entry {
                    index: 70_067,
                    time_ms: 1_780_000_000_000,
                    actor: "BW-A1".into(),
                    key_id,
                    prev: [9; 32],
                    event: event.clone(),
                }));
            }
        }
        // Integers of one- and two-byte heads, and a text of a two-byte head (24 bytes or more).
        for (index, time_ms, actor) in [(5, 23, "A"), (200, 24, "an actor of thirty letters")] {
            entries.push(encode_entry(&Entry {
                index,
                time_ms,
                actor: actor.into(),
                key_id: Some(key_id),
                prev: [9; 32],
                event: issued.clone(),
            }));
        }
        entries
    }

    /// Changes of `bytes`: each byte replaced by each of the 255 other values, removed, or
    /// preceded by 0x00, 0xf6 or a copy of itself; a byte added at the end; and each pair of
    /// same-length map keys the walk reads one after the other swapped (keys out of order).
    pub(crate) fn changes(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut changed = Vec::new();
        for i in 0..bytes.len() {
            for value in 0..=255u8 {
                if value != bytes[i] {
                    let mut b = bytes.to_vec();
                    b[i] = value;
                    changed.push(b);
                }
            }
            let mut removed = bytes.to_vec();
            removed.remove(i);
            changed.push(removed);
            for extra in [0x00, 0xf6, bytes[i]] {
                let mut inserted = bytes.to_vec();
                inserted.insert(i, extra);
                changed.push(inserted);
            }
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        changed.push(longer);
        let pairs: [(&[u8], &[u8]); 4] = [
            (b"\x64kind", b"\x64prev"),
            (b"\x65actor", b"\x65index"),
            (b"\x66key_id", b"\x66number"),
            (b"\x6carrival_hash", b"\x6cauthority_id"),
        ];
        for (a, b) in pairs {
            let find = |k: &[u8]| bytes.windows(k.len()).position(|w| w == k);
            if let (Some(i), Some(j)) = (find(a), find(b)) {
                let mut swapped = bytes.to_vec();
                swapped[i..i + a.len()].copy_from_slice(b);
                swapped[j..j + b.len()].copy_from_slice(a);
                changed.push(swapped);
            }
        }
        changed
    }

    /// On the canonical `bytes` and on each of their [`changes`], whatever `walk` accepts `tree`
    /// accepts and reads the same; `walk` reads `bytes` and accepts more than a thousand changes
    /// (hashes, times and signatures change without changing the shape).
    pub(crate) fn check_walk<T: PartialEq + std::fmt::Debug>(
        bytes: &[u8],
        walk: fn(&[u8]) -> Option<T>,
        tree: fn(&[u8]) -> Result<T, FormatError>,
    ) {
        let walked = walk(bytes).expect("the walk reads canonical bytes");
        assert_eq!(Ok(walked), tree(bytes));
        let mut accepted = 0;
        for changed in changes(bytes) {
            if let Some(walked) = walk(&changed) {
                accepted += 1;
                assert_eq!(
                    Ok(walked),
                    tree(&changed),
                    "{}",
                    super::super::text::hex(&changed)
                );
            }
        }
        assert!(accepted > 1_000, "{accepted}");
    }

    /// The walk (issue 14) must accept nothing the general decoder refuses and read what it
    /// accepts as the general decoder does: checked on the [`changes`] of an entry of each signed
    /// kind, with and without a key id, with short and long heads, and of the signed issuance and
    /// confirmation.
    #[test]
    fn the_walk_accepts_only_what_the_general_decoder_accepts_and_reads_it_the_same() {
        use super::super::{lifecycle, record};
        for bytes in signed_entries() {
            check_walk(&bytes, walk_signed_entry, decode_entry_tree);
            match decode_entry(&bytes).expect("a signed entry").event {
                Event::CertificateIssued(s) => check_walk(
                    &s.signed,
                    record::walk_issuance,
                    record::decode_issuance_tree,
                ),
                Event::ImportConfirmed(c) => check_walk(
                    &c.signed,
                    lifecycle::walk_confirmation,
                    lifecycle::decode_confirmation_tree,
                ),
                _ => {}
            }
        }
    }
}
