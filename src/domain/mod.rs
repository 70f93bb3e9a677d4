//! The KP domain: certificates, participants, authorities, amounts, dates and country codes, the
//! typed ledger events and the ledger state they fold into.
//!
//! Pure: no IO, no serde, no wire format, no clock. Everything here is deterministic and exact
//! (amounts are integer hundredths, dates are calendar days), so the same input always yields the
//! same certificate, the same entry and the same verdict on the rules.

pub mod amount;
pub mod authority;
pub mod case;
pub mod certificate;
pub mod country;
pub mod date;
mod digits;
pub mod document;
pub mod event;
pub mod lifecycle;
pub mod lives;
pub mod participant;
pub mod standing;
pub mod state;
pub mod stats;

pub use amount::Hundredths;
pub use authority::Authority;
pub use certificate::{
    Certificate, CertificateContent, CertificateNumber, DraftInput, HsCode, Input, IssuePolicy,
    Issuer, Item, ItemInput, Origin, OriginInput, Party, PartyInput, Problem,
};
pub use country::CountryCode;
pub use date::Date;
pub use document::{Confidentiality, Document, DocumentEntry, DocumentKind};
pub use event::{
    AuditLevel, AuditRecord, CertificateRecord, Entry, Event, Issuance, KeyAdded, KeyRevoked, Kind,
    LedgerAudit, SignedCertificate, SECRETARIAT,
};
pub use lifecycle::{
    Arrival, ArrivalContent, ArrivalInput, ArrivalLine, ArrivalLineInput, Citation, CitationInput,
    Confirmation, ConfirmationRecord, Discrepancy, Shipment, SignedConfirmation, SignedVoid, Void,
};
pub use participant::{Participant, ParticipantKind};
pub use standing::{
    ApprovalRecord, ChangeRecord, Decision, DecisionBody, MeasureKind, MeasureRecord, PartialTerms,
    ShipmentApproval, StandingHistory, Status, StatusChange, TradeMeasure, Zone,
};
pub use state::{
    Applied, AuthorityRecord, KeyWindow, ParticipantRecord, Revocation, State, StateParts,
    Violation,
};
pub use stats::{ProductionRecord, ProductionReport};
