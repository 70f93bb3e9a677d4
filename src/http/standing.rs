//! Participant standing over HTTP: the Secretariat records status changes and trade measures
//! (`POST /v1/admin/participants/{code}/status`, `.../measures`); anyone reads the participants
//! with their status today (`GET /v1/participants`) and one participant's standing at a date or
//! its whole history with each entry's proof (`GET /v1/participants/{code}[?at=DATE]`). Thin:
//! the wire is decoded here, the rules are the domain's.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::require;
use super::error::ApiError;
use super::json::{parse_json_strict, read_body, require_json};
use super::Shared;
use crate::codec::text::base64;
use crate::domain::certificate::normalized;
use crate::domain::date::format_unix_ms;
use crate::domain::{
    CountryCode, Date, Decision, DecisionBody, MeasureKind, PartialTerms, Problem, Status,
    StatusChange, TradeMeasure, Zone,
};
use crate::tokens::Role;
use crate::views::{tlog_proof, LedgerView, StatusChangeView, TradeMeasureView};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    reference: Option<String>,
    body: Option<String>,
    decided_on: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneRequest {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermsRequest {
    zones: Vec<ZoneRequest>,
    prior_approval: bool,
    team: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: Option<String>,
    effective_on: Option<String>,
    decision: Option<DecisionRequest>,
    terms: Option<TermsRequest>,
    refuse_from: Option<String>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureRequest {
    kind: Option<String>,
    reference: Option<String>,
    imposed_by: Option<String>,
    from: Option<String>,
    until: Option<String>,
    note: Option<String>,
}

/// Reads a strict JSON body into `T`: unknown fields and wrong types are a 422.
pub(super) async fn body<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, ApiError> {
    require_json(req, "send the request as Content-Type: application/json")?;
    let value = parse_json_strict(&read_body(req, payload).await?)?;
    serde_json::from_value(value).map_err(|e| invalid(vec![Problem::new("", e.to_string())]))
}

pub(super) fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::invalid("invalid_request", "request", problems)
}

/// A write the rules refused: 422 `invalid_request` naming each problem.
pub(super) fn refused(e: crate::ledger::LedgerError) -> ApiError {
    match e {
        crate::ledger::LedgerError::Invalid(problems) => invalid(problems),
        e => e.into(),
    }
}

/// Collects the problems of decoding one request.
struct Reader(Vec<Problem>);

impl Reader {
    fn required<'a>(&mut self, field: &str, v: &'a Option<String>) -> Option<&'a str> {
        if v.is_none() {
            self.0.push(Problem::new(field, "is required"));
        }
        v.as_deref()
    }

    fn date(&mut self, field: &str, v: Option<&str>) -> Option<Date> {
        let d = Date::parse(v?);
        if d.is_none() {
            self.0.push(Problem::new(
                field,
                "must be a calendar date written YYYY-MM-DD",
            ));
        }
        d
    }

    fn word<T>(
        &mut self,
        field: &str,
        v: Option<&str>,
        parse: fn(&str) -> Option<T>,
        words: &str,
    ) -> Option<T> {
        let parsed = parse(v?);
        if parsed.is_none() {
            self.0
                .push(Problem::new(field, format!("must be one of {words}")));
        }
        parsed
    }

    fn text(v: Option<&str>) -> String {
        normalized(v.unwrap_or("").trim())
    }
}

/// A registered participant code of the path: 404 otherwise.
pub(super) fn participant(state: &Shared, code: &str) -> Result<CountryCode, ApiError> {
    let not_found = || ApiError::not_found(format!("{code} is not a registered participant"));
    let code = CountryCode::participant(code).ok_or_else(not_found)?;
    state.app.state().participant(code).ok_or_else(not_found)?;
    Ok(code)
}

/// The entry actor of an oversight write: the Secretariat, or `monitor:<team>` with the
/// token's owner named as terms name a team (trimmed, form C).
pub(super) fn oversight_actor(p: &crate::tokens::Principal) -> String {
    match p.role {
        Role::Secretariat => crate::domain::SECRETARIAT.to_owned(),
        _ => crate::domain::standing::team_actor(&normalized(p.owner.trim())),
    }
}

/// `POST /v1/admin/participants/{code}/status`: the Secretariat records a status change with
/// the decision behind it.
pub async fn change_status(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let code = participant(&state, &code)?;
    let r: StatusRequest = body(&req, payload).await?;
    let mut read = Reader(Vec::new());
    let status = read.required("status", &r.status);
    let status = read.word(
        "status",
        status,
        Status::parse,
        "active, suspended, self_suspended, partially_suspended, removed, applicant",
    );
    let effective_on = read.required("effective_on", &r.effective_on);
    let effective_on = read.date("effective_on", effective_on);
    let decision = match &r.decision {
        None => {
            read.0.push(Problem::new(
                "decision",
                "is required: the reference, body and date of the decision behind the change",
            ));
            None
        }
        Some(d) => {
            let reference = read
                .required("decision.reference", &d.reference)
                .map(|s| Reader::text(Some(s)));
            let body = read.required("decision.body", &d.body);
            let body = read.word(
                "decision.body",
                body,
                DecisionBody::parse,
                "plenary, written_procedure, chair",
            );
            let decided_on = read.required("decision.decided_on", &d.decided_on);
            let decided_on = read.date("decision.decided_on", decided_on);
            match (reference, body, decided_on) {
                (Some(reference), Some(body), Some(decided_on)) => Some(Decision {
                    reference,
                    body,
                    decided_on,
                }),
                _ => None,
            }
        }
    };
    let refuse_from = r
        .refuse_from
        .as_deref()
        .map(|s| read.date("refuse_from", Some(s)));
    let terms = r.terms.map(|t| {
        let mut zones: Vec<Zone> = t
            .zones
            .into_iter()
            .map(|z| Zone {
                id: Reader::text(Some(&z.id)),
                name: Reader::text(Some(&z.name)),
            })
            .collect();
        zones.sort_by(|a, b| a.id.cmp(&b.id));
        PartialTerms {
            zones,
            prior_approval: t.prior_approval,
            team: t.team.map(|team| Reader::text(Some(&team))),
        }
    });
    let (Some(status), Some(effective_on), Some(decision), true) =
        (status, effective_on, decision, read.0.is_empty())
    else {
        return Err(invalid(read.0));
    };
    let change = StatusChange {
        participant: code,
        status,
        effective_on,
        decision,
        terms,
        refuse_from: refuse_from.flatten(),
        note: Reader::text(r.note.as_deref()),
    };
    let app = state.app.clone();
    web::block(move || app.record_status_change(change))
        .await?
        .map_err(refused)?;
    answer_history(&state, code, StatusCode::CREATED)
}

/// `POST /v1/admin/participants/{code}/measures`: the Secretariat records a trade measure (an
/// embargo, or national sanctions for information).
pub async fn record_measure(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let code = participant(&state, &code)?;
    let r: MeasureRequest = body(&req, payload).await?;
    let mut read = Reader(Vec::new());
    let kind = read.required("kind", &r.kind);
    let kind = read.word(
        "kind",
        kind,
        MeasureKind::parse,
        "embargo, national_sanctions",
    );
    let reference = read
        .required("reference", &r.reference)
        .map(|s| Reader::text(Some(s)));
    let imposed_by = read
        .required("imposed_by", &r.imposed_by)
        .map(|s| Reader::text(Some(s)));
    let from = read.required("from", &r.from);
    let from = read.date("from", from);
    let until = r.until.as_deref().map(|s| read.date("until", Some(s)));
    let (Some(kind), Some(reference), Some(imposed_by), Some(from), true) =
        (kind, reference, imposed_by, from, read.0.is_empty())
    else {
        return Err(invalid(read.0));
    };
    let measure = TradeMeasure {
        participant: code,
        kind,
        reference,
        imposed_by,
        from,
        until: until.flatten(),
        note: Reader::text(r.note.as_deref()),
    };
    let app = state.app.clone();
    web::block(move || app.record_trade_measure(measure))
        .await?
        .map_err(refused)?;
    answer_history(&state, code, StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalRequest {
    request_hash: Option<String>,
    zone: Option<String>,
    /// The shipment approved: its destination, parcels and total carats (exact decimal).
    destination: Option<String>,
    parcels: Option<u32>,
    carats: Option<String>,
    conditions: Option<String>,
    /// SHA-256 (hex) of recorded documents of the evidence required.
    #[serde(default)]
    documents: Vec<String>,
}

/// `POST /v1/participants/{code}/approvals`: the monitoring team mandated by a partial
/// suspension approves one export before the authority issues it, naming the SHA-256 of the
/// request the authority will send (the hex its 422 answer shows) and the zone.
pub async fn approve(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = require(&state, &req, &[Role::Monitor])?;
    let code = participant(&state, &code)?;
    let r: ApprovalRequest = body(&req, payload).await?;
    let mut read = Reader(Vec::new());
    let hash = read
        .required("request_hash", &r.request_hash)
        .and_then(|h| {
            let parsed = crate::codec::text::from_hex(h).and_then(|b| <[u8; 32]>::try_from(b).ok());
            if parsed.is_none() {
                read.0.push(Problem::new(
                "request_hash",
                "must be 64 hex digits: the SHA-256 of the request body the authority will send",
            ));
            }
            parsed
        });
    let zone = read
        .required("zone", &r.zone)
        .map(|s| Reader::text(Some(s)));
    let destination = read.required("destination", &r.destination).and_then(|d| {
        let c = CountryCode::participant(d);
        if c.is_none() {
            read.0.push(Problem::new(
                "destination",
                format!("{d:?} is not a participant code"),
            ));
        }
        c
    });
    if r.parcels.is_none() {
        read.0.push(Problem::new("parcels", "is required"));
    }
    let carats = read.required("carats", &r.carats).and_then(|c| {
        match crate::domain::Hundredths::parse(c) {
            Ok(h) => Some(h),
            Err(e) => {
                read.0.push(Problem::new("carats", e.to_string()));
                None
            }
        }
    });
    let mut documents = Vec::new();
    for h in &r.documents {
        match crate::codec::text::from_hex(h).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(d) => documents.push(d),
            None => read.0.push(Problem::new(
                "documents",
                format!("{h:?} is not the SHA-256 (64 hex digits) of a recorded document"),
            )),
        }
    }
    documents.sort();
    documents.dedup();
    let (Some(request_hash), Some(zone), Some(destination), Some(parcels), Some(carats), true) = (
        hash,
        zone,
        destination,
        r.parcels,
        carats,
        read.0.is_empty(),
    ) else {
        return Err(invalid(read.0));
    };
    let approval = crate::domain::ShipmentApproval {
        participant: code,
        team: normalized(p.owner.trim()),
        request_hash,
        zone,
        destination,
        parcels,
        carats,
        conditions: Reader::text(r.conditions.as_deref()),
        documents,
    };
    let app = state.app.clone();
    let index = web::block(move || app.record_approval(approval))
        .await?
        .map_err(refused)?;
    let ledger = state.app.state();
    let record = ledger
        .participant(code)
        .and_then(|p| p.approvals.iter().find(|a| a.index == index))
        .ok_or_else(|| ApiError::internal(format!("approval {index} is not in the state")))?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "index": index,
        "approval": crate::views::ApprovalView::of(&record.approval),
    })))
}

/// A participant in the list.
#[derive(Serialize)]
struct ParticipantSummary<'a> {
    code: &'a str,
    name: &'a str,
    region: &'a str,
    kind: &'static str,
    status: &'static str,
    /// The decision behind the status in force, if any.
    decision: Option<String>,
    /// Whether it may trade today (active or partially suspended, and under no embargo).
    in_good_standing: bool,
}

/// `GET /v1/participants`: every participant with its status today.
pub async fn list(state: Shared) -> Result<HttpResponse, ApiError> {
    let ledger = state.app.state();
    let today = state.app.today();
    let list: Vec<ParticipantSummary<'_>> = ledger
        .participants()
        .map(|p| {
            let h = &p.standing;
            ParticipantSummary {
                code: p.participant.code.as_str(),
                name: &p.participant.name,
                region: &p.participant.region,
                kind: p.participant.kind.as_str(),
                status: h.at(today).as_str(),
                decision: h.change_at(today).map(|r| r.change.decision.describe()),
                in_good_standing: h.bar_on(today).is_none(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"on": today.to_string(), "participants": list})))
}

/// A standing entry with its place in the ledger.
#[derive(Serialize)]
struct Recorded<'a, T: Serialize> {
    #[serde(flatten)]
    what: T,
    ledger: LedgerView<'a>,
}

/// `GET /v1/participants/{code}`: the whole standing history, each entry with its index and
/// inclusion proof; with `?at=YYYY-MM-DD`, the standing on that day with the decision behind it.
pub async fn get(
    state: Shared,
    code: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let code = participant(&state, &code)?;
    if let Some(unknown) = query.keys().find(|k| *k != "at") {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {unknown} (only at=YYYY-MM-DD)"
        )));
    }
    match query.get("at") {
        None => answer_history(&state, code, StatusCode::OK),
        Some(at) => {
            let day = Date::parse(at).ok_or_else(|| {
                ApiError::bad_request("at must be a calendar date written YYYY-MM-DD")
            })?;
            let ledger = state.app.state();
            let p = ledger.participant(code).expect("checked");
            let h = &p.standing;
            let change = h.change_at(day);
            let bar = h.bar_on(day);
            let in_force: Vec<TradeMeasureView<'_>> = h
                .measures_in_force(day)
                .map(|m| TradeMeasureView::of(&m.measure))
                .collect();
            Ok(HttpResponse::Ok().json(serde_json::json!({
                "code": code.as_str(),
                "name": p.participant.name,
                "at": day.to_string(),
                "status": h.at(day).as_str(),
                "change": change.map(|r| serde_json::json!({
                    "index": r.index,
                    "recorded": format_unix_ms(r.time_ms),
                    "change": StatusChangeView::of(&r.change),
                })),
                "in_good_standing": bar.is_none(),
                "reason": bar.map(|b| b.describe(code, day)),
                "measures_in_force": in_force,
                "refusal_order": h.refusal_on(day).map(|r| serde_json::json!({
                    "refuse_from": r.change.refuse_from.map(|d| d.to_string()),
                    "decision": r.change.decision.describe(),
                    "index": r.index,
                })),
            })))
        }
    }
}

/// The participant's whole standing history, each entry proven.
fn answer_history(
    state: &Shared,
    code: CountryCode,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let history = state
        .app
        .participant_history(code)?
        .ok_or_else(|| ApiError::not_found(format!("{code} is not a registered participant")))?;
    let today = state.app.today();
    let checkpoint = &history.checkpoint;
    let ledger_of = |index: u64, time_ms: u64| -> LedgerView<'_> {
        let (_, bytes, proof) = history
            .proofs
            .iter()
            .find(|(i, _, _)| *i == index)
            .expect("a proof for every entry");
        let proof: Vec<String> = proof.iter().map(|h| base64(h)).collect();
        LedgerView {
            index,
            entry: base64(bytes),
            time: format_unix_ms(time_ms),
            tree_size: checkpoint.checkpoint.size,
            tlog_proof: tlog_proof(index, &proof, checkpoint),
            inclusion_proof: proof,
            checkpoint: &checkpoint.note,
        }
    };
    let h = &history.record.standing;
    let changes: Vec<_> = h
        .changes
        .iter()
        .map(|r| Recorded {
            what: StatusChangeView::of(&r.change),
            ledger: ledger_of(r.index, r.time_ms),
        })
        .collect();
    let measures: Vec<_> = h
        .measures
        .iter()
        .map(|r| Recorded {
            what: TradeMeasureView::of(&r.measure),
            ledger: ledger_of(r.index, r.time_ms),
        })
        .collect();
    let approvals: Vec<serde_json::Value> = history
        .record
        .approvals
        .iter()
        .map(|a| {
            serde_json::json!({
                "index": a.index,
                "approval": crate::views::ApprovalView::of(&a.approval),
                "used": a.used_by.is_some(),
            })
        })
        .collect();
    let p = &history.record.participant;
    Ok(HttpResponse::build(status).json(serde_json::json!({
        "approvals": approvals,
        "code": p.code.as_str(),
        "name": p.name,
        "region": p.region,
        "kind": p.kind.as_str(),
        "registered_index": history.record.registered_index,
        "status": h.at(today).as_str(),
        "in_good_standing": h.bar_on(today).is_none(),
        "changes": changes,
        "measures": measures,
    })))
}
