//! The statistics and reconciliation answers (api/statistics.md), shared by the HTTP routes, the
//! portal and `kpcert audit --stats`: one producer of each document, so the figures the service
//! keeps incrementally and the ones an auditor recomputes from an export compare byte for byte.
//!
//! JSON through serde, CSV written here (RFC 4180: every field is a code, a period, a number or
//! a fixed word, none needs quoting; participant names are quoted).

use serde::Serialize;

use crate::domain::stats::{
    production_in_force, reconcile, Flag, Granularity, MirrorRow, Period, Query, Reconciliation,
    Row, Sum, Totals,
};
use crate::domain::Hundredths;
use crate::domain::{CountryCode, Date, State};

/// The JSON of a statistics answer.
#[derive(Serialize)]
pub struct StatisticsView {
    /// The ledger size the figures are as of.
    pub ledger_size: u64,
    pub period: &'static str,
    pub detail: bool,
    pub participant: Option<String>,
    pub flow: Option<&'static str>,
    pub from: i64,
    pub to: i64,
    pub rows: Vec<RowView>,
    pub production: Vec<ProductionRow>,
}

/// One statistics row.
#[derive(Serialize)]
pub struct RowView {
    pub participant: String,
    pub period: String,
    pub flow: &'static str,
    /// `null` on the line that counts all HS codes (a certificate counts once).
    pub hs_code: Option<&'static str>,
    /// The destination of exports, the exporting participant of imports (detail only).
    pub partner: Option<String>,
    pub carats: String,
    pub value_usd: String,
    pub certificates: u64,
}

/// Declared production of a participant for a period (the reports in force).
#[derive(Serialize, Clone)]
pub struct ProductionRow {
    pub participant: String,
    pub period: String,
    pub carats: String,
    pub value_usd: String,
    /// Stock at the end of the latest half reported in the period.
    pub stock_carats: String,
    /// Halves reported in the period.
    pub halves: u8,
}

fn row_view(r: &Row) -> RowView {
    RowView {
        participant: r.participant.as_str().to_owned(),
        period: r.period.to_string(),
        flow: r.flow.as_str(),
        hs_code: r.hs.map(|h| h.as_str()),
        partner: r.partner.map(|p| p.as_str().to_owned()),
        carats: r.totals.carats.to_string(),
        value_usd: r.totals.value_usd.to_string(),
        certificates: r.totals.certificates,
    }
}

/// The production reports in force, per participant and period of the query's granularity
/// (halves for quarters: production is reported semi-annually).
pub fn production_rows(state: &State, q: &Query) -> Vec<ProductionRow> {
    let mut out = Vec::new();
    for p in state.participants() {
        if q.participant.is_some_and(|c| c != p.participant.code) {
            continue;
        }
        // Per period: carats, value, the closing stock of its latest half, halves reported.
        let mut grouped: std::collections::BTreeMap<Period, (Sum, Sum, Hundredths, u8)> =
            Default::default();
        for ((year, _), r) in production_in_force(&p.production) {
            if year < q.from_year || year > q.to_year {
                continue;
            }
            let period = match q.granularity {
                Granularity::Year => Period::year(year),
                _ => r.report.period(),
            };
            let e = grouped.entry(period).or_default();
            e.0 = e.0.plus(r.report.carats.into());
            e.1 = e.1.plus(r.report.value_usd.into());
            e.2 = r.report.stock_carats;
            e.3 += 1;
        }
        out.extend(
            grouped
                .into_iter()
                .map(|(period, (carats, value, stock, halves))| ProductionRow {
                    participant: p.participant.code.as_str().to_owned(),
                    period: period.to_string(),
                    carats: carats.to_string(),
                    value_usd: value.to_string(),
                    stock_carats: stock.to_string(),
                    halves,
                }),
        );
    }
    out
}

/// The public statistics answer: annual totals of the published years in the query's range
/// (`years`, each with its published figures), never the live ones.
pub fn published_statistics(
    state: &State,
    q: &Query,
    years: &[(i64, std::sync::Arc<Published>)],
) -> StatisticsView {
    let mut rows = Vec::new();
    for (year, flows) in years {
        for (participant, (ex, im)) in flows.iter() {
            if q.participant.is_some_and(|p| p != *participant) {
                continue;
            }
            for (flow, t) in [
                (crate::domain::stats::Flow::Export, ex),
                (crate::domain::stats::Flow::Import, im),
            ] {
                if t.is_empty() || q.flow.is_some_and(|f| f != flow) {
                    continue;
                }
                rows.push(Row {
                    participant: *participant,
                    period: Period::year(*year),
                    flow,
                    hs: None,
                    partner: None,
                    totals: *t,
                });
            }
        }
    }
    rows.sort_by_key(|r| (r.participant, r.period, r.flow));
    view(state, q, &rows)
}

/// The answer to `q` with `rows`.
fn view(state: &State, q: &Query, rows: &[Row]) -> StatisticsView {
    StatisticsView {
        ledger_size: state.size(),
        period: q.granularity.as_str(),
        detail: q.detail,
        participant: q.participant.map(|p| p.as_str().to_owned()),
        flow: q.flow.map(|f| f.as_str()),
        from: q.from_year,
        to: q.to_year,
        rows: rows.iter().map(row_view).collect(),
        production: production_rows(state, q),
    }
}

/// The statistics answer to `q` from `state`.
pub fn statistics(state: &State, q: &Query) -> StatisticsView {
    view(state, q, &state.stats().rows(q))
}

/// The complete statistics document: every quarter, by HS code and partner, with production
/// by half. What `kpcert audit --stats` writes and what
/// `GET /v1/statistics?period=quarter&detail=true` answers the Secretariat, byte for byte.
pub fn complete_query() -> Query {
    Query {
        participant: None,
        flow: None,
        from_year: crate::domain::stats::FIRST_YEAR,
        to_year: 9999,
        granularity: Granularity::Quarter,
        detail: true,
    }
}

/// The JSON bytes of a statistics answer (pretty-printed, ending with a newline).
pub fn statistics_json(view: &StatisticsView) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(view).expect("serialisable");
    out.push(b'\n');
    out
}

/// The CSV of a statistics answer: rows, then production lines with flow `production`.
pub fn statistics_csv(view: &StatisticsView) -> String {
    let mut out =
        String::from("participant,period,flow,hs_code,partner,carats,value_usd,certificates\r\n");
    for r in &view.rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            r.participant,
            r.period,
            r.flow,
            r.hs_code.unwrap_or("all"),
            r.partner.as_deref().unwrap_or(""),
            r.carats,
            r.value_usd,
            r.certificates
        ));
    }
    for p in &view.production {
        out.push_str(&format!(
            "{},{},production,all,,{},{},\r\n",
            p.participant, p.period, p.carats, p.value_usd
        ));
    }
    out
}

/// One participant's line of the yearly open-data table.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct OpenDataRow {
    pub participant: String,
    pub name: String,
    pub production_carats: String,
    pub production_usd: String,
    pub export_carats: String,
    pub export_usd: String,
    pub export_certificates: u64,
    pub import_carats: String,
    pub import_usd: String,
    pub import_certificates: u64,
}

/// A year's published exports and imports per participant ([`crate::domain::stats::published_year`]).
pub type Published = std::collections::BTreeMap<CountryCode, (Totals, Totals)>;

/// The public annual table of `year` from its published figures: every registered participant
/// (trading entities included), with its declared production, exports and imports.
pub fn open_data(state: &State, year: i64, flows: &Published) -> Vec<OpenDataRow> {
    state
        .participants()
        .map(|p| {
            let code = p.participant.code;
            let (ex, im) = flows.get(&code).copied().unwrap_or_default();
            let produced = crate::domain::stats::year_production(&p.production, year);
            OpenDataRow {
                participant: code.as_str().to_owned(),
                name: p.participant.name.clone(),
                production_carats: produced.carats.to_string(),
                production_usd: produced.value_usd.to_string(),
                export_carats: ex.carats.to_string(),
                export_usd: ex.value_usd.to_string(),
                export_certificates: ex.certificates,
                import_carats: im.carats.to_string(),
                import_usd: im.value_usd.to_string(),
                import_certificates: im.certificates,
            }
        })
        .collect()
}

/// The open-data table as CSV.
pub fn open_data_csv(rows: &[OpenDataRow]) -> String {
    let mut out = String::from("participant,name,production_carats,production_usd,export_carats,export_usd,export_certificates,import_carats,import_usd,import_certificates\r\n");
    for r in rows {
        out.push_str(&format!(
            "{},\"{}\",{},{},{},{},{},{},{},{}\r\n",
            r.participant,
            r.name.replace('"', "\"\""),
            r.production_carats,
            r.production_usd,
            r.export_carats,
            r.export_usd,
            r.export_certificates,
            r.import_carats,
            r.import_usd,
            r.import_certificates
        ));
    }
    out
}

/// Totals as the reconciliation shows them.
#[derive(Serialize)]
pub struct TotalsView {
    pub carats: String,
    pub value_usd: String,
    pub certificates: u64,
}

impl TotalsView {
    fn of(t: Totals) -> TotalsView {
        TotalsView {
            carats: t.carats.to_string(),
            value_usd: t.value_usd.to_string(),
            certificates: t.certificates,
        }
    }
}

/// One exporter-destination pair of the mirror.
#[derive(Serialize)]
pub struct MirrorView {
    pub exporter: String,
    pub destination: String,
    /// Certificates issued in the period and not void.
    pub issued: TotalsView,
    /// Those of them the destination confirmed (declared carats and value).
    pub confirmed: TotalsView,
    /// Carats the destination recorded as received.
    pub received_carats: String,
    /// Issued and not confirmed.
    pub unconfirmed: TotalsView,
    /// Received less declared on the confirmed certificates (signed decimal).
    pub received_difference: String,
}

fn signed_hundredths(h: i128) -> String {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn mirror_view(m: &MirrorRow) -> MirrorView {
    MirrorView {
        exporter: m.exporter.as_str().to_owned(),
        destination: m.destination.as_str().to_owned(),
        issued: TotalsView::of(m.totals.issued),
        confirmed: TotalsView::of(m.totals.confirmed),
        received_carats: m.totals.received_carats.to_string(),
        unconfirmed: TotalsView::of(m.unconfirmed()),
        received_difference: signed_hundredths(m.received_difference()),
    }
}

/// An anomaly flag.
#[derive(Serialize)]
pub struct FlagView {
    pub kind: &'static str,
    pub participant: String,
    pub partner: Option<String>,
    pub period: String,
    pub reason: String,
    pub certificates: Vec<String>,
}

fn flag_view(f: &Flag) -> FlagView {
    FlagView {
        kind: f.kind.as_str(),
        participant: f.participant.as_str().to_owned(),
        partner: f.partner.map(|p| p.as_str().to_owned()),
        period: f.period.to_string(),
        reason: f.reason.clone(),
        certificates: f
            .certificates
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect(),
    }
}

/// The JSON of a reconciliation.
#[derive(Serialize)]
pub struct ReconciliationView {
    pub ledger_size: u64,
    pub period: String,
    pub as_of: String,
    pub thresholds: Thresholds,
    pub mirror: Vec<MirrorView>,
    pub flags: Vec<FlagView>,
}

/// The documented thresholds of the pattern-change flag.
#[derive(Serialize)]
pub struct Thresholds {
    pub pattern_factor: u64,
    pub pattern_min_quarter: u64,
    pub pattern_min_baseline: u64,
}

/// The reconciliation of `period` as of `today`.
pub fn reconciliation(state: &State, period: Period, today: Date) -> ReconciliationView {
    let r: Reconciliation = reconcile(state, period, today);
    ReconciliationView {
        ledger_size: state.size(),
        period: r.period.to_string(),
        as_of: r.today.to_string(),
        thresholds: Thresholds {
            pattern_factor: crate::domain::stats::PATTERN_FACTOR,
            pattern_min_quarter: crate::domain::stats::PATTERN_MIN_QUARTER,
            pattern_min_baseline: crate::domain::stats::PATTERN_MIN_BASELINE,
        },
        mirror: r.mirror.iter().map(mirror_view).collect(),
        flags: r.flags.iter().map(flag_view).collect(),
    }
}
