//! The payloads of the rehabilitation case entries (api/cases.md): `case.step_recorded` and
//! `case.benchmark_set`, as CBOR maps; the state snapshot embeds the same maps.

use super::cbor::{shape, Fields, FormatError, Value};
use crate::crypto::Hash;
use crate::domain::case::{Benchmark, BenchmarkStatus, CaseStep, Stage, StepKind};
use crate::domain::{CountryCode, Date};

fn hashes(list: &[Hash]) -> Value<'_> {
    Value::Array(list.iter().map(|h| Value::bytes(&h[..])).collect())
}

fn hashes_from(f: &Fields<'_, '_>, key: &str) -> Result<Vec<Hash>, FormatError> {
    f.list(key)?
        .iter()
        .map(|v| {
            v.as_bytes()
                .and_then(|b| <Hash>::try_from(b).ok())
                .ok_or_else(|| shape(format!("payload.{key} holds a value that is not 32 bytes")))
        })
        .collect()
}

/// The payload map of a case step.
pub fn step_value(s: &CaseStep) -> Value<'_> {
    Value::map([
        ("participant", Value::text(s.participant.as_str())),
        ("kind", Value::text(s.kind.as_str())),
        ("from", Value::text(s.from.to_string())),
        (
            "until",
            s.until.map_or(Value::Null, |d| Value::text(d.to_string())),
        ),
        ("team", Value::text(&s.team)),
        ("findings", Value::text(&s.findings)),
        ("documents", hashes(&s.documents)),
        (
            "ends_stage",
            s.ends_stage
                .map_or(Value::Null, |st| Value::text(st.as_str())),
        ),
    ])
}

/// Decodes the payload map of a case step.
pub fn step_from(v: &Value) -> Result<CaseStep, FormatError> {
    let f = Fields::exact(
        "payload",
        v,
        &[
            "participant",
            "kind",
            "from",
            "until",
            "team",
            "findings",
            "documents",
            "ends_stage",
        ],
    )?;
    Ok(CaseStep {
        participant: f.parsed("participant", CountryCode::participant)?,
        kind: f.parsed("kind", StepKind::parse)?,
        from: f.parsed("from", Date::parse)?,
        until: match f.get("until") {
            Value::Null => None,
            _ => Some(f.parsed("until", Date::parse)?),
        },
        team: f.text("team")?.to_owned(),
        findings: f.text("findings")?.to_owned(),
        documents: hashes_from(&f, "documents")?,
        ends_stage: match f.get("ends_stage") {
            Value::Null => None,
            _ => Some(f.parsed("ends_stage", Stage::parse)?),
        },
    })
}

/// The payload map of a benchmark.
pub fn benchmark_value(b: &Benchmark) -> Value<'_> {
    Value::map([
        ("participant", Value::text(b.participant.as_str())),
        ("id", Value::text(&b.id)),
        ("text", Value::text(&b.text)),
        ("status", Value::text(b.status.as_str())),
        ("evidence", hashes(&b.evidence)),
        ("note", Value::text(&b.note)),
    ])
}

/// Decodes the payload map of a benchmark.
pub fn benchmark_from(v: &Value) -> Result<Benchmark, FormatError> {
    let f = Fields::exact(
        "payload",
        v,
        &["participant", "id", "text", "status", "evidence", "note"],
    )?;
    Ok(Benchmark {
        participant: f.parsed("participant", CountryCode::participant)?,
        id: f.text("id")?.to_owned(),
        text: f.text("text")?.to_owned(),
        status: f.parsed("status", BenchmarkStatus::parse)?,
        evidence: hashes_from(&f, "evidence")?,
        note: f.text("note")?.to_owned(),
    })
}
