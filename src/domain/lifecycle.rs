//! A certificate's life after issuance: the importing authority's confirmation of what arrived
//! (single use), the issuing authority's void (with or without a replacement), re-export
//! provenance (the import certificates a re-export draws on, with the carats drawn from each),
//! and the discrepancies between a certificate and its arrival.
//!
//! Every event here is signed by the authority that acts (api/lifecycle.md); the ledger state
//! ([`super::state::State`]) decides which may follow which.

use std::fmt;

use super::amount::Hundredths;
use super::certificate::{text_rule, CertificateNumber, HsCode, Input, Problem, MAX_PARCELS};
use super::date::Date;
use crate::crypto::{Hash, KeyId};

/// Longest reason of a void, or remark of a confirmation, in characters.
pub const MAX_LIFECYCLE_TEXT_CHARS: usize = 500;

/// Most import certificates one re-export may cite.
pub const MAX_CITATIONS: usize = 64;

/// Bytes of an arrival's salt.
pub const ARRIVAL_SALT_BYTES: usize = 16;

/// One import certificate a re-export draws on, and the carats it draws from it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Citation {
    pub number: CertificateNumber,
    pub carats: Hundredths,
}

/// Loosely typed citation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitationInput {
    pub number: Input<String>,
    pub carats: Input<String>,
}

/// One line of what arrived: an HS code and its exact weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrivalLine {
    pub hs_code: HsCode,
    pub carats: Hundredths,
}

/// What the importing authority found on arrival (commercial content: kept in the full record,
/// committed to by the public confirmation through its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub number: CertificateNumber,
    pub received_on: Date,
    pub parcels: u32,
    /// Sorted by distinct HS code, non-empty.
    pub items: Vec<ArrivalLine>,
    /// Free text; empty when none was given.
    pub remarks: String,
    pub salt: [u8; ARRIVAL_SALT_BYTES],
}

impl Arrival {
    /// Total carats received.
    pub fn total_carats(&self) -> Hundredths {
        sum(self.items.iter().map(|l| l.carats))
    }

    /// The rules an arrival signed elsewhere (by an authority that keeps its own key) must
    /// follow, as [`ArrivalContent::validate`] applies them to a request: for a certificate
    /// issued on `issued_on`, recorded on `today`. Every problem, each under `field`.
    pub fn problems(&self, issued_on: Date, today: Date, field: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut say = |what: String| problems.push(Problem::new(field, what));
        if let Err(why) = received_on_rule(self.received_on, issued_on, today) {
            say(format!("received_on {why}"));
        }
        if !(1..=MAX_PARCELS).contains(&i64::from(self.parcels)) {
            say(format!("parcels must be between 1 and {MAX_PARCELS}"));
        }
        if self.items.is_empty() {
            say("items must hold at least one line".into());
        }
        if self.items.windows(2).any(|w| w[0].hs_code >= w[1].hs_code) {
            say("items must be sorted by HS code, each code once".into());
        }
        if self.items.iter().any(|l| l.carats.is_zero()) {
            say("the carats of every line must be greater than 0".into());
        }
        if !self.remarks.is_empty() {
            if super::certificate::normalized(&self.remarks) != self.remarks {
                say("remarks must be in Unicode normalization form C".into());
            } else if let Err(why) = lifecycle_text_rule(&self.remarks) {
                say(format!("remarks {why}"));
            }
        }
        if self.salt.iter().all(|b| *b == self.salt[0]) {
            say("the salt must be 16 random bytes (this one repeats one byte): with a guessable salt the public hash confirms a guess of what arrived".into());
        }
        problems
    }
}

pub(crate) fn sum(values: impl Iterator<Item = Hundredths>) -> Hundredths {
    values.fold(Hundredths::default(), |a, b| {
        a.checked_add(b).expect("bounded sum")
    })
}

/// A confirmation request, as the wire layer decoded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivalInput {
    pub received_on: Input<String>,
    pub parcels: Input<i64>,
    pub items: Input<Vec<Input<ArrivalLineInput>>>,
    pub remarks: Input<String>,
}

/// Loosely typed arrival line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivalLineInput {
    pub hs_code: Input<String>,
    pub carats: Input<String>,
}

/// What the certificate stated of its shipment, as far as a confirmation compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    pub parcels: u32,
    /// Sorted by distinct HS code.
    pub lines: Vec<(HsCode, Hundredths)>,
}

/// A difference between what a certificate stated and what arrived. Recorded, never a reason to
/// refuse the confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discrepancy {
    /// Another number of parcels arrived.
    Parcels { certified: u32, received: u32 },
    /// Another weight arrived under an HS code (zero when the code is on one side only).
    Carats {
        hs_code: HsCode,
        certified: Hundredths,
        received: Hundredths,
    },
    /// The goods arrived after the certificate expired.
    ArrivedAfterExpiry { expires_on: Date, received_on: Date },
}

impl Discrepancy {
    /// The `kind` string of the encodings.
    pub fn kind(&self) -> &'static str {
        match self {
            Discrepancy::Parcels { .. } => "parcels",
            Discrepancy::Carats { .. } => "carats",
            Discrepancy::ArrivedAfterExpiry { .. } => "arrived_after_expiry",
        }
    }
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::Parcels {
                certified,
                received,
            } => write!(
                f,
                "{received} parcels arrived where the certificate states {certified}"
            ),
            Discrepancy::Carats {
                hs_code,
                certified,
                received,
            } => write!(
                f,
                "{received} carats of {} arrived where the certificate states {certified}",
                hs_code.as_str()
            ),
            Discrepancy::ArrivedAfterExpiry {
                expires_on,
                received_on,
            } => write!(
                f,
                "received on {received_on}, after the certificate expired on {expires_on}"
            ),
        }
    }
}

/// Every difference between a certificate's shipment (expiring on `expires_on`) and what
/// arrived, in a fixed order: parcels, then carats by HS code, then a late arrival.
pub fn discrepancies(shipment: &Shipment, expires_on: Date, arrival: &Arrival) -> Vec<Discrepancy> {
    let mut out = Vec::new();
    if shipment.parcels != arrival.parcels {
        out.push(Discrepancy::Parcels {
            certified: shipment.parcels,
            received: arrival.parcels,
        });
    }
    for code in HsCode::ALL {
        let certified = shipment
            .lines
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(Hundredths::default(), |(_, ct)| *ct);
        let received = arrival
            .items
            .iter()
            .find(|l| l.hs_code == code)
            .map_or(Hundredths::default(), |l| l.carats);
        if certified != received {
            out.push(Discrepancy::Carats {
                hs_code: code,
                certified,
                received,
            });
        }
    }
    if arrival.received_on > expires_on {
        out.push(Discrepancy::ArrivedAfterExpiry {
            expires_on,
            received_on: arrival.received_on,
        });
    }
    out
}

/// What an importing authority signs to confirm a certificate's arrival, and all the public
/// entry shows of it: the number, who confirms with which key, the day of arrival, and the
/// SHA-256 of the canonical arrival (salted, so the hash reveals nothing of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub number: CertificateNumber,
    pub authority_id: String,
    pub key_id: KeyId,
    pub received_on: Date,
    pub arrival_hash: Hash,
}

/// The full record of a confirmation, kept beside its public entry: the arrival, its canonical
/// bytes (whose SHA-256 the confirmation commits to) and the discrepancies the service found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmationRecord {
    pub arrival: Arrival,
    pub canonical: Vec<u8>,
    pub discrepancies: Vec<Discrepancy>,
}

/// A confirmation as recorded: its signed bytes, the importing authority's signature, and the
/// full record when the reader holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedConfirmation {
    pub confirmation: Confirmation,
    pub signed: Vec<u8>,
    pub signature: [u8; 64],
    pub record: Option<Box<ConfirmationRecord>>,
}

/// What an issuing authority signs to void a certificate: public in full (a customs officer
/// must see why a certificate is void, and which one replaces it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Void {
    pub number: CertificateNumber,
    pub authority_id: String,
    pub key_id: KeyId,
    pub reason: String,
    /// The certificate issued in its place, in the same atomic batch (the entry before).
    pub replaced_by: Option<CertificateNumber>,
}

/// A void as recorded: its signed bytes and the issuing authority's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedVoid {
    pub void: Void,
    pub signed: Vec<u8>,
    pub signature: [u8; 64],
}

/// The reason of a void or the remarks of a confirmation, checked.
pub fn lifecycle_text_rule(s: &str) -> Result<(), String> {
    text_rule(s, MAX_LIFECYCLE_TEXT_CHARS)
}

fn required<'v, T>(problems: &mut Vec<Problem>, field: &str, input: &'v Input<T>) -> Option<&'v T> {
    match input {
        Input::Missing => {
            problems.push(Problem::new(field, "is required"));
            None
        }
        Input::Invalid => None,
        Input::Given(v) => Some(v),
    }
}

fn amount(problems: &mut Vec<Problem>, field: String, input: &Input<String>) -> Option<Hundredths> {
    let s = required(problems, &field, input)?;
    match Hundredths::parse(s) {
        Ok(h) if h.is_zero() => {
            problems.push(Problem::new(field, "must be greater than 0"));
            None
        }
        Ok(h) => Some(h),
        Err(e) => {
            problems.push(Problem::new(field, e.to_string()));
            None
        }
    }
}

/// The content of a confirmation request, validated: everything but the number and the salt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivalContent {
    pub received_on: Date,
    pub parcels: u32,
    pub items: Vec<ArrivalLine>,
    pub remarks: String,
}

impl ArrivalContent {
    /// Checks a confirmation request recorded on `today` for a certificate issued on
    /// `issued_on`: every problem at once, with its field.
    pub fn validate(
        input: &ArrivalInput,
        issued_on: Date,
        today: Date,
    ) -> Result<ArrivalContent, Vec<Problem>> {
        let mut problems = Vec::new();
        let received_on =
            required(&mut problems, "received_on", &input.received_on).and_then(|s| {
                let Some(d) = Date::parse(s) else {
                    problems.push(Problem::new(
                        "received_on",
                        "must be a calendar date written YYYY-MM-DD",
                    ));
                    return None;
                };
                match received_on_rule(d, issued_on, today) {
                    Ok(()) => Some(d),
                    Err(why) => {
                        problems.push(Problem::new("received_on", why));
                        None
                    }
                }
            });
        let parcels = required(&mut problems, "parcels", &input.parcels).and_then(|&n| {
            if (1..=MAX_PARCELS).contains(&n) {
                Some(n as u32)
            } else {
                problems.push(Problem::new(
                    "parcels",
                    format!("must be between 1 and {MAX_PARCELS}"),
                ));
                None
            }
        });
        let items = required(&mut problems, "items", &input.items).and_then(|list| {
            if list.is_empty() {
                problems.push(Problem::new("items", "must hold at least one line"));
                return None;
            }
            let mut lines: Vec<ArrivalLine> = Vec::new();
            let mut ok = true;
            for (i, line) in list.iter().enumerate() {
                let field = format!("items[{i}]");
                let Some(line) = required(&mut problems, &field, line) else {
                    ok = false;
                    continue;
                };
                let hs = required(&mut problems, &format!("{field}.hs_code"), &line.hs_code)
                    .and_then(|s| match HsCode::parse(s) {
                        Some(c) if lines.iter().any(|l| l.hs_code == c) => {
                            problems.push(Problem::new(
                                format!("{field}.hs_code"),
                                format!("{} appears more than once", c.as_str()),
                            ));
                            None
                        }
                        Some(c) => Some(c),
                        None => {
                            problems.push(Problem::new(
                                format!("{field}.hs_code"),
                                format!("{s:?} is not a rough-diamond HS code (7102.10, 7102.21 or 7102.31)"),
                            ));
                            None
                        }
                    });
                let carats = amount(&mut problems, format!("{field}.carats"), &line.carats);
                match (hs, carats) {
                    (Some(hs_code), Some(carats)) => lines.push(ArrivalLine { hs_code, carats }),
                    _ => ok = false,
                }
            }
            lines.sort_by_key(|l| l.hs_code);
            ok.then_some(lines)
        });
        let remarks = match &input.remarks {
            Input::Missing => Some(String::new()),
            Input::Invalid => None,
            Input::Given(s) => {
                let s = super::certificate::normalized(s);
                match lifecycle_text_rule(&s) {
                    Ok(()) => Some(s),
                    Err(why) => {
                        problems.push(Problem::new("remarks", why));
                        None
                    }
                }
            }
        };
        match (received_on, parcels, items, remarks) {
            (Some(received_on), Some(parcels), Some(items), Some(remarks))
                if problems.is_empty() =>
            {
                Ok(ArrivalContent {
                    received_on,
                    parcels,
                    items,
                    remarks,
                })
            }
            _ => Err(problems),
        }
    }
}

/// An arrival is dated on or after the certificate's issue and not after the day it is
/// recorded.
pub fn received_on_rule(
    received_on: Date,
    issued_on: Date,
    recorded_on: Date,
) -> Result<(), String> {
    if received_on < issued_on {
        return Err(format!(
            "must not be before the certificate was issued ({issued_on})"
        ));
    }
    if received_on > recorded_on {
        return Err(format!("must not be after today ({recorded_on})"));
    }
    Ok(())
}

/// Checks the `derived_from` of a request to issue: numbers, distinct, carats above zero, at
/// most [`MAX_CITATIONS`], their sum within the certificate's `total` carats. Sorted by number.
pub fn check_citations(
    input: &Input<Vec<Input<CitationInput>>>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Citation>> {
    let list = match input {
        Input::Missing => return Some(Vec::new()),
        Input::Invalid => return None,
        Input::Given(list) => list,
    };
    if list.len() > MAX_CITATIONS {
        problems.push(Problem::new(
            "derived_from",
            format!("must cite at most {MAX_CITATIONS} import certificates"),
        ));
        return None;
    }
    let mut out: Vec<Citation> = Vec::new();
    let mut ok = true;
    for (i, c) in list.iter().enumerate() {
        let field = format!("derived_from[{i}]");
        let Some(c) = required(problems, &field, c) else {
            ok = false;
            continue;
        };
        let number = required(problems, &format!("{field}.number"), &c.number).and_then(|s| {
            match CertificateNumber::parse(s) {
                Some(n) if out.iter().any(|o| o.number == n) => {
                    problems.push(Problem::new(
                        format!("{field}.number"),
                        format!("{n} is cited more than once"),
                    ));
                    None
                }
                Some(n) => Some(n),
                None => {
                    problems.push(Problem::new(
                        format!("{field}.number"),
                        format!("{s:?} is not a certificate number such as BW-2026-000042"),
                    ));
                    None
                }
            }
        });
        let carats = amount(problems, format!("{field}.carats"), &c.carats);
        match (number, carats) {
            (Some(number), Some(carats)) => out.push(Citation { number, carats }),
            _ => ok = false,
        }
    }
    out.sort();
    ok.then_some(out)
}

/// The rules on a certificate's citations that need no ledger: their carats together within
/// the certificate's `total`, none citing a certificate of the issuing participant itself.
pub fn citation_problems(
    citations: &[Citation],
    total: Hundredths,
    issuer: super::country::CountryCode,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let drawn = sum(citations.iter().map(|c| c.carats));
    if drawn > total {
        problems.push(Problem::new(
            "derived_from",
            format!("draws {drawn} carats in all, more than the {total} carats this certificate exports"),
        ));
    }
    for (i, c) in citations.iter().enumerate() {
        if c.number.participant() == issuer {
            problems.push(Problem::new(
                format!("derived_from[{i}].number"),
                format!("{} is a certificate of {issuer} itself: cite the import certificates the goods came in under", c.number),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn ct(s: &str) -> Hundredths {
        Hundredths::parse(s).unwrap()
    }

    #[test]
    fn discrepancies_list_parcels_carats_per_code_and_late_arrival() {
        let shipment = Shipment {
            parcels: 3,
            lines: vec![
                (HsCode::Unsorted, ct("100.00")),
                (HsCode::Industrial, ct("5.00")),
            ],
        };
        let arrival = Arrival {
            number: CertificateNumber::parse("BW-2026-000001").unwrap(),
            received_on: date("2027-02-01"),
            parcels: 2,
            items: vec![
                ArrivalLine {
                    hs_code: HsCode::Unsorted,
                    carats: ct("99.50"),
                },
                ArrivalLine {
                    hs_code: HsCode::Industrial,
                    carats: ct("5.00"),
                },
                ArrivalLine {
                    hs_code: HsCode::NonIndustrial,
                    carats: ct("1.00"),
                },
            ],
            remarks: String::new(),
            salt: [7; 16],
        };
        let found: Vec<String> = discrepancies(&shipment, date("2027-01-25"), &arrival)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(
            found,
            [
                "2 parcels arrived where the certificate states 3",
                "99.50 carats of 7102.10 arrived where the certificate states 100.00",
                "1.00 carats of 7102.31 arrived where the certificate states 0.00",
                "received on 2027-02-01, after the certificate expired on 2027-01-25",
            ]
        );
        let exact = Arrival {
            parcels: 3,
            received_on: date("2027-01-25"),
            items: vec![
                ArrivalLine {
                    hs_code: HsCode::Unsorted,
                    carats: ct("100.00"),
                },
                ArrivalLine {
                    hs_code: HsCode::Industrial,
                    carats: ct("5.00"),
                },
            ],
            ..arrival
        };
        assert!(discrepancies(&shipment, date("2027-01-25"), &exact).is_empty());
    }

    #[test]
    fn every_problem_of_a_confirmation_is_named() {
        let given = |s: &str| Input::Given(s.to_owned());
        let input = ArrivalInput {
            received_on: given("2026-11-01"),
            parcels: Input::Given(0),
            items: Input::Given(vec![
                Input::Given(ArrivalLineInput {
                    hs_code: given("7102.99"),
                    carats: given("0"),
                }),
                Input::Given(ArrivalLineInput {
                    hs_code: given("7102.10"),
                    carats: given("1.234"),
                }),
            ]),
            remarks: given(" padded"),
        };
        let problems: Vec<String> =
            ArrivalContent::validate(&input, date("2026-11-20"), date("2026-11-26"))
                .unwrap_err()
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect();
        assert_eq!(
            problems,
            [
                "received_on: must not be before the certificate was issued (2026-11-20)",
                "parcels: must be between 1 and 100000",
                "items[0].hs_code: \"7102.99\" is not a rough-diamond HS code (7102.10, 7102.21 or 7102.31)",
                "items[0].carats: must be greater than 0",
                "items[1].carats: must have at most 2 decimals",
                "remarks: must not start or end with white space",
            ]
        );
    }

    #[test]
    fn citations_are_sorted_distinct_and_within_the_export() {
        let given = |s: &str| Input::Given(s.to_owned());
        let cite = |n: &str, c: &str| {
            Input::Given(CitationInput {
                number: given(n),
                carats: given(c),
            })
        };
        let mut problems = Vec::new();
        let list = check_citations(
            &Input::Given(vec![
                cite("ZA-2026-000002", "5"),
                cite("BW-2026-000001", "10"),
            ]),
            &mut problems,
        )
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(list[0].number.as_str(), "BW-2026-000001");
        let ae = super::super::country::CountryCode::participant("AE").unwrap();
        assert!(citation_problems(&list, ct("15.00"), ae).is_empty());
        assert_eq!(
            citation_problems(&list, ct("14.99"), ae)[0].message,
            "draws 15.00 carats in all, more than the 14.99 carats this certificate exports"
        );
        check_citations(
            &Input::Given(vec![
                cite("BW-2026-000001", "1"),
                cite("BW-2026-000001", "2"),
            ]),
            &mut problems,
        );
        assert_eq!(problems[0].field, "derived_from[1].number");
    }
}
