//! The ledger state: one fold over the entries, in order. [`State::apply`] is the one place that
//! decides what an entry may do; the writer applies each entry before appending it, the service
//! restores its state with it at start-up, and the audit replays the whole ledger through it. The
//! service, the audit and, later, statistics therefore cannot disagree about the rules.
//!
//! Signatures are not checked here (the state holds no bytes to spare and the audit verifies
//! them in batches): [`State::apply`] returns the key that must have signed the entry, and the
//! caller verifies it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::amount::Hundredths;
use super::authority::Authority;
use super::case::{Benchmark, CaseFile, CaseStep, Recorded, Stage};
use super::certificate::{
    expiry_rule, CertificateContent, DraftInput, Input, IssuePolicy, Problem,
};
use super::certificate::{CertificateNumber, HsCode, Origin};
use super::country::CountryCode;
use super::date::{Date, MS_PER_DAY};
use super::document::DocumentEntry;
use super::event::{
    AuditRecord, CertificateRecord, Entry, Event, Issuance, SignedCertificate, SECRETARIAT,
};
use super::lifecycle::{
    discrepancies, lifecycle_text_rule, received_on_rule, Citation, Shipment, SignedConfirmation,
    SignedVoid,
};
use super::lives::Lives;
use super::participant::Participant;
use super::standing::{
    team_actor, ApprovalRecord, ChangeRecord, MeasureRecord, ShipmentApproval, StandingHistory,
};
use super::stats::{ProductionRecord, Stats};
use crate::crypto::{sha256, Hash, KeyId, PublicKey};

/// Why an entry may not be appended (or, replayed, why the ledger fails its audit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

fn violation<T>(reason: impl Into<String>) -> Result<T, Violation> {
    Err(Violation(reason.into()))
}

/// Longest reason recorded with a key revocation, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A key recorded as compromised: from when (unix ms of ledger time) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub from_ms: u64,
    pub reason: String,
}

/// A signing key of an authority and when it may sign: from `valid_from_ms` (inclusive) until
/// `valid_until_ms` (exclusive; `None`: no end), unix milliseconds of ledger time; and, if it was
/// compromised, from when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWindow {
    pub public_key: PublicKey,
    pub key_id: KeyId,
    pub valid_from_ms: u64,
    pub valid_until_ms: Option<u64>,
    pub revoked: Option<Revocation>,
}

/// What a key's revocation says of a certificate it signed, given what the verifier knows of
/// the certificate's entry time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationCheck {
    /// The key was not compromised when the entry was made.
    Clear,
    /// The entry is at or after the compromise.
    Revoked,
    /// Only the day of issue is known, and the compromise began during that day.
    SameDay,
}

impl KeyWindow {
    /// What the key's revocation says of an entry made at `entry_ms` (exact).
    pub fn revocation_at(&self, entry_ms: u64) -> RevocationCheck {
        match &self.revoked {
            Some(r) if entry_ms >= r.from_ms => RevocationCheck::Revoked,
            _ => RevocationCheck::Clear,
        }
    }

    /// What the key's revocation says of a certificate known only by its date of issue (its
    /// entry was made during that UTC day).
    pub fn revocation_on_day(&self, day: Date) -> RevocationCheck {
        let Some(r) = &self.revoked else {
            return RevocationCheck::Clear;
        };
        let start = day.start_ms();
        if start >= r.from_ms {
            RevocationCheck::Revoked
        } else if start + MS_PER_DAY <= r.from_ms {
            RevocationCheck::Clear
        } else {
            RevocationCheck::SameDay
        }
    }

    /// Whether the key may sign at ledger time `ms`.
    pub fn covers(&self, ms: u64) -> bool {
        ms >= self.valid_from_ms && self.valid_until_ms.is_none_or(|until| ms < until)
    }

    /// Whether the window overlaps the UTC day `day`, `[day 00:00, day+1 00:00)`: what a
    /// verifier that knows only a certificate's date of issue can check.
    pub fn covers_day(&self, day: Date) -> bool {
        let start = day.start_ms();
        start + MS_PER_DAY > self.valid_from_ms
            && self.valid_until_ms.is_none_or(|until| start < until)
    }
}

/// A registered participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantRecord {
    pub participant: Participant,
    /// Its status changes and trade measures (active while it has none).
    pub standing: StandingHistory,
    /// Monitoring teams' prior approvals of its exports, in ledger order.
    pub approvals: Vec<ApprovalRecord>,
    /// Its rehabilitation case.
    pub case: CaseFile,
    /// Its semi-annual production reports, in ledger order.
    pub production: Vec<ProductionRecord>,
    /// Index of its registration entry.
    pub registered_index: u64,
}

/// A registered authority with its keys over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorityRecord {
    pub authority: Authority,
    /// Index of its registration entry.
    pub registered_index: u64,
    /// Its keys, oldest first: the registered one, then one per rotation.
    pub keys: Vec<KeyWindow>,
}

impl AuthorityRecord {
    /// The key that signs from now on (the newest, unless it was revoked or ended).
    pub fn current_key(&self) -> Option<&KeyWindow> {
        self.keys
            .last()
            .filter(|k| k.valid_until_ms.is_none() && k.revoked.is_none())
    }

    /// The key that may sign at ledger time `ms`.
    pub fn key_at(&self, ms: u64) -> Option<&KeyWindow> {
        self.keys.iter().rev().find(|k| k.covers(ms))
    }
}

/// Why a lifecycle request may not be recorded, by the kind of answer it deserves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The certificate's state does not allow it (already confirmed, void): HTTP 409.
    Conflict(String),
    /// The actor may not do this to this certificate: HTTP 403.
    Forbidden(String),
    /// The request breaks a rule, field by field: HTTP 422.
    Invalid(Vec<Problem>),
}

impl Refusal {
    fn into_violation(self) -> Violation {
        match self {
            Refusal::Conflict(m) | Refusal::Forbidden(m) => Violation(m),
            Refusal::Invalid(problems) => Violation(
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    }
}

/// What the certificate's full record established (absent when the ledger is replayed from its
/// public entries only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentFacts {
    pub destination: CountryCode,
    pub shipment: Shipment,
    pub replaces: Option<CertificateNumber>,
    /// Its re-export provenance: what it draws from each certificate it cites (released when
    /// it is voided).
    pub derived_from: Vec<Citation>,
    /// The declared value in US dollars of each line of `shipment.lines`, in the same order.
    pub values: Vec<Hundredths>,
    /// Whether it re-exports: it cites import certificates, or its origin names only countries
    /// other than its issuer.
    pub reexport: bool,
}

/// An import confirmation as the state keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmed {
    pub index: u64,
    pub time_ms: u64,
    pub authority_id: String,
    pub received_on: Date,
    /// Carats received in all (from the full record; `None` when replayed from public entries).
    pub carats: Option<Hundredths>,
    /// Parcels received (from the full record).
    pub parcels: Option<u32>,
    /// Carats received by HS code (from the full record; empty without it).
    pub lines: Vec<(HsCode, Hundredths)>,
}

/// A void as the state keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voided {
    pub index: u64,
    pub time_ms: u64,
    pub authority_id: String,
    pub reason: String,
    pub replaced_by: Option<CertificateNumber>,
}

/// What the ledger knows of an issued certificate's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateLife {
    pub issued_index: u64,
    /// SHA-256 of the seal kept in its record, when the state was built with the records (the
    /// service's; an audit of a public export has none). Private: the public entry does not
    /// show it (with the signing key, the seal's bytes follow from its claims, so its hash would
    /// let a thief of the key confirm guesses of the commercial content). A scanned seal is the
    /// recorded one exactly when its bytes hash to this.
    pub seal_hash: Option<Hash>,
    pub issued_on: Date,
    pub expires_on: Date,
    pub facts: Option<ShipmentFacts>,
    pub confirmed: Option<Confirmed>,
    pub voided: Option<Voided>,
    /// Carats later re-exports drew from this certificate (its confirmation's mass balance).
    pub drawn: Hundredths,
}

impl CertificateLife {
    /// The newest entry about the certificate.
    pub fn last_index(&self) -> u64 {
        let mut last = self.issued_index;
        if let Some(c) = &self.confirmed {
            last = last.max(c.index);
        }
        if let Some(v) = &self.voided {
            last = last.max(v.index);
        }
        last
    }

    /// Every entry about the certificate, oldest first.
    pub fn indexes(&self) -> Vec<u64> {
        let mut out = vec![self.issued_index];
        out.extend(self.confirmed.as_ref().map(|c| c.index));
        out.extend(self.voided.as_ref().map(|v| v.index));
        out.sort_unstable();
        out
    }
}

/// What applying an entry asks of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The key whose signature the entry's payload must carry (checked by the caller).
    pub signed_by: Option<PublicKey>,
}

/// Everything the ledger's entries establish, as of its size. Cheap to clone: the registries
/// are shared until changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    size: u64,
    last_time_ms: u64,
    participants: Arc<BTreeMap<CountryCode, ParticipantRecord>>,
    authorities: Arc<BTreeMap<String, AuthorityRecord>>,
    /// Every issued certificate's life, by number (persistent: the copy readers hold and the
    /// writer's next change share all but the changed path). Numbers follow each other from 1
    /// in each participant's year, which proves uniqueness and no gaps; the lives' count a
    /// series is its last serial.
    lives: Lives,
    /// A replacement whose new certificate is recorded and whose void must be the next entry.
    pending_replacement: Option<(CertificateNumber, CertificateNumber)>,
    /// Every recorded document, by its SHA-256.
    documents: Arc<BTreeMap<crate::crypto::Hash, DocumentEntry>>,
    /// Trade statistics and the mirror, by quarter, kept as entries apply (derived from
    /// `lives`: restoring a snapshot recomputes them).
    stats: Stats,
    /// The recorded audit that covers the most entries (the latest of those).
    last_audit: Option<Arc<AuditRecord>>,
}

/// The parts of a [`State`], for its snapshot encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateParts {
    pub size: u64,
    pub last_time_ms: u64,
    pub participants: Vec<ParticipantRecord>,
    pub authorities: Vec<AuthorityRecord>,
    pub serials: Vec<(CountryCode, i64, u64)>,
    /// Sorted by number.
    pub lives: Vec<(CertificateNumber, CertificateLife)>,
    /// In ledger order.
    pub documents: Vec<DocumentEntry>,
    pub last_audit: Option<AuditRecord>,
}

impl State {
    /// The state of the empty ledger.
    pub fn new() -> State {
        State::default()
    }

    /// Records the life of `number`: a certificate already issued, or the one whose number the
    /// checks of its issuance found next in its series (so this cannot fail).
    fn put_life(&mut self, number: &CertificateNumber, life: Arc<CertificateLife>) {
        self.lives
            .insert(number, life)
            .expect("an issued certificate or the next serial of its series, checked before");
    }

    /// Applies the next entry, or says why it may not follow what came before; on a violation
    /// the state is unchanged.
    pub fn apply(&mut self, entry: &Entry) -> Result<Applied, Violation> {
        if entry.index != self.size {
            return violation(format!(
                "holds index {} where {} was expected (entries are contiguous from 0)",
                entry.index, self.size
            ));
        }
        if entry.time_ms < self.last_time_ms {
            return violation("its time goes backwards");
        }
        if let Some((new, old)) = &self.pending_replacement {
            let completes = matches!(&entry.event, Event::CertificateVoided(v)
                if &v.void.number == old && v.void.replaced_by.as_ref() == Some(new));
            if !completes {
                return violation(format!(
                    "certificate {new} replaces {old}, so the entry after it must void {old} with replaced_by {new} (the two form one atomic replacement)"
                ));
            }
        }
        let applied = match &entry.event {
            Event::ParticipantRegistered(p) => {
                secretariat_only(entry, "a participant")?;
                if let Some(why) = p.problem() {
                    return violation(why);
                }
                if self.participants.contains_key(&p.code) {
                    return violation(format!("participant {} is registered twice", p.code));
                }
                Arc::make_mut(&mut self.participants).insert(
                    p.code,
                    ParticipantRecord {
                        participant: p.clone(),
                        standing: StandingHistory::default(),
                        approvals: Vec::new(),
                        case: CaseFile::default(),
                        production: Vec::new(),
                        registered_index: entry.index,
                    },
                );
                Applied { signed_by: None }
            }
            Event::StatusChanged(change) => {
                secretariat_only(entry, "a status change")?;
                let recorded_on = Date::from_unix_ms(entry.time_ms);
                let record = self.standing_record(change.participant)?;
                let mut problems = change.problems(recorded_on);
                problems.extend(record.standing.next_problem(change));
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                let mut record = record.clone();
                record.standing.changes.push(ChangeRecord {
                    index: entry.index,
                    time_ms: entry.time_ms,
                    change: change.clone(),
                });
                Arc::make_mut(&mut self.participants).insert(change.participant, record);
                Applied { signed_by: None }
            }
            Event::TradeMeasureRecorded(measure) => {
                secretariat_only(entry, "a trade measure")?;
                let record = self.standing_record(measure.participant)?;
                let problems = measure.problems();
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                let mut record = record.clone();
                record.standing.measures.push(MeasureRecord {
                    index: entry.index,
                    time_ms: entry.time_ms,
                    measure: measure.clone(),
                });
                Arc::make_mut(&mut self.participants).insert(measure.participant, record);
                Applied { signed_by: None }
            }
            Event::ShipmentApproved(approval) => {
                let day = Date::from_unix_ms(entry.time_ms);
                if entry.actor != team_actor(&approval.team) || entry.key_id.is_some() {
                    return violation(format!(
                        "an approval by team {} must have the actor {:?} and no key id",
                        approval.team,
                        team_actor(&approval.team)
                    ));
                }
                let record = self.standing_record(approval.participant)?;
                let problems = self.approval_problems(approval, day);
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                let mut record = record.clone();
                record.approvals.push(ApprovalRecord {
                    index: entry.index,
                    approval: approval.clone(),
                    used_by: None,
                });
                Arc::make_mut(&mut self.participants).insert(approval.participant, record);
                Applied { signed_by: None }
            }
            Event::CaseStepRecorded(step) => {
                oversight_only(entry, "a case step")?;
                let problems =
                    self.step_problems(&entry.actor, step, Date::from_unix_ms(entry.time_ms));
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                let mut record = self.participants[&step.participant].clone();
                record.case.steps.push(Recorded {
                    index: entry.index,
                    time_ms: entry.time_ms,
                    actor: entry.actor.clone(),
                    what: step.clone(),
                });
                Arc::make_mut(&mut self.participants).insert(step.participant, record);
                Applied { signed_by: None }
            }
            Event::BenchmarkSet(benchmark) => {
                oversight_only(entry, "a benchmark")?;
                let problems = self.benchmark_problems(&entry.actor, benchmark);
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                let mut record = self.participants[&benchmark.participant].clone();
                record.case.benchmarks.push(Recorded {
                    index: entry.index,
                    time_ms: entry.time_ms,
                    actor: entry.actor.clone(),
                    what: benchmark.clone(),
                });
                Arc::make_mut(&mut self.participants).insert(benchmark.participant, record);
                Applied { signed_by: None }
            }
            Event::DocumentRecorded(document) => {
                oversight_only(entry, "a document")?;
                let problems = self.document_problems(document, Date::from_unix_ms(entry.time_ms));
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                Arc::make_mut(&mut self.documents).insert(
                    document.hash,
                    DocumentEntry {
                        index: entry.index,
                        time_ms: entry.time_ms,
                        actor: entry.actor.clone(),
                        document: document.clone(),
                    },
                );
                Applied { signed_by: None }
            }
            Event::ProductionReported(report) => {
                if entry.key_id.is_some() {
                    return violation("a production report carries no key id");
                }
                let problems = self.production_problems(
                    &entry.actor,
                    report,
                    Date::from_unix_ms(entry.time_ms),
                );
                if !problems.is_empty() {
                    return Err(Refusal::Invalid(problems).into_violation());
                }
                let mut record = self.participants[&report.participant].clone();
                record.production.push(ProductionRecord {
                    index: entry.index,
                    time_ms: entry.time_ms,
                    actor: entry.actor.clone(),
                    report: report.clone(),
                });
                Arc::make_mut(&mut self.participants).insert(report.participant, record);
                Applied { signed_by: None }
            }
            Event::LedgerAudited(audit) => {
                oversight_only(entry, "an audit")?;
                if audit.size == 0 || audit.size > entry.index {
                    return violation(format!(
                        "an audit covers 1 to {} entries (those before it), not {}",
                        entry.index, audit.size
                    ));
                }
                // The audit shown is the one that covers the most entries (the latest of those):
                // a later audit of a smaller prefix does not hide a fuller one.
                if self
                    .last_audit
                    .as_ref()
                    .is_none_or(|a| audit.size >= a.audit.size)
                {
                    self.last_audit = Some(Arc::new(AuditRecord {
                        index: entry.index,
                        time_ms: entry.time_ms,
                        actor: entry.actor.clone(),
                        audit: audit.clone(),
                    }));
                }
                Applied { signed_by: None }
            }
            Event::AuthorityRegistered(a) => {
                secretariat_only(entry, "an authority")?;
                self.check_authority(a)?;
                let key = KeyWindow {
                    public_key: a.public_key,
                    key_id: a.key_id(),
                    valid_from_ms: entry.time_ms,
                    valid_until_ms: None,
                    revoked: None,
                };
                Arc::make_mut(&mut self.authorities).insert(
                    a.id.clone(),
                    AuthorityRecord {
                        authority: a.clone(),
                        registered_index: entry.index,
                        keys: vec![key],
                    },
                );
                Applied { signed_by: None }
            }
            Event::KeyAdded(k) => {
                secretariat_only(entry, "an authority key")?;
                let Some(record) = self.authorities.get(&k.authority_id) else {
                    return violation(format!(
                        "a key for {}, which no earlier entry registered as an authority",
                        k.authority_id
                    ));
                };
                // As at registration: a key id names one key in the whole ledger.
                if let Some((holder, _)) =
                    self.keys_with_id(&k.public_key.key_id()).into_iter().next()
                {
                    return violation(format!(
                        "a key with this key id is already registered to authority {}",
                        holder.authority.id
                    ));
                }
                let mut record = record.clone();
                for w in &mut record.keys {
                    if w.valid_until_ms.is_none() {
                        w.valid_until_ms = Some(entry.time_ms);
                    }
                }
                record.keys.push(KeyWindow {
                    public_key: k.public_key,
                    key_id: k.public_key.key_id(),
                    valid_from_ms: entry.time_ms,
                    valid_until_ms: None,
                    revoked: None,
                });
                Arc::make_mut(&mut self.authorities).insert(k.authority_id.clone(), record);
                Applied { signed_by: None }
            }
            Event::KeyRevoked(k) => {
                secretariat_only(entry, "a key revocation")?;
                let Some(record) = self.authorities.get(&k.authority_id) else {
                    return violation(format!(
                        "revokes a key of {}, which no earlier entry registered as an authority",
                        k.authority_id
                    ));
                };
                let Some(at) = record
                    .keys
                    .iter()
                    .position(|w| w.public_key == k.public_key)
                else {
                    return violation(format!(
                        "revokes key {}, which is not a key of authority {}",
                        k.public_key.key_id(),
                        k.authority_id
                    ));
                };
                if record.keys[at].revoked.is_some() {
                    return violation(format!(
                        "key {} of authority {} is already revoked",
                        k.public_key.key_id(),
                        k.authority_id
                    ));
                }
                if k.compromised_from_ms > entry.time_ms {
                    return violation(
                        "a key can only be recorded as compromised from a time at or before its revocation entry",
                    );
                }
                if let Err(e) = super::certificate::text_rule(&k.reason, MAX_REASON_CHARS) {
                    return violation(format!("the reason {e}"));
                }
                let mut record = record.clone();
                let w = &mut record.keys[at];
                w.valid_until_ms = Some(
                    w.valid_until_ms
                        .map_or(entry.time_ms, |u| u.min(entry.time_ms)),
                );
                w.revoked = Some(Revocation {
                    from_ms: k.compromised_from_ms,
                    reason: k.reason.clone(),
                });
                Arc::make_mut(&mut self.authorities).insert(k.authority_id.clone(), record);
                Applied { signed_by: None }
            }
            Event::CertificateIssued(signed) => {
                let key = self.check_certificate(entry, signed)?;
                let number = &signed.issuance.number;
                let mut updates = Vec::new();
                let mut pending = None;
                if let Some(full) = &signed.record {
                    let content = &full.certificate.content;
                    if let Some(old) = &content.replaces {
                        self.replaceable(old, number)
                            .map_err(Refusal::into_violation)?;
                        pending = Some((number.clone(), old.clone()));
                    }
                    let problems = self.provenance_problems(
                        number.participant(),
                        &content.derived_from,
                        content.replaces.as_ref(),
                    );
                    if !problems.is_empty() {
                        return Err(Refusal::Invalid(problems).into_violation());
                    }
                    for c in &content.derived_from {
                        let mut life = (**self.lives.get(&c.number).expect("checked")).clone();
                        life.drawn = life.drawn.checked_add(c.carats).expect("bounded");
                        updates.push((c.number.clone(), life));
                    }
                }
                if let Some(hash) = signed
                    .record
                    .as_ref()
                    .and_then(|full| full.certificate.content.approval)
                {
                    let participants = Arc::make_mut(&mut self.participants);
                    let record = participants
                        .get_mut(&number.participant())
                        .expect("a registered issuer");
                    if let Some(a) = record
                        .approvals
                        .iter_mut()
                        .find(|a| a.approval.request_hash == hash)
                    {
                        a.used_by = Some(number.clone());
                    }
                }
                let issuance = &signed.issuance;
                self.put_life(
                    number,
                    Arc::new(CertificateLife {
                        issued_index: entry.index,
                        seal_hash: signed.record.as_ref().map(|full| sha256(&full.seal)),
                        issued_on: issuance.issued_on,
                        expires_on: issuance.expires_on,
                        facts: signed.record.as_ref().map(|full| {
                            let c = &full.certificate.content;
                            ShipmentFacts {
                                destination: c.destination,
                                shipment: Shipment {
                                    parcels: c.parcels,
                                    lines: c.items.iter().map(|i| (i.hs_code, i.carats)).collect(),
                                },
                                replaces: c.replaces.clone(),
                                derived_from: c.derived_from.clone(),
                                values: c.items.iter().map(|i| i.value_usd).collect(),
                                reexport: !c.derived_from.is_empty()
                                    || match &c.origin {
                                        Origin::Single(o) => *o != number.participant(),
                                        Origin::Mixed(list) => {
                                            !list.is_empty()
                                                && !list.contains(&number.participant())
                                        }
                                    },
                            }
                        }),
                        confirmed: None,
                        voided: None,
                        drawn: Hundredths::default(),
                    }),
                );
                for (n, life) in updates {
                    self.put_life(&n, Arc::new(life));
                }
                let life = self.lives.get(number).expect("just inserted").clone();
                self.stats.export(number, &life, false);
                self.pending_replacement = pending;
                Applied {
                    signed_by: Some(key),
                }
            }
            Event::ImportConfirmed(signed) => {
                let key = self.check_confirmation(entry, signed)?;
                Applied {
                    signed_by: Some(key),
                }
            }
            Event::CertificateVoided(signed) => {
                let key = self.check_void(entry, signed)?;
                self.pending_replacement = None;
                Applied {
                    signed_by: Some(key),
                }
            }
        };
        self.size += 1;
        self.last_time_ms = entry.time_ms;
        Ok(applied)
    }

    fn check_authority(&self, a: &Authority) -> Result<(), Violation> {
        if !self.participants.contains_key(&a.participant) {
            return violation(format!(
                "authority {} is for {}, not a registered participant",
                a.id, a.participant
            ));
        }
        let expected = self.next_authority_id(a.participant);
        if a.id != expected {
            return violation(format!(
                "authority id {} is not the next id of {} ({expected}): ids count up from A1 per participant, each registered once",
                a.id, a.participant
            ));
        }
        if let Some(why) = a.problem() {
            return violation(format!("authority {}: {why}", a.id));
        }
        if let Some((holder, _)) = self.keys_with_id(&a.key_id()).into_iter().next() {
            return violation(format!(
                "the key of authority {} is already registered to {}",
                a.id, holder.authority.id
            ));
        }
        Ok(())
    }

    /// Checks a certificate entry; returns the key that must have signed it. The public part
    /// (issuer, key, number, dates) is always checked; the full record, when present, must be
    /// the one the issuance commits to and follow every rule of issuance.
    fn check_certificate(
        &self,
        entry: &Entry,
        signed: &SignedCertificate,
    ) -> Result<PublicKey, Violation> {
        let (record, key) = self.acting_key(entry, "issued")?;
        let a = &record.authority;
        let issuance = &signed.issuance;
        if issuance.authority_id != a.id || issuance.key_id != key.key_id {
            return violation(format!(
                "the issuance does not name authority {} and its key valid at the entry's time",
                a.id
            ));
        }
        let number = &issuance.number;
        if number.participant() != a.participant {
            return violation(format!(
                "certificate number {number} does not carry the issuing participant {}",
                a.participant
            ));
        }
        if number.year() != issuance.issued_on.year() {
            return violation(format!(
                "certificate number {number} does not carry its year of issue"
            ));
        }
        let expected = self.next_serial(a.participant, number.year());
        if number.serial() != expected {
            return violation(format!(
                "certificate number {number} is out of sequence (expected serial {expected}): reused or missing numbers"
            ));
        }
        let recorded_on = Date::from_unix_ms(entry.time_ms);
        if let Some(why) = self.issuer_bar(a.participant, recorded_on) {
            return violation(format!("certificate {number} was issued while {why}"));
        }
        if issuance.issued_on != recorded_on {
            return violation(format!(
                "certificate {number} breaks the rules of issuance: issued_on: must be the day it was recorded, {recorded_on}"
            ));
        }
        if let Err(why) = self.with_policy(a, recorded_on, |policy| {
            expiry_rule(issuance.expires_on, policy)
        }) {
            return violation(format!(
                "certificate {number} breaks the rules of issuance: expires_on: {why}"
            ));
        }
        if let Some(full) = &signed.record {
            self.check_record(a, key, issuance, full, recorded_on)?;
        }
        Ok(key.public_key)
    }

    /// The authority that acts in `entry` (its actor) and its key valid at the entry's time,
    /// which the entry must name.
    fn acting_key(
        &self,
        entry: &Entry,
        what: &str,
    ) -> Result<(&AuthorityRecord, &KeyWindow), Violation> {
        let Some(record) = self.authorities.get(&entry.actor) else {
            return violation(format!(
                "{what} by {}, which no earlier entry registered as an authority",
                entry.actor
            ));
        };
        let a = &record.authority;
        let Some(key) = record.key_at(entry.time_ms) else {
            return violation(format!(
                "authority {} has no key valid at the entry's time",
                a.id
            ));
        };
        if entry.key_id != Some(key.key_id) {
            return violation(format!(
                "the entry's key id is not the key of authority {} valid at its time",
                a.id
            ));
        }
        Ok((record, key))
    }

    /// Whether authority `by` may confirm the arrival of certificate `number` now: it is
    /// issued, neither confirmed nor void, and (when the state knows its destination) sent to
    /// the participant of `by`.
    pub fn confirmable(
        &self,
        number: &CertificateNumber,
        by: &Authority,
    ) -> Result<&CertificateLife, Refusal> {
        let Some(life) = self.lives.get(number) else {
            return Err(Refusal::Invalid(vec![Problem::new(
                "number",
                format!("{number} is not a recorded certificate"),
            )]));
        };
        // The refusal does not name the destination: the caller is not a party, and the
        // certificate's public entry does not disclose where it goes.
        if let Some(f) = &life.facts {
            if f.destination != by.participant {
                return Err(Refusal::Forbidden(format!(
                    "certificate {number} is not sent to {}: only an authority of its destination may confirm its arrival, not {}",
                    by.participant, by.id
                )));
            }
        }
        if let Some(v) = &life.voided {
            return Err(Refusal::Conflict(format!(
                "certificate {number} is void since {} (entry {}): a void certificate cannot be confirmed",
                Date::from_unix_ms(v.time_ms),
                v.index
            )));
        }
        if let Some(c) = &life.confirmed {
            return Err(Refusal::Conflict(format!(
                "certificate {number} was already imported on {} by {} (entry {}): a certificate is confirmed once",
                c.received_on, c.authority_id, c.index
            )));
        }
        Ok(life)
    }

    /// Whether authority `by` may void certificate `number` now: it is a certificate of the
    /// participant of `by`, neither confirmed nor void.
    pub fn voidable(
        &self,
        number: &CertificateNumber,
        by: &Authority,
    ) -> Result<&CertificateLife, Refusal> {
        if number.participant() != by.participant {
            return Err(Refusal::Forbidden(format!(
                "certificate {number} was issued by {}: only its authorities may void or replace it, not {} of {}",
                number.participant(),
                by.id,
                by.participant
            )));
        }
        self.open_to_void(number, "number")
    }

    /// Certificate `number` is recorded, neither void nor confirmed.
    fn open_to_void(
        &self,
        number: &CertificateNumber,
        field: &str,
    ) -> Result<&CertificateLife, Refusal> {
        let Some(life) = self.lives.get(number) else {
            return Err(Refusal::Invalid(vec![Problem::new(
                field,
                format!("{number} is not a recorded certificate"),
            )]));
        };
        if let Some(v) = &life.voided {
            return Err(Refusal::Conflict(format!(
                "certificate {number} is already void since {} (entry {})",
                Date::from_unix_ms(v.time_ms),
                v.index
            )));
        }
        if let Some(c) = &life.confirmed {
            return Err(Refusal::Conflict(format!(
                "certificate {number} was imported on {} by {} (entry {}): a confirmed certificate can no longer be voided or replaced",
                c.received_on, c.authority_id, c.index
            )));
        }
        Ok(life)
    }

    /// Whether certificate `new` may replace `old`: the same participant's, and `old` open to
    /// a void.
    fn replaceable(
        &self,
        old: &CertificateNumber,
        new: &CertificateNumber,
    ) -> Result<&CertificateLife, Refusal> {
        if old.participant() != new.participant() {
            return Err(Refusal::Forbidden(format!(
                "certificate {new} cannot replace {old}, a certificate of another participant"
            )));
        }
        self.open_to_void(old, "replaces")
    }

    /// The problems of re-export provenance `citations` of a certificate of `issuer`: each cited
    /// certificate is recorded, was sent to `issuer` and confirmed by it, is not void, and has
    /// carats left in its mass balance (what its confirmation recorded, less what earlier
    /// re-exports drew). Empty when all hold. A replacement's new certificate is judged with
    /// the draws of the certificate it replaces (`releasing`) already given back, as its void
    /// gives them back.
    pub fn provenance_problems(
        &self,
        issuer: CountryCode,
        citations: &[Citation],
        releasing: Option<&CertificateNumber>,
    ) -> Vec<Problem> {
        let released = |cited: &CertificateNumber| -> u64 {
            releasing
                .and_then(|old| self.lives.get(old))
                .and_then(|l| l.facts.as_ref())
                .map_or(0, |f| {
                    f.derived_from
                        .iter()
                        .filter(|c| &c.number == cited)
                        .map(|c| c.carats.hundredths())
                        .sum()
                })
        };
        let mut problems = Vec::new();
        for (i, c) in citations.iter().enumerate() {
            let field = || format!("derived_from[{i}]");
            let n = &c.number;
            let Some(life) = self.lives.get(n) else {
                problems.push(Problem::new(
                    format!("{}.number", field()),
                    format!("{n} is not a recorded certificate"),
                ));
                continue;
            };
            if let Some(f) = &life.facts {
                if f.destination != issuer {
                    problems.push(Problem::new(
                        format!("{}.number", field()),
                        format!("{n} was not sent to {issuer}: a re-export cites the import certificates {issuer} received"),
                    ));
                    continue;
                }
            }
            let Some(confirmed) = &life.confirmed else {
                problems.push(Problem::new(
                    format!("{}.number", field()),
                    format!("{n} has no import confirmation: {issuer} must confirm its arrival before re-exporting from it"),
                ));
                continue;
            };
            if let Some(received) = confirmed.carats {
                let drawn = life.drawn.hundredths().saturating_sub(released(n));
                let left = received.hundredths().saturating_sub(drawn);
                if c.carats.hundredths() > left {
                    let left = Hundredths::from_hundredths(left).expect("bounded");
                    problems.push(Problem::new(
                        format!("{}.carats", field()),
                        format!(
                            "draws {} carats from {n}, whose remaining balance is {left} carats ({received} received, {} drawn by earlier re-exports)",
                            c.carats,
                            Hundredths::from_hundredths(drawn).expect("bounded")
                        ),
                    ));
                }
            }
        }
        problems
    }

    /// Checks an import confirmation entry; returns the key that must have signed it.
    fn check_confirmation(
        &mut self,
        entry: &Entry,
        signed: &SignedConfirmation,
    ) -> Result<PublicKey, Violation> {
        let (record, key) = self.acting_key(entry, "confirmed")?;
        let a = &record.authority;
        let c = &signed.confirmation;
        if c.authority_id != a.id || c.key_id != key.key_id {
            return violation(format!(
                "the confirmation does not name authority {} and its key valid at the entry's time",
                a.id
            ));
        }
        let public_key = key.public_key;
        let life = self
            .confirmable(&c.number, a)
            .map_err(Refusal::into_violation)?;
        let recorded_on = Date::from_unix_ms(entry.time_ms);
        if let Err(why) = received_on_rule(c.received_on, life.issued_on, recorded_on) {
            return violation(format!(
                "the confirmation of {}: received_on {why}",
                c.number
            ));
        }
        let mut carats = None;
        let mut parcels = None;
        let mut lines = Vec::new();
        if let Some(full) = &signed.record {
            if sha256(&full.canonical) != c.arrival_hash {
                return violation(format!(
                    "the record of the confirmation of {} is not the arrival it commits to (its hash differs)",
                    c.number
                ));
            }
            let arrival = &full.arrival;
            if arrival.number != c.number || arrival.received_on != c.received_on {
                return violation(format!(
                    "the record of the confirmation of {} states another number or date",
                    c.number
                ));
            }
            if !(1..=super::certificate::MAX_PARCELS).contains(&(arrival.parcels as i64)) {
                return violation(format!(
                    "the confirmation of {} records {} parcels (1 to {} may arrive)",
                    c.number,
                    arrival.parcels,
                    super::certificate::MAX_PARCELS
                ));
            }
            if !arrival.remarks.is_empty() {
                if let Err(why) = lifecycle_text_rule(&arrival.remarks) {
                    return violation(format!("the remarks of the confirmation {why}"));
                }
            }
            if let Some(f) = &life.facts {
                if discrepancies(&f.shipment, life.expires_on, arrival) != full.discrepancies {
                    return violation(format!(
                        "the discrepancies recorded with the confirmation of {} are not those between the certificate and the arrival",
                        c.number
                    ));
                }
            }
            carats = Some(arrival.total_carats());
            parcels = Some(arrival.parcels);
            lines = arrival
                .items
                .iter()
                .map(|l| (l.hs_code, l.carats))
                .collect();
        }
        let mut life = life.clone();
        life.confirmed = Some(Confirmed {
            index: entry.index,
            time_ms: entry.time_ms,
            authority_id: a.id.clone(),
            received_on: c.received_on,
            carats,
            parcels,
            lines,
        });
        self.stats.import(&c.number, &life);
        self.put_life(&c.number, Arc::new(life));
        Ok(public_key)
    }

    /// Checks a void entry; returns the key that must have signed it.
    fn check_void(&mut self, entry: &Entry, signed: &SignedVoid) -> Result<PublicKey, Violation> {
        let (record, key) = self.acting_key(entry, "voided")?;
        let a = &record.authority;
        let v = &signed.void;
        if v.authority_id != a.id || v.key_id != key.key_id {
            return violation(format!(
                "the void does not name authority {} and its key valid at the entry's time",
                a.id
            ));
        }
        let public_key = key.public_key;
        if let Err(why) = lifecycle_text_rule(&v.reason) {
            return violation(format!("the reason of the void of {} {why}", v.number));
        }
        let life = self
            .voidable(&v.number, a)
            .map_err(Refusal::into_violation)?;
        if let Some(new) = &v.replaced_by {
            let follows = self
                .lives
                .get(new)
                .is_some_and(|n| n.issued_index + 1 == entry.index);
            if !follows || new.participant() != v.number.participant() {
                return violation(format!(
                    "the void of {} names {new} as its replacement, but {new} is not the certificate of the same participant issued by the entry just before",
                    v.number
                ));
            }
            if let Some(f) = self.lives.get(new).and_then(|n| n.facts.as_ref()) {
                if f.replaces.as_ref() != Some(&v.number) {
                    return violation(format!(
                        "the void of {} names {new} as its replacement, but {new} does not state that it replaces {}",
                        v.number, v.number
                    ));
                }
            }
        }
        let released: Vec<Citation> = life
            .facts
            .as_ref()
            .map(|f| f.derived_from.clone())
            .unwrap_or_default();
        let mut life = life.clone();
        life.voided = Some(Voided {
            index: entry.index,
            time_ms: entry.time_ms,
            authority_id: a.id.clone(),
            reason: v.reason.clone(),
            replaced_by: v.replaced_by.clone(),
        });
        let life = Arc::new(life);
        self.stats.export(&v.number, &life, true);
        self.put_life(&v.number, life);
        // A void certificate exports nothing: what it drew returns to the balances it drew on.
        for c in released {
            if let Some(cited) = self.lives.get(&c.number) {
                let mut cited = (**cited).clone();
                cited.drawn = Hundredths::from_hundredths(
                    cited
                        .drawn
                        .hundredths()
                        .saturating_sub(c.carats.hundredths()),
                )
                .expect("bounded");
                self.put_life(&c.number, Arc::new(cited));
            }
        }
        Ok(public_key)
    }

    /// Checks a full record against its issuance and the rules of issuance.
    fn check_record(
        &self,
        a: &Authority,
        key: &KeyWindow,
        issuance: &Issuance,
        full: &CertificateRecord,
        recorded_on: Date,
    ) -> Result<(), Violation> {
        let number = &issuance.number;
        if sha256(&full.canonical) != issuance.certificate_hash {
            return violation(format!(
                "the record of {number} is not the certificate its issuance commits to (its hash differs)"
            ));
        }
        let cert = &full.certificate;
        let issuer = &cert.issuer;
        if cert.number != *number
            || cert.content.issued_on != issuance.issued_on
            || cert.content.expires_on != issuance.expires_on
        {
            return violation(format!(
                "the record of {number} states another number or other dates than its issuance"
            ));
        }
        if issuer.participant != a.participant
            || issuer.authority_id != a.id
            || issuer.authority_name != a.name
            || issuer.key_id != key.key_id
        {
            return violation(format!(
                "the certificate's issuer block does not match the registration of authority {}",
                a.id
            ));
        }
        let problems = self.content_problems(a, &cert.content, recorded_on);
        if !problems.is_empty() {
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect();
            return violation(format!(
                "certificate {number} breaks the rules of issuance: {}",
                list.join("; ")
            ));
        }
        Ok(())
    }

    fn with_policy<T>(
        &self,
        a: &Authority,
        issued_on: Date,
        f: impl FnOnce(&IssuePolicy<'_>) -> T,
    ) -> T {
        let is_participant = |c: CountryCode| self.participants.contains_key(&c);
        f(&IssuePolicy {
            issuer: a.participant,
            issued_on,
            default_validity_days: a.default_validity_days,
            max_validity_days: a.max_validity_days,
            is_participant: &is_participant,
        })
    }

    /// Validates a request of authority `a` to issue on `issued_on`: the rules of issuance
    /// against this state's participants. Writes nothing.
    pub fn validate(
        &self,
        a: &Authority,
        input: &DraftInput,
        issued_on: Date,
    ) -> Result<CertificateContent, Vec<Problem>> {
        let content = self
            .with_policy(a, issued_on, |policy| {
                CertificateContent::validate(input, policy)
            })
            .map_err(|mut problems| {
                // Every problem at once: the destination's standing too.
                if let Input::Given(code) = &input.destination {
                    if let Some(code) = CountryCode::participant(code) {
                        problems.extend(self.destination_problem(code, issued_on));
                    }
                }
                problems
            })?;
        let mut content = content;
        let mut problems: Vec<Problem> = self
            .destination_problem(content.destination, issued_on)
            .into_iter()
            .collect();
        // A partially suspended issuer: the approval of this very request, if its terms need
        // one, is found by the request's hash.
        if let Some(terms) = self
            .standing(a.participant)
            .and_then(|h| h.terms_on(issued_on))
        {
            if terms.prior_approval {
                content.approval = input.request_hash.filter(|hash| {
                    self.open_approval(a.participant, hash, &content, issued_on)
                        .is_some()
                });
            }
        }
        // The approval a request lacks is named with the hash the monitoring team approves.
        problems.extend(
            self.zone_problems(a.participant, &content, issued_on)
                .into_iter()
                .map(|p| match (p.field.as_str(), input.request_hash) {
                    ("approval", Some(hash)) if content.approval.is_none() => Problem::new(
                        "approval",
                        format!(
                            "{} is partially suspended: each export needs the prior approval of its monitoring team, and none is recorded for this request (SHA-256 {}) in zone {}",
                            a.participant,
                            crate::crypto::hex(&hash),
                            content.origin_zone.as_deref().unwrap_or("(none stated)")
                        ),
                    ),
                    _ => p,
                }),
        );
        if problems.is_empty() {
            Ok(content)
        } else {
            Err(problems)
        }
    }

    /// The problems of a certificate's zone and approval for issuer `issuer` on `day`: a
    /// partially suspended participant states an approved origin zone, and where its terms
    /// require it, cites an unused approval of that request in that zone; an approval cited
    /// otherwise must exist too.
    pub fn zone_problems(
        &self,
        issuer: CountryCode,
        content: &CertificateContent,
        day: Date,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        let terms = self.standing(issuer).and_then(|h| h.terms_on(day));
        if let Some(terms) = terms {
            match &content.origin_zone {
                None => problems.push(Problem::new(
                    "origin_zone",
                    format!(
                        "is required: {issuer} is partially suspended and may export only from its approved zones ({})",
                        terms
                            .zones
                            .iter()
                            .map(|z| format!("{} {}", z.id, z.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
                Some(zone) if !terms.approves(zone) => problems.push(Problem::new(
                    "origin_zone",
                    format!("{zone} is not an approved zone of {issuer} on {day}"),
                )),
                Some(_) => {}
            }
            if terms.prior_approval && content.approval.is_none() && problems.is_empty() {
                problems.push(Problem::new(
                    "approval",
                    "is required: each export needs the monitoring team's prior approval",
                ));
            }
        }
        if let Some(hash) = &content.approval {
            if self.open_approval(issuer, hash, content, day).is_none() {
                problems.push(Problem::new(
                    "approval",
                    "names no unused prior approval, by the monitoring team mandated by the terms in force, of this shipment (zone, destination, parcels and carats)",
                ));
            }
        }
        problems
    }

    /// The unused approval of `participant` for request `hash` that `content` may be issued
    /// under on `day`: given under the terms in force then, by the team they mandate, for the
    /// certificate's zone, destination, parcels and total carats.
    fn open_approval(
        &self,
        participant: CountryCode,
        hash: &crate::crypto::Hash,
        content: &CertificateContent,
        day: Date,
    ) -> Option<&ApprovalRecord> {
        let record = self.participants.get(&participant)?;
        let terms_record = record.standing.change_at(day)?;
        let terms = record.standing.terms_on(day)?;
        record.approvals.iter().find(|a| {
            let x = &a.approval;
            &x.request_hash == hash
                && a.used_by.is_none()
                && a.index > terms_record.index
                && terms.team.as_deref() == Some(x.team.as_str())
                && Some(x.zone.as_str()) == content.origin_zone.as_deref()
                && x.destination == content.destination
                && x.parcels == content.parcels
                && x.carats == content.total_carats()
        })
    }

    /// The problems of recording `approval` on `day`: the participant is partially suspended
    /// under terms that require prior approval, by this team, for an approved zone, and the
    /// request is approved once.
    pub fn approval_problems(&self, approval: &ShipmentApproval, day: Date) -> Vec<Problem> {
        let code = approval.participant;
        let mut problems = Vec::new();
        let Some(record) = self.participants.get(&code) else {
            return vec![Problem::new(
                "participant",
                format!("{code} is not a registered participant"),
            )];
        };
        match record.standing.terms_on(day) {
            None => problems.push(Problem::new(
                "participant",
                format!("{code} is not partially suspended on {day}: its exports need no approval"),
            )),
            Some(terms) if !terms.prior_approval => problems.push(Problem::new(
                "participant",
                format!("the terms of {code} in force on {day} need no prior approval"),
            )),
            Some(terms) => {
                if terms.team.as_deref() != Some(approval.team.as_str()) {
                    problems.push(Problem::new(
                        "team",
                        format!(
                            "{} is not the monitoring team mandated for {code} ({})",
                            approval.team,
                            terms.team.as_deref().unwrap_or("none")
                        ),
                    ));
                }
                if !terms.approves(&approval.zone) {
                    problems.push(Problem::new(
                        "zone",
                        format!(
                            "{} is not an approved zone of {code} on {day}",
                            approval.zone
                        ),
                    ));
                }
            }
        }
        if !approval.conditions.is_empty() {
            if let Err(why) =
                super::certificate::text_rule(&approval.conditions, super::standing::MAX_NOTE_CHARS)
            {
                problems.push(Problem::new("conditions", why));
            }
        }
        if approval.parcels == 0 {
            problems.push(Problem::new("parcels", "must be at least 1"));
        }
        if approval.carats.is_zero() {
            problems.push(Problem::new("carats", "must be greater than 0"));
        }
        if !self.participants.contains_key(&approval.destination) {
            problems.push(Problem::new(
                "destination",
                format!("{} is not a registered participant", approval.destination),
            ));
        }
        if approval.documents.len() > super::case::MAX_CITED_DOCUMENTS {
            problems.push(Problem::new(
                "documents",
                format!(
                    "must cite at most {} documents",
                    super::case::MAX_CITED_DOCUMENTS
                ),
            ));
        }
        if approval.documents.windows(2).any(|w| w[0] >= w[1]) {
            problems.push(Problem::new(
                "documents",
                "must be sorted, each document once",
            ));
        }
        problems.extend(self.citation_problems_of(
            "documents",
            &approval.documents,
            Some(approval.participant),
        ));
        if record
            .approvals
            .iter()
            .any(|a| a.approval.request_hash == approval.request_hash)
        {
            problems.push(Problem::new(
                "request_hash",
                "this request is already approved",
            ));
        }
        problems
    }

    /// Participant `code`'s record, which a status change or trade measure needs.
    fn standing_record(&self, code: CountryCode) -> Result<&ParticipantRecord, Violation> {
        self.participants.get(&code).ok_or_else(|| {
            Violation(format!(
                "{code} is not a registered participant: record its registration first"
            ))
        })
    }

    /// The problems of recording `document` on `day`: its own rules, registered participants,
    /// and a file recorded once.
    pub fn document_problems(
        &self,
        document: &super::document::Document,
        day: Date,
    ) -> Vec<Problem> {
        let mut problems = document.problems(day);
        for code in &document.participants {
            if !self.participants.contains_key(code) {
                problems.push(Problem::new(
                    "participants",
                    format!("{code} is not a registered participant"),
                ));
            }
        }
        if let Some(earlier) = self.documents.get(&document.hash) {
            problems.push(Problem::new(
                "file",
                format!(
                    "this file is already recorded (ledger entry {}, {:?})",
                    earlier.index, earlier.document.title
                ),
            ));
        }
        problems
    }

    /// The case of `code`, which must be a registered participant that was suspended,
    /// self-suspended, partially suspended or removed at some time.
    fn case_of(&self, code: CountryCode) -> Result<&ParticipantRecord, Problem> {
        let Some(record) = self.participants.get(&code) else {
            return Err(Problem::new(
                "participant",
                format!("{code} is not a registered participant"),
            ));
        };
        let ever_barred = record.standing.changes.iter().any(|c| {
            !matches!(
                c.change.status,
                super::standing::Status::Active | super::standing::Status::Applicant
            )
        });
        if !ever_barred {
            return Err(Problem::new(
                "participant",
                format!("{code} has never been suspended, partially suspended or removed: it has no rehabilitation case"),
            ));
        }
        Ok(record)
    }

    /// The problems of citing `hashes` under `field`: each a recorded document (about
    /// `about`, when given).
    fn citation_problems_of(
        &self,
        field: &str,
        hashes: &[crate::crypto::Hash],
        about: Option<CountryCode>,
    ) -> Vec<Problem> {
        hashes
            .iter()
            .filter_map(|h| match self.documents.get(h) {
                None => Some(Problem::new(
                    field,
                    format!(
                        "{} is not a recorded document: record it first (POST /v1/documents)",
                        crate::crypto::hex(h)
                    ),
                )),
                Some(d) if about.is_some_and(|c| !d.document.participants.contains(&c)) => {
                    Some(Problem::new(
                        field,
                        format!(
                            "{} ({:?}) does not concern {}",
                            crate::crypto::hex(h),
                            d.document.title,
                            about.expect("checked")
                        ),
                    ))
                }
                Some(_) => None,
            })
            .collect()
    }

    /// The problem of `actor` writing `code`'s case: a monitoring team must be the one the
    /// participant's most recent terms mandate (the Secretariat may always write).
    fn case_actor_problem(&self, actor: &str, record: &ParticipantRecord) -> Option<Problem> {
        let team = actor.strip_prefix("monitor:")?;
        let mandated = record
            .standing
            .changes
            .iter()
            .rev()
            .find_map(|c| c.change.terms.as_ref().and_then(|t| t.team.as_deref()));
        (mandated != Some(team)).then(|| {
            Problem::new(
                "team",
                format!(
                    "monitoring team {team} is not the one mandated for {} ({}): only that team or the Secretariat writes its case",
                    record.participant.code,
                    mandated.unwrap_or("none is named by its terms")
                ),
            )
        })
    }

    /// The problems of recording case step `step` on `day`: its own rules, a participant with
    /// a case, recorded documents, and a stage ended in order (readmission only while the
    /// participant is active again).
    pub fn step_problems(&self, actor: &str, step: &CaseStep, day: Date) -> Vec<Problem> {
        let record = match self.case_of(step.participant) {
            Ok(r) => r,
            Err(p) => return vec![p],
        };
        let mut problems = step.problems(day);
        problems.extend(self.case_actor_problem(actor, record));
        problems.extend(self.citation_problems_of(
            "documents",
            &step.documents,
            Some(step.participant),
        ));
        if let Some(stage) = step.ends_stage {
            let current = record.case.current_stage();
            if current != Some(stage) {
                problems.push(Problem::new(
                    "ends_stage",
                    match current {
                        Some(c) => format!(
                            "the case is at stage {}: stages end in order (review_mission, action_plan, monitored_resumption, readmission)",
                            c.as_str()
                        ),
                        None => "the case is closed: the participant was readmitted".to_owned(),
                    },
                ));
            } else if stage == Stage::Readmission
                && record.standing.at(day) != super::standing::Status::Active
            {
                problems.push(Problem::new(
                    "ends_stage",
                    format!(
                        "readmission ends the case only once the participant is active again: record the readmission decision first (POST /v1/admin/participants/{}/status)",
                        step.participant
                    ),
                ));
            }
        }
        problems
    }

    /// The problems of recording `benchmark`: its own rules, a participant with a case, and
    /// recorded evidence.
    pub fn benchmark_problems(&self, actor: &str, benchmark: &Benchmark) -> Vec<Problem> {
        let record = match self.case_of(benchmark.participant) {
            Ok(r) => r,
            Err(p) => return vec![p],
        };
        let mut problems = benchmark.problems();
        problems.extend(self.case_actor_problem(actor, record));
        problems.extend(self.citation_problems_of(
            "evidence",
            &benchmark.evidence,
            Some(benchmark.participant),
        ));
        problems
    }

    /// The recorded audit that covers the most entries (the latest of those).
    pub fn last_audit(&self) -> Option<&AuditRecord> {
        self.last_audit.as_deref()
    }

    /// The trade statistics and the mirror.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The years certificates were issued in (from the serials: never forgotten, even when
    /// every certificate of a year was later voided), by participant, then year.
    pub fn years_issued(&self) -> impl Iterator<Item = i64> + '_ {
        self.lives.series().map(|(_, year, _)| year)
    }

    /// Every issued certificate's life, in (participant, year, serial) order.
    pub fn lives(&self) -> impl Iterator<Item = (CertificateNumber, &CertificateLife)> {
        self.lives.iter().map(|(n, l)| (n, &**l))
    }

    /// The problems of a production report recorded on `day` by `actor`: a registered
    /// participant, reported by one of its authorities or the Secretariat, for a half that has
    /// ended.
    pub fn production_problems(
        &self,
        actor: &str,
        report: &super::stats::ProductionReport,
        day: Date,
    ) -> Vec<Problem> {
        let mut problems = report.problems(day);
        if !self.participants.contains_key(&report.participant) {
            problems.push(Problem::new(
                "participant",
                format!("{} is not a registered participant", report.participant),
            ));
        } else if actor != SECRETARIAT
            && self
                .authorities
                .get(actor)
                .is_none_or(|a| a.authority.participant != report.participant)
        {
            problems.push(Problem::new(
                "participant",
                format!(
                    "{actor} may report production only for its own participant, not {}",
                    report.participant
                ),
            ));
        }
        problems
    }

    /// The document recorded with SHA-256 `hash`.
    pub fn document(&self, hash: &crate::crypto::Hash) -> Option<&DocumentEntry> {
        self.documents.get(hash)
    }

    /// Every recorded document, by hash.
    pub fn documents(&self) -> impl Iterator<Item = &DocumentEntry> {
        self.documents.values()
    }

    /// The standing of participant `code` over time.
    pub fn standing(&self, code: CountryCode) -> Option<&StandingHistory> {
        self.participants.get(&code).map(|p| &p.standing)
    }

    /// Why participant `code` may not issue on `day` (a status that may not trade, or an
    /// embargo), naming the decision or measure; `None` when it may.
    pub fn issuer_bar(&self, code: CountryCode, day: Date) -> Option<String> {
        let standing = self.standing(code)?;
        standing.bar_on(day).map(|bar| bar.describe(code, day))
    }

    /// The problem of sending a certificate to `code` on `day`: its status may not trade (an
    /// embargo stops a participant's exports, not what it receives).
    fn destination_problem(&self, code: CountryCode, day: Date) -> Option<Problem> {
        let record = self.standing(code)?.change_at(day)?;
        if record.change.status.may_trade() {
            return None;
        }
        let why = super::standing::Bar::Status(record).describe(code, day);
        Some(Problem::new(
            "destination",
            format!("is not a participant in good standing: {why}"),
        ))
    }

    /// The rules of issuance that `content`, issued by `a` on `issued_on`, breaks against this
    /// state's participants (empty when it follows them all). Writes nothing.
    pub fn content_problems(
        &self,
        a: &Authority,
        content: &CertificateContent,
        issued_on: Date,
    ) -> Vec<Problem> {
        let mut problems = self.with_policy(a, issued_on, |policy| content.problems(policy));
        problems.extend(self.destination_problem(content.destination, issued_on));
        problems.extend(self.zone_problems(a.participant, content, issued_on));
        problems
    }

    /// Number of entries applied.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Time of the last entry applied (0 for the empty ledger).
    pub fn last_time_ms(&self) -> u64 {
        self.last_time_ms
    }

    /// The registered participant `code`.
    pub fn participant(&self, code: CountryCode) -> Option<&ParticipantRecord> {
        self.participants.get(&code)
    }

    /// Every registered participant, by code.
    pub fn participants(&self) -> impl Iterator<Item = &ParticipantRecord> {
        self.participants.values()
    }

    /// Whether `code` is a registered participant.
    pub fn is_participant(&self, code: CountryCode) -> bool {
        self.participants.contains_key(&code)
    }

    /// The authority `id`.
    pub fn authority(&self, id: &str) -> Option<&AuthorityRecord> {
        self.authorities.get(id)
    }

    /// Every registered authority, by id.
    pub fn authorities(&self) -> impl Iterator<Item = &AuthorityRecord> {
        self.authorities.values()
    }

    /// Every authority key whose key id is `id`, with its authority (a key id is a truncated
    /// hash: callers try every one).
    pub fn keys_with_id(&self, id: &KeyId) -> Vec<(&AuthorityRecord, &KeyWindow)> {
        self.authorities
            .values()
            .flat_map(|a| a.keys.iter().map(move |k| (a, k)))
            .filter(|(_, k)| &k.key_id == id)
            .collect()
    }

    /// The serial the next certificate of `participant` in `year` takes.
    pub fn next_serial(&self, participant: CountryCode, year: i64) -> u64 {
        self.lives.last_serial(participant, year) + 1
    }

    /// Whether the certificate with this participant, year and serial was issued: serials are
    /// contiguous from 1, so it was exactly when the serial has been reached.
    pub fn has_serial(&self, participant: CountryCode, year: i64, serial: u64) -> bool {
        serial >= 1 && serial < self.next_serial(participant, year)
    }

    /// The id the next authority of `participant` gets.
    pub fn next_authority_id(&self, participant: CountryCode) -> String {
        let n = self
            .authorities
            .values()
            .filter(|a| a.authority.participant == participant)
            .count() as u64;
        Authority::id_for(participant, n + 1)
    }

    /// Number of certificates issued.
    pub fn certificates(&self) -> u64 {
        self.lives.len() as u64
    }

    /// The life of certificate `number`, if it was issued.
    pub fn life(&self, number: &CertificateNumber) -> Option<&CertificateLife> {
        self.lives.get(number).map(|l| &**l)
    }

    /// Every certificate whose life changed after issuance (confirmed or void), in
    /// (participant, year, serial) order.
    pub fn changed_lives(&self) -> impl Iterator<Item = (CertificateNumber, &CertificateLife)> {
        self.lives
            .iter_where(|l| l.confirmed.is_some() || l.voided.is_some())
            .map(|(n, l)| (n, &**l))
    }

    /// A replacement whose void has not followed yet (a complete ledger has none).
    pub fn pending_replacement(&self) -> Option<&(CertificateNumber, CertificateNumber)> {
        self.pending_replacement.as_ref()
    }

    /// The parts, for the snapshot encoding.
    pub fn to_parts(&self) -> StateParts {
        let serials: Vec<(CountryCode, i64, u64)> = self.lives.series().collect();
        let mut lives: Vec<(CertificateNumber, CertificateLife)> =
            self.lives.iter().map(|(n, l)| (n, (**l).clone())).collect();
        // In the order of their texts, as snapshots always listed them.
        lives.sort_by(|a, b| a.0.cmp(&b.0));
        StateParts {
            size: self.size,
            last_time_ms: self.last_time_ms,
            participants: self.participants.values().cloned().collect(),
            authorities: self.authorities.values().cloned().collect(),
            serials,
            lives,
            documents: {
                let mut d: Vec<DocumentEntry> = self.documents.values().cloned().collect();
                d.sort_by_key(|e| e.index);
                d
            },
            last_audit: self.last_audit.as_deref().cloned(),
        }
    }

    /// A state from its parts (a snapshot taken with [`State::to_parts`]); refused when the
    /// lives do not fill each participant's year from serial 1 to its last serial exactly.
    pub fn from_parts(mut parts: StateParts) -> Result<State, Violation> {
        let stats = Stats::of_lives(parts.lives.iter().map(|(n, l)| (n, l)));
        parts
            .lives
            .sort_by_key(|(n, _)| (n.participant(), n.year(), n.serial()));
        let mut lives = Lives::default();
        for (number, life) in parts.lives {
            let next = lives.last_serial(number.participant(), number.year()) + 1;
            if number.serial() != next || lives.insert(&number, Arc::new(life)).is_err() {
                return violation(format!(
                    "the life of {number} is not the next serial of its series (repeated or after a gap)"
                ));
            }
        }
        let mut serials = parts.serials;
        serials.sort();
        if !lives.series().eq(serials.iter().copied()) {
            return violation("the last serials do not match the lives recorded");
        }
        Ok(State {
            stats,
            last_audit: parts.last_audit.map(Arc::new),
            size: parts.size,
            last_time_ms: parts.last_time_ms,
            participants: Arc::new(
                parts
                    .participants
                    .into_iter()
                    .map(|p| (p.participant.code, p))
                    .collect(),
            ),
            authorities: Arc::new(
                parts
                    .authorities
                    .into_iter()
                    .map(|a| (a.authority.id.clone(), a))
                    .collect(),
            ),
            lives,
            pending_replacement: None,
            documents: Arc::new(
                parts
                    .documents
                    .into_iter()
                    .map(|d| (d.document.hash, d))
                    .collect(),
            ),
        })
    }
}

/// The Secretariat or a monitoring team (`monitor:<team>`), without a key id.
fn oversight_only(entry: &Entry, what: &str) -> Result<(), Violation> {
    let team = entry.actor.strip_prefix("monitor:");
    if entry.key_id.is_some() || (entry.actor != SECRETARIAT && team.is_none_or(str::is_empty)) {
        return violation(format!(
            "{what} is recorded by the secretariat or a monitoring team (actor \"secretariat\" or \"monitor:<team>\", no key id)"
        ));
    }
    Ok(())
}

fn secretariat_only(entry: &Entry, what: &str) -> Result<(), Violation> {
    if entry.actor != SECRETARIAT || entry.key_id.is_some() {
        return violation(format!(
            "{what} can only be registered by the secretariat (actor \"secretariat\", no key id)"
        ));
    }
    Ok(())
}
