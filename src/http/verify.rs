//! Border verification: `POST /v1/verify` (JSON) and the signed trust bundle for offline
//! verifiers (the page a phone opens from the QR code, `GET /S/{seal}`, is the portal's, in the
//! officer's language). Public and rate limited. A scanned seal shows what the seal itself shows (names, not addresses); a
//! number alone shows whether the certificate exists and its state, and its fields only to a
//! party to it (a token of its issuer, the destination's authorities, the Secretariat or a
//! monitor).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::error::ApiError;
use super::json::{parse_json_strict, read_body, require_json};
use super::Shared;
use crate::app::OnlineVerification;
use crate::domain::Problem;
use crate::views::{HistoryView, VerificationView};

/// Longest scanned text or number accepted.
pub(super) const MAX_QR_CHARS: usize = 4096;
const MAX_NUMBER_CHARS: usize = 32;

/// `POST /v1/verify` with `{"qr": "<scanned text>"}` or `{"number": "..."}`, and optionally
/// `"proof": true`: the verdict and what it rests on (with the certificate's entry and its
/// inclusion proof when asked for).
pub async fn verify(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_json(
        &req,
        "send {\"qr\": \"...\"} or {\"number\": \"...\"} as application/json",
    )?;
    let body = read_body(&req, payload).await?;
    let value = parse_json_strict(&body)?;
    let Some(map) = value.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let unknown: Vec<Problem> = map
        .keys()
        .filter(|k| *k != "qr" && *k != "number" && *k != "proof")
        .map(|k| Problem::new(k.as_str(), "unknown field"))
        .chain(
            map.get("proof")
                .filter(|p| !p.is_boolean())
                .map(|_| Problem::new("proof", "must be true or false")),
        )
        .collect();
    let with_proof = map.get("proof").and_then(Value::as_bool) == Some(true);
    let field = |k: &str| map.get(k).and_then(Value::as_str);
    // Exactly one of qr and number, within its length.
    let one = match (field("qr"), field("number")) {
        (Some(qr), None) => qr.chars().count() <= MAX_QR_CHARS,
        (None, Some(number)) => number.chars().count() <= MAX_NUMBER_CHARS,
        _ => false,
    };
    // A scanned seal shows what the paper shows; a number alone shows the commercial fields
    // only to a party to the certificate (numbers run in sequence and can be enumerated).
    let mut show_claims = true;
    let mut party = false;
    let verification = match (field("qr"), field("number")) {
        (Some(qr), None) if one && unknown.is_empty() => state.app.verify_qr(qr)?,
        (None, Some(number)) if one && unknown.is_empty() => {
            let caller = match req.headers().contains_key(header::AUTHORIZATION) {
                true => Some(super::auth::principal(&state, &req)?),
                false => None,
            };
            let v = state.app.verify_number(number)?;
            show_claims = match (&caller, &v.claims) {
                (Some(p), Some(c)) => {
                    super::auth::is_party(&state, p, &c.authority_id, c.destination)
                }
                _ => false,
            };
            party = show_claims;
            v
        }
        _ => {
            let mut problems = unknown;
            if !one {
                problems.push(Problem::new(
                    "",
                    format!("send exactly one of qr (the scanned text, at most {MAX_QR_CHARS} characters) or number"),
                ));
            }
            return Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_request",
                message: "nothing to verify".into(),
                problems,
            });
        }
    };
    let history = changed_history(&state, &verification)?;
    // The entry and its proof only when asked for: a scanned seal's verdict needs the ledger's
    // state alone, and most answers are read by an officer, not checked by a program.
    let proven = match (with_proof, &verification.record, &verification.claims) {
        (false, _, _) => None,
        (true, Some(record), _) => Some(record.clone()),
        (true, None, Some(claims)) if verification.entry_index.is_some() => {
            state.app.certificate(claims.number().as_str())?
        }
        (true, None, _) => None,
    };
    let mut view = VerificationView::online(
        &verification,
        proven.as_deref(),
        state.app.state().size(),
        state.app.clock().now_ms(),
        state.app.ledger_verifier_text(),
        show_claims,
    );
    // What arrived is commercial: only a party's look-up by number shows it.
    view.history = history.as_ref().map(|h| HistoryView::of(h, party));
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view))
}

/// The history of a verified certificate that changed after issuance (its issuance alone is
/// already in the answer's `ledger`).
fn changed_history(
    state: &super::HttpState,
    v: &OnlineVerification,
) -> Result<Option<crate::app::History>, ApiError> {
    let (Some(_), Some(claims)) = (v.entry_index, &v.claims) else {
        return Ok(None);
    };
    let number = &claims.number();
    if state
        .app
        .state()
        .life(number)
        .is_none_or(|l| l.indexes().len() < 2)
    {
        return Ok(None);
    }
    Ok(state.app.history(number)?)
}

/// `GET /v1/trust-bundle`: the signed bundle for offline verifiers (api/trust-bundle.md).
pub async fn trust_bundle(state: Shared) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(state.app.trust_bundle()))
}
