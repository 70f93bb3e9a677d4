//! The standing encodings (api/standing.md): the payload of a `participant.status_changed`,
//! `participant.trade_measure` and `participant.shipment_approved` entry, as CBOR maps. The ledger entry, the state
//! snapshot and the trust bundle all embed these same maps, so a participant's history reads
//! the same everywhere.

use super::cbor::{shape, Fields, FormatError, Value};
use crate::domain::{
    CountryCode, Date, Decision, DecisionBody, MeasureKind, PartialTerms, ShipmentApproval, Status,
    StatusChange, TradeMeasure, Zone,
};

fn date_or_null(d: Option<Date>) -> Value<'static> {
    d.map_or(Value::Null, |d| Value::text(d.to_string()))
}

fn optional_date(f: &Fields<'_, '_>, key: &str) -> Result<Option<Date>, FormatError> {
    match f.get(key) {
        Value::Null => Ok(None),
        _ => Ok(Some(f.parsed(key, Date::parse)?)),
    }
}

/// The payload map of a status change.
pub fn status_change_value(c: &StatusChange) -> Value<'_> {
    Value::map([
        ("participant", Value::text(c.participant.as_str())),
        ("status", Value::text(c.status.as_str())),
        ("effective_on", Value::text(c.effective_on.to_string())),
        (
            "decision",
            Value::map([
                ("reference", Value::text(&c.decision.reference)),
                ("body", Value::text(c.decision.body.as_str())),
                ("decided_on", Value::text(c.decision.decided_on.to_string())),
            ]),
        ),
        (
            "terms",
            match &c.terms {
                None => Value::Null,
                Some(t) => Value::map([
                    (
                        "zones",
                        Value::Array(
                            t.zones
                                .iter()
                                .map(|z| {
                                    Value::map([
                                        ("id", Value::text(&z.id)),
                                        ("name", Value::text(&z.name)),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                    ("prior_approval", Value::Bool(t.prior_approval)),
                    ("team", t.team.as_ref().map_or(Value::Null, Value::text)),
                ]),
            },
        ),
        ("refuse_from", date_or_null(c.refuse_from)),
        ("note", Value::text(&c.note)),
    ])
}

/// Decodes the payload map of a status change.
pub fn status_change_from(v: &Value) -> Result<StatusChange, FormatError> {
    let f = Fields::exact(
        "payload",
        v,
        &[
            "participant",
            "status",
            "effective_on",
            "decision",
            "terms",
            "refuse_from",
            "note",
        ],
    )?;
    let d = Fields::exact(
        "payload.decision",
        f.get("decision"),
        &["reference", "body", "decided_on"],
    )?;
    let terms = match f.get("terms") {
        Value::Null => None,
        t => {
            let t = Fields::exact("payload.terms", t, &["zones", "prior_approval", "team"])?;
            let zones = t
                .list("zones")?
                .iter()
                .map(|z| {
                    let z = Fields::exact("payload.terms.zones[]", z, &["id", "name"])?;
                    Ok(Zone {
                        id: z.text("id")?.to_owned(),
                        name: z.text("name")?.to_owned(),
                    })
                })
                .collect::<Result<Vec<_>, FormatError>>()?;
            Some(PartialTerms {
                zones,
                prior_approval: t.bool("prior_approval")?,
                team: match t.get("team") {
                    Value::Null => None,
                    _ => Some(t.text("team")?.to_owned()),
                },
            })
        }
    };
    Ok(StatusChange {
        participant: f.parsed("participant", CountryCode::participant)?,
        status: f.parsed("status", Status::parse)?,
        effective_on: f.parsed("effective_on", Date::parse)?,
        decision: Decision {
            reference: d.text("reference")?.to_owned(),
            body: d.parsed("body", DecisionBody::parse)?,
            decided_on: d.parsed("decided_on", Date::parse)?,
        },
        terms,
        refuse_from: optional_date(&f, "refuse_from")?,
        note: f.text("note")?.to_owned(),
    })
}

/// The payload map of a monitoring team's prior approval of a shipment.
pub fn approval_value(a: &ShipmentApproval) -> Value<'_> {
    Value::map([
        ("participant", Value::text(a.participant.as_str())),
        ("team", Value::text(&a.team)),
        ("request_hash", Value::bytes(&a.request_hash[..])),
        ("zone", Value::text(&a.zone)),
        ("destination", Value::text(a.destination.as_str())),
        ("parcels", Value::Uint(a.parcels as u64)),
        ("centicarats", Value::Uint(a.carats.hundredths())),
        ("conditions", Value::text(&a.conditions)),
        (
            "documents",
            Value::Array(a.documents.iter().map(|h| Value::bytes(&h[..])).collect()),
        ),
    ])
}

/// Decodes the payload map of a prior approval.
pub fn approval_from(v: &Value) -> Result<ShipmentApproval, FormatError> {
    let f = Fields::exact(
        "payload",
        v,
        &[
            "participant",
            "team",
            "request_hash",
            "zone",
            "destination",
            "parcels",
            "centicarats",
            "conditions",
            "documents",
        ],
    )?;
    Ok(ShipmentApproval {
        participant: f.parsed("participant", CountryCode::participant)?,
        team: f.text("team")?.to_owned(),
        request_hash: f.array("request_hash")?,
        zone: f.text("zone")?.to_owned(),
        destination: f.parsed("destination", CountryCode::participant)?,
        parcels: f.u32("parcels")?,
        carats: crate::domain::Hundredths::from_hundredths(f.uint("centicarats")?)
            .ok_or_else(|| shape("payload.centicarats out of range"))?,
        conditions: f.text("conditions")?.to_owned(),
        documents: f
            .list("documents")?
            .iter()
            .map(|v| {
                v.as_bytes()
                    .and_then(|b| <crate::crypto::Hash>::try_from(b).ok())
                    .ok_or_else(|| shape("payload.documents holds a value that is not 32 bytes"))
            })
            .collect::<Result<_, _>>()?,
    })
}

/// The payload map of a trade measure.
pub fn trade_measure_value(m: &TradeMeasure) -> Value<'_> {
    Value::map([
        ("participant", Value::text(m.participant.as_str())),
        ("kind", Value::text(m.kind.as_str())),
        ("reference", Value::text(&m.reference)),
        ("imposed_by", Value::text(&m.imposed_by)),
        ("from", Value::text(m.from.to_string())),
        ("until", date_or_null(m.until)),
        ("note", Value::text(&m.note)),
    ])
}

/// Decodes the payload map of a trade measure.
pub fn trade_measure_from(v: &Value) -> Result<TradeMeasure, FormatError> {
    let f = Fields::exact(
        "payload",
        v,
        &[
            "participant",
            "kind",
            "reference",
            "imposed_by",
            "from",
            "until",
            "note",
        ],
    )?;
    Ok(TradeMeasure {
        participant: f.parsed("participant", CountryCode::participant)?,
        kind: f.parsed("kind", MeasureKind::parse)?,
        reference: f.text("reference")?.to_owned(),
        imposed_by: f.text("imposed_by")?.to_owned(),
        from: f.parsed("from", Date::parse)?,
        until: optional_date(&f, "until")?,
        note: f.text("note")?.to_owned(),
    })
}

/// A participant's standing history as an array of `[index, time, payload]` for changes and
/// the same for measures (the snapshot and the trust bundle).
pub fn history_value(h: &crate::domain::StandingHistory) -> Value<'_> {
    Value::map([
        (
            "changes",
            Value::Array(
                h.changes
                    .iter()
                    .map(|r| {
                        Value::Array(vec![
                            Value::Uint(r.index),
                            Value::Uint(r.time_ms),
                            status_change_value(&r.change),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "measures",
            Value::Array(
                h.measures
                    .iter()
                    .map(|r| {
                        Value::Array(vec![
                            Value::Uint(r.index),
                            Value::Uint(r.time_ms),
                            trade_measure_value(&r.measure),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

fn triple<'a, 'v>(v: &'a Value<'v>) -> Result<(u64, u64, &'a Value<'v>), FormatError> {
    match v.as_array() {
        Some([i, t, p]) => Ok((
            i.as_u64().ok_or_else(|| shape("standing: index"))?,
            t.as_u64().ok_or_else(|| shape("standing: time"))?,
            p,
        )),
        _ => Err(shape("standing: expected [index, time, payload]")),
    }
}

/// Decodes [`history_value`].
pub fn history_from(v: &Value) -> Result<crate::domain::StandingHistory, FormatError> {
    let f = Fields::exact("standing", v, &["changes", "measures"])?;
    Ok(crate::domain::StandingHistory {
        changes: f
            .list("changes")?
            .iter()
            .map(|v| {
                let (index, time_ms, p) = triple(v)?;
                Ok(crate::domain::ChangeRecord {
                    index,
                    time_ms,
                    change: status_change_from(p)?,
                })
            })
            .collect::<Result<_, FormatError>>()?,
        measures: f
            .list("measures")?
            .iter()
            .map(|v| {
                let (index, time_ms, p) = triple(v)?;
                Ok(crate::domain::MeasureRecord {
                    index,
                    time_ms,
                    measure: trade_measure_from(p)?,
                })
            })
            .collect::<Result<_, FormatError>>()?,
    })
}
