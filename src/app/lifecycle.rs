//! A certificate's life on the service: import confirmation by the destination's authority,
//! void and replacement by the issuing participant's authority, and the history of a
//! certificate read back from the ledger with the proof of its newest entry.
//!
//! Each request is checked twice against the ledger state: here, before it is queued (so a bad
//! request is answered at once, field by field), and on the writer when its entries are built
//! (so a request that lost a race, such as a second confirmation, writes nothing). The acting
//! authority's key signs on the writer, with the key the ledger names at that moment.

use std::sync::Arc;

use super::{ActiveAuthority, App, IssuedCertificate};
use crate::codec::decode_entry;
use crate::crypto::{Hash, SigningKey};
use crate::domain::state::{CertificateLife, Refusal};
use crate::domain::{
    lifecycle, Arrival, ArrivalContent, ArrivalInput, Authority, Certificate, CertificateContent,
    CertificateNumber, Date, DraftInput, Entry, Event, Problem, Void,
};
use crate::ledger::{AppendContext, Appended, LedgerError, NewEntry, SignedCheckpoint};

/// A certificate's ledger entries, oldest first (records attached and checked against their
/// entries), with the inclusion proof of the newest against the latest checkpoint.
#[derive(Clone, Debug)]
pub struct History {
    pub entries: Vec<Entry>,
    /// The newest entry's canonical bytes and its inclusion proof.
    pub newest: Vec<u8>,
    pub proof: Vec<Hash>,
    pub checkpoint: Arc<SignedCheckpoint>,
}

impl History {
    /// The newest entry.
    pub fn newest_entry(&self) -> &Entry {
        self.entries.last().expect("a history has its issuance")
    }
}

/// A replacement request, validated: the certificate it replaces, the new certificate's
/// request and content, and the reason (signed into the old one's void).
pub struct Replacement {
    pub old: CertificateNumber,
    pub input: Arc<DraftInput>,
    pub content: CertificateContent,
    pub reason: String,
}

pub(super) fn refused(r: Refusal) -> LedgerError {
    LedgerError::Refused(r)
}

/// A void's reason as signed: trimmed, composed, 1 to 500 characters of plain text.
fn reason_of(reason: &crate::domain::Input<String>) -> Result<String, Vec<Problem>> {
    match reason {
        crate::domain::Input::Given(s) => {
            let s = crate::domain::certificate::normalized(s);
            lifecycle::lifecycle_text_rule(&s)
                .map(|()| s)
                .map_err(|why| vec![Problem::new("reason", why)])
        }
        crate::domain::Input::Missing => Err(vec![Problem::new(
            "reason",
            "is required: say why the certificate is void",
        )]),
        crate::domain::Input::Invalid => Err(Vec::new()),
    }
}

impl App {
    /// The life of certificate `number` as of the latest checkpoint.
    pub fn life(&self, number: &CertificateNumber) -> Option<CertificateLife> {
        self.state().life(number).cloned()
    }

    /// Checks a confirmation request of `authority` for certificate `number`: the certificate
    /// is recorded, sent to the authority's participant, neither confirmed nor void, and the
    /// arrival follows the rules. Writes nothing.
    pub fn check_confirmation(
        &self,
        authority: &ActiveAuthority,
        number: &CertificateNumber,
        input: &ArrivalInput,
    ) -> Result<ArrivalContent, LedgerError> {
        let state = self.state();
        let life = state
            .confirmable(number, &authority.authority)
            .map_err(refused)?;
        ArrivalContent::validate(input, life.issued_on, self.today()).map_err(LedgerError::Invalid)
    }

    /// Records `authority`'s confirmation of the arrival of certificate `number`, then calls
    /// `reply` once it is on disk (or failed). On the writer the certificate's state is checked
    /// again, the discrepancies between the certificate and the arrival are found, and the
    /// authority's key signs the confirmation.
    pub fn confirm(
        &self,
        authority: Arc<ActiveAuthority>,
        number: CertificateNumber,
        content: ArrivalContent,
        idempotency: Option<(String, Hash)>,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        let held = self.held_keys.clone();
        self.ledger.submit(
            move |ctx| {
                let a = &authority.authority;
                let life = ctx
                    .state()
                    .confirmable(&number, a)
                    .map_err(refused)?
                    .clone();
                let Some(facts) = &life.facts else {
                    return Err(LedgerError::Rejected(format!(
                        "the record of {number} is not known to this server"
                    )));
                };
                let key = signer_on_writer(&held, ctx, a, &idempotency)?;
                let arrival = Arrival {
                    number: number.clone(),
                    received_on: content.received_on,
                    parcels: content.parcels,
                    items: content.items,
                    remarks: content.remarks,
                    salt: crate::crypto::random_bytes(),
                };
                let found = lifecycle::discrepancies(&facts.shipment, life.expires_on, &arrival);
                let key_id = key.public_key().key_id();
                let signed = crate::codec::lifecycle::confirm(arrival, &a.id, key_id, found, |b| {
                    key.sign(b)
                });
                Ok(NewEntry {
                    actor: a.id.clone(),
                    key_id: Some(key_id),
                    event: Event::ImportConfirmed(signed),
                })
            },
            reply,
        );
    }

    /// Checks a void request of `authority` for certificate `number`; the reason as signed.
    pub fn check_void(
        &self,
        authority: &ActiveAuthority,
        number: &CertificateNumber,
        reason: &crate::domain::Input<String>,
    ) -> Result<String, LedgerError> {
        self.state()
            .voidable(number, &authority.authority)
            .map_err(refused)?;
        reason_of(reason).map_err(LedgerError::Invalid)
    }

    /// Records `authority`'s void of certificate `number` for `reason`.
    pub fn void(
        &self,
        authority: Arc<ActiveAuthority>,
        number: CertificateNumber,
        reason: String,
        idempotency: Option<(String, Hash)>,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        let held = self.held_keys.clone();
        self.ledger.submit(
            move |ctx| {
                let a = &authority.authority;
                ctx.state().voidable(&number, a).map_err(refused)?;
                let key = signer_on_writer(&held, ctx, a, &idempotency)?;
                let key_id = key.public_key().key_id();
                let signed = crate::codec::lifecycle::void(
                    Void {
                        number,
                        authority_id: a.id.clone(),
                        key_id,
                        reason,
                        replaced_by: None,
                    },
                    |b| key.sign(b),
                );
                Ok(NewEntry {
                    actor: a.id.clone(),
                    key_id: Some(key_id),
                    event: Event::CertificateVoided(signed),
                })
            },
            reply,
        );
    }

    /// Replaces certificate `old` of `authority`'s participant with a new certificate of
    /// `content`: in one atomic batch the new certificate (`replaces: old`) is issued and `old`
    /// voided with `replaced_by` the new number, both signed by the authority's key. `reply`
    /// gets both entries, the new certificate first.
    pub fn replace(
        &self,
        authority: Arc<ActiveAuthority>,
        replacement: Replacement,
        idempotency: Option<(String, Hash)>,
        reply: impl FnOnce(Result<Vec<Appended>, LedgerError>) + Send + 'static,
    ) {
        let Replacement {
            old,
            input,
            content,
            reason,
        } = replacement;
        let held = self.held_keys.clone();
        self.ledger.submit_all(
            move |ctx| {
                let a = &authority.authority;
                ctx.state().voidable(&old, a).map_err(refused)?;
                let key = signer_on_writer(&held, ctx, a, &idempotency)?;
                let key_id = key.public_key().key_id();
                let issued = certificate_on_writer(ctx, a, &key, &input, content, Some(&old))?;
                let number = issued.issuance.number.clone();
                let voided = crate::codec::lifecycle::void(
                    Void {
                        number: old,
                        authority_id: a.id.clone(),
                        key_id,
                        reason,
                        replaced_by: Some(number),
                    },
                    |b| key.sign(b),
                );
                Ok(vec![
                    NewEntry {
                        actor: a.id.clone(),
                        key_id: Some(key_id),
                        event: Event::CertificateIssued(issued),
                    },
                    NewEntry {
                        actor: a.id.clone(),
                        key_id: Some(key_id),
                        event: Event::CertificateVoided(voided),
                    },
                ])
            },
            reply,
        );
    }

    /// The entry index an earlier lifecycle request with idempotency `key` of `authority`
    /// created, and whether that request had the same body hash.
    pub fn lifecycle_replay(
        &self,
        authority: &ActiveAuthority,
        key: &str,
        request_hash: &Hash,
    ) -> Result<Option<(bool, u64)>, LedgerError> {
        Ok(self
            .ledger
            .idempotency(&authority.authority.id, key)?
            .map(|(hash, index)| (&hash == request_hash, index)))
    }

    /// Entry `index` decoded with its record attached, checked against the tree (and the
    /// record against the entry's commitment).
    pub fn entry_at(&self, index: u64) -> Result<(Entry, Vec<u8>), LedgerError> {
        let frame = self
            .ledger
            .frames(index, index + 1)
            .next()
            .ok_or_else(|| LedgerError::Corrupt(format!("missing entry {index}")))??
            .1;
        let mut entry = decode_entry(&frame.entry)
            .map_err(|e| self.ledger.corruption(format!("entry {index}: {e}")))?;
        if entry.index != index {
            return Err(self.ledger.corruption(format!(
                "reading entry {index} gave entry {} (offsets.dat?)",
                entry.index
            )));
        }
        match &mut entry.event {
            Event::CertificateIssued(signed) => self.attach_record(index, signed, &frame.record)?,
            Event::ImportConfirmed(c) => {
                let record = crate::codec::lifecycle::decode_arrival_record(&frame.record)
                    .map_err(|e| {
                        self.ledger
                            .corruption(format!("the record of entry {index}: {e}"))
                    })?;
                if crate::crypto::sha256(&record.canonical) != c.confirmation.arrival_hash {
                    return Err(self.ledger.corruption(format!(
                        "the record of entry {index} is not the arrival its confirmation commits to"
                    )));
                }
                c.record = Some(Box::new(record));
            }
            _ => {}
        }
        Ok((entry, frame.entry))
    }

    /// The history of certificate `number`: every entry about it, oldest first, with the proof
    /// of the newest against the latest checkpoint. `None` if it was never issued.
    pub fn history(&self, number: &CertificateNumber) -> Result<Option<History>, LedgerError> {
        let state = self.state();
        let checkpoint = self.ledger.head();
        let Some(life) = state.life(number) else {
            return Ok(None);
        };
        let mut entries = Vec::new();
        let mut newest = Vec::new();
        for index in life.indexes() {
            let (entry, bytes) = self.entry_at(index)?;
            if entry.event.certificate_number() != Some(number) {
                return Err(self.ledger.corruption(format!(
                    "entry {index}, which the state names for {number}, is about another certificate"
                )));
            }
            entries.push(entry);
            newest = bytes;
        }
        let last = life.last_index();
        let proof = self
            .ledger
            .proven_inclusion(last, &newest, &checkpoint.checkpoint)?;
        Ok(Some(History {
            entries,
            newest,
            proof,
            checkpoint,
        }))
    }

    /// The certificate `number` as issued, for a lifecycle answer (the issuance entry).
    pub fn issued_certificate(
        &self,
        number: &CertificateNumber,
    ) -> Result<Option<Arc<IssuedCertificate>>, LedgerError> {
        self.certificate(number.as_str())
    }
}

/// On the writer: the signing key of acting authority `a` (the one the ledger names at the
/// entry's time, not at the request's start: a rotation recorded in between is honoured), with
/// the request's idempotency key claimed for the entry.
pub(super) fn signer_on_writer(
    held: &std::sync::RwLock<std::collections::HashMap<crate::crypto::KeyId, Arc<SigningKey>>>,
    ctx: &mut AppendContext<'_>,
    a: &Authority,
    idempotency: &Option<(String, Hash)>,
) -> Result<Arc<SigningKey>, LedgerError> {
    let key = key_named_now(held, ctx, a)?;
    if let Some((key, request_hash)) = idempotency {
        ctx.claim_idempotency(&a.id, key, request_hash)?;
    }
    Ok(key)
}

/// Numbers reserved for certificates signed before the writer, per (participant, year).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Reservation {
    /// The next serial to hand out.
    next: u64,
    /// Reserved jobs the writer has not built yet.
    unbuilt: u64,
    /// Reserved jobs not answered yet (answers come after the state that holds them is
    /// published).
    unanswered: u64,
}

/// The reservations of every (participant, year).
pub(super) type Reservations = Arc<
    std::sync::Mutex<std::collections::HashMap<(crate::domain::CountryCode, i64), Reservation>>,
>;

/// Which count of a reservation a [`Held`] gives back.
#[derive(Clone, Copy)]
enum Count {
    Unbuilt,
    Unanswered,
}

/// One count of a (participant, year)'s reservation, given back when dropped: the job's
/// pre-signed certificate holds "unbuilt" until the writer is done with it, its reply holds
/// "unanswered" until the answer is sent.
pub(super) struct Held {
    key: (crate::domain::CountryCode, i64),
    count: Count,
    reservations: Reservations,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut r = self
            .reservations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = r.get_mut(&self.key) {
            let n = match self.count {
                Count::Unbuilt => &mut e.unbuilt,
                Count::Unanswered => &mut e.unanswered,
            };
            *n = n.saturating_sub(1);
        }
    }
}

/// A certificate numbered and signed on the request's thread, so that the ledger writer (one
/// thread) does not spend its time on two ed25519 signatures per certificate. The writer builds
/// such jobs in the order of their serials within a batch, and uses the certificate only if it
/// is exactly what it would have produced itself: the next serial of the ledger state it
/// joins, the day of its entry, the key the ledger names at that time and every check of that
/// state; otherwise it numbers and signs on the writer as before. Numbers therefore stay
/// gap-free and a refused request still consumes none: a pre-signed certificate whose number
/// is no longer next is simply not used.
pub(super) struct Presigned {
    pub signed: crate::domain::SignedCertificate,
    unbuilt: Held,
}

/// Numbers and signs `content` for `authority` ahead of the writer (see [`Presigned`]): the
/// ledger's next serial plus the certificates already on their way. Returns the reply's hold
/// on the reservation and the sequence and place for
/// [`crate::ledger::Ledger::submit_ordered`].
pub(super) fn presign(
    reservations: &Reservations,
    published: impl Fn() -> Arc<crate::domain::State>,
    authority: &super::ActiveAuthority,
    content: &CertificateContent,
) -> (Presigned, Held, (String, u64)) {
    let a = &authority.authority;
    let year = content.issued_on.year();
    let key = (a.participant, year);
    let serial = {
        let mut r = reservations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The published state read under the lock: a job answered just before cannot be
        // missing from it.
        let next = published().next_serial(a.participant, year);
        let e = r.entry(key).or_default();
        // Nothing unanswered: the published state holds every earlier job, so numbering starts
        // again from it (a refused job left a hole in the reservations, never in the ledger).
        if e.unanswered == 0 || e.next < next {
            e.next = next;
        }
        let serial = e.next;
        e.next += 1;
        e.unbuilt += 1;
        e.unanswered += 1;
        serial
    };
    // The holds exist before anything that could fail, so the counts always come back.
    let hold = |count| Held {
        key,
        count,
        reservations: reservations.clone(),
    };
    let (unbuilt, unanswered) = (hold(Count::Unbuilt), hold(Count::Unanswered));
    let certificate = Certificate {
        number: CertificateNumber::new(a.participant, year, serial),
        issuer: a.issuer(authority.key.public_key().key_id()),
        content: content.clone(),
        salt: crate::crypto::random_bytes(),
    };
    let signed = crate::codec::record::issue(certificate, |b| authority.key.sign(b));
    (
        Presigned { signed, unbuilt },
        unanswered,
        (format!("{}-{year}", a.participant), serial),
    )
}

/// On the writer: the pre-signed certificate, if it is exactly what
/// [`certificate_on_writer`] would produce now (next serial, today's date, the key named now,
/// and every check of the state it joins); `None` sends the job down the writer's own path,
/// which also gives the refusals their answers.
pub(super) fn presigned_on_writer(
    ctx: &AppendContext<'_>,
    a: &Authority,
    key: &SigningKey,
    pre: &Presigned,
) -> Option<crate::domain::SignedCertificate> {
    let day = Date::from_unix_ms(ctx.time_ms());
    let record = pre.signed.record.as_ref()?;
    let c = &record.certificate;
    let expected = CertificateNumber::new(
        a.participant,
        day.year(),
        ctx.state().next_serial(a.participant, day.year()),
    );
    if c.number != expected && c.content.issued_on == day {
        // Out of step (a job before it was refused, or the state it was numbered from was not
        // yet published): this job and every other not yet built will take the next numbers
        // on the writer's path, so reservations go on after them.
        let mut r = pre
            .unbuilt
            .reservations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = r.get_mut(&pre.unbuilt.key) {
            e.next = expected.serial() + e.unbuilt;
        }
        return None;
    }
    if c.content.issued_on != day
        || c.issuer != a.issuer(key.public_key().key_id())
        || c.content.replaces.is_some()
        || ctx.state().issuer_bar(a.participant, day).is_some()
        || !ctx
            .state()
            .provenance_problems(a.participant, &c.content.derived_from, None)
            .is_empty()
        || !ctx
            .state()
            .zone_problems(a.participant, &c.content, day)
            .is_empty()
    {
        return None;
    }
    Some(pre.signed.clone())
}

/// On the writer: the certificate `a` issues with `key` for a validated request, numbered next
/// and signed. The request is validated again if the day changed since (a certificate is dated
/// the day of its entry), and its provenance is judged against the state the entry joins (a
/// concurrent re-export may have drawn a balance first). With `replacing`, the certificate
/// replaces that one, whose draws count as given back.
pub(super) fn certificate_on_writer(
    ctx: &AppendContext<'_>,
    a: &Authority,
    key: &SigningKey,
    input: &DraftInput,
    content: CertificateContent,
    replacing: Option<&CertificateNumber>,
) -> Result<crate::domain::SignedCertificate, LedgerError> {
    let day = Date::from_unix_ms(ctx.time_ms());
    if let Some(why) = ctx.state().issuer_bar(a.participant, day) {
        return Err(refused(Refusal::Forbidden(format!(
            "{} may not issue certificates: {why}",
            a.participant
        ))));
    }
    let mut content = if content.issued_on == day {
        content
    } else {
        ctx.state()
            .validate(a, input, day)
            .map_err(LedgerError::Invalid)?
    };
    let mut problems =
        ctx.state()
            .provenance_problems(a.participant, &content.derived_from, replacing);
    // A concurrent request may have used the same approval first.
    problems.extend(ctx.state().zone_problems(a.participant, &content, day));
    if !problems.is_empty() {
        return Err(LedgerError::Invalid(problems));
    }
    content.replaces = replacing.cloned();
    let year = day.year();
    let certificate = Certificate {
        number: CertificateNumber::new(
            a.participant,
            year,
            ctx.state().next_serial(a.participant, year),
        ),
        issuer: a.issuer(key.public_key().key_id()),
        content,
        salt: crate::crypto::random_bytes(),
    };
    Ok(crate::codec::record::issue(certificate, |b| key.sign(b)))
}

/// The key the ledger names for `a` at the entry's time, among the keys held here.
fn key_named_now(
    held: &std::sync::RwLock<std::collections::HashMap<crate::crypto::KeyId, Arc<SigningKey>>>,
    ctx: &AppendContext<'_>,
    a: &Authority,
) -> Result<Arc<SigningKey>, LedgerError> {
    ctx.state()
        .authority(&a.id)
        .and_then(|r| r.key_at(ctx.time_ms()))
        .and_then(|k| held.read().expect("held keys lock").get(&k.key_id).cloned())
        .ok_or_else(|| {
            LedgerError::Rejected(format!(
                "authority {} has no signing key on this server any more (its key was revoked, or it now keeps its own)",
                a.id
            ))
        })
}
