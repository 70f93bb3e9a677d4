//! The public portal: HTML pages rendered on the server from the ledger state with the askama
//! templates in `templates/` (compiled into the binary, every value escaped), in the six
//! languages of [`i18n`]. No script; charts are inline SVG built here. The only module that
//! touches askama.
//!
//! Pages: home, participants and one participant's standing, statistics (annual totals, by
//! participant or by year for one participant), ledger status, verification (a number typed,
//! or a scanned seal: `/S/{seal}`), public documents, and the reconciliation page of the
//! Secretariat and monitors.

pub mod i18n;

use askama::Template;

use crate::app::OnlineVerification;
use crate::domain::date::format_unix_ms;
use crate::domain::stats::{Sum, Totals};
use crate::domain::{Confidentiality, CountryCode, Date, DocumentKind, State, Status};
use crate::statistics::ReconciliationView;
use crate::verify::Verdict;
use i18n::{Lang, Texts, Word};

/// A link of the navigation bar.
pub struct NavLink {
    href: String,
    label: &'static str,
    current: bool,
}

/// A link of the language switch.
pub struct LangLink {
    href: String,
    code: &'static str,
    name: &'static str,
    current: bool,
}

/// What every page shares: language, direction, texts, navigation and the language switch.
pub struct Frame {
    lang: &'static str,
    dir: &'static str,
    t: &'static Texts,
    nav: Vec<NavLink>,
    langs: Vec<LangLink>,
}

/// The sections of the navigation bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Home,
    Participants,
    Statistics,
    Ledger,
    Verify,
    Documents,
    /// Pages outside the bar (reconciliation).
    None,
}

/// Where a page is: its path and the query parameters to keep when switching language
/// (already percent-encoded where needed: only codes, numbers and dates go here).
pub struct Here<'a> {
    pub path: &'a str,
    pub keep: Vec<(&'static str, String)>,
}

fn with_lang(path: &str, keep: &[(&'static str, String)], lang: Lang) -> String {
    let mut q: Vec<String> = keep
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect();
    q.push(format!("lang={}", lang.code()));
    format!("{path}?{}", q.join("&"))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn frame(lang: Lang, section: Section, here: &Here<'_>) -> Frame {
    let t = lang.texts();
    let nav = [
        (Section::Home, "/", t.nav_home),
        (Section::Participants, "/participants", t.nav_participants),
        (Section::Statistics, "/statistics", t.nav_statistics),
        (Section::Ledger, "/ledger", t.nav_ledger),
        (Section::Verify, "/verify", t.nav_verify),
        (Section::Documents, "/documents", t.nav_documents),
    ]
    .into_iter()
    .map(|(s, path, label)| NavLink {
        href: with_lang(path, &[], lang),
        label,
        current: s == section,
    })
    .collect();
    let langs = Lang::ALL
        .into_iter()
        .map(|l| LangLink {
            href: with_lang(here.path, &here.keep, l),
            code: l.code(),
            name: l.native_name(),
            current: l == lang,
        })
        .collect();
    Frame {
        lang: lang.code(),
        dir: lang.dir(),
        t,
        nav,
        langs,
    }
}

fn render(t: impl Template) -> String {
    t.render().expect("templates render from owned data")
}

/// The participant's name in `lang`, or its registered name.
fn country_name(lang: Lang, state: &State, code: CountryCode) -> String {
    lang.country(code.as_str())
        .map(str::to_owned)
        .or_else(|| state.participant(code).map(|p| p.participant.name.clone()))
        .unwrap_or_else(|| code.as_str().to_owned())
}

fn status_words(t: &Texts, s: Status) -> &'static str {
    match s {
        Status::Active => t.status_active,
        Status::Suspended => t.status_suspended,
        Status::SelfSuspended => t.status_self_suspended,
        Status::PartiallySuspended => t.status_partially_suspended,
        Status::Removed => t.status_removed,
        Status::Applicant => t.status_applicant,
    }
}

fn body_word(b: crate::domain::DecisionBody) -> Word {
    match b {
        crate::domain::DecisionBody::Plenary => Word::Plenary,
        crate::domain::DecisionBody::WrittenProcedure => Word::WrittenProcedure,
        crate::domain::DecisionBody::Chair => Word::Chair,
    }
}

fn status_class(s: Status) -> &'static str {
    if s == Status::Active {
        "status-active"
    } else {
        "status-other"
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    f: Frame,
    participants: String,
    certificates: String,
    entries: String,
}

/// `/`: what the scheme and this ledger are, with a few live figures.
pub fn home(lang: Lang, state: &State) -> String {
    render(HomePage {
        f: frame(
            lang,
            Section::Home,
            &Here {
                path: "/",
                keep: vec![],
            },
        ),
        participants: lang.group_int(state.participants().count() as u64),
        certificates: lang.group_int(state.certificates()),
        entries: lang.group_int(state.size()),
    })
}

struct ParticipantRow {
    code: String,
    href: String,
    name: String,
    region: String,
    status: &'static str,
    status_code: &'static str,
    class: &'static str,
    since: String,
    decision: String,
}

#[derive(Template)]
#[template(path = "participants.html")]
struct ParticipantsPage {
    f: Frame,
    rows: Vec<ParticipantRow>,
}

/// `/participants`: every participant with its status today and the decision behind it.
pub fn participants(lang: Lang, state: &State, today: Date) -> String {
    let mut rows: Vec<ParticipantRow> = state
        .participants()
        .map(|p| {
            let code = p.participant.code;
            let status = p.standing.at(today);
            let change = p.standing.change_at(today);
            ParticipantRow {
                code: code.as_str().to_owned(),
                href: with_lang(&format!("/participants/{code}"), &[], lang),
                name: country_name(lang, state, code),
                region: p.participant.region.clone(),
                status: status_words(lang.texts(), status),
                status_code: status.as_str(),
                class: status_class(status),
                since: change.map_or_else(String::new, |c| c.change.effective_on.to_string()),
                decision: change.map_or_else(String::new, |c| c.change.decision.reference.clone()),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    render(ParticipantsPage {
        f: frame(
            lang,
            Section::Participants,
            &Here {
                path: "/participants",
                keep: vec![],
            },
        ),
        rows,
    })
}

struct HistoryRow {
    effective: String,
    status: &'static str,
    status_code: &'static str,
    decision: String,
    index: u64,
}

#[derive(Template)]
#[template(path = "participant.html")]
struct ParticipantPage {
    f: Frame,
    code: String,
    name: String,
    status: &'static str,
    status_code: &'static str,
    class: &'static str,
    may_trade: &'static str,
    history: Vec<HistoryRow>,
    measures: Vec<String>,
    case_label: &'static str,
}

/// `/participants/{code}`: its standing today and its history of status changes; `None` for a
/// code that is not a registered participant.
pub fn participant(lang: Lang, state: &State, code: CountryCode, today: Date) -> Option<String> {
    let p = state.participant(code)?;
    let t = lang.texts();
    let status = p.standing.at(today);
    let trades = p.standing.bar_on(today).is_none();
    let path = format!("/participants/{code}");
    Some(render(ParticipantPage {
        f: frame(
            lang,
            Section::Participants,
            &Here {
                path: &path,
                keep: vec![],
            },
        ),
        code: code.as_str().to_owned(),
        name: country_name(lang, state, code),
        status: status_words(t, status),
        status_code: status.as_str(),
        class: status_class(status),
        may_trade: if trades { t.yes } else { t.no },
        history: p
            .standing
            .changes
            .iter()
            .map(|c| HistoryRow {
                effective: c.change.effective_on.to_string(),
                status: status_words(t, c.change.status),
                status_code: c.change.status.as_str(),
                decision: format!(
                    "{} ({}, {})",
                    c.change.decision.reference,
                    lang.word(body_word(c.change.decision.body)),
                    c.change.decision.decided_on
                ),
                index: c.index,
            })
            .collect(),
        measures: p
            .standing
            .measures_in_force(today)
            .map(|m| {
                format!(
                    "{}: {} ({}, {})",
                    lang.word(match m.measure.kind {
                        crate::domain::MeasureKind::Embargo => Word::Embargo,
                        crate::domain::MeasureKind::NationalSanctions => Word::NationalSanctions,
                    }),
                    m.measure.reference,
                    m.measure.imposed_by,
                    m.measure.from
                )
            })
            .collect(),
        case_label: lang.word(Word::CaseFile),
    }))
}

/// One cell of a statistics table: the raw exact figure (for machines and tests) and the
/// grouped one shown.
struct Cell {
    raw: String,
    shown: String,
}

struct StatRow {
    key: String,
    label: String,
    href: Option<String>,
    cells: Vec<Cell>,
}

struct YearLink {
    href: String,
    label: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    f: Frame,
    participant_name: Option<String>,
    years: Vec<YearLink>,
    first_column: &'static str,
    rows: Vec<StatRow>,
    total: Vec<Cell>,
    chart: String,
    chart_title: &'static str,
    csv_href: String,
    published_note: &'static str,
}

fn amount_cell(lang: Lang, h: Sum) -> Cell {
    let raw = h.to_string();
    Cell {
        shown: lang.group(&raw),
        raw,
    }
}

fn count_cell(lang: Lang, n: u64) -> Cell {
    Cell {
        raw: n.to_string(),
        shown: lang.group_int(n),
    }
}

/// The years the ledger holds statistics for, oldest first (from the years of issue, the
/// statistics' cells and the production reports: a few hundred keys a year).
pub fn years_with_data(state: &State) -> Vec<i64> {
    let mut years: std::collections::BTreeSet<i64> = state.years_issued().collect();
    for (k, _) in state.stats().cells() {
        years.insert(k.quarter.year);
    }
    for p in state.participants() {
        years.extend(p.production.iter().map(|r| r.report.year));
    }
    years.into_iter().collect()
}

/// `/statistics?year=Y`: the published annual totals per participant with a chart of exports;
/// with `participant`, that participant's published totals year by year. `published` holds
/// every published year with its figures, oldest first.
pub fn statistics(
    lang: Lang,
    state: &State,
    year: i64,
    participant: Option<CountryCode>,
    published: &[(i64, std::sync::Arc<crate::statistics::Published>)],
) -> String {
    let t = lang.texts();
    let mut keep = vec![];
    if let Some(p) = participant {
        keep.push(("participant", p.as_str().to_owned()));
    } else {
        keep.push(("year", year.to_string()));
    }
    let here = Here {
        path: "/statistics",
        keep,
    };
    let mut rows = Vec::new();
    let mut sums = [Sum::default(); 6];
    let mut counts = [0u64; 2];
    let mut bars = Vec::new();
    let mut push = |key: String,
                    label: String,
                    href: Option<String>,
                    prod: (Sum, Sum),
                    ex: Totals,
                    im: Totals| {
        if prod.0.is_zero() && ex.is_empty() && im.is_empty() {
            return;
        }
        let amounts = [
            prod.0,
            prod.1,
            ex.carats,
            ex.value_usd,
            im.carats,
            im.value_usd,
        ];
        for (s, a) in sums.iter_mut().zip(amounts) {
            *s = s.plus(a);
        }
        counts[0] += ex.certificates;
        counts[1] += im.certificates;
        bars.push((label.clone(), ex.carats));
        rows.push(StatRow {
            key,
            label,
            href,
            cells: vec![
                amount_cell(lang, prod.0),
                amount_cell(lang, prod.1),
                amount_cell(lang, ex.carats),
                amount_cell(lang, ex.value_usd),
                count_cell(lang, ex.certificates),
                amount_cell(lang, im.carats),
                amount_cell(lang, im.value_usd),
                count_cell(lang, im.certificates),
            ],
        });
    };
    match participant {
        None => {
            if let Some((_, flows)) = published.iter().find(|(y, _)| *y == year) {
                for p in state.participants() {
                    let code = p.participant.code;
                    let (ex, im) = flows.get(&code).copied().unwrap_or_default();
                    let produced = crate::domain::stats::year_production(&p.production, year);
                    push(
                        code.as_str().to_owned(),
                        country_name(lang, state, code),
                        Some(with_lang(
                            "/statistics",
                            &[("participant", code.as_str().to_owned())],
                            lang,
                        )),
                        (produced.carats, produced.value_usd),
                        ex,
                        im,
                    );
                }
            }
        }
        Some(code) => {
            let records = state
                .participant(code)
                .map_or(&[][..], |p| &p.production[..]);
            for (y, flows) in published {
                let (ex, im) = flows.get(&code).copied().unwrap_or_default();
                let produced = crate::domain::stats::year_production(records, *y);
                push(
                    y.to_string(),
                    y.to_string(),
                    Some(with_lang("/statistics", &[("year", y.to_string())], lang)),
                    (produced.carats, produced.value_usd),
                    ex,
                    im,
                );
            }
        }
    }
    let total = vec![
        amount_cell(lang, sums[0]),
        amount_cell(lang, sums[1]),
        amount_cell(lang, sums[2]),
        amount_cell(lang, sums[3]),
        count_cell(lang, counts[0]),
        amount_cell(lang, sums[4]),
        amount_cell(lang, sums[5]),
        count_cell(lang, counts[1]),
    ];
    bars.retain(|(_, v)| !v.is_zero());
    if participant.is_none() {
        // The fifteen largest exporters of the year.
        bars.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        bars.truncate(15);
    } else {
        // The participant's fifteen latest years, oldest first.
        let skip = bars.len().saturating_sub(15);
        bars.drain(..skip);
    }
    let chart = bar_chart(lang, &bars);
    render(StatisticsPage {
        f: frame(lang, Section::Statistics, &here),
        participant_name: participant.map(|c| country_name(lang, state, c)),
        years: published
            .iter()
            .map(|(y, _)| YearLink {
                href: with_lang("/statistics", &[("year", y.to_string())], lang),
                label: y.to_string(),
                current: *y == year,
            })
            .collect(),
        first_column: if participant.is_some() {
            t.year
        } else {
            t.participant
        },
        rows,
        total,
        chart,
        chart_title: if participant.is_some() {
            t.chart_years
        } else {
            t.chart_exports
        },
        csv_href: match participant {
            None => format!("/v1/statistics/open-data?year={year}"),
            Some(c) => format!("/v1/statistics?participant={c}&format=csv"),
        },
        published_note: lang.word(Word::PublishedNote),
    })
}

/// Escapes text for SVG (XML) content and attributes.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A horizontal bar chart of carats, labels escaped, mirrored for a right-to-left language.
fn bar_chart(lang: Lang, bars: &[(String, Sum)]) -> String {
    let max = bars
        .iter()
        .map(|b| b.1.hundredths())
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, label_w, row_h) = (640u64, 190u64, 22u64);
    let bar_w = width - label_w - 110;
    let height = row_h * bars.len() as u64 + 8;
    let rtl = lang.dir() == "rtl";
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" direction=\"ltr\">"
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 4 + row_h * i as u64;
        let w = (value.hundredths() * u128::from(bar_w) / max).max(1) as u64;
        let shown = xml_escape(&lang.group(&format!("{}", value.hundredths() / 100)));
        let label = xml_escape(label);
        // Right to left: labels on the right, bars growing leftwards. Coordinates stay
        // left to right (the root says so); the label's bidi order is the text's own.
        let (label_x, bar_x, value_x, value_anchor) = if rtl {
            (
                width - 4,
                width - label_w - w,
                width - label_w - w - 4,
                "end",
            )
        } else {
            (label_w - 6, label_w, label_w + w + 4, "start")
        };
        out.push_str(&format!(
            "<text x=\"{label_x}\" y=\"{ty}\" text-anchor=\"end\">{label}</text><rect x=\"{bar_x}\" y=\"{y}\" width=\"{w}\" height=\"{bh}\" fill=\"#2a6f97\"/><text x=\"{value_x}\" y=\"{ty}\" text-anchor=\"{value_anchor}\">{shown}</text>",
            ty = y + 14,
            bh = row_h - 6,
        ));
    }
    out.push_str("</svg>");
    out
}

struct Audit {
    when: String,
    who: String,
    size: String,
    level: String,
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    f: Frame,
    size: String,
    origin: String,
    root: String,
    signed_at: String,
    audit: Option<Audit>,
    base: String,
}

/// The latest recorded audit of the ledger: when, by whom, the size audited and its level.
pub struct LastAudit {
    pub time_ms: u64,
    pub actor: String,
    pub size: u64,
    pub level: String,
}

/// `/ledger`: size, latest checkpoint, and the last recorded audit.
pub fn ledger(
    lang: Lang,
    state: &State,
    checkpoint: &crate::tlog::Checkpoint,
    last_audit: Option<LastAudit>,
    base: &str,
) -> String {
    render(LedgerPage {
        f: frame(
            lang,
            Section::Ledger,
            &Here {
                path: "/ledger",
                keep: vec![],
            },
        ),
        size: lang.group_int(checkpoint.size),
        origin: checkpoint.origin.clone(),
        root: crate::codec::text::base64(&checkpoint.root),
        signed_at: if state.size() > 0 {
            format_unix_ms(state.last_time_ms())
        } else {
            String::new()
        },
        audit: last_audit.map(|a| Audit {
            when: format_unix_ms(a.time_ms),
            who: a.actor,
            size: lang.group_int(a.size),
            level: lang
                .word(if a.level == "full" {
                    Word::AuditFull
                } else {
                    Word::AuditPublic
                })
                .to_owned(),
        }),
        base: base.to_owned(),
    })
}

struct Link {
    href: String,
    text: String,
}

struct FieldRow {
    label: &'static str,
    lines: Vec<String>,
    link: Option<Link>,
}

struct VerdictBox {
    code: &'static str,
    headline: &'static str,
    advice: &'static str,
    colour: &'static str,
    reasons: Vec<String>,
    rows: Vec<FieldRow>,
    checked: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    f: Frame,
    verdict: Option<VerdictBox>,
    number: String,
}

fn verdict_texts(t: &Texts, v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Valid => (t.verdict_valid, t.verdict_valid_advice),
        Verdict::IssuerSuspended => (
            t.verdict_issuer_suspended,
            t.verdict_issuer_suspended_advice,
        ),
        Verdict::Void => (t.verdict_void, t.verdict_void_advice),
        Verdict::Imported => (t.verdict_imported, t.verdict_imported_advice),
        Verdict::Expired => (t.verdict_expired, t.verdict_expired_advice),
        Verdict::Forged => (t.verdict_forged, t.verdict_forged_advice),
        Verdict::KeyRevoked => (t.verdict_key_revoked, t.verdict_key_revoked_advice),
        Verdict::NotInLedger => (t.verdict_not_in_ledger, t.verdict_not_in_ledger_advice),
        Verdict::Malformed => (t.verdict_malformed, t.verdict_malformed_advice),
        Verdict::Unknown => (t.verdict_unknown, t.verdict_unknown_advice),
    }
}

/// What the verification page was asked about.
pub enum Asked<'a> {
    /// Nothing yet: the form only.
    Nothing,
    /// A number typed: the verdict and the public facts (no trade data: anyone can type a
    /// number).
    Number(&'a str, &'a OnlineVerification),
    /// A scanned seal: the verdict and the fields the seal itself carries, to compare with the
    /// paper (whoever holds the QR holds them).
    Seal(&'a str, &'a OnlineVerification),
}

/// `/verify` and `/S/{seal}`: the verdict in large words, in the officer's language.
pub fn verify(lang: Lang, state: &State, asked: Asked<'_>, checked_ms: u64) -> String {
    let t = lang.texts();
    let (path, keep, number, v, seal) = match &asked {
        Asked::Nothing => ("/verify".to_owned(), vec![], String::new(), None, false),
        Asked::Number(n, v) => (
            "/verify".to_owned(),
            vec![("number", (*n).to_owned())],
            (*n).to_owned(),
            Some(*v),
            false,
        ),
        Asked::Seal(s, v) => (
            format!("/S/{}", percent(s)),
            vec![],
            String::new(),
            Some(*v),
            true,
        ),
    };
    let verdict = v.map(|v| {
        let (headline, advice) = verdict_texts(t, v.verdict);
        let mut rows = Vec::new();
        let mut row = |label, lines: Vec<String>| {
            rows.push(FieldRow {
                label,
                lines,
                link: None,
            })
        };
        if let Some(c) = &v.claims {
            row(t.certificate, vec![c.number().to_string()]);
            row(
                t.issued_by,
                vec![format!(
                    "{} ({}, {})",
                    country_name(lang, state, c.participant),
                    c.participant,
                    c.authority_id
                )],
            );
            if seal {
                row(t.exporter, vec![c.exporter_name.clone()]);
                row(t.importer, vec![c.importer_name.clone()]);
            }
            if seal {
                row(
                    t.destination,
                    vec![format!(
                        "{} ({})",
                        country_name(lang, state, c.destination),
                        c.destination
                    )],
                );
                let (mixed, list) = c.origin.mixed_and_countries();
                let names: Vec<String> =
                    list.iter().map(|o| country_name(lang, state, *o)).collect();
                let origin = match (mixed, names.is_empty()) {
                    (false, _) => names.join(", "),
                    (true, true) => format!(
                        "{} ({})",
                        lang.word(Word::Mixed),
                        lang.word(Word::NotStated)
                    ),
                    (true, false) => format!("{}: {}", lang.word(Word::Mixed), names.join(", ")),
                };
                row(t.origin, vec![origin]);
                row(t.parcels, vec![lang.group_int(u64::from(c.parcels))]);
                row(
                    t.goods,
                    c.items
                        .iter()
                        .map(|i| {
                            format!(
                                "{}: {} ct, US$ {}",
                                i.hs_code.as_str(),
                                lang.group(&i.carats.to_string()),
                                lang.group(&i.value_usd.to_string())
                            )
                        })
                        .collect(),
                );
            }
            row(t.issued_on, vec![c.issued_on.to_string()]);
            row(t.expires_on, vec![c.expires_on.to_string()]);
        }
        if let Some(index) = v.entry_index {
            row(
                t.ledger_entry,
                vec![format!(
                    "{} / {}",
                    lang.group_int(index),
                    lang.group_int(state.size())
                )],
            );
        }
        if let Some(i) = &v.life.imported {
            row(
                t.imported_on,
                vec![format!(
                    "{} ({}, #{})",
                    i.received_on, i.authority_id, i.entry_index
                )],
            );
        }
        if let Some(x) = &v.life.void {
            rows.push(FieldRow {
                label: t.void_since,
                lines: vec![format!(
                    "{} ({}): {}",
                    x.on,
                    x.authority_id,
                    x.reason.as_deref().unwrap_or("")
                )],
                link: x.replaced_by.as_ref().map(|n| Link {
                    href: with_lang("/verify", &[("number", n.as_str().to_owned())], lang),
                    text: n.as_str().to_owned(),
                }),
            });
        }
        VerdictBox {
            code: v.verdict.as_str(),
            headline,
            advice,
            colour: crate::views::verdict_words(v.verdict).1,
            reasons: v.reasons.clone(),
            rows,
            checked: format_unix_ms(checked_ms),
        }
    });
    render(VerifyPage {
        f: frame(lang, Section::Verify, &Here { path: &path, keep }),
        verdict,
        number,
    })
}

struct DocumentRow {
    title: String,
    kind: &'static str,
    date: String,
    participants: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    f: Frame,
    rows: Vec<DocumentRow>,
}

/// `/documents`: the public documents of the institutional memory, newest first.
pub fn documents(lang: Lang, state: &State) -> String {
    let mut list: Vec<_> = state
        .documents()
        .filter(|d| d.document.confidentiality == Confidentiality::Public)
        .collect();
    list.sort_by(|a, b| {
        b.document
            .dated
            .cmp(&a.document.dated)
            .then(b.index.cmp(&a.index))
    });
    render(DocumentsPage {
        f: frame(
            lang,
            Section::Documents,
            &Here {
                path: "/documents",
                keep: vec![],
            },
        ),
        rows: list
            .into_iter()
            .map(|d| DocumentRow {
                title: d.document.title.clone(),
                kind: lang.word(match d.document.kind {
                    DocumentKind::Decision => Word::DocDecision,
                    DocumentKind::Minutes => Word::DocMinutes,
                    DocumentKind::Report => Word::DocReport,
                    DocumentKind::VisitReport => Word::DocVisitReport,
                    DocumentKind::MonitoringReport => Word::DocMonitoringReport,
                    DocumentKind::Evidence => Word::DocEvidence,
                    DocumentKind::Other => Word::DocOther,
                }),
                date: d.document.dated.to_string(),
                participants: d
                    .document
                    .participants
                    .iter()
                    .map(|c| country_name(lang, state, *c))
                    .collect::<Vec<_>>()
                    .join(", "),
                hash: crate::codec::text::hex(&d.document.hash),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "reconciliation.html")]
struct ReconciliationPage<'a> {
    f: Frame,
    period: &'a str,
    as_of: &'a str,
    size: u64,
    flags: &'a [crate::statistics::FlagView],
    mirror: &'a [crate::statistics::MirrorView],
}

/// `/reconciliation?period=P`: the mirror and the flags, for the Secretariat and monitors.
pub fn reconciliation(lang: Lang, view: &ReconciliationView) -> String {
    render(ReconciliationPage {
        f: frame(
            lang,
            Section::None,
            &Here {
                path: "/reconciliation",
                keep: vec![("period", view.period.clone())],
            },
        ),
        period: &view.period,
        as_of: &view.as_of,
        size: view.ledger_size,
        flags: &view.flags,
        mirror: &view.mirror,
    })
}
