//! The payloads of `participant.production_reported` and `ledger.audited` entries, as CBOR maps
//! (api/statistics.md): shared by the ledger entry and the state snapshot. Amounts are integer hundredths
//! (`centicarats`, `value_cents`, `stock_centicarats`), as elsewhere in the ledger.

use super::cbor::{shape, Fields, FormatError, Value};
use crate::domain::{AuditLevel, CountryCode, Hundredths, LedgerAudit, ProductionReport};

const KEYS: [&str; 7] = [
    "participant",
    "year",
    "half",
    "centicarats",
    "value_cents",
    "stock_centicarats",
    "note",
];

/// The payload map of a production report.
pub fn production_value(r: &ProductionReport) -> Value<'_> {
    Value::map([
        ("participant", Value::text(r.participant.as_str())),
        ("year", Value::Uint(r.year.max(0) as u64)),
        ("half", Value::Uint(u64::from(r.half))),
        ("centicarats", Value::Uint(r.carats.hundredths())),
        ("value_cents", Value::Uint(r.value_usd.hundredths())),
        (
            "stock_centicarats",
            Value::Uint(r.stock_carats.hundredths()),
        ),
        ("note", Value::text(&r.note)),
    ])
}

fn amount(f: &Fields<'_, '_>, key: &'static str) -> Result<Hundredths, FormatError> {
    Hundredths::from_hundredths(f.uint(key)?)
        .ok_or_else(|| shape(format!("payload.{key} out of range")))
}

/// The payload map of a ledger audit.
pub fn audit_value(a: &LedgerAudit) -> Value<'_> {
    Value::map([
        ("size", Value::Uint(a.size)),
        ("root", Value::bytes(&a.root[..])),
        ("level", Value::text(a.level.as_str())),
    ])
}

/// Decodes the payload map of a ledger audit.
pub fn audit_from(v: &Value) -> Result<LedgerAudit, FormatError> {
    let f = Fields::exact("payload", v, &["size", "root", "level"])?;
    Ok(LedgerAudit {
        size: f.uint("size")?,
        root: f.array("root")?,
        level: f.parsed("level", AuditLevel::parse)?,
    })
}

/// Decodes the payload map of a production report.
pub fn production_from(v: &Value) -> Result<ProductionReport, FormatError> {
    let f = Fields::exact("payload", v, &KEYS)?;
    Ok(ProductionReport {
        participant: f.parsed("participant", CountryCode::participant)?,
        year: i64::try_from(f.uint("year")?).map_err(|_| shape("payload.year out of range"))?,
        half: u8::try_from(f.uint("half")?).map_err(|_| shape("payload.half out of range"))?,
        carats: amount(&f, "centicarats")?,
        value_usd: amount(&f, "value_cents")?,
        stock_carats: amount(&f, "stock_centicarats")?,
        note: f.text("note")?.to_owned(),
    })
}
