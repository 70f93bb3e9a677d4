//! Certificates: issuance by an authority (`POST /v1/certificates`), look-up by number and the
//! rendered QR code of a certificate's seal.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ApiError;
use super::json::{draft_from_json, idempotency_key, parse_json_strict, read_body, require_json};
use super::{HttpState, Shared};
use crate::app::{IssueError, IssuedCertificate, LedgerDetail};
use crate::domain::Problem;
use crate::ledger::LedgerError;
use crate::views::CertificateAnswer;

/// Most rendered QR codes kept in memory.
const QR_CACHE_ENTRIES: usize = 4096;
/// Pixels per module of the PNG: about 0.33 mm at 300 dpi would be 4; 8 leaves room to scale down.
const QR_PNG_SCALE: usize = 8;

/// A QR code rendered once, as PNG and SVG.
pub struct RenderedQr {
    png: Vec<u8>,
    svg: String,
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::invalid("invalid_certificate", "certificate request", problems)
}

pub async fn issue(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authority = super::auth::acting_authority(&state, &req)?;
    require_json(
        &req,
        "send the certificate as Content-Type: application/json",
    )?;
    let detail = ledger_detail(&req)?;
    let idempotency_key = idempotency_key(&req)?;
    let body = read_body(&req, payload).await?;
    let request_hash = crate::crypto::sha256(&body);
    if let Some(key) = &idempotency_key {
        if let Some(replay) = state
            .app
            .idempotent_replay(&authority, key, &request_hash)?
        {
            return replayed(replay, &state, detail);
        }
    }
    let value = parse_json_strict(&body)?;
    let (mut input, claimed_issuer, mut problems) = draft_from_json(&value)?;
    // What a monitoring team's prior approval names: the request exactly as sent.
    input.request_hash = Some(request_hash);
    let content = match state
        .app
        .validate(&authority, &input, claimed_issuer.as_deref(), None)
    {
        Err(IssueError::Forbidden(message)) => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", message))
        }
        Err(IssueError::Invalid(found)) => {
            problems.extend(found);
            return Err(invalid(problems));
        }
        Ok(_) if !problems.is_empty() => return Err(invalid(problems)),
        Ok(content) => content,
    };
    let idempotency = idempotency_key.clone().map(|k| (k, request_hash));
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.app.issue(
        authority.clone(),
        Arc::new(input),
        content,
        idempotency,
        move |result| {
            let _ = tx.send(result);
        },
    );
    let appended = rx.await.unwrap_or(Err(LedgerError::Closed));
    match appended.and_then(|a| state.app.issued(a, detail)) {
        Ok(issued) => Ok(created(&issued, &state, detail)),
        Err(LedgerError::IdempotencyConflict) => {
            // Another request with this key won the race; answer as it did once it is committed.
            let key = idempotency_key.expect("a conflict needs a key");
            match state
                .app
                .idempotent_replay(&authority, &key, &request_hash)?
            {
                Some(replay) => replayed(replay, &state, detail),
                None => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_conflict",
                    "a request with this Idempotency-Key is still being recorded; retry shortly",
                )),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /v1/certificates/next`: what the calling authority signs its next certificate with
/// when it keeps its own key (the number is not reserved).
pub async fn next_number(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = super::auth::require(&state, &req, &[crate::tokens::Role::Authority])?;
    let next = state.app.next_number(&p.owner).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_signing_key",
            format!(
                "authority {} has no valid key: the Secretariat must give it a new one",
                p.owner
            ),
        )
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(crate::views::NextNumberView::of(&next)))
}

/// `POST /v1/certificates/signed`: records a certificate the calling authority signed with its
/// own key (`kpcert sign`). Sending the same signed certificate again answers the recorded one.
pub async fn issue_signed(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = super::auth::require(&state, &req, &[crate::tokens::Role::Authority])?;
    require_json(
        &req,
        "send the signed certificate as Content-Type: application/json",
    )?;
    let detail = ledger_detail(&req)?;
    let body = read_body(&req, payload).await?;
    let value = parse_json_strict(&body)?;
    let submitted = super::json::signed_from_json("", &value).map_err(invalid_signed)?;
    let app = state.app.clone();
    let owner = p.owner.clone();
    let (signed, canonical) = web::block(move || {
        let canonical = submitted.canonical.clone();
        app.check_signed(&owner, &submitted).map(|s| (s, canonical))
    })
    .await?
    .map_err(invalid_signed)?;
    let number = signed.issuance.number.to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    state
        .app
        .record_signed(p.owner.clone(), signed, move |result| {
            let _ = tx.send(result);
        });
    let appended = rx.await.unwrap_or(Err(LedgerError::Closed));
    match appended.and_then(|a| state.app.issued(a, detail)) {
        Ok(issued) => Ok(created(&issued, &state, detail)),
        Err(LedgerError::NumberTaken(message)) => {
            // A retry of a certificate that was recorded: answer it again.
            match state.app.certificate(&number)? {
                Some(issued) if issued.canonical == canonical => {
                    replayed((true, issued), &state, detail)
                }
                _ => Err(ApiError::new(StatusCode::CONFLICT, "number_taken", message)),
            }
        }
        Err(LedgerError::Invalid(problems)) => Err(invalid_signed(problems)),
        Err(e) => Err(e.into()),
    }
}

fn invalid_signed(problems: Vec<Problem>) -> ApiError {
    ApiError::invalid("invalid_signed_certificate", "signed certificate", problems)
}

/// What the answer's `ledger` carries: the entry with its inclusion proof when the request
/// asks with `?proof=true` (given once); else where the entry is, which keeps the answer about
/// half the size (`GET /v1/certificates/{number}` gives the proof later).
fn ledger_detail(req: &HttpRequest) -> Result<LedgerDetail, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(format!("the query string: {e}")))?;
    let given: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "proof")
        .map(|(_, v)| v.as_str())
        .collect();
    match given.as_slice() {
        [] | ["false"] => Ok(LedgerDetail::Position),
        ["true"] => Ok(LedgerDetail::Proof),
        [other] => Err(ApiError::bad_request(format!(
            "query parameter proof must be true or false, not {other:?}"
        ))),
        _ => Err(ApiError::bad_request(
            "query parameter proof must be given once",
        )),
    }
}

fn answer<'a>(
    issued: &'a IssuedCertificate,
    state: &HttpState,
    detail: LedgerDetail,
) -> CertificateAnswer<'a> {
    let qr = crate::codec::seal::qr_text(&state.public_url, &state.app.seal(issued));
    CertificateAnswer::of(issued, qr, detail)
}

/// The 201 answer for a newly issued (or replayed) certificate, its ledger entry in `detail`.
fn created(issued: &IssuedCertificate, state: &HttpState, detail: LedgerDetail) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(&format!("/v1/certificates/{}", issued.certificate.number))
                .expect("numbers are ascii"),
        ))
        .json(answer(issued, state, detail))
}

/// The answer to a retried request: the original certificate if the body is the same.
fn replayed(
    (same_body, issued): (bool, Arc<IssuedCertificate>),
    state: &HttpState,
    detail: LedgerDetail,
) -> Result<HttpResponse, ApiError> {
    if !same_body {
        let mut err = invalid(vec![Problem::new(
            "Idempotency-Key",
            format!(
                "was already used for another request body (it created {})",
                issued.certificate.number
            ),
        )]);
        err.code = "idempotency_key_reused";
        return Err(err);
    }
    let mut resp = created(&issued, state, detail);
    resp.headers_mut().insert(
        header::HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    Ok(resp)
}

/// The recorded certificate `number` for a party to it: 401 without a valid token, 404 if there
/// is none, 403 for a caller who is not a party.
fn find_certificate(
    state: &HttpState,
    req: &HttpRequest,
    number: &str,
) -> Result<Arc<IssuedCertificate>, ApiError> {
    let caller = super::auth::principal(state, req)?;
    let not_found = || ApiError::not_found(format!("no certificate {number} in the ledger"));
    if number.len() > 32 {
        return Err(not_found());
    }
    let issued = state.app.certificate(number)?.ok_or_else(not_found)?;
    super::auth::require_party(
        state,
        &caller,
        &issued.certificate.issuer.authority_id,
        issued.certificate.content.destination,
    )?;
    Ok(issued)
}

pub async fn get_certificate(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let issued = find_certificate(&state, &req, &number)?;
    let history = state.app.history(&issued.certificate.number)?;
    let mut body = answer(&issued, &state, LedgerDetail::Proof);
    body.history = history
        .as_ref()
        .map(|h| crate::views::HistoryView::of(h, true));
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(body))
}

/// The rendered QR code of certificate `number` for a party to it, from the cache or built once
/// (building takes about a millisecond and a half, so it is kept off the issuance path). The
/// look-up (and the party check) runs every time; only the rendering is cached.
async fn rendered_qr(
    state: &Shared,
    req: &HttpRequest,
    number: &str,
) -> Result<Arc<RenderedQr>, ApiError> {
    let issued = find_certificate(state, req, number)?;
    if let Some(hit) = state.qr_cache.lock().expect("qr cache").get(number) {
        return Ok(hit.clone());
    }
    let text = crate::codec::seal::qr_text(&state.public_url, &state.app.seal(&issued));
    let rendered = web::block(move || {
        crate::qr::Symbol::encode(&text).map(|symbol| RenderedQr {
            png: symbol.png(QR_PNG_SCALE),
            svg: symbol.svg(),
        })
    })
    .await?
    .map_err(ApiError::internal)?;
    let rendered = Arc::new(rendered);
    let mut cache = state.qr_cache.lock().expect("qr cache");
    if cache.len() >= QR_CACHE_ENTRIES {
        cache.clear();
    }
    cache.insert(number.to_owned(), rendered.clone());
    Ok(rendered)
}

/// The cached QR image of certificate `number` as PNG or SVG.
async fn qr_image(
    state: &Shared,
    req: &HttpRequest,
    number: &str,
    svg: bool,
) -> Result<HttpResponse, ApiError> {
    let rendered = rendered_qr(state, req, number).await?;
    let (content_type, body) = if svg {
        ("image/svg+xml", rendered.svg.clone().into_bytes())
    } else {
        ("image/png", rendered.png.clone())
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400, immutable"))
        .body(body))
}

pub async fn qr_png(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    qr_image(&state, &req, &number, false).await
}

pub async fn qr_svg(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    qr_image(&state, &req, &number, true).await
}
