//! Participant standing on the service: the Secretariat records status changes (with the
//! decision behind them) and trade measures as ledger entries, a mandated monitoring team its
//! prior approvals of a partially suspended participant's exports, and anyone reads a participant's
//! standing at a date or its whole history, each change proven against the latest checkpoint.
//! Also the other oversight records: authorities' production reports and passed audits.
//!
//! As for every write, each request is checked here (every problem named, nothing written) and
//! again on the writer against the state the entry joins.

use std::sync::Arc;

use super::App;
use crate::crypto::Hash;
use crate::domain::standing::team_actor;
use crate::domain::{
    CountryCode, Date, Event, ParticipantRecord, Problem, ShipmentApproval, State, StatusChange,
    TradeMeasure, SECRETARIAT,
};
use crate::ledger::{LedgerError, NewEntry, SignedCheckpoint};

/// A participant's record with the entry and inclusion proof of each status change and trade
/// measure, against one checkpoint.
pub struct ParticipantHistory {
    pub record: ParticipantRecord,
    /// By entry index: the entry's canonical bytes and its inclusion proof.
    pub proofs: Vec<(u64, Vec<u8>, Vec<Hash>)>,
    pub checkpoint: Arc<SignedCheckpoint>,
}

fn change_problems(state: &State, change: &StatusChange, today: Date) -> Vec<Problem> {
    let Some(record) = state.participant(change.participant) else {
        return vec![Problem::new(
            "participant",
            format!("{} is not a registered participant", change.participant),
        )];
    };
    let mut problems = change.problems(today);
    problems.extend(record.standing.next_problem(change));
    problems
}

fn measure_problems(state: &State, measure: &TradeMeasure) -> Vec<Problem> {
    if state.participant(measure.participant).is_none() {
        return vec![Problem::new(
            "participant",
            format!("{} is not a registered participant", measure.participant),
        )];
    }
    measure.problems()
}

fn refused_if(problems: Vec<Problem>) -> Result<(), LedgerError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LedgerError::Invalid(problems))
    }
}

impl App {
    /// Records a participant's status change (the Secretariat's); its entry index.
    pub fn record_status_change(&self, change: StatusChange) -> Result<u64, LedgerError> {
        refused_if(change_problems(&self.state(), &change, self.today()))?;
        let appended = self.ledger.append_blocking(move |ctx| {
            let today = Date::from_unix_ms(ctx.time_ms());
            refused_if(change_problems(ctx.state(), &change, today))?;
            Ok(NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::StatusChanged(change),
            })
        })?;
        Ok(appended.index)
    }

    /// Records a participant's production report for a half-year, by `actor` (one of its
    /// authorities, or the Secretariat); its entry index.
    pub fn record_production(
        &self,
        actor: String,
        report: crate::domain::ProductionReport,
    ) -> Result<u64, LedgerError> {
        refused_if(
            self.state()
                .production_problems(&actor, &report, self.today()),
        )?;
        let appended = self.ledger.append_blocking(move |ctx| {
            let today = Date::from_unix_ms(ctx.time_ms());
            refused_if(ctx.state().production_problems(&actor, &report, today))?;
            Ok(NewEntry {
                actor,
                key_id: None,
                event: Event::ProductionReported(report),
            })
        })?;
        Ok(appended.index)
    }

    /// Records a passed audit of the first `audit.size` entries by `actor` (the Secretariat or
    /// `monitor:<team>`): refused unless `audit.root` is this ledger's root at that size.
    pub fn record_audit(
        &self,
        actor: String,
        audit: crate::domain::LedgerAudit,
    ) -> Result<u64, LedgerError> {
        let size = self.ledger.size();
        if audit.size == 0 || audit.size > size {
            return Err(LedgerError::Invalid(vec![Problem::new(
                "size",
                format!("must be from 1 to the ledger's size, {size}"),
            )]));
        }
        if self.ledger.proven_root(audit.size)? != audit.root {
            return Err(LedgerError::Invalid(vec![Problem::new(
                "root",
                format!(
                    "is not this ledger's Merkle root at size {}: the audit was of another ledger, or of a fork",
                    audit.size
                ),
            )]));
        }
        let appended = self.ledger.append_blocking(move |_| {
            Ok(NewEntry {
                actor,
                key_id: None,
                event: Event::LedgerAudited(audit),
            })
        })?;
        Ok(appended.index)
    }

    /// Year `year`'s published statistics, once its publication cut-off has passed (`None`
    /// before): what the public reads, computed once.
    pub fn published_year(&self, year: i64) -> Option<Arc<crate::statistics::Published>> {
        if !crate::domain::stats::is_published(year, self.today()) {
            return None;
        }
        if let Some(hit) = self.published.lock().expect("published").get(&year) {
            return Some(hit.clone());
        }
        let computed = Arc::new(crate::domain::stats::published_year(&self.state(), year));
        self.published
            .lock()
            .expect("published")
            .insert(year, computed.clone());
        Some(computed)
    }

    /// The published years, oldest first: from the first year the ledger has figures for to
    /// the latest year published (a year stays listed even when later voids empty its live
    /// figures: its published ones are frozen).
    pub fn published_years(&self) -> Vec<i64> {
        let today = self.today();
        let Some(&first) = crate::portal::years_with_data(&self.state()).first() else {
            return Vec::new();
        };
        (first..today.year())
            .filter(|y| crate::domain::stats::is_published(*y, today))
            .collect()
    }

    /// The latest recorded audit, for the ledger page.
    pub fn last_audit(&self) -> Option<crate::portal::LastAudit> {
        self.state().last_audit().map(|a| crate::portal::LastAudit {
            time_ms: a.time_ms,
            actor: a.actor.clone(),
            size: a.audit.size,
            level: a.audit.level.as_str().to_owned(),
        })
    }

    /// Records a trade measure on a participant (the Secretariat's); its entry index.
    pub fn record_trade_measure(&self, measure: TradeMeasure) -> Result<u64, LedgerError> {
        refused_if(measure_problems(&self.state(), &measure))?;
        let appended = self.ledger.append_blocking(move |ctx| {
            refused_if(measure_problems(ctx.state(), &measure))?;
            Ok(NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::TradeMeasureRecorded(measure),
            })
        })?;
        Ok(appended.index)
    }

    /// Records monitoring team `approval.team`'s prior approval of one export; its entry index.
    pub fn record_approval(&self, approval: ShipmentApproval) -> Result<u64, LedgerError> {
        refused_if(self.state().approval_problems(&approval, self.today()))?;
        let appended = self.ledger.append_blocking(move |ctx| {
            let today = Date::from_unix_ms(ctx.time_ms());
            refused_if(ctx.state().approval_problems(&approval, today))?;
            Ok(NewEntry {
                actor: team_actor(&approval.team),
                key_id: None,
                event: Event::ShipmentApproved(approval),
            })
        })?;
        Ok(appended.index)
    }

    /// Records a step of a rehabilitation case by `actor` (the Secretariat or a monitoring
    /// team); its entry index.
    pub fn record_case_step(
        &self,
        actor: String,
        step: crate::domain::case::CaseStep,
    ) -> Result<u64, LedgerError> {
        refused_if(self.state().step_problems(&actor, &step, self.today()))?;
        let appended = self.ledger.append_blocking(move |ctx| {
            let today = Date::from_unix_ms(ctx.time_ms());
            refused_if(ctx.state().step_problems(&actor, &step, today))?;
            Ok(NewEntry {
                actor,
                key_id: None,
                event: Event::CaseStepRecorded(step),
            })
        })?;
        Ok(appended.index)
    }

    /// Records a benchmark of a rehabilitation case, set or decided, by `actor`; its entry
    /// index.
    pub fn record_benchmark(
        &self,
        actor: String,
        benchmark: crate::domain::case::Benchmark,
    ) -> Result<u64, LedgerError> {
        refused_if(self.state().benchmark_problems(&actor, &benchmark))?;
        let appended = self.ledger.append_blocking(move |ctx| {
            refused_if(ctx.state().benchmark_problems(&actor, &benchmark))?;
            Ok(NewEntry {
                actor,
                key_id: None,
                event: Event::BenchmarkSet(benchmark),
            })
        })?;
        Ok(appended.index)
    }

    /// Participant `code` with each of its standing entries proven against the latest
    /// checkpoint; `None` if it is not registered.
    pub fn participant_history(
        &self,
        code: CountryCode,
    ) -> Result<Option<ParticipantHistory>, LedgerError> {
        let state = self.state();
        let checkpoint = self.ledger.head();
        let Some(record) = state.participant(code).cloned() else {
            return Ok(None);
        };
        let mut indexes: Vec<u64> = record.standing.changes.iter().map(|r| r.index).collect();
        indexes.extend(record.standing.measures.iter().map(|r| r.index));
        let mut proofs = Vec::new();
        for index in indexes {
            let (entry, bytes) = self.entry_at(index)?;
            let same = match &entry.event {
                Event::StatusChanged(c) => c.participant == code,
                Event::TradeMeasureRecorded(m) => m.participant == code,
                _ => false,
            };
            if !same {
                return Err(LedgerError::Corrupt(format!(
                    "entry {index}, which the state names for {code}'s standing, is about something else"
                )));
            }
            let proof = self
                .ledger
                .proven_inclusion(index, &bytes, &checkpoint.checkpoint)?;
            proofs.push((index, bytes, proof));
        }
        Ok(Some(ParticipantHistory {
            record,
            proofs,
            checkpoint,
        }))
    }
}
