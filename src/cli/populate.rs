//! `kpcert demo populate --year Y`: a year of realistic KP traffic, recorded in-process in a new
//! data folder with the ledger's clock walking through the year, through the service's own
//! validation, signatures and commits (nothing is written around the rules).
//!
//! What it generates (deterministic for a `--seed`): producers (BW, RU, CA, AO, ZA, NA, SL and
//! CG) export rough to the trading centres (AE, IN, EU, IL, CN, US); the centres confirm the
//! arrivals a few days later (a few never do, a few record different parcels or carats), and
//! re-export to each other citing the imports they confirmed; about 1 in 100 certificates is
//! voided before it ships; producers report production semi-annually. Three anomalies are
//! planted, each for reconciliation to find: the Republic of the Congo (CG) exports about a
//! hundred times the production it declares (the 2004 pattern); Sierra Leone's value per carat
//! collapses in the fourth quarter (undervaluation); Israel states more carats on some
//! re-exports than the imports they cite.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::Arc;

use anyhow::{bail, Context};

use crate::app::{ActiveAuthority, App, Config};
use crate::clock::ManualClock;
use crate::domain::lifecycle::{ArrivalContent, ArrivalLine};
use crate::domain::{
    CertificateNumber, CitationInput, CountryCode, Date, DraftInput, Event, HsCode, Hundredths,
    Input, ItemInput, OriginInput, PartyInput, ProductionReport,
};

/// Producers: code, mean carats per certificate, mean US$ per carat, share of certificates.
const PRODUCERS: [(&str, u64, u64, u64); 8] = [
    ("BW", 3_000, 150, 16),
    ("RU", 4_000, 110, 14),
    ("CA", 2_500, 140, 8),
    ("AO", 1_500, 250, 7),
    ("ZA", 800, 120, 6),
    ("NA", 600, 500, 4),
    ("SL", 200, 300, 3),
    ("CG", 400, 80, 2),
];

/// Trading centres: code and share of certificates (as re-exporters).
const CENTRES: [(&str, u64); 6] = [
    ("AE", 12),
    ("IN", 10),
    ("EU", 10),
    ("IL", 4),
    ("CN", 2),
    ("US", 2),
];

/// Production declared against exports, in percent: producers declare more than they export
/// (the rest stays in stock or is cut at home); the Congo declares a hundredth.
fn declared_percent(code: &str) -> u64 {
    if code == "CG" {
        1
    } else {
        125
    }
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// `mean` scaled by a factor uniform in [0.5, 1.5), at least 1.
    fn around(&mut self, mean: u64) -> u64 {
        (mean * (50 + self.below(100)) / 100).max(1)
    }

    fn pick<'a, T>(&mut self, weighted: &'a [(T, u64)]) -> &'a T {
        let total: u64 = weighted.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total);
        for (t, w) in weighted {
            if r < *w {
                return t;
            }
            r -= w;
        }
        &weighted[0].0
    }
}

fn given(s: impl Into<String>) -> Input<String> {
    Input::Given(s.into())
}

fn amount(hundredths: u64) -> String {
    Hundredths::from_hundredths(hundredths)
        .expect("in range")
        .to_string()
}

/// A confirmed import a centre may re-export from: number and carats left (hundredths).
struct Stock {
    number: CertificateNumber,
    left: u64,
}

/// What happens to a certificate after issue.
struct Planned {
    number: CertificateNumber,
    destination: &'static str,
    parcels: u32,
    lines: Vec<(HsCode, u64)>,
}

/// Options of a populated year.
pub struct YearOptions {
    pub year: i64,
    pub certificates: u64,
    pub seed: u64,
}

fn code(c: &str) -> CountryCode {
    CountryCode::participant(c).expect("a participant code")
}

/// Waits for the replies of one batch of submitted jobs.
fn wait<T>(rx: mpsc::Receiver<Result<T, crate::ledger::LedgerError>>) -> anyhow::Result<Vec<T>> {
    rx.into_iter()
        .map(|r| r.context("recording generated traffic"))
        .collect()
}

/// Records the year into the data folder of `config` (which must hold no entry after the
/// year's first day). Prints a summary.
pub fn populate_year(
    config: Config,
    clock: Arc<ManualClock>,
    o: &YearOptions,
) -> anyhow::Result<()> {
    let first = Date::from_ymd(o.year, 1, 1).context("--year out of range")?;
    let last = Date::from_ymd(o.year, 12, 31).expect("a year's last day");
    let hour = 3_600_000u64;
    clock.set(first.start_ms() + 6 * hour);
    let app = App::open(&config)?;
    let result = run(&app, &clock, o, first, last);
    app.close();
    result
}

fn run(
    app: &App,
    clock: &ManualClock,
    o: &YearOptions,
    first: Date,
    last: Date,
) -> anyhow::Result<()> {
    let hour = 3_600_000u64;
    if app.state().last_time_ms() > first.start_ms() + 6 * hour {
        bail!(
            "the data folder already holds entries after {first}: populate a year into a new data folder (--data-dir)"
        );
    }
    let mut rng = Rng(o.seed);
    // An authority for every participant of the traffic.
    let mut authorities: HashMap<&'static str, Arc<ActiveAuthority>> = HashMap::new();
    for c in PRODUCERS
        .iter()
        .map(|p| p.0)
        .chain(CENTRES.iter().map(|c| c.0))
    {
        let existing = app
            .authorities()
            .into_iter()
            .find(|a| a.participant.as_str() == c)
            .and_then(|a| app.active_authority(&a.id));
        let active = match existing {
            Some(a) => a,
            None => {
                let new = app.add_authority(c, &format!("Demo KP authority of {c}"), 90)?;
                app.active_authority(&new.authority.id)
                    .context("a generated authority has its key")?
            }
        };
        authorities.insert(c, active);
    }
    let mut issuers: Vec<(&'static str, u64)> = PRODUCERS.iter().map(|p| (p.0, p.3)).collect();
    issuers.extend(CENTRES.iter().map(|c| (c.0, c.1)));
    let destinations: Vec<(&'static str, u64)> = CENTRES.to_vec();

    let days = (last.days() - first.days() + 1) as u64;
    let per_day = o.certificates / days;
    let extra = o.certificates % days;
    // Events planned for a later day, by day.
    let mut confirmations: BTreeMap<Date, Vec<(Planned, bool)>> = BTreeMap::new();
    let mut voids: BTreeMap<Date, Vec<CertificateNumber>> = BTreeMap::new();
    let mut stocks: HashMap<&'static str, Vec<Stock>> = HashMap::new();
    let mut exported: BTreeMap<(&'static str, u8), u64> = BTreeMap::new();
    let (mut issued, mut confirmed, mut voided) = (0u64, 0u64, 0u64);
    let end = Date::from_ymd(first.year() + 1, 1, 15).expect("in range");
    let mut day = first;
    while day <= end {
        clock.set(day.start_ms() + 8 * hour);
        // Production of the half that ended, reported in the first days after it.
        let report_half = match (day.month(), day.days() - first.days()) {
            (7, _) if day == Date::from_ymd(first.year(), 7, 5).expect("a date") => Some(1u8),
            (1, d) if d > 0 && day == Date::from_ymd(first.year() + 1, 1, 5).expect("a date") => {
                Some(2u8)
            }
            _ => None,
        };
        if let Some(half) = report_half {
            for (c, ..) in PRODUCERS {
                let sent = exported.get(&(c, half)).copied().unwrap_or(0);
                let produced = sent * declared_percent(c) / 100;
                app.record_production(
                    authorities[c].authority.id.clone(),
                    ProductionReport {
                        participant: code(c),
                        year: first.year(),
                        half,
                        carats: Hundredths::from_hundredths(produced).expect("in range"),
                        value_usd: Hundredths::from_hundredths(produced * 150).expect("in range"),
                        stock_carats: Hundredths::from_hundredths(produced.saturating_sub(sent))
                            .expect("in range"),
                        note: String::new(),
                    },
                )?;
            }
        }
        // Voids first: a void comes before any arrival.
        if let Some(list) = voids.remove(&day) {
            let (tx, rx) = mpsc::channel();
            for number in list {
                let a = authorities[number.participant().as_str()].clone();
                if app.state().voidable(&number, &a.authority).is_err() {
                    continue;
                }
                let tx = tx.clone();
                app.void(
                    a,
                    number,
                    "export cancelled by the exporter".into(),
                    None,
                    move |r| {
                        let _ = tx.send(r);
                    },
                );
                voided += 1;
            }
            drop(tx);
            wait(rx)?;
        }
        // Arrivals due today.
        if let Some(list) = confirmations.remove(&day) {
            let (tx, rx) = mpsc::channel();
            let mut received = Vec::new();
            for (p, differ) in list {
                let a = authorities[p.destination].clone();
                if app.state().confirmable(&p.number, &a.authority).is_err() {
                    continue; // voided meanwhile
                }
                let mut lines = p.lines.clone();
                let mut parcels = p.parcels;
                if differ {
                    if rng.below(2) == 0 && parcels > 1 {
                        parcels -= 1;
                    } else {
                        lines[0].1 = lines[0].1 * 97 / 100;
                    }
                }
                let content = ArrivalContent {
                    received_on: day,
                    parcels,
                    items: lines
                        .iter()
                        .map(|&(hs_code, c)| ArrivalLine {
                            hs_code,
                            carats: Hundredths::from_hundredths(c).expect("in range"),
                        })
                        .collect(),
                    remarks: String::new(),
                };
                received.push((
                    p.destination,
                    p.number.clone(),
                    lines.iter().map(|l| l.1).sum(),
                ));
                let tx = tx.clone();
                app.confirm(a, p.number, content, None, move |r| {
                    let _ = tx.send(r);
                });
                confirmed += 1;
            }
            drop(tx);
            wait(rx)?;
            for (centre, number, left) in received {
                stocks
                    .entry(centre)
                    .or_default()
                    .push(Stock { number, left });
            }
        }
        if day <= last {
            let count = per_day + u64::from((day.days() - first.days()) < extra as i64);
            let (tx, rx) = mpsc::channel();
            let mut planned = Vec::new();
            for _ in 0..count {
                let issuer = *rng.pick(&issuers);
                let request = match PRODUCERS.iter().find(|p| p.0 == issuer) {
                    Some(&(c, ct, usd, _)) => {
                        let destination = *rng.pick(&destinations);
                        let mut value_per_ct = rng.around(usd);
                        if c == "SL" && day.month() >= 10 {
                            value_per_ct = (value_per_ct / 8).max(1);
                        }
                        let carats = rng.around(ct) * 100 + rng.below(100);
                        let mut lines = vec![(HsCode::Unsorted, carats, carats * value_per_ct)];
                        if rng.below(5) == 0 {
                            let more = rng.around(ct / 4 + 1) * 100;
                            lines.push((HsCode::NonIndustrial, more, more * value_per_ct * 2));
                        }
                        Some((destination, lines, vec![], vec![c]))
                    }
                    None => {
                        // A centre re-exports from its confirmed imports.
                        let stock = stocks.entry(issuer).or_default();
                        stock.retain(|s| s.left > 0);
                        if stock.is_empty() {
                            None
                        } else {
                            let mut destination = *rng.pick(&destinations);
                            if destination == issuer {
                                destination = if issuer == "IN" { "AE" } else { "IN" };
                            }
                            let mut citations = Vec::new();
                            let mut carats = 0;
                            for _ in 0..(1 + rng.below(2)).min(stock.len() as u64) {
                                let i = rng.below(stock.len() as u64) as usize;
                                let s = &mut stock[i];
                                if s.left == 0 || citations.iter().any(|(n, _)| *n == s.number) {
                                    continue;
                                }
                                let draw = (s.left * (30 + rng.below(70)) / 100).max(1).min(s.left);
                                s.left -= draw;
                                carats += draw;
                                citations.push((s.number.clone(), draw));
                            }
                            let stated = if issuer == "IL" && rng.below(10) == 0 {
                                carats * 2
                            } else {
                                carats
                            };
                            let usd = rng.around(200);
                            Some((
                                destination,
                                vec![(HsCode::Unsorted, stated, stated * usd)],
                                citations,
                                vec!["BW", "NA", "ZA"],
                            ))
                        }
                    }
                };
                let Some((destination, lines, citations, origin)) = request else {
                    continue;
                };
                let parcels = 1 + rng.below(20) as i64;
                let input = DraftInput {
                    exporter: Input::Given(PartyInput {
                        name: given(format!("{issuer} Rough Exporter {}", rng.below(40))),
                        address: given(format!("Plot {}, Mining Road", rng.below(900))),
                    }),
                    importer: Input::Given(PartyInput {
                        name: given(format!("{destination} Rough Trading {}", rng.below(60))),
                        address: given("Diamond Exchange, Suite 4"),
                    }),
                    destination: given(destination),
                    origin: Input::Given(if origin.len() == 1 {
                        OriginInput {
                            mixed: Input::Missing,
                            countries: Input::Given(vec![given(origin[0])]),
                        }
                    } else {
                        OriginInput {
                            mixed: Input::Given(true),
                            countries: Input::Given(origin.iter().map(|c| given(*c)).collect()),
                        }
                    }),
                    parcels: Input::Given(parcels),
                    items: Input::Given(
                        lines
                            .iter()
                            .map(|&(hs, c, v)| {
                                Input::Given(ItemInput {
                                    hs_code: given(hs.as_str()),
                                    carats: given(amount(c)),
                                    value_usd: given(amount(v)),
                                })
                            })
                            .collect(),
                    ),
                    expires_on: Input::Missing,
                    derived_from: if citations.is_empty() {
                        Input::Missing
                    } else {
                        Input::Given(
                            citations
                                .iter()
                                .map(|(n, c): &(CertificateNumber, u64)| {
                                    Input::Given(CitationInput {
                                        number: given(n.as_str()),
                                        carats: given(amount(*c)),
                                    })
                                })
                                .collect(),
                        )
                    },
                    origin_zone: Input::Missing,
                    request_hash: None,
                };
                let a = authorities[issuer].clone();
                let content = app
                    .validate(&a, &input, None, None)
                    .map_err(|e| anyhow::anyhow!("a generated certificate is invalid: {e:?}"))?;
                let tx = tx.clone();
                app.issue(a, Arc::new(input), content, None, move |r| {
                    let _ = tx.send(r);
                });
                planned.push((
                    destination,
                    parcels as u32,
                    lines.iter().map(|&(h, c, _)| (h, c)).collect::<Vec<_>>(),
                ));
                if PRODUCERS.iter().any(|p| p.0 == issuer) {
                    let half = if day.month() <= 6 { 1 } else { 2 };
                    *exported.entry((issuer, half)).or_default() +=
                        lines.iter().map(|l| l.1).sum::<u64>();
                }
            }
            drop(tx);
            let appended = wait(rx)?;
            // Replies come in any order; the writer numbers in submission order, so match
            // each reply to its plan by entry index.
            let mut by_index: Vec<_> = appended.into_iter().collect();
            by_index.sort_by_key(|a| a.index);
            for (a, (destination, parcels, lines)) in by_index.into_iter().zip(planned) {
                let Event::CertificateIssued(s) = &a.event else {
                    bail!("an issuance appended another kind of entry");
                };
                let number = s.issuance.number.clone();
                issued += 1;
                let fate = rng.below(100);
                let p = Planned {
                    number: number.clone(),
                    destination,
                    parcels,
                    lines,
                };
                if fate == 0 {
                    voids
                        .entry(day.plus_days(1).expect("in range"))
                        .or_default()
                        .push(number);
                } else if fate < 6 {
                    // Never confirmed: it will expire unconfirmed.
                } else {
                    let transit = 2 + rng.below(9) as i64;
                    confirmations
                        .entry(day.plus_days(transit).expect("in range"))
                        .or_default()
                        .push((p, fate < 9));
                }
            }
        }
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!("\r{day}: {issued} certificates, {confirmed} confirmations, {voided} voids   ");
        }
        day = day.plus_days(1).expect("in range");
    }
    eprintln!(
        "\npopulated {}: {issued} certificates, {confirmed} import confirmations, {voided} voids; the ledger has {} entries",
        first.year(),
        app.ledger().size()
    );
    Ok(())
}
