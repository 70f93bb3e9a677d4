//! Rehabilitation cases: the KP's record of a suspended or partially suspended participant's
//! way back. Each step (a review visit or mission, a monitoring report, a meeting, a decision)
//! is recorded with its dates, team, findings and the documents behind it, and may end a stage
//! of the path (review mission, action plan, monitored partial resumption, readmission); each
//! benchmark of the action plan is open, met or not met, with the evidence that decided it.
//! The case shows where the participant stands and what remains, so that a new team picks up
//! where the last one stopped.

use super::certificate::{text_rule, Problem};
use super::country::CountryCode;
use super::date::Date;
use crate::crypto::Hash;

/// Longest benchmark id or team name, in characters.
pub const MAX_CASE_ID_CHARS: usize = 100;
/// Longest findings, benchmark text or note, in characters.
pub const MAX_CASE_TEXT_CHARS: usize = 4000;
/// Most documents a step or benchmark cites.
pub const MAX_CITED_DOCUMENTS: usize = 32;

/// What a step of a case is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    ReviewVisit,
    ReviewMission,
    MonitoringReport,
    Meeting,
    Decision,
    Note,
}

impl StepKind {
    pub const ALL: [StepKind; 6] = [
        StepKind::ReviewVisit,
        StepKind::ReviewMission,
        StepKind::MonitoringReport,
        StepKind::Meeting,
        StepKind::Decision,
        StepKind::Note,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::ReviewVisit => "review_visit",
            StepKind::ReviewMission => "review_mission",
            StepKind::MonitoringReport => "monitoring_report",
            StepKind::Meeting => "meeting",
            StepKind::Decision => "decision",
            StepKind::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The stages of the way back, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    ReviewMission,
    ActionPlan,
    MonitoredResumption,
    Readmission,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::ReviewMission,
        Stage::ActionPlan,
        Stage::MonitoredResumption,
        Stage::Readmission,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ReviewMission => "review_mission",
            Stage::ActionPlan => "action_plan",
            Stage::MonitoredResumption => "monitored_resumption",
            Stage::Readmission => "readmission",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A benchmark's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchmarkStatus {
    Open,
    Met,
    NotMet,
}

impl BenchmarkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BenchmarkStatus::Open => "open",
            BenchmarkStatus::Met => "met",
            BenchmarkStatus::NotMet => "not_met",
        }
    }

    pub fn parse(s: &str) -> Option<BenchmarkStatus> {
        [
            BenchmarkStatus::Open,
            BenchmarkStatus::Met,
            BenchmarkStatus::NotMet,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A step of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseStep {
    pub participant: CountryCode,
    pub kind: StepKind,
    pub from: Date,
    /// Last day, for a step of several days.
    pub until: Option<Date>,
    /// The team (or body) that took the step.
    pub team: String,
    pub findings: String,
    /// SHA-256 of recorded documents behind it, sorted, each once.
    pub documents: Vec<Hash>,
    /// The stage this step ends, if any (the next stage not yet ended).
    pub ends_stage: Option<Stage>,
}

/// A benchmark of the action plan, as set or decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Benchmark {
    pub participant: CountryCode,
    pub id: String,
    pub text: String,
    pub status: BenchmarkStatus,
    /// SHA-256 of recorded documents that decided it, sorted, each once (required once it is
    /// met or not met).
    pub evidence: Vec<Hash>,
    pub note: String,
}

fn text(problems: &mut Vec<Problem>, field: &str, s: &str, max: usize) {
    if let Err(why) = text_rule(s, max) {
        problems.push(Problem::new(field, why));
    }
}

fn cited(problems: &mut Vec<Problem>, field: &str, hashes: &[Hash]) {
    if hashes.len() > MAX_CITED_DOCUMENTS {
        problems.push(Problem::new(
            field,
            format!("must cite at most {MAX_CITED_DOCUMENTS} documents"),
        ));
    }
    if hashes.windows(2).any(|w| w[0] >= w[1]) {
        problems.push(Problem::new(field, "must be sorted, each document once"));
    }
}

impl CaseStep {
    /// The problems of this step on its own, recorded on `recorded_on`.
    pub fn problems(&self, recorded_on: Date) -> Vec<Problem> {
        let mut problems = Vec::new();
        text(&mut problems, "team", &self.team, MAX_CASE_ID_CHARS);
        text(
            &mut problems,
            "findings",
            &self.findings,
            MAX_CASE_TEXT_CHARS,
        );
        cited(&mut problems, "documents", &self.documents);
        if self.from > recorded_on {
            problems.push(Problem::new(
                "from",
                format!("must not be after the day it is recorded ({recorded_on})"),
            ));
        }
        if self.until.is_some_and(|u| u < self.from || u > recorded_on) {
            problems.push(Problem::new(
                "until",
                format!(
                    "must be between from ({}) and the day it is recorded",
                    self.from
                ),
            ));
        }
        problems
    }
}

impl Benchmark {
    /// The problems of this benchmark on its own.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        text(&mut problems, "id", &self.id, MAX_CASE_ID_CHARS);
        text(&mut problems, "text", &self.text, MAX_CASE_TEXT_CHARS);
        if !self.note.is_empty() {
            text(&mut problems, "note", &self.note, MAX_CASE_TEXT_CHARS);
        }
        cited(&mut problems, "evidence", &self.evidence);
        if self.status != BenchmarkStatus::Open && self.evidence.is_empty() {
            problems.push(Problem::new(
                "evidence",
                format!(
                    "is required to decide a benchmark {}: cite the recorded documents that decided it",
                    self.status.as_str().replace('_', " ")
                ),
            ));
        }
        problems
    }
}

/// A case entry as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded<T> {
    pub index: u64,
    pub time_ms: u64,
    pub actor: String,
    pub what: T,
}

/// A participant's rehabilitation case, in ledger order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseFile {
    pub steps: Vec<Recorded<CaseStep>>,
    pub benchmarks: Vec<Recorded<Benchmark>>,
}

impl CaseFile {
    /// The stages ended so far, each with the step that ended it.
    pub fn ended(&self) -> impl Iterator<Item = (Stage, &Recorded<CaseStep>)> {
        self.steps
            .iter()
            .filter_map(|s| s.what.ends_stage.map(|stage| (stage, s)))
    }

    /// The stage the participant is in: the first not yet ended (`None`: readmitted).
    pub fn current_stage(&self) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|stage| !self.ended().any(|(s, _)| s == *stage))
    }

    /// Each benchmark's latest record, by id in the order first set.
    pub fn benchmarks_now(&self) -> Vec<&Recorded<Benchmark>> {
        let mut ids: Vec<&str> = Vec::new();
        for b in &self.benchmarks {
            if !ids.contains(&b.what.id.as_str()) {
                ids.push(&b.what.id);
            }
        }
        ids.into_iter()
            .filter_map(|id| self.benchmarks.iter().rev().find(|b| b.what.id == id))
            .collect()
    }
}
