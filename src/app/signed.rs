//! Lifecycle events an authority that keeps its own key signed on its own machine
//! (`kpcert sign confirm`, `kpcert sign void`, `kpcert sign replace`): the service never holds
//! that key, so it receives the canonical bytes and the signature, checks every field against
//! what it would have signed itself (the authority of the token, its current key, the
//! certificate of the path, the rules of the request) and records them as it records its own.
//!
//! As for the service's own signing, each submission is checked twice: here, before it is
//! queued (every problem named, nothing written), and on the writer against the state the entry
//! joins (the key still current, the certificate still open, the arrival not dated after the
//! entry's day). The same signed bytes sent again answer the event already recorded.

use super::lifecycle::refused;
use super::{signed_certificate_entry, App, SubmittedCertificate};
use crate::codec::lifecycle::{decode_arrival, decode_confirmation, decode_void};
use crate::crypto::sha256;
use crate::domain::state::{AuthorityRecord, KeyWindow, State};
use crate::domain::{
    lifecycle, CertificateNumber, Confirmation, ConfirmationRecord, Date, Event, Problem,
    SignedCertificate, SignedConfirmation, SignedVoid,
};
use crate::ledger::{AppendContext, Appended, LedgerError, NewEntry};

/// An import confirmation an authority signed with its own key
/// (`POST /v1/certificates/{number}/import-confirmation/signed`).
pub struct SubmittedConfirmation {
    /// The canonical `kpcert/arrival/v1` bytes (what arrived, with its salt).
    pub arrival: Vec<u8>,
    /// The canonical `kpcert/confirmation/v1` bytes, committing to the arrival's SHA-256.
    pub confirmation: Vec<u8>,
    pub signature: [u8; 64],
}

/// A void an authority signed with its own key (`POST /v1/certificates/{number}/void/signed`,
/// and with the new certificate in `.../replace/signed`).
pub struct SubmittedVoid {
    /// The canonical `kpcert/void/v1` bytes.
    pub void: Vec<u8>,
    pub signature: [u8; 64],
}

fn one(field: &str, message: impl Into<String>) -> LedgerError {
    LedgerError::Invalid(vec![Problem::new(field, message)])
}

/// The registered authority `id` and its current key.
fn own_key<'s>(
    state: &'s State,
    id: &str,
) -> Result<(&'s AuthorityRecord, &'s KeyWindow), LedgerError> {
    let record = state
        .authority(id)
        .ok_or_else(|| one("authority", format!("{id} is not a registered authority")))?;
    let key = record.current_key().ok_or_else(|| {
        one(
            "authority",
            format!("authority {id} has no valid key: the Secretariat must give it a new one"),
        )
    })?;
    Ok((record, key))
}

/// On the writer: authority `id`, whose key at the entry's time must still be `key_id`.
fn still_current<'s>(
    ctx: &'s AppendContext<'_>,
    id: &str,
    key_id: crate::crypto::KeyId,
    field: &str,
) -> Result<&'s AuthorityRecord, LedgerError> {
    let record = ctx
        .state()
        .authority(id)
        .ok_or_else(|| one("authority", format!("{id} is not a registered authority")))?;
    if record.key_at(ctx.time_ms()).map(|k| k.key_id) != Some(key_id) {
        return Err(one(
            field,
            format!("key {key_id} is no longer the current key of authority {id}: sign again with its new key"),
        ));
    }
    Ok(record)
}

/// Decodes canonical bytes under `field`: a problem if they do not decode, or decode to a
/// value whose encoding is other bytes (one value, one encoding).
fn canonical<T>(
    problems: &mut Vec<Problem>,
    field: &str,
    bytes: &[u8],
    context: &str,
    decode: impl Fn(&[u8]) -> Result<T, crate::codec::FormatError>,
    encode: impl Fn(&T) -> Vec<u8>,
) -> Option<T> {
    match decode(bytes) {
        Ok(v) if encode(&v) == bytes => Some(v),
        Ok(_) => {
            problems.push(Problem::new(
                field,
                format!("is not the canonical {context} encoding of what it states"),
            ));
            None
        }
        Err(e) => {
            problems.push(Problem::new(
                field,
                format!("is not a {context} encoding: {e}"),
            ));
            None
        }
    }
}

/// Names each field of `got` that differs from `want` (what the service would have signed).
fn differences(problems: &mut Vec<Problem>, field: &str, diffs: &[(&str, String, String)]) {
    for (name, got, want) in diffs {
        if got != want {
            problems.push(Problem::new(
                field,
                format!("{name} is {got}, but must be {want}"),
            ));
        }
    }
}

impl App {
    /// Checks a confirmation authority `id` signed with its own key for certificate `number`:
    /// the certificate may be confirmed by it, the arrival follows the rules of a request, the
    /// confirmation states this certificate, this authority, its current key, the arrival's
    /// date and SHA-256, and the signature verifies with that key. Writes nothing.
    pub fn check_signed_confirmation(
        &self,
        id: &str,
        number: &CertificateNumber,
        s: &SubmittedConfirmation,
    ) -> Result<SignedConfirmation, LedgerError> {
        let state = self.state();
        let (record, key) = own_key(&state, id)?;
        let a = &record.authority;
        let life = state.confirmable(number, a).map_err(refused)?;
        let mut problems = Vec::new();
        let arrival = canonical(
            &mut problems,
            "arrival",
            &s.arrival,
            crate::codec::lifecycle::ARRIVAL_CONTEXT,
            decode_arrival,
            crate::codec::lifecycle::encode_arrival,
        );
        let confirmation = canonical(
            &mut problems,
            "confirmation",
            &s.confirmation,
            crate::codec::lifecycle::CONFIRMATION_CONTEXT,
            decode_confirmation,
            crate::codec::lifecycle::encode_confirmation,
        );
        if let Some(arrival) = &arrival {
            if arrival.number != *number {
                problems.push(Problem::new(
                    "arrival",
                    format!("is about {}, not {number}", arrival.number),
                ));
            }
            problems.extend(arrival.problems(life.issued_on, self.today(), "arrival"));
        }
        let (Some(arrival), Some(confirmation)) = (arrival, confirmation) else {
            return Err(LedgerError::Invalid(problems));
        };
        let want = Confirmation {
            number: number.clone(),
            authority_id: a.id.clone(),
            key_id: key.key_id,
            received_on: arrival.received_on,
            arrival_hash: sha256(&s.arrival),
        };
        let c = &confirmation;
        differences(
            &mut problems,
            "confirmation",
            &[
                ("number", c.number.to_string(), want.number.to_string()),
                (
                    "authority_id",
                    c.authority_id.clone(),
                    want.authority_id.clone(),
                ),
                ("key_id", c.key_id.to_string(), want.key_id.to_string()),
                (
                    "received_on",
                    c.received_on.to_string(),
                    want.received_on.to_string(),
                ),
                (
                    "arrival_hash (the SHA-256 of arrival)",
                    crate::codec::text::hex(&c.arrival_hash),
                    crate::codec::text::hex(&want.arrival_hash),
                ),
            ],
        );
        if problems.is_empty() && !key.public_key.verify_strict(&s.confirmation, &s.signature) {
            problems.push(Problem::new(
                "signature",
                format!(
                    "does not verify over the confirmation with key {} of authority {}",
                    key.key_id, a.id
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(LedgerError::Invalid(problems));
        }
        Ok(SignedConfirmation {
            confirmation,
            signed: s.confirmation.clone(),
            signature: s.signature,
            record: Some(Box::new(ConfirmationRecord {
                arrival,
                canonical: s.arrival.clone(),
                discrepancies: Vec::new(),
            })),
        })
    }

    /// Records a confirmation [`App::check_signed_confirmation`] accepted, with the
    /// discrepancies found on the writer, then calls `reply`.
    pub fn record_signed_confirmation(
        &self,
        id: String,
        mut signed: SignedConfirmation,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        self.ledger.submit(
            move |ctx| {
                let key_id = signed.confirmation.key_id;
                let record = still_current(ctx, &id, key_id, "confirmation")?;
                let number = signed.confirmation.number.clone();
                let life = ctx
                    .state()
                    .confirmable(&number, &record.authority)
                    .map_err(refused)?;
                let facts = life.facts.as_ref().ok_or_else(|| {
                    LedgerError::Rejected(format!(
                        "the record of {number} is not known to this server"
                    ))
                })?;
                let full = signed.record.as_mut().expect("checked with its record");
                let day = Date::from_unix_ms(ctx.time_ms());
                lifecycle::received_on_rule(full.arrival.received_on, life.issued_on, day)
                    .map_err(|why| one("arrival", format!("received_on {why}")))?;
                full.discrepancies =
                    lifecycle::discrepancies(&facts.shipment, life.expires_on, &full.arrival);
                Ok(NewEntry {
                    actor: id,
                    key_id: Some(key_id),
                    event: Event::ImportConfirmed(signed),
                })
            },
            reply,
        );
    }

    /// Checks a void authority `id` signed with its own key for certificate `number`: the
    /// certificate may be voided by it, and the void states this certificate, this authority,
    /// its current key, a reason and `replaced_by` (none, or the replacement's number), and
    /// the signature verifies. Writes nothing.
    pub fn check_signed_void(
        &self,
        id: &str,
        number: &CertificateNumber,
        s: &SubmittedVoid,
        replaced_by: Option<&CertificateNumber>,
    ) -> Result<SignedVoid, LedgerError> {
        self.check_void_bytes(id, number, s, Some(replaced_by))
    }

    /// [`App::check_signed_void`]; `replaced_by` unchecked when `None` (a replacement whose new
    /// certificate was refused: its number is not known).
    fn check_void_bytes(
        &self,
        id: &str,
        number: &CertificateNumber,
        s: &SubmittedVoid,
        replaced_by: Option<Option<&CertificateNumber>>,
    ) -> Result<SignedVoid, LedgerError> {
        let state = self.state();
        let (record, key) = own_key(&state, id)?;
        let a = &record.authority;
        state.voidable(number, a).map_err(refused)?;
        let mut problems = Vec::new();
        let Some(void) = canonical(
            &mut problems,
            "void",
            &s.void,
            crate::codec::lifecycle::VOID_CONTEXT,
            decode_void,
            crate::codec::lifecycle::encode_void,
        ) else {
            return Err(LedgerError::Invalid(problems));
        };
        let shown = |n: Option<&CertificateNumber>| n.map_or("null".to_owned(), |n| n.to_string());
        differences(
            &mut problems,
            "void",
            &[
                ("number", void.number.to_string(), number.to_string()),
                ("authority_id", void.authority_id.clone(), a.id.clone()),
                ("key_id", void.key_id.to_string(), key.key_id.to_string()),
                (
                    "replaced_by",
                    shown(void.replaced_by.as_ref()),
                    replaced_by.map_or_else(|| shown(void.replaced_by.as_ref()), shown),
                ),
            ],
        );
        if crate::domain::certificate::normalized(&void.reason) != void.reason {
            problems.push(Problem::new(
                "void",
                "reason must be in Unicode normalization form C",
            ));
        } else if let Err(why) = lifecycle::lifecycle_text_rule(&void.reason) {
            problems.push(Problem::new("void", format!("reason {why}")));
        }
        if problems.is_empty() && !key.public_key.verify_strict(&s.void, &s.signature) {
            problems.push(Problem::new(
                "signature",
                format!(
                    "does not verify over the void with key {} of authority {}",
                    key.key_id, a.id
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(LedgerError::Invalid(problems));
        }
        Ok(SignedVoid {
            void,
            signed: s.void.clone(),
            signature: s.signature,
        })
    }

    /// Records a void [`App::check_signed_void`] accepted, then calls `reply`.
    pub fn record_signed_void(
        &self,
        id: String,
        signed: SignedVoid,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        self.ledger.submit(
            move |ctx| {
                let key_id = signed.void.key_id;
                let record = still_current(ctx, &id, key_id, "void")?;
                ctx.state()
                    .voidable(&signed.void.number, &record.authority)
                    .map_err(refused)?;
                Ok(NewEntry {
                    actor: id,
                    key_id: Some(key_id),
                    event: Event::CertificateVoided(signed),
                })
            },
            reply,
        );
    }

    /// Checks a replacement authority `id` signed with its own key: the new certificate as
    /// for `POST /v1/certificates/signed` (its problems under `certificate.`), stating that it
    /// replaces `old`, and the void of `old` naming it as `replaced_by`.
    pub fn check_signed_replacement(
        &self,
        id: &str,
        old: &CertificateNumber,
        certificate: &SubmittedCertificate,
        void: &SubmittedVoid,
    ) -> Result<(SignedCertificate, SignedVoid), LedgerError> {
        self.state()
            .voidable(old, &own_key(&self.state(), id)?.0.authority)
            .map_err(refused)?;
        let mut problems = Vec::new();
        let new = match self.check_signed(id, certificate) {
            Ok(new) => Some(new),
            Err(found) => {
                problems.extend(
                    found
                        .into_iter()
                        .map(|p| Problem::new(format!("certificate.{}", p.field), p.message)),
                );
                None
            }
        };
        if let Some(new) = &new {
            let replaces = new
                .record
                .as_ref()
                .and_then(|r| r.certificate.content.replaces.as_ref());
            if replaces != Some(old) {
                problems.push(Problem::new(
                    "certificate.canonical",
                    format!("must state that it replaces {old} (replaces: {old})"),
                ));
            }
        }
        let replaced_by = new.as_ref().map(|n| n.issuance.number.clone());
        let expected = new.as_ref().map(|_| replaced_by.as_ref());
        let voided = match self.check_void_bytes(id, old, void, expected) {
            Ok(v) => Some(v),
            Err(LedgerError::Invalid(found)) => {
                problems.extend(found);
                None
            }
            Err(e) => return Err(e),
        };
        match (new, voided) {
            (Some(new), Some(voided)) if problems.is_empty() => Ok((new, voided)),
            _ => Err(LedgerError::Invalid(problems)),
        }
    }

    /// Records a replacement [`App::check_signed_replacement`] accepted, the new certificate
    /// and the void of the old one in one atomic batch, then calls `reply` with both entries.
    pub fn record_signed_replacement(
        &self,
        id: String,
        new: SignedCertificate,
        voided: SignedVoid,
        reply: impl FnOnce(Result<Vec<Appended>, LedgerError>) + Send + 'static,
    ) {
        self.ledger.submit_all(
            move |ctx| {
                let old = voided.void.number.clone();
                let key_id = voided.void.key_id;
                let record = still_current(ctx, &id, key_id, "void")?;
                ctx.state()
                    .voidable(&old, &record.authority)
                    .map_err(refused)?;
                // The new certificate's problems are named as the request names them.
                let issued =
                    signed_certificate_entry(ctx, &id, new, Some(&old)).map_err(|e| match e {
                        LedgerError::Invalid(problems) => LedgerError::Invalid(
                            problems
                                .into_iter()
                                .map(|p| {
                                    Problem::new(format!("certificate.{}", p.field), p.message)
                                })
                                .collect(),
                        ),
                        e => e,
                    })?;
                Ok(vec![
                    issued,
                    NewEntry {
                        actor: id,
                        key_id: Some(key_id),
                        event: Event::CertificateVoided(voided),
                    },
                ])
            },
            reply,
        );
    }

    /// The entry of certificate `number`'s history whose signed bytes and signature are
    /// `signed` and `signature` (for a replacement's void, the new certificate's entry before
    /// it): a submission sent again, answered as recorded.
    pub fn recorded_submission(
        &self,
        number: &CertificateNumber,
        signed: &[u8],
        signature: &[u8; 64],
    ) -> Result<Option<u64>, LedgerError> {
        let Some(life) = self.state().life(number).cloned() else {
            return Ok(None);
        };
        for index in life.indexes() {
            let (entry, _) = self.entry_at(index)?;
            match &entry.event {
                Event::ImportConfirmed(c) if c.signed == signed && &c.signature == signature => {
                    return Ok(Some(index))
                }
                // A replacement is answered from its first entry, the new certificate.
                Event::CertificateVoided(v) if v.signed == signed && &v.signature == signature => {
                    return Ok(Some(if v.void.replaced_by.is_some() {
                        index - 1
                    } else {
                        index
                    }));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}
