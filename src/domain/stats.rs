//! Trade statistics (KPCS Annex III), declared production, mirror reconciliation and the anomaly
//! flags that find laundering through genuine certificates.
//!
//! The ledger state keeps [`Stats`] up to date as it applies each entry (one fold, so the service,
//! the audit and `kpcert audit --stats` cannot disagree): a certificate adds its items to its
//! issuer's exports in the quarter of its date of issue, an import confirmation adds what arrived
//! to the importer's imports in the quarter of its arrival, and a void takes the certificate's
//! exports back out. Queries sum quarters into half-years and years; they never read the ledger.
//! Everything is exact: amounts are integer hundredths, ratios are compared by cross-multiplying.
//!
//! Reconciliation ([`reconcile`]) compares each exporter's certificates with the confirmations of
//! their destination and raises the flags api/statistics.md defines, each with the certificate
//! numbers behind it.

use std::collections::BTreeMap;
use std::fmt;

use imbl::OrdMap;

use super::amount::Hundredths;
use super::certificate::{CertificateNumber, HsCode, Problem};
use super::country::CountryCode;
use super::date::Date;
use super::state::{CertificateLife, State};

/// The first year of the KPCS (certificates and statistics begin in 2003).
pub const FIRST_YEAR: i64 = 2003;

/// A pattern change is flagged when carats per certificate or value per carat in a quarter is at
/// least this many times (or at most one over this many times) that of the four quarters before.
pub const PATTERN_FACTOR: u64 = 3;
/// Fewest certificates in the quarter for a pattern change to be judged.
pub const PATTERN_MIN_QUARTER: u64 = 5;
/// Fewest certificates in the four quarters before for a pattern change to be judged.
pub const PATTERN_MIN_BASELINE: u64 = 10;

/// Direction of trade, from the participant's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    Export,
    Import,
}

impl Flow {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Export => "export",
            Flow::Import => "import",
        }
    }

    /// Parses the API string.
    pub fn parse(s: &str) -> Option<Flow> {
        match s {
            "export" => Some(Flow::Export),
            "import" => Some(Flow::Import),
            _ => None,
        }
    }
}

/// A calendar quarter: the unit statistics are kept in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i64,
    /// 1 to 4.
    pub q: u8,
}

impl Quarter {
    /// The quarter a date falls in.
    pub fn of(day: Date) -> Quarter {
        Quarter {
            year: day.year(),
            q: ((day.month() - 1) / 3 + 1) as u8,
        }
    }

    /// The quarter before.
    pub fn previous(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }
}

/// How finely a query groups quarters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Granularity {
    Quarter,
    Half,
    Year,
}

impl Granularity {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Quarter => "quarter",
            Granularity::Half => "half",
            Granularity::Year => "year",
        }
    }

    /// Parses the API string.
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "quarter" => Some(Granularity::Quarter),
            "half" => Some(Granularity::Half),
            "year" => Some(Granularity::Year),
            _ => None,
        }
    }
}

/// A reporting period: a quarter, a half-year or a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i64,
    pub granularity: Granularity,
    /// The quarter (1-4) or half (1-2); 0 for a year.
    pub part: u8,
}

impl Period {
    /// The whole year `year`.
    pub fn year(year: i64) -> Period {
        Period {
            year,
            granularity: Granularity::Year,
            part: 0,
        }
    }

    /// The period of `granularity` that holds quarter `q`.
    pub fn of_quarter(q: Quarter, granularity: Granularity) -> Period {
        let part = match granularity {
            Granularity::Quarter => q.q,
            Granularity::Half => q.q.div_ceil(2),
            Granularity::Year => 0,
        };
        Period {
            year: q.year,
            granularity,
            part,
        }
    }

    /// Parses `2025`, `2025-H1`, `2025-Q3` (years from [`FIRST_YEAR`] to 9999).
    pub fn parse(s: &str) -> Option<Period> {
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i64 = year.parse().ok()?;
        if year < FIRST_YEAR {
            return None;
        }
        match rest {
            None => Some(Period::year(year)),
            Some(r) => {
                let (granularity, max) = match r.as_bytes().first()? {
                    b'Q' => (Granularity::Quarter, 4),
                    b'H' => (Granularity::Half, 2),
                    _ => return None,
                };
                let part = match &r.as_bytes()[1..] {
                    [d @ b'1'..=b'9'] => d - b'0',
                    _ => return None,
                };
                (part <= max).then_some(Period {
                    year,
                    granularity,
                    part,
                })
            }
        }
    }

    /// The quarters the period covers, first to last.
    pub fn quarters(self) -> (Quarter, Quarter) {
        let (first, last) = match self.granularity {
            Granularity::Quarter => (self.part, self.part),
            Granularity::Half => (self.part * 2 - 1, self.part * 2),
            Granularity::Year => (1, 4),
        };
        (
            Quarter {
                year: self.year,
                q: first,
            },
            Quarter {
                year: self.year,
                q: last,
            },
        )
    }

    /// Whether the period holds `day`.
    pub fn contains(self, day: Date) -> bool {
        let (first, last) = self.quarters();
        (first..=last).contains(&Quarter::of(day))
    }

    /// Its last day.
    pub fn last_day(self) -> Date {
        let (_, last) = self.quarters();
        let month = u32::from(last.q) * 3;
        let day = if month == 6 || month == 9 { 30 } else { 31 };
        Date::from_ymd(self.year, month, day).expect("a quarter's last day")
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.granularity {
            Granularity::Year => write!(f, "{}", self.year),
            Granularity::Half => write!(f, "{}-H{}", self.year, self.part),
            Granularity::Quarter => write!(f, "{}-Q{}", self.year, self.part),
        }
    }
}

/// An exact sum of amounts, in hundredths, wide enough never to overflow: a certificate's
/// lines may each come close to [`super::amount::MAX_UNITS`], and sums of sums must neither
/// panic nor saturate (a saturated sum would differ from a recomputation after a void).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sum(u128);

impl Sum {
    /// The count of hundredths.
    pub fn hundredths(self) -> u128 {
        self.0
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The sum (saturating at 2^128 hundredths, which no ledger can reach).
    pub fn plus(self, o: Sum) -> Sum {
        Sum(self.0.saturating_add(o.0))
    }

    /// The difference, never below zero.
    pub fn minus(self, o: Sum) -> Sum {
        Sum(self.0.saturating_sub(o.0))
    }
}

impl From<Hundredths> for Sum {
    fn from(h: Hundredths) -> Sum {
        Sum(u128::from(h.hundredths()))
    }
}

impl fmt::Display for Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Carats, US dollars and certificates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub carats: Sum,
    pub value_usd: Sum,
    pub certificates: u64,
}

impl Totals {
    fn of(carats: impl Into<Sum>, value_usd: impl Into<Sum>) -> Totals {
        Totals {
            carats: carats.into(),
            value_usd: value_usd.into(),
            certificates: 1,
        }
    }

    /// The sum.
    pub fn plus(self, o: Totals) -> Totals {
        Totals {
            carats: add(self.carats, o.carats),
            value_usd: add(self.value_usd, o.value_usd),
            certificates: self.certificates + o.certificates,
        }
    }

    fn minus(self, o: Totals) -> Totals {
        Totals {
            carats: sub(self.carats, o.carats),
            value_usd: sub(self.value_usd, o.value_usd),
            certificates: self.certificates.saturating_sub(o.certificates),
        }
    }

    /// Whether it counts nothing.
    pub fn is_empty(&self) -> bool {
        self.certificates == 0 && self.carats.is_zero() && self.value_usd.is_zero()
    }
}

fn add(a: Sum, b: impl Into<Sum>) -> Sum {
    a.plus(b.into())
}

fn sub(a: Sum, b: Sum) -> Sum {
    a.minus(b)
}

/// Where a statistic is kept: participant, quarter, flow, HS code (`None`: all codes, where a
/// certificate counts once) and partner (the destination of an export, the exporting
/// participant of an import).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub participant: CountryCode,
    pub quarter: Quarter,
    pub flow: Flow,
    pub hs: Option<HsCode>,
    pub partner: CountryCode,
}

/// Where a mirror figure is kept: exporter, destination and the quarter of issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MirrorKey {
    pub exporter: CountryCode,
    pub destination: CountryCode,
    pub quarter: Quarter,
}

/// Both sides of a mirror cell: the certificates issued (not void), the ones of them the
/// destination confirmed (with their declared carats and value), and the carats it received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MirrorTotals {
    pub issued: Totals,
    pub confirmed: Totals,
    pub received_carats: Sum,
}

/// The statistics the ledger state keeps, by quarter: persistent maps, cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    cells: OrdMap<CellKey, Totals>,
    mirror: OrdMap<MirrorKey, MirrorTotals>,
}

fn bump<K: Ord + Clone>(map: &mut OrdMap<K, Totals>, key: K, t: Totals, remove: bool) {
    let old = map.get(&key).copied().unwrap_or_default();
    let new = if remove { old.minus(t) } else { old.plus(t) };
    if new.is_empty() {
        map.remove(&key);
    } else {
        map.insert(key, new);
    }
}

impl Stats {
    /// Adds (or, `remove`, takes back) the exports of an issued certificate, from what its
    /// life records. Lives without their full record (a public replay) count nothing.
    pub fn export(&mut self, number: &CertificateNumber, life: &CertificateLife, remove: bool) {
        let Some(f) = &life.facts else {
            return;
        };
        let participant = number.participant();
        let quarter = Quarter::of(life.issued_on);
        let (mut carats_all, mut value_all) = (Sum::default(), Sum::default());
        for (&(hs, carats), &value) in f.shipment.lines.iter().zip(&f.values) {
            let line = Totals::of(carats, value);
            carats_all = add(carats_all, carats);
            value_all = add(value_all, value);
            let key = CellKey {
                participant,
                quarter,
                flow: Flow::Export,
                hs: Some(hs),
                partner: f.destination,
            };
            bump(&mut self.cells, key, line, remove);
        }
        let all = Totals::of(carats_all, value_all);
        let key = CellKey {
            participant,
            quarter,
            flow: Flow::Export,
            hs: None,
            partner: f.destination,
        };
        bump(&mut self.cells, key, all, remove);
        let key = MirrorKey {
            exporter: participant,
            destination: f.destination,
            quarter,
        };
        let mut m = self.mirror.get(&key).copied().unwrap_or_default();
        m.issued = if remove {
            m.issued.minus(all)
        } else {
            m.issued.plus(all)
        };
        self.put_mirror(key, m);
    }

    /// Adds the import its confirmation records: what arrived, by HS code, in the quarter of
    /// arrival, valued at the certificate's declared value for that code. Confirmations without
    /// their full record count nothing.
    pub fn import(&mut self, number: &CertificateNumber, life: &CertificateLife) {
        let (Some(f), Some(c)) = (&life.facts, &life.confirmed) else {
            return;
        };
        let Some(received) = c.carats else {
            return;
        };
        let quarter = Quarter::of(c.received_on);
        let exporter = number.participant();
        let mut value = Sum::default();
        for &(hs, carats) in &c.lines {
            let v = declared_value(f, hs);
            value = add(value, v);
            let key = CellKey {
                participant: f.destination,
                quarter,
                flow: Flow::Import,
                hs: Some(hs),
                partner: exporter,
            };
            bump(&mut self.cells, key, Totals::of(carats, v), false);
        }
        let key = CellKey {
            participant: f.destination,
            quarter,
            flow: Flow::Import,
            hs: None,
            partner: exporter,
        };
        bump(&mut self.cells, key, Totals::of(received, value), false);
        let key = MirrorKey {
            exporter,
            destination: f.destination,
            quarter: Quarter::of(life.issued_on),
        };
        let mut m = self.mirror.get(&key).copied().unwrap_or_default();
        let declared = f
            .shipment
            .lines
            .iter()
            .fold(Sum::default(), |s, (_, c)| add(s, *c));
        let declared_value = f.values.iter().fold(Sum::default(), |s, v| add(s, *v));
        m.confirmed = m.confirmed.plus(Totals::of(declared, declared_value));
        m.received_carats = add(m.received_carats, received);
        self.put_mirror(key, m);
    }

    fn put_mirror(&mut self, key: MirrorKey, m: MirrorTotals) {
        if m.issued.is_empty() && m.confirmed.is_empty() && m.received_carats.is_zero() {
            self.mirror.remove(&key);
        } else {
            self.mirror.insert(key, m);
        }
    }

    /// The statistics of a set of certificate lives, as a fresh fold would keep them.
    pub fn of_lives<'a>(
        lives: impl IntoIterator<Item = (&'a CertificateNumber, &'a CertificateLife)>,
    ) -> Stats {
        let mut stats = Stats::default();
        for (number, life) in lives {
            if life.voided.is_none() {
                stats.export(number, life, false);
            }
            stats.import(number, life);
        }
        stats
    }

    /// Every quarterly cell, in key order.
    pub fn cells(&self) -> impl Iterator<Item = (&CellKey, &Totals)> {
        self.cells.iter()
    }

    /// Every mirror cell, in key order.
    pub fn mirror_cells(&self) -> impl Iterator<Item = (&MirrorKey, &MirrorTotals)> {
        self.mirror.iter()
    }

    /// The rows a query asks for, summed over the quarters of each period, in key order.
    pub fn rows(&self, q: &Query) -> Vec<Row> {
        let mut out: BTreeMap<RowKey, Totals> = BTreeMap::new();
        for (k, t) in self.cells.iter() {
            if q.participant.is_some_and(|p| p != k.participant)
                || q.flow.is_some_and(|f| f != k.flow)
                || k.quarter.year < q.from_year
                || k.quarter.year > q.to_year
            {
                continue;
            }
            let (hs, partner) = match (q.detail, k.hs) {
                (false, Some(_)) => continue,
                (false, None) => (None, None),
                (true, hs) => (hs, Some(k.partner)),
            };
            let key = RowKey {
                participant: k.participant,
                period: Period::of_quarter(k.quarter, q.granularity),
                flow: k.flow,
                hs,
                partner,
            };
            let sum = out.entry(key).or_default();
            *sum = sum.plus(*t);
        }
        out.into_iter()
            .map(|(k, totals)| Row {
                participant: k.participant,
                period: k.period,
                flow: k.flow,
                hs: k.hs,
                partner: k.partner,
                totals,
            })
            .collect()
    }
}

/// What a statistics query selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub participant: Option<CountryCode>,
    pub flow: Option<Flow>,
    pub from_year: i64,
    pub to_year: i64,
    pub granularity: Granularity,
    /// By HS code and partner (participants' own figures, the Secretariat and monitors), or
    /// totals only.
    pub detail: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    participant: CountryCode,
    period: Period,
    flow: Flow,
    hs: Option<HsCode>,
    partner: Option<CountryCode>,
}

/// One line of a statistics table. With detail, `partner` is set and `hs` is `None` on the
/// line that counts every HS code (where a certificate counts once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub participant: CountryCode,
    pub period: Period,
    pub flow: Flow,
    pub hs: Option<HsCode>,
    pub partner: Option<CountryCode>,
    pub totals: Totals,
}

/// The last day whose entries count in a year's published figures: March 31 of the next year
/// (three months for the last arrivals and voids). The public reads a year only after it.
pub fn publication_cutoff(year: i64) -> Date {
    Date::from_ymd(year + 1, 3, 31).unwrap_or(Date::from_ymd(9999, 12, 31).expect("a date"))
}

/// Whether year `year`'s figures are published on `today`.
pub fn is_published(year: i64, today: Date) -> bool {
    year < 9999 && today > publication_cutoff(year)
}

/// A year's published figures per participant: exports and imports as the ledger recorded them
/// by the year's [`publication_cutoff`], and never changed after it. Public totals are not the
/// live ones: a live total would move by exactly one certificate's carats and value at each
/// entry, so anyone could read each shipment by subtraction.
pub fn published_year(state: &State, year: i64) -> BTreeMap<CountryCode, (Totals, Totals)> {
    let end_ms = publication_cutoff(year)
        .plus_days(1)
        .map_or(u64::MAX, |d| d.start_ms());
    let mut out: BTreeMap<CountryCode, (Totals, Totals)> = BTreeMap::new();
    for (number, life) in state.lives() {
        let Some(f) = &life.facts else {
            continue;
        };
        let void_by_cutoff = life.voided.as_ref().is_some_and(|v| v.time_ms < end_ms);
        if life.issued_on.year() == year && !void_by_cutoff {
            let carats = f
                .shipment
                .lines
                .iter()
                .fold(Sum::default(), |s, l| add(s, l.1));
            let value = f.values.iter().fold(Sum::default(), |s, v| add(s, *v));
            let e = out.entry(number.participant()).or_default();
            e.0 = e.0.plus(Totals::of(carats, value));
        }
        if let Some(c) = &life.confirmed {
            if c.received_on.year() == year && c.time_ms < end_ms {
                if let Some(received) = c.carats {
                    let value = c
                        .lines
                        .iter()
                        .fold(Sum::default(), |s, (hs, _)| add(s, declared_value(f, *hs)));
                    let e = out.entry(f.destination).or_default();
                    e.1 = e.1.plus(Totals::of(received, value));
                }
            }
        }
    }
    out
}

/// The value the certificate declares for HS code `hs` (zero when it has no such line).
fn declared_value(f: &super::state::ShipmentFacts, hs: HsCode) -> Hundredths {
    f.shipment
        .lines
        .iter()
        .zip(&f.values)
        .find(|((h, _), _)| *h == hs)
        .map_or(Hundredths::default(), |(_, v)| *v)
}

/// Most characters of a production report's note.
pub const MAX_NOTE_CHARS: usize = 500;

/// A participant's declared production for a half-year (semi-annual reporting), with its rough
/// stock at the end of the half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductionReport {
    pub participant: CountryCode,
    pub year: i64,
    /// 1 (January-June) or 2 (July-December).
    pub half: u8,
    pub carats: Hundredths,
    pub value_usd: Hundredths,
    /// Rough diamonds held at the end of the half, in carats.
    pub stock_carats: Hundredths,
    pub note: String,
}

impl ProductionReport {
    /// The half-year it covers.
    pub fn period(&self) -> Period {
        Period {
            year: self.year,
            granularity: Granularity::Half,
            part: self.half,
        }
    }

    /// The problems of the report recorded on `day`: a half of a KPCS year that has ended.
    pub fn problems(&self, day: Date) -> Vec<Problem> {
        let mut problems = Vec::new();
        if !(1..=2).contains(&self.half) {
            problems.push(Problem::new(
                "half",
                "must be 1 (January-June) or 2 (July-December)",
            ));
        }
        if !(FIRST_YEAR..=9999).contains(&self.year) {
            problems.push(Problem::new(
                "year",
                format!("must be a year from {FIRST_YEAR}, when the KPCS began"),
            ));
        } else if (1..=2).contains(&self.half) && self.period().last_day() >= day {
            problems.push(Problem::new(
                "half",
                format!(
                    "{} has not ended: production is reported after the half-year, from {}",
                    self.period(),
                    self.period()
                        .last_day()
                        .plus_days(1)
                        .map_or_else(|| "a day after 9999".to_owned(), |d| d.to_string())
                ),
            ));
        }
        if let Err(e) = super::certificate::text_rule(&self.note, MAX_NOTE_CHARS) {
            if !self.note.is_empty() {
                problems.push(Problem::new("note", e));
            }
        }
        problems
    }
}

/// A production report as the state keeps it. A later report for the same half replaces the
/// earlier one (a correction); both stay in the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductionRecord {
    pub index: u64,
    pub time_ms: u64,
    pub actor: String,
    pub report: ProductionReport,
}

/// The reports in force (the latest for each half), from a participant's records.
pub fn production_in_force(records: &[ProductionRecord]) -> BTreeMap<(i64, u8), &ProductionRecord> {
    let mut out = BTreeMap::new();
    for r in records {
        out.insert((r.report.year, r.report.half), r);
    }
    out
}

/// A participant's declared production for a year: carats, value, and the stock at the end of
/// the latest half reported in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YearProduction {
    pub carats: Sum,
    pub value_usd: Sum,
    pub halves: u8,
    pub closing_stock: Option<Hundredths>,
}

/// Its declared production in `year`.
pub fn year_production(records: &[ProductionRecord], year: i64) -> YearProduction {
    let mut out = YearProduction::default();
    for ((y, _), r) in production_in_force(records) {
        if y == year {
            out.carats = add(out.carats, r.report.carats);
            out.value_usd = add(out.value_usd, r.report.value_usd);
            out.halves += 1;
            out.closing_stock = Some(r.report.stock_carats);
        }
    }
    out
}

/// The stock a year opens with: the closing stock of the latest half reported before it.
pub fn opening_stock(records: &[ProductionRecord], year: i64) -> Hundredths {
    production_in_force(records)
        .range(..(year, 0))
        .next_back()
        .map_or(Hundredths::default(), |(_, r)| r.report.stock_carats)
}

/// The kinds of anomaly reconciliation flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlagKind {
    /// Certificates past expiry with no import confirmation (and not void).
    ExpiredUnconfirmed,
    /// Confirmations whose parcels or carats differ from the certificate.
    ArrivalDiffers,
    /// Re-exports that state more carats than the imports they cite.
    ReexportBeyondImports,
    /// A year's exports above declared production, imports and opening stock.
    ExportsBeyondSupply,
    /// Carats per certificate or value per carat changed beyond [`PATTERN_FACTOR`].
    PatternChange,
}

impl FlagKind {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::ExpiredUnconfirmed => "expired_unconfirmed",
            FlagKind::ArrivalDiffers => "arrival_differs",
            FlagKind::ReexportBeyondImports => "reexport_beyond_imports",
            FlagKind::ExportsBeyondSupply => "exports_beyond_supply",
            FlagKind::PatternChange => "pattern_change",
        }
    }
}

/// An anomaly, with what it is about and the certificates behind it (sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    pub kind: FlagKind,
    pub participant: CountryCode,
    pub partner: Option<CountryCode>,
    pub period: Period,
    pub reason: String,
    pub certificates: Vec<CertificateNumber>,
}

/// One exporter-destination pair of the mirror over a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorRow {
    pub exporter: CountryCode,
    pub destination: CountryCode,
    pub totals: MirrorTotals,
}

impl MirrorRow {
    /// Certificates issued and not (yet) confirmed: count, carats and value.
    pub fn unconfirmed(&self) -> Totals {
        self.totals.issued.minus(self.totals.confirmed)
    }

    /// Carats received less carats declared on the confirmed certificates, in hundredths.
    pub fn received_difference(&self) -> i128 {
        let (r, c) = (
            self.totals.received_carats.hundredths(),
            self.totals.confirmed.carats.hundredths(),
        );
        if r >= c {
            i128::try_from(r - c).unwrap_or(i128::MAX)
        } else {
            -i128::try_from(c - r).unwrap_or(i128::MAX)
        }
    }
}

/// The reconciliation of a period, as of `today`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciliation {
    pub period: Period,
    pub today: Date,
    pub mirror: Vec<MirrorRow>,
    pub flags: Vec<Flag>,
}

fn total_carats(life: &CertificateLife) -> Sum {
    life.facts.as_ref().map_or(Sum::default(), |f| {
        f.shipment
            .lines
            .iter()
            .fold(Sum::default(), |s, (_, c)| add(s, *c))
    })
}

/// Reconciles `period` as of `today` from the state's statistics and certificate lives (memory
/// only; no ledger read). The flags that need only the statistics (supply, pattern) are judged
/// first; one pass over the lives then finds the per-certificate flags and collects the
/// certificates behind every flag.
pub fn reconcile(state: &State, period: Period, today: Date) -> Reconciliation {
    let (first, last) = period.quarters();
    let stats = state.stats();
    let mut mirror: BTreeMap<(CountryCode, CountryCode), MirrorTotals> = BTreeMap::new();
    for (k, m) in stats.mirror_cells() {
        if (first..=last).contains(&k.quarter) {
            let e = mirror.entry((k.exporter, k.destination)).or_default();
            e.issued = e.issued.plus(m.issued);
            e.confirmed = e.confirmed.plus(m.confirmed);
            e.received_carats = add(e.received_carats, m.received_carats);
        }
    }
    let mirror = mirror
        .into_iter()
        .map(|((exporter, destination), totals)| MirrorRow {
            exporter,
            destination,
            totals,
        })
        .collect();

    // Exports against supply, over the calendar year to the period's end.
    let year_start = Quarter {
        year: period.year,
        q: 1,
    };
    let mut supply: BTreeMap<CountryCode, (Sum, Sum)> = BTreeMap::new();
    let mut by_quarter: BTreeMap<(CountryCode, Quarter), Totals> = BTreeMap::new();
    for (k, t) in stats.cells() {
        if k.hs.is_some() {
            continue;
        }
        if (year_start..=last).contains(&k.quarter) {
            let e = supply.entry(k.participant).or_default();
            match k.flow {
                Flow::Export => e.0 = add(e.0, t.carats),
                Flow::Import => e.1 = add(e.1, t.carats),
            }
        }
        if k.flow == Flow::Export {
            let e = by_quarter.entry((k.participant, k.quarter)).or_default();
            *e = e.plus(*t);
        }
    }
    let mut flags = Vec::new();
    let mut beyond_supply: BTreeMap<CountryCode, usize> = BTreeMap::new();
    for (participant, (exports, imports)) in supply {
        if exports.is_zero() {
            continue;
        }
        let records = state
            .participant(participant)
            .map_or(&[][..], |p| &p.production[..]);
        let produced = year_production(records, period.year);
        let stock = opening_stock(records, period.year);
        let available = add(add(produced.carats, imports), stock);
        if exports > available {
            let missing = match produced.halves {
                0 => format!(" (no production declared for {} yet)", period.year),
                1 => format!(" (one half of {} declared so far)", period.year),
                _ => String::new(),
            };
            beyond_supply.insert(participant, flags.len());
            flags.push(Flag {
                kind: FlagKind::ExportsBeyondSupply,
                participant,
                partner: None,
                period: Period::year(period.year),
                reason: format!(
                    "{participant} exported {exports} carats in {} to {}, above its declared production {} plus imports {imports} plus opening stock {stock} = {available} carats{missing}",
                    period.year,
                    period.last_day(),
                    produced.carats
                ),
                certificates: Vec::new(),
            });
        }
    }

    // Pattern changes, quarter by quarter, against the four quarters before.
    let mut pattern: BTreeMap<(CountryCode, Quarter), usize> = BTreeMap::new();
    for (&(participant, q), now) in &by_quarter {
        if q < first || q > last {
            continue;
        }
        let mut base = Totals::default();
        let mut b = q;
        for _ in 0..4 {
            b = b.previous();
            if let Some(t) = by_quarter.get(&(participant, b)) {
                base = base.plus(*t);
            }
        }
        if now.certificates < PATTERN_MIN_QUARTER || base.certificates < PATTERN_MIN_BASELINE {
            continue;
        }
        let mut what = Vec::new();
        if let Some(dir) = changed(
            now.carats.hundredths(),
            u128::from(now.certificates),
            base.carats.hundredths(),
            u128::from(base.certificates),
        ) {
            what.push(format!(
                "carats per certificate {dir} ({} against {})",
                ratio(now.carats.hundredths(), u128::from(now.certificates) * 100),
                ratio(
                    base.carats.hundredths(),
                    u128::from(base.certificates) * 100
                )
            ));
        }
        if let Some(dir) = changed(
            now.value_usd.hundredths(),
            now.carats.hundredths(),
            base.value_usd.hundredths(),
            base.carats.hundredths(),
        ) {
            what.push(format!(
                "value per carat {dir} (US$ {} against US$ {})",
                ratio(now.value_usd.hundredths(), now.carats.hundredths()),
                ratio(base.value_usd.hundredths(), base.carats.hundredths())
            ));
        }
        if what.is_empty() {
            continue;
        }
        let quarter = Period::of_quarter(q, Granularity::Quarter);
        pattern.insert((participant, q), flags.len());
        flags.push(Flag {
            kind: FlagKind::PatternChange,
            participant,
            partner: None,
            period: quarter,
            reason: format!(
                "exports of {participant} in {quarter}: {}, beyond a factor of {PATTERN_FACTOR} against the four quarters before",
                what.join("; ")
            ),
            certificates: Vec::new(),
        });
    }

    // One pass over the lives: per-certificate flags, and the certificates behind the others.
    type Group = BTreeMap<(FlagKind, CountryCode, Option<CountryCode>), Vec<CertificateNumber>>;
    let mut groups: Group = BTreeMap::new();
    for (number, life) in state.lives() {
        let Some(f) = &life.facts else {
            continue;
        };
        if life.voided.is_some() {
            continue;
        }
        let q = Quarter::of(life.issued_on);
        if q < year_start || q > last {
            continue;
        }
        let exporter = number.participant();
        if let Some(&i) = beyond_supply.get(&exporter) {
            flags[i].certificates.push(number.clone());
        }
        if q < first {
            continue;
        }
        if let Some(&i) = pattern.get(&(exporter, q)) {
            flags[i].certificates.push(number.clone());
        }
        let mut flag = |kind, partner| {
            groups
                .entry((kind, exporter, partner))
                .or_default()
                .push(number.clone())
        };
        match &life.confirmed {
            None if life.expires_on < today => {
                flag(FlagKind::ExpiredUnconfirmed, Some(f.destination))
            }
            Some(c) => {
                let parcels_differ = c.parcels.is_some_and(|p| p != f.shipment.parcels);
                let carats_differ = c
                    .carats
                    .is_some_and(|ct| Sum::from(ct) != total_carats(life));
                if parcels_differ || carats_differ {
                    flag(FlagKind::ArrivalDiffers, Some(f.destination));
                }
            }
            None => {}
        }
        if f.reexport {
            let cited = f
                .derived_from
                .iter()
                .fold(Sum::default(), |s, c| add(s, c.carats));
            if total_carats(life) > cited {
                flag(FlagKind::ReexportBeyondImports, None);
            }
        }
    }
    for ((kind, participant, partner), certificates) in groups {
        let n = certificates.len();
        let reason = match kind {
            FlagKind::ExpiredUnconfirmed => format!(
                "{n} certificate(s) from {participant} to {} expired before {today} with no import confirmation",
                partner.expect("a destination")
            ),
            FlagKind::ArrivalDiffers => format!(
                "{n} confirmation(s) by {} record parcels or carats that differ from the certificate",
                partner.expect("a destination")
            ),
            _ => format!(
                "{n} re-export certificate(s) of {participant} state more carats than the import certificates they cite"
            ),
        };
        flags.push(Flag {
            kind,
            participant,
            partner,
            period,
            reason,
            certificates,
        });
    }
    for flag in &mut flags {
        flag.certificates.sort();
    }
    flags.sort_by(|a, b| {
        (a.kind, a.participant, a.partner, a.period).cmp(&(
            b.kind,
            b.participant,
            b.partner,
            b.period,
        ))
    });
    Reconciliation {
        period,
        today,
        mirror,
        flags,
    }
}

/// Whether a/b differs from c/d by [`PATTERN_FACTOR`] or more, either way ("rose" or "fell"),
/// compared exactly (256-bit cross products).
fn changed(a: u128, b: u128, c: u128, d: u128) -> Option<&'static str> {
    if b == 0 || d == 0 || c == 0 || a == 0 {
        return None;
    }
    let (now, base) = (mul_wide(a, d), mul_wide(c, b));
    let k = u128::from(PATTERN_FACTOR);
    if now >= times(base, k) {
        Some("rose")
    } else if base >= times(now, k) {
        Some("fell")
    } else {
        None
    }
}

/// x * y as (high, low) 128-bit halves.
fn mul_wide(x: u128, y: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (x1, x0, y1, y0) = (x >> 64, x & M, y >> 64, y & M);
    let (p00, p01, p10, p11) = (x0 * y0, x0 * y1, x1 * y0, x1 * y1);
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    (
        p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64),
        (p00 & M) | (mid << 64),
    )
}

/// A 256-bit (high, low) number times a small k (saturating at the top, far beyond any sum).
fn times((hi, lo): (u128, u128), k: u128) -> (u128, u128) {
    let (carry, lo) = mul_wide(lo, k);
    (hi.saturating_mul(k).saturating_add(carry), lo)
}

/// a/b to two decimals, exactly (rounded down).
fn ratio(a: u128, b: u128) -> String {
    if b == 0 {
        return "-".into();
    }
    let (int, rem) = (a / b, a % b);
    let frac = match rem.checked_mul(100) {
        Some(r) => r / b,
        None => rem / (b / 100),
    };
    format!("{int}.{frac:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_print_and_cover_their_quarters() {
        for s in ["2025", "2025-H1", "2025-H2", "2025-Q1", "2025-Q4"] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        for s in [
            "2002", "2025-Q5", "2025-H3", "2025-Q0", "25", "2025-", "2025-Q12", "x",
        ] {
            assert_eq!(Period::parse(s), None, "{s}");
        }
        let h2 = Period::parse("2025-H2").unwrap();
        assert_eq!(h2.last_day().to_string(), "2025-12-31");
        assert_eq!(
            Period::parse("2025-Q2").unwrap().last_day().to_string(),
            "2025-06-30"
        );
        assert!(h2.contains(Date::parse("2025-07-01").unwrap()));
        assert!(!h2.contains(Date::parse("2025-06-30").unwrap()));
        assert_eq!(
            Quarter::of(Date::parse("2025-04-01").unwrap()),
            Quarter { year: 2025, q: 2 }
        );
        assert_eq!(
            Quarter { year: 2025, q: 1 }.previous(),
            Quarter { year: 2024, q: 4 }
        );
    }

    #[test]
    fn a_change_by_the_factor_is_flagged_either_way() {
        assert_eq!(changed(300, 1, 100, 1), Some("rose"));
        assert_eq!(changed(299, 1, 100, 1), None);
        assert_eq!(changed(100, 3, 100, 1), Some("fell"));
        assert_eq!(changed(0, 3, 100, 1), None);
        assert_eq!(ratio(1000, 3), "333.33");
    }

    #[test]
    fn production_is_reported_after_the_half_and_corrections_replace() {
        let report = |year, half| ProductionReport {
            participant: CountryCode::participant("BW").unwrap(),
            year,
            half,
            carats: Hundredths::parse("100").unwrap(),
            value_usd: Hundredths::parse("5000").unwrap(),
            stock_carats: Hundredths::parse("7").unwrap(),
            note: String::new(),
        };
        let day = Date::parse("2025-07-01").unwrap();
        assert!(report(2025, 1).problems(day).is_empty());
        assert_eq!(report(2025, 2).problems(day)[0].field, "half");
        assert_eq!(report(2025, 3).problems(day)[0].field, "half");
        assert_eq!(report(2002, 1).problems(day)[0].field, "year");
        let rec = |index, r| ProductionRecord {
            index,
            time_ms: 0,
            actor: "BW-A1".into(),
            report: r,
        };
        let mut corrected = report(2024, 2);
        corrected.carats = Hundredths::parse("250").unwrap();
        corrected.stock_carats = Hundredths::parse("9").unwrap();
        let records = vec![
            rec(1, report(2024, 1)),
            rec(2, report(2024, 2)),
            rec(3, corrected),
        ];
        let y = year_production(&records, 2024);
        assert_eq!(y.carats.to_string(), "350.00");
        assert_eq!(y.halves, 2);
        assert_eq!(opening_stock(&records, 2025).to_string(), "9.00");
        assert_eq!(opening_stock(&records, 2024).to_string(), "0.00");
    }
}
