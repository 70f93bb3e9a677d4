//! Rehabilitation cases over HTTP: the Secretariat or a monitoring team records a step
//! (`POST /v1/participants/{code}/case/steps`) or sets and decides a benchmark
//! (`.../case/benchmarks`); anyone reads the case (`GET /v1/participants/{code}/case`):
//! the stage the participant is in, what remains (stages and benchmarks), every step with its
//! documents, and the documents recorded about the participant. Thin: the rules are the
//! domain's.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::require;
use super::error::ApiError;
use super::standing::{body, invalid, oversight_actor, participant, refused};
use super::Shared;
use crate::domain::case::{Benchmark, BenchmarkStatus, CaseStep, Stage, StepKind};
use crate::domain::certificate::normalized;
use crate::domain::date::format_unix_ms;
use crate::domain::{CountryCode, Date, Problem};
use crate::tokens::Role;
use crate::views::{BenchmarkView, DocumentView, StepView};

fn text(s: Option<&str>) -> String {
    normalized(s.unwrap_or("").trim())
}

/// SHA-256 hex strings, sorted and each once, or a problem under `field`.
fn hashes(problems: &mut Vec<Problem>, field: &str, list: &[String]) -> Vec<crate::crypto::Hash> {
    let mut out = Vec::new();
    for h in list {
        match crate::codec::text::from_hex(h).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(hash) => out.push(hash),
            None => problems.push(Problem::new(
                field,
                format!("{h:?} is not a SHA-256 (64 hex digits) of a recorded document"),
            )),
        }
    }
    out.sort();
    out.dedup();
    out
}

fn date(problems: &mut Vec<Problem>, field: &str, v: Option<&str>) -> Option<Date> {
    let d = Date::parse(v?);
    if d.is_none() {
        problems.push(Problem::new(
            field,
            "must be a calendar date written YYYY-MM-DD",
        ));
    }
    d
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepRequest {
    kind: Option<String>,
    from: Option<String>,
    until: Option<String>,
    team: Option<String>,
    findings: Option<String>,
    #[serde(default)]
    documents: Vec<String>,
    ends_stage: Option<String>,
}

/// `POST /v1/participants/{code}/case/steps`.
pub async fn record_step(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = require(&state, &req, &[Role::Secretariat, Role::Monitor])?;
    let code = participant(&state, &code)?;
    let r: StepRequest = body(&req, payload).await?;
    let mut problems = Vec::new();
    let kind = match r.kind.as_deref() {
        None => {
            problems.push(Problem::new("kind", "is required"));
            None
        }
        Some(k) => {
            let parsed = StepKind::parse(k);
            if parsed.is_none() {
                problems.push(Problem::new(
                    "kind",
                    "must be one of review_visit, review_mission, monitoring_report, meeting, decision, note",
                ));
            }
            parsed
        }
    };
    if r.from.is_none() {
        problems.push(Problem::new("from", "is required"));
    }
    let from = date(&mut problems, "from", r.from.as_deref());
    let until = r
        .until
        .as_deref()
        .and_then(|u| date(&mut problems, "until", Some(u)));
    let documents = hashes(&mut problems, "documents", &r.documents);
    let ends_stage = match r.ends_stage.as_deref() {
        None => None,
        Some(s) => {
            let parsed = Stage::parse(s);
            if parsed.is_none() {
                problems.push(Problem::new(
                    "ends_stage",
                    "must be one of review_mission, action_plan, monitored_resumption, readmission",
                ));
            }
            parsed
        }
    };
    let (Some(kind), Some(from), true) = (kind, from, problems.is_empty()) else {
        return Err(invalid(problems));
    };
    let step = CaseStep {
        participant: code,
        kind,
        from,
        until,
        team: text(r.team.as_deref()),
        findings: text(r.findings.as_deref()),
        documents,
        ends_stage,
    };
    let (app, actor) = (state.app.clone(), oversight_actor(&p));
    web::block(move || app.record_case_step(actor, step))
        .await?
        .map_err(refused)?;
    case_answer(&state, code, actix_web::http::StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BenchmarkRequest {
    id: Option<String>,
    text: Option<String>,
    status: Option<String>,
    #[serde(default)]
    evidence: Vec<String>,
    note: Option<String>,
}

/// `POST /v1/participants/{code}/case/benchmarks`.
pub async fn set_benchmark(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = require(&state, &req, &[Role::Secretariat, Role::Monitor])?;
    let code = participant(&state, &code)?;
    let r: BenchmarkRequest = body(&req, payload).await?;
    let mut problems = Vec::new();
    let status = match r.status.as_deref() {
        None => Some(BenchmarkStatus::Open),
        Some(s) => {
            let parsed = BenchmarkStatus::parse(s);
            if parsed.is_none() {
                problems.push(Problem::new("status", "must be open, met or not_met"));
            }
            parsed
        }
    };
    let evidence = hashes(&mut problems, "evidence", &r.evidence);
    let (Some(status), true) = (status, problems.is_empty()) else {
        return Err(invalid(problems));
    };
    let benchmark = Benchmark {
        participant: code,
        id: text(r.id.as_deref()),
        text: text(r.text.as_deref()),
        status,
        evidence,
        note: text(r.note.as_deref()),
    };
    let (app, actor) = (state.app.clone(), oversight_actor(&p));
    web::block(move || app.record_benchmark(actor, benchmark))
        .await?
        .map_err(refused)?;
    case_answer(&state, code, actix_web::http::StatusCode::CREATED)
}

/// `GET /v1/participants/{code}/case`: the case, public as the entries it is made of (what
/// must stay within the KP belongs in `kp_only` documents, which the case cites by hash);
/// 404 for a participant that has none.
pub async fn get_case(state: Shared, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let code = participant(&state, &code)?;
    let ledger = state.app.state();
    let p = ledger.participant(code).expect("checked");
    let never_barred = p.standing.changes.iter().all(|c| {
        matches!(
            c.change.status,
            crate::domain::Status::Active | crate::domain::Status::Applicant
        )
    });
    if never_barred && p.case.steps.is_empty() && p.case.benchmarks.is_empty() {
        return Err(ApiError::not_found(format!(
            "{code} has no rehabilitation case: it was never suspended, partially suspended or removed"
        )));
    }
    case_answer(&state, code, actix_web::http::StatusCode::OK)
}

fn case_answer(
    state: &Shared,
    code: CountryCode,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let ledger = state.app.state();
    let today = state.app.today();
    let p = ledger
        .participant(code)
        .ok_or_else(|| ApiError::not_found(format!("{code} is not a registered participant")))?;
    let case = &p.case;
    let stages: Vec<serde_json::Value> = Stage::ALL
        .into_iter()
        .map(|stage| {
            let ended = case.ended().find(|(s, _)| *s == stage).map(|(_, r)| r);
            serde_json::json!({
                "stage": stage.as_str(),
                "ended": ended.map(|r| serde_json::json!({
                    "index": r.index,
                    "on": r.what.until.unwrap_or(r.what.from).to_string(),
                    "by": r.actor,
                })),
            })
        })
        .collect();
    let benchmarks: Vec<serde_json::Value> = case
        .benchmarks_now()
        .into_iter()
        .map(|b| {
            let history: Vec<serde_json::Value> = case
                .benchmarks
                .iter()
                .filter(|h| h.what.id == b.what.id)
                .map(|h| {
                    serde_json::json!({
                        "index": h.index,
                        "recorded": format_unix_ms(h.time_ms),
                        "by": h.actor,
                        "status": h.what.status.as_str(),
                    })
                })
                .collect();
            serde_json::json!({
                "benchmark": BenchmarkView::of(&b.what),
                "index": b.index,
                "history": history,
            })
        })
        .collect();
    let remaining_stages: Vec<&str> = Stage::ALL
        .into_iter()
        .filter(|s| !case.ended().any(|(e, _)| e == *s))
        .map(|s| s.as_str())
        .collect();
    let remaining_benchmarks: Vec<&str> = case
        .benchmarks_now()
        .into_iter()
        .filter(|b| b.what.status != BenchmarkStatus::Met)
        .map(|b| b.what.id.as_str())
        .collect();
    let mut steps: Vec<&crate::domain::case::Recorded<CaseStep>> = case.steps.iter().collect();
    steps.sort_by_key(|s| (s.what.from, s.index));
    let steps: Vec<serde_json::Value> = steps
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "step": StepView::of(&s.what),
                "index": s.index,
                "recorded": format_unix_ms(s.time_ms),
                "by": s.actor,
            })
        })
        .collect();
    let documents: Vec<DocumentView<'_>> = ledger
        .documents()
        .filter(|d| d.document.participants.contains(&code))
        .map(|d| DocumentView::of(&d.document))
        .collect();
    Ok(HttpResponse::build(status).json(serde_json::json!({
        "participant": code.as_str(),
        "name": p.participant.name,
        "status": p.standing.at(today).as_str(),
        "stage": case.current_stage().map_or("closed", |s| s.as_str()),
        "stages": stages,
        "remaining": {"stages": remaining_stages, "benchmarks": remaining_benchmarks},
        "benchmarks": benchmarks,
        "steps": steps,
        "documents": documents,
    })))
}

/// `GET /cases/{code}`: the case as a page a new monitoring team reads first (no script): the
/// stage the participant is in, what remains, the benchmarks, every step with its documents.
pub async fn case_page(state: Shared, code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    use crate::report::esc;
    let code = participant(&state, &code)?;
    let ledger = state.app.state();
    let today = state.app.today();
    let p = ledger.participant(code).expect("checked");
    let case = &p.case;
    let current = case.current_stage();
    let mut stages = String::new();
    for stage in Stage::ALL {
        let ended = case.ended().find(|(s, _)| *s == stage).map(|(_, r)| r);
        let (mark, detail) = match ended {
            Some(r) => (
                "done",
                format!(
                    "ended {} (entry {})",
                    r.what.until.unwrap_or(r.what.from),
                    r.index
                ),
            ),
            None if Some(stage) == current => ("current", "in progress".to_owned()),
            None => ("todo", "to come".to_owned()),
        };
        stages.push_str(&format!(
            "<li class=\"{mark}\"><strong>{}</strong>: {}</li>",
            esc(&stage.as_str().replace('_', " ")),
            esc(&detail)
        ));
    }
    let mut benchmarks = String::new();
    for b in case.benchmarks_now() {
        benchmarks.push_str(&format!(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            b.what.status.as_str(),
            esc(&b.what.id),
            esc(&b.what.text),
            esc(&b.what.status.as_str().replace('_', " ")),
            b.what
                .evidence
                .iter()
                .map(|h| {
                    let h = crate::codec::text::hex(h);
                    format!("<a href=\"/v1/documents/{h}\">{}</a>", &h[..12])
                })
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let mut steps: Vec<&crate::domain::case::Recorded<CaseStep>> = case.steps.iter().collect();
    steps.sort_by_key(|s| (s.what.from, s.index));
    let mut step_rows = String::new();
    for s in steps {
        let docs = s
            .what
            .documents
            .iter()
            .map(|hash| {
                let h = crate::codec::text::hex(hash);
                let title = ledger
                    .document(hash)
                    .map_or(h[..12].to_owned(), |d| d.document.title.clone());
                format!("<a href=\"/v1/documents/{h}\">{}</a>", esc(&title))
            })
            .collect::<Vec<_>>()
            .join(", ");
        step_rows.push_str(&format!(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.what.from,
            s.what.until.map(|u| format!(" to {u}")).unwrap_or_default(),
            esc(&s.what.kind.as_str().replace('_', " ")),
            esc(&s.what.team),
            esc(&s.what.findings),
            docs
        ));
    }
    let remaining: Vec<String> = case
        .benchmarks_now()
        .into_iter()
        .filter(|b| b.what.status != BenchmarkStatus::Met)
        .map(|b| esc(&b.what.id))
        .collect();
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Rehabilitation case: {name}</title><style>\
body{{font-family:sans-serif;margin:0 auto;padding:1rem;max-width:50rem}}\
li.done{{color:#0a7d2c}}li.current{{font-weight:bold}}li.todo{{color:#777}}\
table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:.3rem;border-bottom:1px solid #ddd;vertical-align:top}}\
tr.met td{{color:#0a7d2c}}tr.not_met td{{color:#b00020}}</style></head><body>\
<h1>Rehabilitation case: {name} ({code})</h1>\
<p id=\"standing\">Status on {today}: <strong>{status}</strong>. Stage: <strong id=\"stage\">{stage}</strong>.</p>\
<h2>The path back</h2><ol>{stages}</ol>\
<h2>What remains</h2><p>Benchmarks not met: {remaining}.</p>\
<h2>Benchmarks of the action plan</h2><table><tr><th>id</th><th>benchmark</th><th>status</th><th>evidence</th></tr>{benchmarks}</table>\
<h2>Steps</h2><table><tr><th>when</th><th>what</th><th>team</th><th>findings</th><th>documents</th></tr>{step_rows}</table>\
<p>From the Kimberley Process ledger; every line is a ledger entry (<a href=\"/v1/participants/{code}/case\">JSON</a>).</p>\
</body></html>\n",
        name = esc(&p.participant.name),
        code = code.as_str(),
        status = esc(&p.standing.at(today).as_str().replace('_', " ")),
        stage = current.map_or("closed (readmitted)".to_owned(), |s| s.as_str().replace('_', " ")),
        remaining = if remaining.is_empty() { "none".to_owned() } else { remaining.join(", ") },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(page))
}
