//! What the ledger records: one typed [`Event`] per entry, inside an [`Entry`] that places it in
//! the log (index, time, who acted, the previous entry's hash).
//!
//! This is the only list of entry kinds. The codec encodes and decodes exactly these; the
//! ledger state ([`super::state::State`]) decides what each may do.

use super::authority::Authority;
use super::case::{Benchmark, CaseStep};
use super::certificate::{Certificate, CertificateNumber};
use super::date::Date;
use super::document::Document;
use super::lifecycle::{SignedConfirmation, SignedVoid};
use super::participant::Participant;
use super::standing::{ShipmentApproval, StatusChange, TradeMeasure};
use super::stats::ProductionReport;
use crate::crypto::{Hash, KeyId, PublicKey};

/// The actor of entries the KP Secretariat records (registry and authority registrations).
pub const SECRETARIAT: &str = "secretariat";

/// The kinds of entry, with their names in the entry encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    ParticipantRegistered,
    AuthorityRegistered,
    KeyAdded,
    KeyRevoked,
    CertificateIssued,
    ImportConfirmed,
    CertificateVoided,
    StatusChanged,
    TradeMeasureRecorded,
    ShipmentApproved,
    DocumentRecorded,
    CaseStepRecorded,
    BenchmarkSet,
    ProductionReported,
    LedgerAudited,
}

impl Kind {
    /// Every kind a v2 ledger may hold.
    pub const ALL: [Kind; 15] = [
        Kind::ParticipantRegistered,
        Kind::AuthorityRegistered,
        Kind::KeyAdded,
        Kind::KeyRevoked,
        Kind::CertificateIssued,
        Kind::ImportConfirmed,
        Kind::CertificateVoided,
        Kind::StatusChanged,
        Kind::TradeMeasureRecorded,
        Kind::ShipmentApproved,
        Kind::DocumentRecorded,
        Kind::CaseStepRecorded,
        Kind::BenchmarkSet,
        Kind::ProductionReported,
        Kind::LedgerAudited,
    ];

    /// The `kind` string of the entry encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ParticipantRegistered => "participant.registered",
            Kind::AuthorityRegistered => "authority.registered",
            Kind::KeyAdded => "authority.key_added",
            Kind::KeyRevoked => "authority.key_revoked",
            Kind::CertificateIssued => "certificate.issued",
            Kind::ImportConfirmed => "certificate.import_confirmed",
            Kind::CertificateVoided => "certificate.voided",
            Kind::StatusChanged => "participant.status_changed",
            Kind::TradeMeasureRecorded => "participant.trade_measure",
            Kind::ShipmentApproved => "participant.shipment_approved",
            Kind::DocumentRecorded => "document.recorded",
            Kind::CaseStepRecorded => "case.step_recorded",
            Kind::BenchmarkSet => "case.benchmark_set",
            Kind::ProductionReported => "participant.production_reported",
            Kind::LedgerAudited => "ledger.audited",
        }
    }

    /// Parses a `kind` string; `None` for a kind this version does not know.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What an issuing authority signs to issue a certificate, and all that the public ledger
/// entry shows of it: the number, the issuer and its key, the dates, and the SHA-256 of the full
/// canonical certificate (a commitment: the certificate carries a random salt, so the hash
/// reveals nothing of its commercial content, yet binds every field of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuance {
    pub number: CertificateNumber,
    pub authority_id: String,
    pub key_id: KeyId,
    pub issued_on: Date,
    pub expires_on: Date,
    pub certificate_hash: Hash,
}

/// The full record of an issued certificate, kept beside its public entry and bound to it by
/// the issuance's `certificate_hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    pub certificate: Certificate,
    /// The canonical certificate bytes, whose SHA-256 is the issuance's `certificate_hash`.
    pub canonical: Vec<u8>,
    /// The seal (COSE_Sign1 bytes) the issuing authority signed for the QR code.
    pub seal: Vec<u8>,
}

/// A certificate as issued: the issuance, its canonical bytes (what the authority signed and
/// the entry embeds), the authority's signature, and the full record when the reader holds it
/// (`None` when replaying public entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCertificate {
    pub issuance: Issuance,
    pub signed: Vec<u8>,
    pub signature: [u8; 64],
    pub record: Option<Box<CertificateRecord>>,
}

/// A new signing key for an authority (rotation): it signs from the entry's time on, and the
/// authority's previous key stops signing at that time (what it signed before stays valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAdded {
    pub authority_id: String,
    pub public_key: PublicKey,
}

/// A key recorded as compromised from `compromised_from_ms` (unix ms of ledger time, at or
/// before the entry's time): certificates whose entry is at or after that time verify
/// `key_revoked`; earlier ones stay valid. The key stops signing at the entry's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRevoked {
    pub authority_id: String,
    pub public_key: PublicKey,
    pub compromised_from_ms: u64,
    pub reason: String,
}

/// Whether an audit checked the public entries only or every record too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditLevel {
    Public,
    Full,
}

impl AuditLevel {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditLevel::Public => "public",
            AuditLevel::Full => "full",
        }
    }

    /// Parses the API string.
    pub fn parse(s: &str) -> Option<AuditLevel> {
        match s {
            "public" => Some(AuditLevel::Public),
            "full" => Some(AuditLevel::Full),
            _ => None,
        }
    }
}

/// A passed audit of the ledger's first `size` entries, whose Merkle root is `root` (the
/// service records it only when the root is its own tree's root at that size; anyone checks
/// it later with a consistency proof from `size`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerAudit {
    pub size: u64,
    pub root: Hash,
    pub level: AuditLevel,
}

/// A recorded audit: its entry, time and auditor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub index: u64,
    pub time_ms: u64,
    pub actor: String,
    pub audit: LedgerAudit,
}

/// What a ledger entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A participant joins the registry.
    ParticipantRegistered(Participant),
    /// An issuing authority and its public key.
    AuthorityRegistered(Authority),
    /// An authority's new key (rotation).
    KeyAdded(KeyAdded),
    /// An authority key compromised from a point in time.
    KeyRevoked(KeyRevoked),
    /// A certificate as issued and signed by its authority.
    CertificateIssued(SignedCertificate),
    /// The importing authority's confirmation of a certificate's arrival.
    ImportConfirmed(SignedConfirmation),
    /// The issuing authority's void of a certificate (with its replacement, if any).
    CertificateVoided(SignedVoid),
    /// A participant's new status, with the decision behind it (by the Secretariat).
    StatusChanged(StatusChange),
    /// A trade measure outside KP status: an embargo, or national sanctions (by the
    /// Secretariat).
    TradeMeasureRecorded(TradeMeasure),
    /// A monitoring team's prior approval of one export of a partially suspended participant.
    ShipmentApproved(ShipmentApproval),
    /// A document of the institutional memory, by its SHA-256 (the file is kept beside the
    /// ledger).
    DocumentRecorded(Document),
    /// A step of a participant's rehabilitation case.
    CaseStepRecorded(CaseStep),
    /// A benchmark of a participant's action plan, set or decided.
    BenchmarkSet(Benchmark),
    /// A participant's declared production for a half-year (by its authority or the
    /// Secretariat).
    ProductionReported(ProductionReport),
    /// An audit of the ledger up to a size, that passed (by the Secretariat or a monitoring
    /// team).
    LedgerAudited(LedgerAudit),
}

impl Event {
    /// The entry kind.
    pub fn kind(&self) -> Kind {
        match self {
            Event::ParticipantRegistered(_) => Kind::ParticipantRegistered,
            Event::AuthorityRegistered(_) => Kind::AuthorityRegistered,
            Event::KeyAdded(_) => Kind::KeyAdded,
            Event::KeyRevoked(_) => Kind::KeyRevoked,
            Event::CertificateIssued(_) => Kind::CertificateIssued,
            Event::ImportConfirmed(_) => Kind::ImportConfirmed,
            Event::CertificateVoided(_) => Kind::CertificateVoided,
            Event::StatusChanged(_) => Kind::StatusChanged,
            Event::TradeMeasureRecorded(_) => Kind::TradeMeasureRecorded,
            Event::ShipmentApproved(_) => Kind::ShipmentApproved,
            Event::DocumentRecorded(_) => Kind::DocumentRecorded,
            Event::CaseStepRecorded(_) => Kind::CaseStepRecorded,
            Event::BenchmarkSet(_) => Kind::BenchmarkSet,
            Event::ProductionReported(_) => Kind::ProductionReported,
            Event::LedgerAudited(_) => Kind::LedgerAudited,
        }
    }

    /// The certificate an event is about, if it is about one.
    pub fn certificate_number(&self) -> Option<&CertificateNumber> {
        match self {
            Event::CertificateIssued(s) => Some(&s.issuance.number),
            Event::ImportConfirmed(c) => Some(&c.confirmation.number),
            Event::CertificateVoided(v) => Some(&v.void.number),
            _ => None,
        }
    }

    /// The bytes the acting authority signed and its signature, for the events an authority
    /// signs, moved out of the event (a reader done with it keeps only what is to be verified).
    pub fn into_signed(self) -> Option<(Vec<u8>, [u8; 64])> {
        match self {
            Event::CertificateIssued(s) => Some((s.signed, s.signature)),
            Event::ImportConfirmed(c) => Some((c.signed, c.signature)),
            Event::CertificateVoided(v) => Some((v.signed, v.signature)),
            _ => None,
        }
    }
}

/// A ledger entry: an event at its place in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the ledger, contiguous from 0.
    pub index: u64,
    /// Unix time in milliseconds when the entry was committed; never decreases.
    pub time_ms: u64,
    /// Who acted: an authority id, or [`SECRETARIAT`].
    pub actor: String,
    /// Key id of the key the actor signed this entry's payload with (`None` when it signed none).
    pub key_id: Option<KeyId>,
    /// SHA-256 of the previous entry's canonical bytes; 32 zero bytes for entry 0.
    pub prev: Hash,
    pub event: Event,
}
