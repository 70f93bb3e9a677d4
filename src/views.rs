//! The JSON shapes of kpcert's public answers, built from typed values and written once: the
//! HTTP API and the command line's `--json` output serialise the same views (api/openapi.yaml
//! describes them).

use serde::Serialize;

use crate::app::{IssuedCertificate, LedgerDetail};
use crate::codec::seal::SealClaims;
use crate::codec::text::{base64, hex};
use crate::domain::date::format_unix_ms;
use crate::domain::{Certificate, Item, Origin, Party};
use crate::ledger::SignedCheckpoint;
use crate::verify::{Verdict, Verification};

#[derive(Serialize)]
pub struct IssuerView<'a> {
    pub participant: &'a str,
    pub authority_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Serialize)]
pub struct PartyView<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<&'a str>,
}

impl<'a> PartyView<'a> {
    fn full(p: &'a Party) -> PartyView<'a> {
        PartyView {
            name: &p.name,
            address: Some(&p.address),
        }
    }
}

#[derive(Serialize)]
pub struct OriginView<'a> {
    pub mixed: bool,
    pub countries: Vec<&'a str>,
}

impl<'a> OriginView<'a> {
    fn of(origin: &'a Origin) -> OriginView<'a> {
        let (mixed, countries) = origin.mixed_and_countries();
        OriginView {
            mixed,
            countries: countries.iter().map(|c| c.as_str()).collect(),
        }
    }
}

#[derive(Serialize)]
pub struct ItemView {
    pub hs_code: &'static str,
    pub carats: String,
    pub value_usd: String,
}

fn items(items: &[Item]) -> Vec<ItemView> {
    items
        .iter()
        .map(|i| ItemView {
            hs_code: i.hs_code.as_str(),
            carats: i.carats.to_string(),
            value_usd: i.value_usd.to_string(),
        })
        .collect()
}

#[derive(Serialize)]
pub struct TotalsView {
    pub carats: String,
    pub value_usd: String,
}

/// A certificate as issued (everything it states, with totals).
#[derive(Serialize)]
pub struct CertificateView<'a> {
    pub number: &'a str,
    pub issuer: IssuerView<'a>,
    pub issued_on: String,
    pub expires_on: String,
    pub exporter: PartyView<'a>,
    pub importer: PartyView<'a>,
    pub destination: &'a str,
    pub origin: OriginView<'a>,
    pub parcels: u32,
    pub items: Vec<ItemView>,
    pub totals: TotalsView,
    /// The certificate this one replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<&'a str>,
    /// Re-export provenance: the import certificates cited and the carats drawn from each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<CitationView<'a>>,
    /// The approved zone of origin of a partially suspended participant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_zone: Option<&'a str>,
    /// The request hash (hex) of the monitoring team's prior approval it was issued under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
}

/// A cited import certificate of a re-export.
#[derive(Serialize)]
pub struct CitationView<'a> {
    pub number: &'a str,
    pub carats: String,
}

impl<'a> CertificateView<'a> {
    pub fn of(cert: &'a Certificate) -> CertificateView<'a> {
        let c = &cert.content;
        CertificateView {
            number: cert.number.as_str(),
            issuer: IssuerView {
                participant: cert.issuer.participant.as_str(),
                authority_id: &cert.issuer.authority_id,
                authority_name: Some(&cert.issuer.authority_name),
                key_id: Some(cert.issuer.key_id.to_string()),
            },
            issued_on: c.issued_on.to_string(),
            expires_on: c.expires_on.to_string(),
            exporter: PartyView::full(&c.exporter),
            importer: PartyView::full(&c.importer),
            destination: c.destination.as_str(),
            origin: OriginView::of(&c.origin),
            parcels: c.parcels,
            items: items(&c.items),
            totals: TotalsView {
                carats: cert.total_carats().to_string(),
                value_usd: cert.total_value_usd().to_string(),
            },
            replaces: c.replaces.as_ref().map(|n| n.as_str()),
            derived_from: c
                .derived_from
                .iter()
                .map(|d| CitationView {
                    number: d.number.as_str(),
                    carats: d.carats.to_string(),
                })
                .collect(),
            origin_zone: c.origin_zone.as_deref(),
            approval: c.approval.map(|h| hex(&h)),
        }
    }
}

/// What a seal states (names, not addresses): the one claims view of online and offline checks.
#[derive(Serialize)]
pub struct ClaimsView<'a> {
    pub number: String,
    pub issuer: IssuerView<'a>,
    pub exporter: PartyView<'a>,
    pub importer: PartyView<'a>,
    pub destination: &'a str,
    pub origin: OriginView<'a>,
    pub parcels: u32,
    pub items: Vec<ItemView>,
    pub issued_on: String,
    pub expires_on: String,
    /// SHA-256 of the canonical certificate, hex.
    pub hash: String,
}

impl<'a> ClaimsView<'a> {
    pub fn of(c: &'a SealClaims) -> ClaimsView<'a> {
        ClaimsView {
            number: c.number().to_string(),
            issuer: IssuerView {
                participant: c.participant.as_str(),
                authority_id: &c.authority_id,
                authority_name: None,
                key_id: None,
            },
            exporter: PartyView {
                name: &c.exporter_name,
                address: None,
            },
            importer: PartyView {
                name: &c.importer_name,
                address: None,
            },
            destination: c.destination.as_str(),
            origin: OriginView::of(&c.origin),
            parcels: c.parcels,
            items: items(&c.items),
            issued_on: c.issued_on.to_string(),
            expires_on: c.expires_on.to_string(),
            hash: hex(&c.certificate_hash),
        }
    }
}

/// Where an entry sits in the ledger, with the proof that leads to a signed checkpoint.
#[derive(Serialize)]
pub struct LedgerView<'a> {
    pub index: u64,
    pub entry: String,
    pub time: String,
    pub tree_size: u64,
    pub inclusion_proof: Vec<String>,
    pub checkpoint: &'a str,
    pub tlog_proof: String,
}

/// The C2SP tlog-proof@v1 text of an inclusion proof.
pub fn tlog_proof(index: u64, proof: &[String], checkpoint: &SignedCheckpoint) -> String {
    let mut text = format!("c2sp.org/tlog-proof@v1\nindex {index}\n");
    for h in proof {
        text.push_str(h);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&checkpoint.note);
    text
}

impl<'a> LedgerView<'a> {
    /// Certificate `r`'s entry with `proof`, its inclusion proof against `r.checkpoint`.
    pub fn of(r: &'a IssuedCertificate, proof: &[crate::crypto::Hash]) -> LedgerView<'a> {
        let proof: Vec<String> = proof.iter().map(|h| base64(h)).collect();
        LedgerView {
            index: r.entry_index,
            entry: base64(&r.entry),
            time: format_unix_ms(r.entry_time_ms),
            tree_size: r.checkpoint.checkpoint.size,
            tlog_proof: tlog_proof(r.entry_index, &proof, &r.checkpoint),
            inclusion_proof: proof,
            checkpoint: &r.checkpoint.note,
        }
    }
}

/// The `ledger` object of a certificate answer: where its entry sits, with the entry and its
/// proof when they were asked for (api/ledger.md section 9).
#[derive(Serialize)]
#[serde(untagged)]
pub enum CertificateLedgerView<'a> {
    /// The entry's index and time and the size of the tree of its commit.
    Position {
        index: u64,
        time: String,
        tree_size: u64,
    },
    Proven(LedgerView<'a>),
}

impl<'a> CertificateLedgerView<'a> {
    /// Certificate `r`'s entry in `detail`. A proof is only ever shown as `r` holds it: an
    /// answer built without one (a certificate just appended, answered lean) stays a position.
    pub fn of(r: &'a IssuedCertificate, detail: LedgerDetail) -> CertificateLedgerView<'a> {
        debug_assert!(
            detail == LedgerDetail::Position || r.proof.is_some(),
            "a proof was asked of a certificate answered without one"
        );
        match (&r.proof, detail) {
            (Some(proof), LedgerDetail::Proof) => {
                CertificateLedgerView::Proven(LedgerView::of(r, proof))
            }
            _ => CertificateLedgerView::Position {
                index: r.entry_index,
                time: format_unix_ms(r.entry_time_ms),
                tree_size: r.checkpoint.checkpoint.size,
            },
        }
    }
}

/// The answer for one certificate, in the documented field order.
#[derive(Serialize)]
pub struct CertificateAnswer<'a> {
    pub number: &'a str,
    /// The QR text (`<PUBLIC URL>/S/<BASE32 SEAL>`).
    pub qr: String,
    /// SHA-256 of `canonical` (hex): the commitment the public entry carries.
    pub hash: String,
    /// The issuance the authority signed (base64) and its signature (base64).
    pub issuance: String,
    pub signature: String,
    pub key_id: String,
    /// The canonical certificate, the full record (base64).
    pub canonical: String,
    pub certificate: CertificateView<'a>,
    pub ledger: CertificateLedgerView<'a>,
    /// Its state and every entry about it (a look-up; a new certificate has only its issuance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryView<'a>>,
}

impl<'a> CertificateAnswer<'a> {
    /// The answer for `issued` with its QR text and its ledger entry in `detail`.
    pub fn of(
        issued: &'a IssuedCertificate,
        qr: String,
        detail: LedgerDetail,
    ) -> CertificateAnswer<'a> {
        let cert = &issued.certificate;
        CertificateAnswer {
            number: cert.number.as_str(),
            qr,
            hash: hex(&issued.hash),
            issuance: base64(&issued.issuance),
            signature: base64(&issued.signature),
            key_id: cert.issuer.key_id.to_string(),
            canonical: base64(&issued.canonical),
            certificate: CertificateView::of(cert),
            ledger: CertificateLedgerView::of(issued, detail),
            history: None,
        }
    }
}

/// A difference between a certificate and what arrived.
#[derive(Serialize)]
pub struct DiscrepancyView {
    pub kind: &'static str,
    pub message: String,
}

impl DiscrepancyView {
    pub fn list(found: &[crate::domain::Discrepancy]) -> Vec<DiscrepancyView> {
        found
            .iter()
            .map(|d| DiscrepancyView {
                kind: d.kind(),
                message: d.to_string(),
            })
            .collect()
    }
}

/// One line of what arrived.
#[derive(Serialize)]
pub struct ArrivalLineView {
    pub hs_code: &'static str,
    pub carats: String,
}

/// What an importing authority found on arrival (commercial: parties only).
#[derive(Serialize)]
pub struct ArrivalView<'a> {
    pub parcels: u32,
    pub items: Vec<ArrivalLineView>,
    pub total_carats: String,
    pub remarks: &'a str,
    pub discrepancies: Vec<DiscrepancyView>,
}

impl<'a> ArrivalView<'a> {
    pub fn of(r: &'a crate::domain::ConfirmationRecord) -> ArrivalView<'a> {
        ArrivalView {
            parcels: r.arrival.parcels,
            items: r
                .arrival
                .items
                .iter()
                .map(|l| ArrivalLineView {
                    hs_code: l.hs_code.as_str(),
                    carats: l.carats.to_string(),
                })
                .collect(),
            total_carats: r.arrival.total_carats().to_string(),
            remarks: &r.arrival.remarks,
            discrepancies: DiscrepancyView::list(&r.discrepancies),
        }
    }
}

/// A ledger event behind a verdict, with what the public may know of it (and, for a party, what
/// arrived).
#[derive(Serialize)]
pub struct EventView<'a> {
    pub index: u64,
    pub kind: &'static str,
    pub time: String,
    pub actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival: Option<ArrivalView<'a>>,
}

impl<'a> EventView<'a> {
    /// The event of `entry`; `full` shows what arrived (for a party to the certificate).
    pub fn of(entry: &'a crate::domain::Entry, full: bool) -> EventView<'a> {
        use crate::domain::Event;
        let mut v = EventView {
            index: entry.index,
            kind: entry.event.kind().as_str(),
            time: format_unix_ms(entry.time_ms),
            actor: &entry.actor,
            received_on: None,
            reason: None,
            replaced_by: None,
            replaces: None,
            arrival: None,
        };
        match &entry.event {
            Event::CertificateIssued(s) => {
                v.replaces = s
                    .record
                    .as_ref()
                    .and_then(|r| r.certificate.content.replaces.as_ref())
                    .map(|n| n.as_str());
            }
            Event::ImportConfirmed(c) => {
                v.received_on = Some(c.confirmation.received_on.to_string());
                if full {
                    v.arrival = c.record.as_deref().map(ArrivalView::of);
                }
            }
            Event::CertificateVoided(x) => {
                v.reason = Some(&x.void.reason);
                v.replaced_by = x.void.replaced_by.as_ref().map(|n| n.as_str());
            }
            _ => {}
        }
        v
    }
}

/// A certificate's state and history: every entry about it, with the proof of the newest.
#[derive(Serialize)]
pub struct HistoryView<'a> {
    /// `issued`, `imported` or `void`.
    pub state: &'static str,
    pub events: Vec<EventView<'a>>,
    /// The newest entry, proven against the checkpoint.
    pub newest: LedgerView<'a>,
}

impl<'a> HistoryView<'a> {
    pub fn of(h: &'a crate::app::History, full: bool) -> HistoryView<'a> {
        use crate::domain::Event;
        let state = if h
            .entries
            .iter()
            .any(|e| matches!(e.event, Event::CertificateVoided(_)))
        {
            "void"
        } else if h
            .entries
            .iter()
            .any(|e| matches!(e.event, Event::ImportConfirmed(_)))
        {
            "imported"
        } else {
            "issued"
        };
        let newest = h.newest_entry();
        let proof: Vec<String> = h.proof.iter().map(|x| base64(x)).collect();
        HistoryView {
            state,
            events: h.entries.iter().map(|e| EventView::of(e, full)).collect(),
            newest: LedgerView {
                index: newest.index,
                entry: base64(&h.newest),
                time: format_unix_ms(newest.time_ms),
                tree_size: h.checkpoint.checkpoint.size,
                tlog_proof: tlog_proof(newest.index, &proof, &h.checkpoint),
                inclusion_proof: proof,
                checkpoint: &h.checkpoint.note,
            },
        }
    }
}

/// The ledger part of an online verdict: where the certificate's issuance is in the ledger and,
/// when asked for (`"proof": true`), the entry itself with its inclusion proof and the signed
/// checkpoint it is proven against.
#[derive(Serialize)]
pub struct RecordView<'a> {
    pub index: u64,
    pub tree_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<&'a str>,
}

impl<'a> RecordView<'a> {
    /// Entry `index` of a ledger of `tree_size` entries, without the entry or its proof.
    pub fn position(index: u64, tree_size: u64) -> RecordView<'a> {
        RecordView {
            index,
            tree_size,
            events: None,
            entry: None,
            inclusion_proof: None,
            checkpoint: None,
        }
    }

    /// The record's entry with its inclusion proof against its checkpoint.
    pub fn proven(r: &'a IssuedCertificate) -> RecordView<'a> {
        RecordView {
            index: r.entry_index,
            tree_size: r.checkpoint.checkpoint.size,
            events: Some(vec![EventView {
                index: r.entry_index,
                kind: crate::domain::Kind::CertificateIssued.as_str(),
                time: format_unix_ms(r.entry_time_ms),
                actor: &r.certificate.issuer.authority_id,
                received_on: None,
                reason: None,
                replaced_by: None,
                replaces: r.certificate.content.replaces.as_ref().map(|n| n.as_str()),
                arrival: None,
            }]),
            entry: Some(base64(&r.entry)),
            inclusion_proof: r
                .proof
                .as_ref()
                .map(|p| p.iter().map(|h| base64(h)).collect()),
            checkpoint: Some(&r.checkpoint.note),
        }
    }
}

/// What anyone may know of a certificate: what its public ledger entry states.
#[derive(Serialize)]
pub struct PublicCertificateView<'a> {
    pub number: String,
    pub participant: &'a str,
    pub authority_id: &'a str,
    pub issued_on: String,
    pub expires_on: String,
    /// Why the other fields are not shown.
    pub note: &'static str,
}

impl<'a> PublicCertificateView<'a> {
    pub fn of(c: &'a SealClaims) -> PublicCertificateView<'a> {
        PublicCertificateView {
            number: c.number().to_string(),
            participant: c.participant.as_str(),
            authority_id: &c.authority_id,
            issued_on: c.issued_on.to_string(),
            expires_on: c.expires_on.to_string(),
            note: "a certificate's commercial fields answer only its parties (scan its QR code, or send a token of its issuer, the destination's authorities, the Secretariat or a monitor)",
        }
    }
}

/// The age of the trust bundle an offline verdict rests on.
#[derive(Serialize)]
pub struct BundleAgeView {
    pub issued_at: String,
    pub age_hours: f64,
    pub stale: bool,
}

/// A verdict, online (with `ledger`) or offline (with `bundle`).
#[derive(Serialize)]
pub struct VerificationView<'a> {
    pub verdict: &'static str,
    pub reasons: &'a [String],
    pub checked_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_verifier_key: Option<&'a str>,
    pub certificate: Option<ClaimsView<'a>>,
    /// Set when a certificate's fields were withheld (a look-up by number without a party's
    /// token): what the public may know of it instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withheld: Option<PublicCertificateView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<Option<RecordView<'a>>>,
    /// Online: the certificate's state and whole history, with the proof of its newest entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleAgeView>,
}

impl<'a> VerificationView<'a> {
    /// An online verdict; without `show_claims` the certificate's fields are withheld and only
    /// its public facts shown.
    /// `proven` is the certificate's record with its proof, when the caller asked for it;
    /// otherwise the answer says where the entry is in a ledger of `tree_size` entries.
    pub fn online(
        v: &'a Verification<std::sync::Arc<IssuedCertificate>>,
        proven: Option<&'a IssuedCertificate>,
        tree_size: u64,
        now_ms: u64,
        ledger_verifier_key: &'a str,
        show_claims: bool,
    ) -> VerificationView<'a> {
        VerificationView {
            verdict: v.verdict.as_str(),
            reasons: &v.reasons,
            checked_at: format_unix_ms(now_ms),
            ledger_verifier_key: Some(ledger_verifier_key),
            certificate: v
                .claims
                .as_ref()
                .filter(|_| show_claims)
                .map(ClaimsView::of),
            withheld: v
                .claims
                .as_ref()
                .filter(|_| !show_claims)
                .map(PublicCertificateView::of),
            ledger: Some(match proven {
                Some(r) => Some(RecordView::proven(r)),
                None => v
                    .entry_index
                    .map(|index| RecordView::position(index, tree_size)),
            }),
            history: None,
            bundle: None,
        }
    }

    /// An offline verdict against a bundle of this age.
    pub fn offline(
        v: &'a Verification<()>,
        now_ms: u64,
        bundle: BundleAgeView,
    ) -> VerificationView<'a> {
        VerificationView {
            verdict: v.verdict.as_str(),
            reasons: &v.reasons,
            checked_at: format_unix_ms(now_ms),
            ledger_verifier_key: None,
            certificate: v.claims.as_ref().map(ClaimsView::of),
            withheld: None,
            ledger: None,
            history: None,
            bundle: Some(bundle),
        }
    }
}

/// How an officer reads a verdict: headline, colour and advice (the page and the CLI).
pub fn verdict_words(verdict: Verdict) -> (&'static str, &'static str, &'static str) {
    match verdict {
        Verdict::Valid => (
            "VALID",
            "#0a7d2c",
            "Genuine and recorded. Compare every field below with the paper and the shipment.",
        ),
        Verdict::IssuerSuspended => (
            "ISSUER SUSPENDED",
            "#b00020",
            "Do not accept. The issuing participant was not in good standing in the Kimberley Process when it issued this certificate, or the KP orders its certificates refused.",
        ),
        Verdict::Void => (
            "VOID",
            "#b00020",
            "Do not accept. The issuing authority voided this certificate; if it names a replacement, ask for that certificate.",
        ),
        Verdict::Imported => (
            "ALREADY IMPORTED",
            "#b00020",
            "Do not accept a new shipment on it: this certificate was already used for an import (re-use).",
        ),
        Verdict::Expired => (
            "EXPIRED",
            "#b36b00",
            "Genuine, but past its date of expiry. Do not accept the shipment on this certificate.",
        ),
        Verdict::Forged => (
            "FORGED",
            "#b00020",
            "Do not accept. The seal is not what the issuing authority signed or recorded.",
        ),
        Verdict::KeyRevoked => (
            "KEY REVOKED",
            "#b00020",
            "Do not accept. It was signed with a key recorded as compromised at that time: contact the issuing authority.",
        ),
        Verdict::NotInLedger => (
            "NOT IN LEDGER",
            "#b00020",
            "Do not accept. Signed by a trusted key but never recorded: report it.",
        ),
        Verdict::Malformed => (
            "NOT A KP SEAL",
            "#5a5a5a",
            "This code is not a kpcert seal. Check the certificate by its number.",
        ),
        Verdict::Unknown => ("UNKNOWN", "#5a5a5a", "No such certificate."),
    }
}

/// A decoded entry payload, per kind.
#[derive(Serialize)]
#[serde(untagged)]
pub enum PayloadView<'a> {
    StatusChange(StatusChangeView<'a>),
    TradeMeasure(TradeMeasureView<'a>),
    Approval(ApprovalView<'a>),
    Document(DocumentView<'a>),
    Step(StepView<'a>),
    Benchmark(BenchmarkView<'a>),
    Production(ProductionView<'a>),
    Audit {
        size: u64,
        root: String,
        level: &'static str,
    },
    Participant {
        code: &'a str,
        name: &'a str,
        region: &'a str,
        kind: &'static str,
    },
    Authority {
        authority_id: &'a str,
        participant: &'a str,
        name: &'a str,
        public_key: String,
        key_id: String,
        default_validity_days: u32,
        max_validity_days: u32,
    },
    KeyAdded {
        authority_id: &'a str,
        public_key: String,
        key_id: String,
    },
    KeyRevoked {
        authority_id: &'a str,
        public_key: String,
        key_id: String,
        compromised_from: String,
        reason: &'a str,
    },
    Certificate {
        issuance: String,
        number: &'a str,
        authority_id: &'a str,
        key_id: String,
        issued_on: String,
        expires_on: String,
        certificate_hash: String,
        signature: String,
    },
    Confirmation {
        confirmation: String,
        number: &'a str,
        authority_id: &'a str,
        key_id: String,
        received_on: String,
        arrival_hash: String,
        signature: String,
    },
    Void {
        void: String,
        number: &'a str,
        authority_id: &'a str,
        key_id: String,
        reason: &'a str,
        replaced_by: Option<&'a str>,
        signature: String,
    },
}

/// An entry as the entries page shows it: its canonical bytes and, as a convenience, decoded.
#[derive(Serialize)]
pub struct EntryView<'a> {
    pub kind: &'static str,
    pub time: String,
    pub actor: &'a str,
    pub key_id: Option<String>,
    pub prev: String,
    pub payload: PayloadView<'a>,
}

impl<'a> EntryView<'a> {
    pub fn of(entry: &'a crate::domain::Entry) -> EntryView<'a> {
        use crate::domain::Event;
        let payload = match &entry.event {
            Event::ParticipantRegistered(p) => PayloadView::Participant {
                code: p.code.as_str(),
                name: &p.name,
                region: &p.region,
                kind: p.kind.as_str(),
            },
            Event::AuthorityRegistered(a) => PayloadView::Authority {
                authority_id: &a.id,
                participant: a.participant.as_str(),
                name: &a.name,
                public_key: base64(&a.public_key.to_bytes()),
                key_id: a.key_id().to_string(),
                default_validity_days: a.default_validity_days,
                max_validity_days: a.max_validity_days,
            },
            Event::KeyAdded(k) => PayloadView::KeyAdded {
                authority_id: &k.authority_id,
                public_key: base64(&k.public_key.to_bytes()),
                key_id: k.public_key.key_id().to_string(),
            },
            Event::KeyRevoked(k) => PayloadView::KeyRevoked {
                authority_id: &k.authority_id,
                public_key: base64(&k.public_key.to_bytes()),
                key_id: k.public_key.key_id().to_string(),
                compromised_from: format_unix_ms(k.compromised_from_ms),
                reason: &k.reason,
            },
            Event::CertificateIssued(s) => PayloadView::Certificate {
                issuance: base64(&s.signed),
                number: s.issuance.number.as_str(),
                authority_id: &s.issuance.authority_id,
                key_id: s.issuance.key_id.to_string(),
                issued_on: s.issuance.issued_on.to_string(),
                expires_on: s.issuance.expires_on.to_string(),
                certificate_hash: hex(&s.issuance.certificate_hash),
                signature: base64(&s.signature),
            },
            Event::ImportConfirmed(c) => PayloadView::Confirmation {
                confirmation: base64(&c.signed),
                number: c.confirmation.number.as_str(),
                authority_id: &c.confirmation.authority_id,
                key_id: c.confirmation.key_id.to_string(),
                received_on: c.confirmation.received_on.to_string(),
                arrival_hash: hex(&c.confirmation.arrival_hash),
                signature: base64(&c.signature),
            },
            Event::CertificateVoided(v) => PayloadView::Void {
                void: base64(&v.signed),
                number: v.void.number.as_str(),
                authority_id: &v.void.authority_id,
                key_id: v.void.key_id.to_string(),
                reason: &v.void.reason,
                replaced_by: v.void.replaced_by.as_ref().map(|n| n.as_str()),
                signature: base64(&v.signature),
            },
            Event::StatusChanged(c) => PayloadView::StatusChange(StatusChangeView::of(c)),
            Event::TradeMeasureRecorded(m) => PayloadView::TradeMeasure(TradeMeasureView::of(m)),
            Event::ShipmentApproved(a) => PayloadView::Approval(ApprovalView::of(a)),
            Event::DocumentRecorded(d) => PayloadView::Document(DocumentView::of(d)),
            Event::CaseStepRecorded(s) => PayloadView::Step(StepView::of(s)),
            Event::BenchmarkSet(b) => PayloadView::Benchmark(BenchmarkView::of(b)),
            Event::ProductionReported(r) => PayloadView::Production(ProductionView::of(r)),
            Event::LedgerAudited(a) => PayloadView::Audit {
                size: a.size,
                root: base64(&a.root),
                level: a.level.as_str(),
            },
        };
        EntryView {
            kind: entry.event.kind().as_str(),
            time: format_unix_ms(entry.time_ms),
            actor: &entry.actor,
            key_id: entry.key_id.map(|k| k.to_string()),
            prev: hex(&entry.prev),
            payload,
        }
    }
}

/// An authority as the admin API and `kpcert authority list` show it.
#[derive(Serialize)]
pub struct AuthorityView {
    pub authority_id: String,
    pub participant: String,
    pub name: String,
    pub max_validity_days: u32,
    /// Its keys, oldest first.
    pub keys: Vec<KeyView>,
    /// The key id it signs with now (`None`: its last key was revoked and not replaced).
    pub current_key_id: Option<String>,
    /// Whether this server holds the current signing key (else the authority signs on its
    /// own systems).
    pub key_held_here: bool,
}

/// An authority key and its window.
#[derive(Serialize)]
pub struct KeyView {
    pub key_id: String,
    pub public_key: String,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub revoked: Option<RevocationView>,
}

/// A key's compromise.
#[derive(Serialize)]
pub struct RevocationView {
    pub compromised_from: String,
    pub reason: String,
}

impl AuthorityView {
    pub fn of(record: &crate::domain::AuthorityRecord, key_held_here: bool) -> AuthorityView {
        let a = &record.authority;
        AuthorityView {
            authority_id: a.id.clone(),
            participant: a.participant.to_string(),
            name: a.name.clone(),
            max_validity_days: a.max_validity_days,
            keys: record
                .keys
                .iter()
                .map(|k| KeyView {
                    key_id: k.key_id.to_string(),
                    public_key: hex(&k.public_key.to_bytes()),
                    valid_from: format_unix_ms(k.valid_from_ms),
                    valid_until: k.valid_until_ms.map(format_unix_ms),
                    revoked: k.revoked.as_ref().map(|r| RevocationView {
                        compromised_from: format_unix_ms(r.from_ms),
                        reason: r.reason.clone(),
                    }),
                })
                .collect(),
            current_key_id: record.current_key().map(|k| k.key_id.to_string()),
            key_held_here,
        }
    }
}

/// What an authority that keeps its own key signs its next certificate with
/// (`GET /v1/certificates/next`, read back by `kpcert sign --next`).
#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NextNumberView {
    pub number: String,
    pub issued_on: String,
    pub issuer: NextIssuerView,
    pub default_validity_days: u32,
    pub max_validity_days: u32,
    /// The participants a certificate may be sent to (ISO 3166-1 alpha-2, or EU).
    pub participants: Vec<String>,
}

/// The issuer block a certificate of [`NextNumberView`] must carry.
#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NextIssuerView {
    pub participant: String,
    pub authority_id: String,
    pub authority_name: String,
    pub key_id: String,
}

impl NextNumberView {
    pub fn of(next: &crate::app::NextNumber) -> NextNumberView {
        NextNumberView {
            number: next.number.to_string(),
            issued_on: next.issued_on.to_string(),
            issuer: NextIssuerView {
                participant: next.issuer.participant.to_string(),
                authority_id: next.issuer.authority_id.clone(),
                authority_name: next.issuer.authority_name.clone(),
                key_id: next.issuer.key_id.to_string(),
            },
            default_validity_days: next.default_validity_days,
            max_validity_days: next.max_validity_days,
            participants: next.participants.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// The typed values back, or what is wrong with them.
    pub fn parse(&self) -> Result<crate::app::NextNumber, String> {
        use crate::domain::{CertificateNumber, CountryCode, Date, Issuer};
        let code = |s: &str| {
            CountryCode::participant(s).ok_or_else(|| format!("{s} is not a participant code"))
        };
        Ok(crate::app::NextNumber {
            number: CertificateNumber::parse(&self.number)
                .ok_or_else(|| format!("{} is not a certificate number", self.number))?,
            issued_on: Date::parse(&self.issued_on)
                .ok_or_else(|| format!("{} is not a date", self.issued_on))?,
            issuer: Issuer {
                participant: code(&self.issuer.participant)?,
                authority_id: self.issuer.authority_id.clone(),
                authority_name: self.issuer.authority_name.clone(),
                key_id: crate::crypto::KeyId::parse(&self.issuer.key_id)
                    .ok_or_else(|| format!("key_id {}", self.issuer.key_id))?,
            },
            default_validity_days: self.default_validity_days,
            max_validity_days: self.max_validity_days,
            participants: self
                .participants
                .iter()
                .map(|p| code(p))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A bearer token as listed (never the token itself): the admin API and `kpcert token list`.
#[derive(Serialize)]
pub struct TokenView {
    pub prefix: String,
    pub role: &'static str,
    pub owner: String,
    pub created: String,
    pub expires: String,
    pub last_used: Option<String>,
}

impl TokenView {
    pub fn of(r: &crate::tokens::TokenRecord) -> TokenView {
        TokenView {
            prefix: r.prefix.clone(),
            role: r.role.as_str(),
            owner: r.owner.clone(),
            created: format_unix_ms(r.created_ms),
            expires: format_unix_ms(r.expires_ms),
            last_used: (r.last_used_ms > 0).then(|| format_unix_ms(r.last_used_ms)),
        }
    }
}

/// A decision as the API shows it.
#[derive(Serialize)]
pub struct DecisionView<'a> {
    pub reference: &'a str,
    pub body: &'static str,
    pub decided_on: String,
}

/// An approved zone.
#[derive(Serialize)]
pub struct ZoneView<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The terms of a partial suspension.
#[derive(Serialize)]
pub struct TermsView<'a> {
    pub zones: Vec<ZoneView<'a>>,
    pub prior_approval: bool,
    pub team: Option<&'a str>,
}

/// A monitoring team's prior approval of a shipment.
#[derive(Serialize)]
pub struct ApprovalView<'a> {
    pub participant: &'a str,
    pub team: &'a str,
    pub request_hash: String,
    pub zone: &'a str,
    pub destination: &'a str,
    pub parcels: u32,
    pub carats: String,
    pub conditions: &'a str,
    /// SHA-256 (hex) of the recorded evidence.
    pub documents: Vec<String>,
}

impl<'a> ApprovalView<'a> {
    pub fn of(a: &'a crate::domain::ShipmentApproval) -> ApprovalView<'a> {
        ApprovalView {
            participant: a.participant.as_str(),
            team: &a.team,
            request_hash: hex(&a.request_hash),
            zone: &a.zone,
            destination: a.destination.as_str(),
            parcels: a.parcels,
            carats: a.carats.to_string(),
            conditions: &a.conditions,
            documents: a.documents.iter().map(|h| hex(h)).collect(),
        }
    }
}

/// A status change as the API shows it (the entry payload, decoded).
#[derive(Serialize)]
pub struct StatusChangeView<'a> {
    pub participant: &'a str,
    pub status: &'static str,
    pub effective_on: String,
    pub decision: DecisionView<'a>,
    pub terms: Option<TermsView<'a>>,
    pub refuse_from: Option<String>,
    pub note: &'a str,
}

impl<'a> StatusChangeView<'a> {
    pub fn of(c: &'a crate::domain::StatusChange) -> StatusChangeView<'a> {
        StatusChangeView {
            participant: c.participant.as_str(),
            status: c.status.as_str(),
            effective_on: c.effective_on.to_string(),
            decision: DecisionView {
                reference: &c.decision.reference,
                body: c.decision.body.as_str(),
                decided_on: c.decision.decided_on.to_string(),
            },
            terms: c.terms.as_ref().map(|t| TermsView {
                zones: t
                    .zones
                    .iter()
                    .map(|z| ZoneView {
                        id: &z.id,
                        name: &z.name,
                    })
                    .collect(),
                prior_approval: t.prior_approval,
                team: t.team.as_deref(),
            }),
            refuse_from: c.refuse_from.map(|d| d.to_string()),
            note: &c.note,
        }
    }
}

/// A trade measure as the API shows it.
#[derive(Serialize)]
pub struct TradeMeasureView<'a> {
    pub participant: &'a str,
    pub kind: &'static str,
    pub reference: &'a str,
    pub imposed_by: &'a str,
    pub from: String,
    pub until: Option<String>,
    pub note: &'a str,
}

impl<'a> TradeMeasureView<'a> {
    pub fn of(m: &'a crate::domain::TradeMeasure) -> TradeMeasureView<'a> {
        TradeMeasureView {
            participant: m.participant.as_str(),
            kind: m.kind.as_str(),
            reference: &m.reference,
            imposed_by: &m.imposed_by,
            from: m.from.to_string(),
            until: m.until.map(|d| d.to_string()),
            note: &m.note,
        }
    }
}

/// A production report as the API shows it (amounts as exact decimal strings).
#[derive(Serialize)]
pub struct ProductionView<'a> {
    pub participant: &'a str,
    pub year: i64,
    pub half: u8,
    pub period: String,
    pub carats: String,
    pub value_usd: String,
    pub stock_carats: String,
    pub note: &'a str,
}

impl<'a> ProductionView<'a> {
    pub fn of(r: &'a crate::domain::ProductionReport) -> ProductionView<'a> {
        ProductionView {
            participant: r.participant.as_str(),
            year: r.year,
            half: r.half,
            period: r.period().to_string(),
            carats: r.carats.to_string(),
            value_usd: r.value_usd.to_string(),
            stock_carats: r.stock_carats.to_string(),
            note: &r.note,
        }
    }
}

/// A recorded document as the API shows it.
#[derive(Serialize)]
pub struct DocumentView<'a> {
    /// SHA-256 of the file, hex: its address (`/v1/documents/{hash}`).
    pub hash: String,
    pub size: u64,
    pub media_type: &'a str,
    pub title: &'a str,
    pub kind: &'static str,
    pub dated: String,
    pub participants: Vec<&'a str>,
    pub confidentiality: &'static str,
}

impl<'a> DocumentView<'a> {
    pub fn of(d: &'a crate::domain::Document) -> DocumentView<'a> {
        DocumentView {
            hash: hex(&d.hash),
            size: d.size,
            media_type: &d.media_type,
            title: &d.title,
            kind: d.kind.as_str(),
            dated: d.dated.to_string(),
            participants: d.participants.iter().map(|c| c.as_str()).collect(),
            confidentiality: d.confidentiality.as_str(),
        }
    }
}

/// A step of a rehabilitation case.
#[derive(Serialize)]
pub struct StepView<'a> {
    pub participant: &'a str,
    pub kind: &'static str,
    pub from: String,
    pub until: Option<String>,
    pub team: &'a str,
    pub findings: &'a str,
    /// SHA-256 (hex) of the recorded documents behind it.
    pub documents: Vec<String>,
    pub ends_stage: Option<&'static str>,
}

impl<'a> StepView<'a> {
    pub fn of(s: &'a crate::domain::case::CaseStep) -> StepView<'a> {
        StepView {
            participant: s.participant.as_str(),
            kind: s.kind.as_str(),
            from: s.from.to_string(),
            until: s.until.map(|d| d.to_string()),
            team: &s.team,
            findings: &s.findings,
            documents: s.documents.iter().map(|h| hex(h)).collect(),
            ends_stage: s.ends_stage.map(|st| st.as_str()),
        }
    }
}

/// A benchmark of an action plan.
#[derive(Serialize)]
pub struct BenchmarkView<'a> {
    pub participant: &'a str,
    pub id: &'a str,
    pub text: &'a str,
    pub status: &'static str,
    /// SHA-256 (hex) of the recorded documents that decided it.
    pub evidence: Vec<String>,
    pub note: &'a str,
}

impl<'a> BenchmarkView<'a> {
    pub fn of(b: &'a crate::domain::case::Benchmark) -> BenchmarkView<'a> {
        BenchmarkView {
            participant: b.participant.as_str(),
            id: &b.id,
            text: &b.text,
            status: b.status.as_str(),
            evidence: b.evidence.iter().map(|h| hex(h)).collect(),
            note: &b.note,
        }
    }
}
