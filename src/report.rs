//! The Secretariat's annual report, computed from the ledger's public entries (an audited data
//! folder or export): the status changes of the year with their decisions, the trade measures
//! in force, rehabilitation progress (steps, stages ended, benchmarks), the documents recorded,
//! and per participant the certificates issued, confirmed on import and voided. Written as
//! Markdown and as HTML (every text escaped). Commercial content is never read: only public
//! entries.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::domain::case::{BenchmarkStatus, Stage};
use crate::domain::{Confidentiality, CountryCode, Date, Entry, Event};

/// Per participant counts of the year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub issued: u64,
    pub confirmed: u64,
    pub voided: u64,
}

/// One line of the report: the day, the participant, what happened, and its ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub on: Date,
    pub participant: String,
    pub text: String,
    pub index: u64,
}

/// The annual report of `year`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnnualReport {
    pub year: i64,
    pub entries: u64,
    pub names: BTreeMap<CountryCode, String>,
    pub status_changes: Vec<Line>,
    pub measures: Vec<Line>,
    pub rehabilitation: Vec<Line>,
    pub documents: Vec<Line>,
    /// kp_only documents recorded in the year (counted, not listed).
    pub confidential_documents: u64,
    pub counts: BTreeMap<CountryCode, Counts>,
}

fn year_of(d: Date) -> i64 {
    d.year()
}

impl AnnualReport {
    /// The report of `year` from every entry of a ledger, in order.
    pub fn of(year: i64, entries: impl IntoIterator<Item = Entry>) -> AnnualReport {
        let mut r = AnnualReport {
            year,
            ..AnnualReport::default()
        };
        let mut authorities: BTreeMap<String, CountryCode> = BTreeMap::new();
        // A measure recorded again under its kind and reference supersedes the earlier record.
        let mut measure_at: BTreeMap<(CountryCode, &'static str, String), usize> = BTreeMap::new();
        for entry in entries {
            r.entries += 1;
            let recorded = Date::from_unix_ms(entry.time_ms);
            match &entry.event {
                Event::ParticipantRegistered(p) => {
                    r.names.insert(p.code, p.name.clone());
                }
                Event::AuthorityRegistered(a) => {
                    authorities.insert(a.id.clone(), a.participant);
                }
                Event::StatusChanged(c) if year_of(c.effective_on) == year => {
                    let mut text = format!(
                        "{} from {} by {}",
                        c.status.as_str().replace('_', " "),
                        c.effective_on,
                        c.decision.describe()
                    );
                    if let Some(t) = &c.terms {
                        let zones: Vec<String> = t
                            .zones
                            .iter()
                            .map(|z| format!("{} {}", z.id, z.name))
                            .collect();
                        let _ = write!(text, "; approved zones: {}", zones.join(", "));
                        if t.prior_approval {
                            let _ = write!(
                                text,
                                "; each export approved beforehand by {}",
                                t.team.as_deref().unwrap_or("its monitoring team")
                            );
                        }
                    }
                    if let Some(from) = c.refuse_from {
                        let _ = write!(
                            text,
                            "; participants to refuse its certificates from {from}"
                        );
                    }
                    if recorded != c.effective_on {
                        let _ = write!(text, " (recorded {recorded})");
                    }
                    r.status_changes.push(Line {
                        on: c.effective_on,
                        participant: c.participant.to_string(),
                        text,
                        index: entry.index,
                    });
                }
                Event::TradeMeasureRecorded(m) => {
                    let key = (m.participant, m.kind.as_str(), m.reference.clone());
                    if let Some(at) = measure_at.remove(&key) {
                        r.measures.remove(at);
                        for i in measure_at.values_mut() {
                            if *i > at {
                                *i -= 1;
                            }
                        }
                    }
                    if year_of(m.from) > year || m.until.is_some_and(|u| year_of(u) < year) {
                        continue;
                    }
                    measure_at.insert(key, r.measures.len());
                    r.measures.push(Line {
                        on: m.from,
                        participant: m.participant.to_string(),
                        text: format!(
                            "{} {} imposed by {}, from {}{}",
                            m.kind.as_str().replace('_', " "),
                            m.reference,
                            m.imposed_by,
                            m.from,
                            m.until.map(|u| format!(" until {u}")).unwrap_or_default()
                        ),
                        index: entry.index,
                    });
                }
                Event::CaseStepRecorded(s) if year_of(s.from) == year => {
                    let mut text = format!(
                        "{} by {}: {}",
                        s.kind.as_str().replace('_', " "),
                        s.team,
                        s.findings
                    );
                    if let Some(stage) = s.ends_stage {
                        let _ = write!(text, " (ends the stage {})", stage_words(stage));
                    }
                    r.rehabilitation.push(Line {
                        on: s.from,
                        participant: s.participant.to_string(),
                        text,
                        index: entry.index,
                    });
                }
                Event::BenchmarkSet(b) if year_of(recorded) == year => {
                    r.rehabilitation.push(Line {
                        on: recorded,
                        participant: b.participant.to_string(),
                        text: format!(
                            "benchmark {} \u{201c}{}\u{201d}: {}",
                            b.id,
                            b.text,
                            match b.status {
                                BenchmarkStatus::Open => "set",
                                BenchmarkStatus::Met => "met",
                                BenchmarkStatus::NotMet => "not met",
                            }
                        ),
                        index: entry.index,
                    });
                }
                Event::DocumentRecorded(d) if year_of(recorded) == year => {
                    if d.confidentiality == Confidentiality::KpOnly {
                        r.confidential_documents += 1;
                    } else {
                        r.documents.push(Line {
                            on: d.dated,
                            participant: d
                                .participants
                                .iter()
                                .map(|c| c.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            text: format!(
                                "{} ({}), SHA-256 {}",
                                d.title,
                                d.kind.as_str().replace('_', " "),
                                crate::codec::text::hex(&d.hash)
                            ),
                            index: entry.index,
                        });
                    }
                }
                Event::CertificateIssued(s) if year_of(s.issuance.issued_on) == year => {
                    r.counts
                        .entry(s.issuance.number.participant())
                        .or_default()
                        .issued += 1;
                }
                Event::ImportConfirmed(c) if year_of(c.confirmation.received_on) == year => {
                    if let Some(p) = authorities.get(&c.confirmation.authority_id) {
                        r.counts.entry(*p).or_default().confirmed += 1;
                    }
                }
                Event::CertificateVoided(v) if year_of(recorded) == year => {
                    r.counts
                        .entry(v.void.number.participant())
                        .or_default()
                        .voided += 1;
                }
                _ => {}
            }
        }
        for list in [
            &mut r.status_changes,
            &mut r.measures,
            &mut r.rehabilitation,
            &mut r.documents,
        ] {
            list.sort_by_key(|l| (l.on, l.index));
        }
        r
    }

    fn name(&self, code: &str) -> String {
        CountryCode::participant(code)
            .and_then(|c| self.names.get(&c))
            .map_or_else(|| code.to_owned(), |n| format!("{n} ({code})"))
    }

    fn sections(&self) -> Vec<(&'static str, &Vec<Line>, &'static str)> {
        vec![
            (
                "Participants' status",
                &self.status_changes,
                "No status changed this year.",
            ),
            (
                "Trade measures in force",
                &self.measures,
                "No trade measure was in force.",
            ),
            (
                "Rehabilitation",
                &self.rehabilitation,
                "No rehabilitation step was recorded.",
            ),
            (
                "Documents recorded (public)",
                &self.documents,
                "No public document was recorded.",
            ),
        ]
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# Kimberley Process Certification Scheme: annual report {}\n\nFrom the kpcert ledger ({} entries, audited). Each line names its ledger entry.\n",
            self.year, self.entries
        );
        for (title, lines, none) in self.sections() {
            let _ = write!(md, "\n## {title}\n\n");
            if lines.is_empty() {
                let _ = writeln!(md, "{none}");
            }
            for l in lines {
                let _ = writeln!(
                    md,
                    "- {}, {}: {} (entry {})",
                    l.on,
                    md_text(&self.name(&l.participant)),
                    md_text(&l.text),
                    l.index
                );
            }
        }
        if self.confidential_documents > 0 {
            let _ = writeln!(
                md,
                "\n{} KP-only document(s) were recorded as well.",
                self.confidential_documents
            );
        }
        md.push_str("\n## Certificates per participant\n\n| participant | issued | confirmed on import | voided |\n|---|---:|---:|---:|\n");
        for (code, c) in &self.counts {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                md_text(&self.name(code.as_str())),
                c.issued,
                c.confirmed,
                c.voided
            );
        }
        md
    }

    /// The report as a self-contained HTML page (every text escaped).
    pub fn html(&self) -> String {
        let mut h = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>KPCS annual report {y}</title><style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #ddd}}td.n{{text-align:right}}</style></head><body>\n<h1>Kimberley Process Certification Scheme: annual report {y}</h1>\n<p>From the kpcert ledger ({n} entries, audited). Each line names its ledger entry.</p>\n",
            y = self.year,
            n = self.entries
        );
        for (title, lines, none) in self.sections() {
            let _ = writeln!(h, "<h2>{}</h2>", esc(title));
            if lines.is_empty() {
                let _ = writeln!(h, "<p>{}</p>", esc(none));
                continue;
            }
            h.push_str("<ul>\n");
            for l in lines {
                let _ = writeln!(
                    h,
                    "<li>{}, {}: {} (entry {})</li>",
                    l.on,
                    esc(&self.name(&l.participant)),
                    esc(&l.text),
                    l.index
                );
            }
            h.push_str("</ul>\n");
        }
        if self.confidential_documents > 0 {
            let _ = writeln!(
                h,
                "<p>{} KP-only document(s) were recorded as well.</p>",
                self.confidential_documents
            );
        }
        h.push_str("<h2>Certificates per participant</h2>\n<table><tr><th>participant</th><th>issued</th><th>confirmed on import</th><th>voided</th></tr>\n");
        for (code, c) in &self.counts {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&self.name(code.as_str())),
                c.issued,
                c.confirmed,
                c.voided
            );
        }
        h.push_str("</table>\n</body></html>\n");
        h
    }
}

fn stage_words(s: Stage) -> &'static str {
    match s {
        Stage::ReviewMission => "review mission",
        Stage::ActionPlan => "action plan",
        Stage::MonitoredResumption => "monitored partial resumption",
        Stage::Readmission => "readmission",
    }
}

/// HTML text: `& < > " '` escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown text: characters that would format or embed HTML are escaped.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_[]<>#|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_in_both_outputs() {
        assert_eq!(esc("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
        assert_eq!(md_text("a*b<c>"), "a\\*b\\<c\\>");
    }
}
