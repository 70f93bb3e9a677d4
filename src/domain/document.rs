//! Documents of the KP's institutional memory (decisions, minutes, reports, visit reports,
//! evidence): the file itself is stored content-addressed beside the ledger, and the ledger
//! records its SHA-256 with what it is, when it is dated, whom it concerns and who may read it.
//! Anyone can then prove that a public document is the one recorded; `kp_only` documents are
//! served to KP tokens only.

use super::certificate::{text_rule, Problem};
use super::country::CountryCode;
use super::date::Date;
use crate::crypto::Hash;

/// Longest document title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Largest document, in bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;
/// Most participants a document names.
pub const MAX_DOCUMENT_PARTICIPANTS: usize = 64;

/// What a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    Decision,
    Minutes,
    Report,
    VisitReport,
    MonitoringReport,
    Evidence,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 7] = [
        DocumentKind::Decision,
        DocumentKind::Minutes,
        DocumentKind::Report,
        DocumentKind::VisitReport,
        DocumentKind::MonitoringReport,
        DocumentKind::Evidence,
        DocumentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Decision => "decision",
            DocumentKind::Minutes => "minutes",
            DocumentKind::Report => "report",
            DocumentKind::VisitReport => "visit_report",
            DocumentKind::MonitoringReport => "monitoring_report",
            DocumentKind::Evidence => "evidence",
            DocumentKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentKind> {
        DocumentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who may read a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confidentiality {
    /// Anyone.
    Public,
    /// KP tokens only (the Secretariat, authorities, monitoring teams).
    KpOnly,
}

impl Confidentiality {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidentiality::Public => "public",
            Confidentiality::KpOnly => "kp_only",
        }
    }

    pub fn parse(s: &str) -> Option<Confidentiality> {
        match s {
            "public" => Some(Confidentiality::Public),
            "kp_only" => Some(Confidentiality::KpOnly),
            _ => None,
        }
    }
}

/// A document as the ledger records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// SHA-256 of the file's bytes: its name in the store.
    pub hash: Hash,
    pub size: u64,
    /// The file's media type, e.g. `application/pdf`.
    pub media_type: String,
    pub title: String,
    pub kind: DocumentKind,
    /// The document's own date (of the decision, meeting, visit or report).
    pub dated: Date,
    /// The participants it concerns: sorted, each once.
    pub participants: Vec<CountryCode>,
    pub confidentiality: Confidentiality,
}

impl Document {
    /// The problems of this document recorded on `recorded_on` (the ledger state adds that its
    /// participants are registered and that a file is recorded once).
    pub fn problems(&self, recorded_on: Date) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Err(why) = text_rule(&self.title, MAX_TITLE_CHARS) {
            problems.push(Problem::new("title", why));
        }
        if !media_type_rule(&self.media_type) {
            problems.push(Problem::new(
                "media_type",
                "must be a media type such as application/pdf (type/subtype, at most 100 ASCII characters)",
            ));
        }
        if self.dated > recorded_on {
            problems.push(Problem::new(
                "dated",
                format!("must not be after the day it is recorded ({recorded_on})"),
            ));
        }
        if self.participants.len() > MAX_DOCUMENT_PARTICIPANTS {
            problems.push(Problem::new(
                "participants",
                format!("must name at most {MAX_DOCUMENT_PARTICIPANTS}"),
            ));
        }
        if self.participants.windows(2).any(|w| w[0] >= w[1]) {
            problems.push(Problem::new(
                "participants",
                "must be sorted, each code once",
            ));
        }
        if self.size == 0 {
            problems.push(Problem::new("size", "an empty file is not a document"));
        }
        if self.size > MAX_DOCUMENT_BYTES {
            problems.push(Problem::new(
                "size",
                format!("must be at most {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        problems
    }
}

/// `type/subtype`, lower-case letters, digits and `.+-`, at most 100 characters.
fn media_type_rule(s: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
    };
    s.len() <= 100 && s.split_once('/').is_some_and(|(t, st)| ok(t) && ok(st))
}

/// A document as recorded: its entry and who recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentEntry {
    pub index: u64,
    pub time_ms: u64,
    pub actor: String,
    pub document: Document,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_checked_field_by_field() {
        let d = Document {
            hash: [1; 32],
            size: 10,
            media_type: "application/pdf".into(),
            title: "Administrative decision on the Central African Republic".into(),
            kind: DocumentKind::Decision,
            dated: Date::parse("2015-07-01").unwrap(),
            participants: vec![CountryCode::participant("CF").unwrap()],
            confidentiality: Confidentiality::Public,
        };
        assert!(d.problems(Date::parse("2026-01-01").unwrap()).is_empty());
        let mut bad = d.clone();
        bad.media_type = "PDF".into();
        bad.dated = Date::parse("2027-01-01").unwrap();
        bad.size = 0;
        let fields: Vec<String> = bad
            .problems(Date::parse("2026-01-01").unwrap())
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["media_type", "dated", "size"]);
    }
}
