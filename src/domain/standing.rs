//! A participant's standing in the scheme over time: each status change the Secretariat records
//! with the decision behind it (Plenary, written procedure or Chair), the terms of a partial
//! suspension (approved zones, prior approval by a monitoring team), an order to refuse a
//! participant's certificates from a date, and the trade measures outside KP status (a UN
//! embargo that stops exports; national sanctions, which are recorded but are not KP validity).
//!
//! Standing is judged at a date: [`StandingHistory::at`] gives the status in force on a day with
//! the change that set it. Pure: the ledger state, the trust bundle and the verdict engine share
//! these rules.

use super::certificate::{text_rule, Problem};
use super::country::CountryCode;
use super::date::Date;

/// Longest decision reference, zone id or measure reference, in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// Longest zone name, body imposing a measure, or note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Most approved zones a partial suspension lists.
pub const MAX_ZONES: usize = 200;

/// A participant's status in the scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Suspended,
    SelfSuspended,
    PartiallySuspended,
    Removed,
    Applicant,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Active,
        Status::Suspended,
        Status::SelfSuspended,
        Status::PartiallySuspended,
        Status::Removed,
        Status::Applicant,
    ];

    /// The API's word for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::SelfSuspended => "self_suspended",
            Status::PartiallySuspended => "partially_suspended",
            Status::Removed => "removed",
            Status::Applicant => "applicant",
        }
    }

    /// Parses the API's word.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether a participant of this status may trade: active, or partially suspended (from
    /// its approved zones only).
    pub fn may_trade(self) -> bool {
        matches!(self, Status::Active | Status::PartiallySuspended)
    }
}

/// Who took a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionBody {
    Plenary,
    WrittenProcedure,
    Chair,
}

impl DecisionBody {
    pub const ALL: [DecisionBody; 3] = [
        DecisionBody::Plenary,
        DecisionBody::WrittenProcedure,
        DecisionBody::Chair,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionBody::Plenary => "plenary",
            DecisionBody::WrittenProcedure => "written_procedure",
            DecisionBody::Chair => "chair",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionBody> {
        DecisionBody::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// How a sentence names it.
    pub fn words(self) -> &'static str {
        match self {
            DecisionBody::Plenary => "the Plenary",
            DecisionBody::WrittenProcedure => "written procedure",
            DecisionBody::Chair => "the Chair",
        }
    }
}

/// The decision behind a status change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The decision's reference, e.g. "AD 2013/1".
    pub reference: String,
    pub body: DecisionBody,
    pub decided_on: Date,
}

impl Decision {
    /// "decision AD 2013/1 of the Plenary (2013-05-23)".
    pub fn describe(&self) -> String {
        format!(
            "decision {} of {} ({})",
            self.reference,
            self.body.words(),
            self.decided_on
        )
    }
}

/// An approved zone of a partially suspended participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
}

/// What a partial suspension allows: exports from the approved zones only, each with a
/// monitoring team's prior approval when `prior_approval` is set. A later decision that adds or
/// withdraws zones is a new change with the new list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialTerms {
    /// Sorted by id, each id once.
    pub zones: Vec<Zone>,
    pub prior_approval: bool,
    /// The monitoring team mandated to approve each export (the owner of its `monitor`
    /// token); required exactly when `prior_approval` is set.
    pub team: Option<String>,
}

impl PartialTerms {
    /// Whether zone `id` is approved.
    pub fn approves(&self, id: &str) -> bool {
        self.zones.iter().any(|z| z.id == id)
    }
}

/// A monitoring team's prior approval of one export of a partially suspended participant:
/// the SHA-256 of the request the authority will send, the zone the goods come from, and the
/// conditions attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentApproval {
    pub participant: CountryCode,
    pub team: String,
    pub request_hash: crate::crypto::Hash,
    pub zone: String,
    /// What the team saw and approves: the shipment's destination, its parcels and its total
    /// carats. The certificate issued under the approval must state the same, whatever route
    /// it takes (the request hash alone binds nothing a signed certificate must repeat).
    pub destination: CountryCode,
    pub parcels: u32,
    pub carats: super::amount::Hundredths,
    /// Free text; empty when none.
    pub conditions: String,
    /// SHA-256 of the recorded documents of the evidence required (photographs, forensic
    /// audit reports), sorted, each once.
    pub documents: Vec<crate::crypto::Hash>,
}

/// The entry actor of a monitoring team's entries.
pub fn team_actor(team: &str) -> String {
    format!("monitor:{team}")
}

/// An approval as recorded, and the certificate that used it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub index: u64,
    pub approval: ShipmentApproval,
    pub used_by: Option<super::certificate::CertificateNumber>,
}

/// A change of a participant's status, as the Secretariat records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub participant: CountryCode,
    pub status: Status,
    /// The day the new status takes effect (on or after the decision).
    pub effective_on: Date,
    pub decision: Decision,
    /// Required for `partially_suspended`, absent otherwise.
    pub terms: Option<PartialTerms>,
    /// For `suspended` or `removed`: participants are to refuse this participant's
    /// certificates, whenever issued, from this day (the Republic of Congo, 2004).
    pub refuse_from: Option<Date>,
    /// Free text; empty when none.
    pub note: String,
}

/// The kind of a trade measure outside KP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeasureKind {
    /// A UN Security Council embargo: no exports while it runs (Côte d'Ivoire 2005-2014).
    Embargo,
    /// National sanctions by some participants: recorded for information, not KP validity.
    NationalSanctions,
}

impl MeasureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureKind::Embargo => "embargo",
            MeasureKind::NationalSanctions => "national_sanctions",
        }
    }

    pub fn parse(s: &str) -> Option<MeasureKind> {
        [MeasureKind::Embargo, MeasureKind::NationalSanctions]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A trade measure on a participant, outside its KP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeMeasure {
    pub participant: CountryCode,
    pub kind: MeasureKind,
    /// E.g. "UNSC resolution 1643 (2005)".
    pub reference: String,
    /// Who imposes it, e.g. "UN Security Council".
    pub imposed_by: String,
    pub from: Date,
    /// Last day in force; `None` while it runs.
    pub until: Option<Date>,
    pub note: String,
}

impl TradeMeasure {
    /// Whether it is in force on `day`.
    pub fn in_force(&self, day: Date) -> bool {
        self.from <= day && self.until.is_none_or(|u| day <= u)
    }

    /// The problems of this measure on its own.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        text(
            &mut problems,
            "reference",
            &self.reference,
            MAX_REFERENCE_CHARS,
        );
        text(
            &mut problems,
            "imposed_by",
            &self.imposed_by,
            MAX_NOTE_CHARS,
        );
        optional_text(&mut problems, "note", &self.note);
        if let Some(until) = self.until {
            if until < self.from {
                problems.push(Problem::new(
                    "until",
                    format!("must not be before from ({})", self.from),
                ));
            }
        }
        problems
    }
}

fn text(problems: &mut Vec<Problem>, field: &str, s: &str, max: usize) {
    if let Err(why) = text_rule(s, max) {
        problems.push(Problem::new(field, why));
    }
}

fn optional_text(problems: &mut Vec<Problem>, field: &str, s: &str) {
    if !s.is_empty() {
        text(problems, field, s, MAX_NOTE_CHARS);
    }
}

impl StatusChange {
    /// The problems of this change recorded on `recorded_on`, on its own (the ledger state adds
    /// what depends on the participant's history): the decision is taken by then and the change
    /// does not take effect before it (nothing is back-dated beyond what the decision allows),
    /// terms exactly for a partial suspension, a refusal order only with a suspension or a
    /// removal and not before the decision.
    pub fn problems(&self, recorded_on: Date) -> Vec<Problem> {
        let mut problems = Vec::new();
        text(
            &mut problems,
            "decision.reference",
            &self.decision.reference,
            MAX_REFERENCE_CHARS,
        );
        optional_text(&mut problems, "note", &self.note);
        if self.decision.decided_on > recorded_on {
            problems.push(Problem::new(
                "decision.decided_on",
                format!("must not be after the day it is recorded ({recorded_on})"),
            ));
        }
        if self.effective_on < self.decision.decided_on {
            problems.push(Problem::new(
                "effective_on",
                format!(
                    "must not be before the decision ({}): a change cannot take effect before it was decided",
                    self.decision.decided_on
                ),
            ));
        }
        match (&self.terms, self.status) {
            (None, Status::PartiallySuspended) => problems.push(Problem::new(
                "terms",
                "are required for a partial suspension: the approved zones and whether each export needs prior approval",
            )),
            (Some(_), s) if s != Status::PartiallySuspended => problems.push(Problem::new(
                "terms",
                "belong to a partial suspension only",
            )),
            (Some(terms), _) => {
                if terms.zones.len() > MAX_ZONES {
                    problems.push(Problem::new(
                        "terms.zones",
                        format!("must list at most {MAX_ZONES} zones"),
                    ));
                }
                for (i, z) in terms.zones.iter().enumerate() {
                    text(&mut problems, &format!("terms.zones[{i}].id"), &z.id, MAX_REFERENCE_CHARS);
                    text(&mut problems, &format!("terms.zones[{i}].name"), &z.name, MAX_NOTE_CHARS);
                }
                if terms.zones.windows(2).any(|w| w[0].id >= w[1].id) {
                    problems.push(Problem::new(
                        "terms.zones",
                        "must be sorted by id, each id once",
                    ));
                }
                match (&terms.team, terms.prior_approval) {
                    (None, true) => problems.push(Problem::new(
                        "terms.team",
                        "is required when each export needs prior approval: the monitoring team mandated to give it",
                    )),
                    (Some(_), false) => problems.push(Problem::new(
                        "terms.team",
                        "belongs to terms with prior_approval only",
                    )),
                    (Some(team), true) => text(&mut problems, "terms.team", team, MAX_REFERENCE_CHARS),
                    (None, false) => {}
                }
            }
            (None, _) => {}
        }
        if let Some(from) = self.refuse_from {
            if !matches!(self.status, Status::Suspended | Status::Removed) {
                problems.push(Problem::new(
                    "refuse_from",
                    "belongs to a suspension or a removal only",
                ));
            } else if from < self.decision.decided_on {
                problems.push(Problem::new(
                    "refuse_from",
                    format!(
                        "must not be before the decision ({})",
                        self.decision.decided_on
                    ),
                ));
            }
        }
        problems
    }
}

/// A status change as recorded: its entry's index and time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    pub index: u64,
    pub time_ms: u64,
    pub change: StatusChange,
}

/// A trade measure as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasureRecord {
    pub index: u64,
    pub time_ms: u64,
    pub measure: TradeMeasure,
}

/// Why a participant may not trade on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar<'a> {
    /// Its status in force (suspended, self-suspended, removed, applicant).
    Status(&'a ChangeRecord),
    /// An embargo in force.
    Embargo(&'a MeasureRecord),
}

impl Bar<'_> {
    /// "BW was suspended on DATE (decision ... of the Plenary (DATE), entry N)".
    pub fn describe(&self, code: CountryCode, day: Date) -> String {
        match self {
            Bar::Status(r) => format!(
                "{code} was {} on {day} by {} (in effect from {}, ledger entry {})",
                match r.change.status {
                    Status::Applicant => "only an applicant",
                    Status::SelfSuspended => "self-suspended",
                    Status::Removed => "removed",
                    Status::Suspended => "suspended",
                    Status::Active | Status::PartiallySuspended => "restricted",
                },
                r.change.decision.describe(),
                r.change.effective_on,
                r.index
            ),
            Bar::Embargo(r) => format!(
                "{code} was under {} ({}, imposed by {}, from {}) on {day} (ledger entry {})",
                r.measure.kind.as_str().replace('_', " "),
                r.measure.reference,
                r.measure.imposed_by,
                r.measure.from,
                r.index
            ),
        }
    }
}

/// A participant's standing over time: its status changes in order of effect, and its trade
/// measures. A registered participant with no change is active.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StandingHistory {
    /// In ledger order, which is also the order of `effective_on` (never decreasing).
    pub changes: Vec<ChangeRecord>,
    pub measures: Vec<MeasureRecord>,
}

impl StandingHistory {
    /// The change in force on `day` (the last one in effect by then), if any.
    pub fn change_at(&self, day: Date) -> Option<&ChangeRecord> {
        self.changes
            .iter()
            .rev()
            .find(|r| r.change.effective_on <= day)
    }

    /// The terms of the partial suspension in force on `day`, if the participant is partially
    /// suspended then.
    pub fn terms_on(&self, day: Date) -> Option<&PartialTerms> {
        self.change_at(day)
            .filter(|r| r.change.status == Status::PartiallySuspended)
            .and_then(|r| r.change.terms.as_ref())
    }

    /// The status on `day`: that of the change in force, active without one.
    pub fn at(&self, day: Date) -> Status {
        self.change_at(day)
            .map_or(Status::Active, |r| r.change.status)
    }

    /// What bars the participant from trading on `day`, if anything: a status that may not
    /// trade, or an embargo in force.
    pub fn bar_on(&self, day: Date) -> Option<Bar<'_>> {
        if let Some(r) = self.change_at(day).filter(|r| !r.change.status.may_trade()) {
            return Some(Bar::Status(r));
        }
        self.measures_in_force(day)
            .find(|m| m.measure.kind == MeasureKind::Embargo)
            .map(Bar::Embargo)
    }

    /// The measures in force on `day`. A measure recorded again under the same reference and
    /// kind supersedes the earlier record (that is how one is lifted, by a new `until`, or
    /// amended).
    pub fn measures_in_force(&self, day: Date) -> impl Iterator<Item = &MeasureRecord> {
        self.measures.iter().enumerate().filter_map(move |(i, m)| {
            let superseded = self.measures[i + 1..].iter().any(|later| {
                later.measure.kind == m.measure.kind
                    && later.measure.reference == m.measure.reference
            });
            (!superseded && m.measure.in_force(day)).then_some(m)
        })
    }

    /// The order in force on `today` to refuse this participant's certificates, whenever
    /// issued: the change in force carries a `refuse_from` that has passed.
    pub fn refusal_on(&self, today: Date) -> Option<&ChangeRecord> {
        self.change_at(today)
            .filter(|r| r.change.refuse_from.is_some_and(|from| from <= today))
    }

    /// The problem of recording `change` next, on top of this history: a change takes effect
    /// no earlier than the one before it (the history is one line in time).
    pub fn next_problem(&self, change: &StatusChange) -> Option<Problem> {
        let last = self.changes.last()?;
        // Strictly after: a change on the same day would silently erase the one before it.
        (change.effective_on <= last.change.effective_on).then(|| {
            Problem::new(
                "effective_on",
                format!(
                    "must be after the participant's last change, in effect from {} (ledger entry {})",
                    last.change.effective_on, last.index
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn change(status: Status, effective: &str, refuse_from: Option<&str>) -> ChangeRecord {
        ChangeRecord {
            index: 0,
            time_ms: 0,
            change: StatusChange {
                participant: CountryCode::participant("CG").unwrap(),
                status,
                effective_on: d(effective),
                decision: Decision {
                    reference: "X".into(),
                    body: DecisionBody::Plenary,
                    decided_on: d(effective),
                },
                terms: None,
                refuse_from: refuse_from.map(d),
                note: String::new(),
            },
        }
    }

    #[test]
    fn standing_is_judged_at_a_date() {
        // The Republic of Congo: removed in 2004 with an order to refuse its certificates,
        // readmitted in 2007.
        let h = StandingHistory {
            changes: vec![
                change(Status::Removed, "2004-07-09", Some("2004-07-09")),
                change(Status::Active, "2007-11-08", None),
            ],
            measures: vec![],
        };
        assert_eq!(h.at(d("2004-07-08")), Status::Active);
        assert_eq!(h.at(d("2005-01-01")), Status::Removed);
        assert_eq!(h.at(d("2008-01-01")), Status::Active);
        assert!(h.bar_on(d("2005-01-01")).is_some());
        assert!(h.bar_on(d("2004-07-08")).is_none());
        assert!(h.refusal_on(d("2004-07-10")).is_some());
        assert!(h.refusal_on(d("2008-01-01")).is_none());
        // A change may not take effect before the last one.
        let early = change(Status::Suspended, "2006-01-01", None).change;
        assert!(h.next_problem(&early).is_some());
    }

    #[test]
    fn an_embargo_bars_exports_while_status_stays_active() {
        let h = StandingHistory {
            changes: vec![],
            measures: vec![MeasureRecord {
                index: 3,
                time_ms: 0,
                measure: TradeMeasure {
                    participant: CountryCode::participant("CI").unwrap(),
                    kind: MeasureKind::Embargo,
                    reference: "UNSC resolution 1643 (2005)".into(),
                    imposed_by: "UN Security Council".into(),
                    from: d("2005-12-15"),
                    until: Some(d("2014-04-29")),
                    note: String::new(),
                },
            }],
        };
        assert_eq!(h.at(d("2010-01-01")), Status::Active);
        assert!(matches!(h.bar_on(d("2010-01-01")), Some(Bar::Embargo(_))));
        assert!(h.bar_on(d("2014-04-30")).is_none());
    }

    #[test]
    fn a_change_is_not_back_dated_beyond_its_decision() {
        let mut c = change(Status::Suspended, "2013-05-23", None).change;
        assert!(c.problems(d("2026-01-01")).is_empty());
        c.effective_on = d("2013-05-01");
        assert_eq!(c.problems(d("2026-01-01"))[0].field, "effective_on");
        c.effective_on = d("2013-05-23");
        assert_eq!(c.problems(d("2013-05-22"))[0].field, "decision.decided_on");
        c.status = Status::PartiallySuspended;
        assert_eq!(c.problems(d("2026-01-01"))[0].field, "terms");
        c.status = Status::SelfSuspended;
        c.refuse_from = Some(d("2013-06-01"));
        assert_eq!(c.problems(d("2026-01-01"))[0].field, "refuse_from");
    }
}
