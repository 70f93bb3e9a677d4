//! Statistics over HTTP (api/statistics.md): an authority reports its participant's production
//! (`POST /v1/participants/{code}/production`); anyone reads annual totals per participant and
//! the yearly open-data table, a participant's authorities read its own detail, the Secretariat
//! and monitors read everything (`GET /v1/statistics`, `GET /v1/statistics/open-data`); the
//! Secretariat and monitors reconcile (`GET /v1/reconciliation`). Thin: queries are answered
//! from the state's statistics, never by reading the ledger.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::{principal, require};
use super::error::ApiError;
use super::standing::{body, invalid, participant, refused};
use super::Shared;
use crate::domain::stats::{Flow, Granularity, Period, Query, FIRST_YEAR};
use crate::domain::{CountryCode, Hundredths, Problem, ProductionReport};
use crate::statistics::{self, open_data, open_data_csv, statistics_csv, statistics_json};
use crate::tokens::{Principal, Role};
use crate::views::ProductionView;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductionRequest {
    year: Option<i64>,
    half: Option<i64>,
    carats: Option<String>,
    value_usd: Option<String>,
    stock_carats: Option<String>,
    note: Option<String>,
}

#[derive(Serialize)]
struct ProductionAnswer<'a> {
    entry_index: u64,
    report: ProductionView<'a>,
}

fn amount(problems: &mut Vec<Problem>, field: &str, v: &Option<String>) -> Hundredths {
    match v.as_deref().map(Hundredths::parse) {
        Some(Ok(a)) => a,
        Some(Err(e)) => {
            problems.push(Problem::new(field, e.to_string()));
            Hundredths::default()
        }
        None => {
            problems.push(Problem::new(field, "is required"));
            Hundredths::default()
        }
    }
}

/// `POST /v1/participants/{code}/production`: an authority of the participant reports its
/// production for a half-year that has ended (a later report for the same half corrects it).
pub async fn report_production(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = require(&state, &req, &[Role::Authority])?;
    let code = participant(&state, &code)?;
    let own = state
        .app
        .state()
        .authority(&p.owner)
        .map(|a| a.authority.participant);
    if own != Some(code) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "authority {} may report production only for its own participant, not {code}",
                p.owner
            ),
        ));
    }
    let r: ProductionRequest = body(&req, payload).await?;
    let mut problems = Vec::new();
    let year = r.year.unwrap_or_else(|| {
        problems.push(Problem::new("year", "is required"));
        0
    });
    let half = match r.half {
        Some(h @ 1..=2) => h as u8,
        Some(_) => {
            problems.push(Problem::new(
                "half",
                "must be 1 (January-June) or 2 (July-December)",
            ));
            0
        }
        None => {
            problems.push(Problem::new("half", "is required"));
            0
        }
    };
    let carats = amount(&mut problems, "carats", &r.carats);
    let value_usd = amount(&mut problems, "value_usd", &r.value_usd);
    let stock_carats = match &r.stock_carats {
        None => Hundredths::default(),
        some => amount(&mut problems, "stock_carats", some),
    };
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let report = ProductionReport {
        participant: code,
        year,
        half,
        carats,
        value_usd,
        stock_carats,
        note: crate::domain::certificate::normalized(r.note.as_deref().unwrap_or("").trim()),
    };
    let app = state.app.clone();
    let actor = p.owner.clone();
    let recorded = report.clone();
    let index = web::block(move || app.record_production(actor, report))
        .await?
        .map_err(refused)?;
    Ok(
        HttpResponse::build(StatusCode::CREATED).json(ProductionAnswer {
            entry_index: index,
            report: ProductionView::of(&recorded),
        }),
    )
}

/// The optional bearer token of a public read: `None` without an Authorization header, an
/// error for a header that does not hold a valid token.
fn optional_principal(state: &Shared, req: &HttpRequest) -> Result<Option<Principal>, ApiError> {
    if req.headers().get(header::AUTHORIZATION).is_none() {
        return Ok(None);
    }
    principal(state, req).map(Some)
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    invalid(vec![Problem::new(field, message)])
}

fn year(field: &str, v: &str) -> Result<i64, ApiError> {
    Some(v)
        .filter(|v| v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|y| (FIRST_YEAR..=9999).contains(y))
        .ok_or_else(|| bad(field, format!("must be a year from {FIRST_YEAR} to 9999")))
}

/// Whether the answer is CSV: `format=csv`, or an Accept header asking for text/csv.
fn wants_csv(req: &HttpRequest, query: &HashMap<String, String>) -> Result<bool, ApiError> {
    match query.get("format").map(String::as_str) {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(bad("format", "must be json or csv")),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv"))),
    }
}

/// Decodes and authorises a statistics query, and says whether it reads the live figures: the
/// public gets the published annual totals; an authority its own participant's live detail by
/// any period (and the published annual totals of all); the Secretariat and monitors
/// everything, live.
fn statistics_query(
    state: &Shared,
    req: &HttpRequest,
    query: &HashMap<String, String>,
) -> Result<(Query, bool), ApiError> {
    const KNOWN: [&str; 8] = [
        "year",
        "from",
        "to",
        "period",
        "participant",
        "flow",
        "detail",
        "format",
    ];
    if let Some(unknown) = query.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {unknown} (year, from, to, period, participant, flow, detail, format)"
        )));
    }
    let who = optional_principal(state, req)?;
    let (mut from, mut to) = (FIRST_YEAR, 9999);
    if let Some(y) = query.get("year") {
        if query.contains_key("from") || query.contains_key("to") {
            return Err(bad("year", "give year, or from and to, not both"));
        }
        from = year("year", y)?;
        to = from;
    }
    if let Some(y) = query.get("from") {
        from = year("from", y)?;
    }
    if let Some(y) = query.get("to") {
        to = year("to", y)?;
    }
    if from > to {
        return Err(bad("from", "must not be after to"));
    }
    let granularity = match query.get("period") {
        None => Granularity::Year,
        Some(p) => {
            Granularity::parse(p).ok_or_else(|| bad("period", "must be quarter, half or year"))?
        }
    };
    let participant = match query.get("participant") {
        None => None,
        Some(c) => Some(
            CountryCode::participant(c)
                .filter(|c| state.app.state().participant(*c).is_some())
                .ok_or_else(|| {
                    bad(
                        "participant",
                        format!("{c} is not a registered participant"),
                    )
                })?,
        ),
    };
    let flow = match query.get("flow") {
        None => None,
        Some(f) => Some(Flow::parse(f).ok_or_else(|| bad("flow", "must be export or import"))?),
    };
    let detail = match query.get("detail").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad("detail", "must be true or false")),
    };
    let mut q = Query {
        participant,
        flow,
        from_year: from,
        to_year: to,
        granularity,
        detail,
    };
    let fine = detail || granularity != Granularity::Year;
    let live = match who.as_ref().map(|p| p.role) {
        Some(Role::Secretariat) | Some(Role::Monitor) => true,
        Some(Role::Authority) if fine => {
            let own = state
                .app
                .state()
                .authority(&who.as_ref().expect("a token").owner)
                .map(|a| a.authority.participant);
            match (q.participant, own) {
                (None, Some(own)) => q.participant = Some(own),
                (Some(asked), Some(own)) if asked == own => {}
                _ => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "an authority reads the detail (by quarter, half, HS code and partner) of its own participant only; other participants' annual totals are public",
                    ))
                }
            }
            true
        }
        Some(Role::Authority) => false,
        None if fine => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the public reads annual totals per participant; quarters, halves and the detail by HS code and partner need a token (a participant's authorities see their own, the Secretariat and monitors everything)",
            ))
        }
        None => false,
    };
    Ok((q, live))
}

/// The published years in `from..=to`, each with its figures; 404 for a single year asked
/// for before its publication.
fn published_in(
    state: &Shared,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, std::sync::Arc<crate::statistics::Published>)>, ApiError> {
    if from == to {
        return match state.app.published_year(from) {
            Some(p) => Ok(vec![(from, p)]),
            None => Err(not_published(from)),
        };
    }
    Ok(state
        .app
        .published_years()
        .into_iter()
        .filter(|y| (from..=to).contains(y))
        .filter_map(|y| state.app.published_year(y).map(|p| (y, p)))
        .collect())
}

fn not_published(year: i64) -> ApiError {
    ApiError::not_found(format!(
        "the public figures of {year} are published from {} (the ledger's entries up to {} count in them); until then only the Secretariat, monitors and each participant for itself read them",
        crate::domain::stats::publication_cutoff(year)
            .plus_days(1)
            .map_or_else(|| "never".into(), |d| d.to_string()),
        crate::domain::stats::publication_cutoff(year)
    ))
}

/// `GET /v1/statistics`: the statistics the token may read, as JSON or CSV.
pub async fn get_statistics(
    state: Shared,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (q, live) = statistics_query(&state, &req, &query)?;
    let csv = wants_csv(&req, &query)?;
    let view = if live {
        statistics::statistics(&state.app.state(), &q)
    } else {
        let years = published_in(&state, q.from_year, q.to_year)?;
        statistics::published_statistics(&state.app.state(), &q, &years)
    };
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::VARY, "Accept, Authorization"));
    if live {
        answer.insert_header((header::CACHE_CONTROL, "private, no-store"));
    }
    Ok(if csv {
        answer
            .content_type("text/csv; charset=utf-8")
            .body(statistics_csv(&view))
    } else {
        answer
            .content_type("application/json")
            .body(statistics_json(&view))
    })
}

/// `GET /v1/statistics/open-data?year=Y`: the public annual table (CSV by default, JSON with
/// `format=json`), every participant with its production, exports and imports.
pub async fn get_open_data(
    state: Shared,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    if let Some(unknown) = query.keys().find(|k| *k != "year" && *k != "format") {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {unknown} (year, format)"
        )));
    }
    let y = match query.get("year") {
        Some(y) => year("year", y)?,
        None => state
            .app
            .published_years()
            .last()
            .copied()
            .unwrap_or(state.app.today().year() - 1),
    };
    let flows = state
        .app
        .published_year(y)
        .ok_or_else(|| not_published(y))?;
    let rows = open_data(&state.app.state(), y, &flows);
    let json = query.get("format").map(String::as_str) == Some("json");
    if !json && query.get("format").is_some_and(|f| f != "csv") {
        return Err(bad("format", "must be csv or json"));
    }
    Ok(if json {
        HttpResponse::Ok().json(serde_json::json!({"year": y, "participants": rows}))
    } else {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"kp-statistics-{y}.csv\""),
            ))
            .body(open_data_csv(&rows))
    })
}

/// The period of a reconciliation request: `period=2025`, `2025-H1` or `2025-Q3`; the
/// current year by default.
pub(super) fn reconciliation_period(
    state: &Shared,
    query: &HashMap<String, String>,
) -> Result<Period, ApiError> {
    if let Some(unknown) = query.keys().find(|k| *k != "period" && *k != "lang") {
        return Err(ApiError::bad_request(format!(
            "unknown query parameter {unknown} (period, and lang for the page)"
        )));
    }
    match query.get("period") {
        None => Ok(Period::year(state.app.today().year())),
        Some(p) => Period::parse(p).ok_or_else(|| {
            bad(
                "period",
                format!(
                    "must be a year, a half (2025-H1) or a quarter (2025-Q3), from {FIRST_YEAR}"
                ),
            )
        }),
    }
}

/// `GET /v1/reconciliation?period=P`: the mirror and the anomaly flags (Secretariat and
/// monitors).
pub async fn get_reconciliation(
    state: Shared,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat, Role::Monitor])?;
    let period = reconciliation_period(&state, &query)?;
    let view = statistics::reconciliation(&state.app.state(), period, state.app.today());
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditRequest {
    size: Option<u64>,
    root: Option<String>,
    level: Option<String>,
}

/// `POST /v1/ledger/audits`: the Secretariat or a monitoring team records an audit that passed,
/// of the first `size` entries with Merkle root `root` (base64), `public` or `full`; refused
/// unless the root is this ledger's at that size.
pub async fn record_audit(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = require(&state, &req, &[Role::Secretariat, Role::Monitor])?;
    let r: AuditRequest = body(&req, payload).await?;
    let mut problems = Vec::new();
    let size = r.size.unwrap_or_else(|| {
        problems.push(Problem::new("size", "is required"));
        0
    });
    let root = match r.root.as_deref().map(crate::codec::text::from_base64) {
        Some(Some(b)) if b.len() == 32 => {
            let mut h = [0u8; 32];
            h.copy_from_slice(&b);
            h
        }
        Some(_) => {
            problems.push(Problem::new(
                "root",
                "must be the base64 of a 32-byte Merkle root (as in a checkpoint)",
            ));
            [0; 32]
        }
        None => {
            problems.push(Problem::new("root", "is required"));
            [0; 32]
        }
    };
    let level = match r.level.as_deref() {
        None => crate::domain::AuditLevel::Public,
        Some(l) => crate::domain::AuditLevel::parse(l).unwrap_or_else(|| {
            problems.push(Problem::new("level", "must be public or full"));
            crate::domain::AuditLevel::Public
        }),
    };
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let actor = super::standing::oversight_actor(&p);
    let app = state.app.clone();
    let audit = crate::domain::LedgerAudit { size, root, level };
    let index = web::block(move || app.record_audit(actor, audit))
        .await?
        .map_err(refused)?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "entry_index": index,
        "size": size,
        "level": level.as_str(),
    })))
}
