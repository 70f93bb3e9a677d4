//! A certificate's life after issuance, over HTTP: the destination's authority confirms what
//! arrived (`POST /v1/certificates/{number}/import-confirmation`), the issuing participant's
//! authority voids (`.../void`) or replaces (`.../replace`) it. Thin: the rules are the ledger
//! state's, the signing the app's. Every write takes an `Idempotency-Key`.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::error::ApiError;
use super::json::{
    arrival_from_json, draft_from_json, idempotency_key, parse_json_strict, read_body,
    reason_from_json, require_json,
};
use super::{HttpState, Shared};
use crate::app::{ActiveAuthority, IssueError, LedgerDetail, Replacement};
use crate::crypto::Hash;
use crate::domain::{CertificateNumber, Event, Problem};
use crate::ledger::{Appended, LedgerError};
use crate::views::{CertificateAnswer, EventView, HistoryView};

/// The answer to a lifecycle write: the certificate's new state, the event recorded, and the
/// certificate's whole history with the proof of its newest entry.
#[derive(Serialize)]
struct LifecycleAnswer<'a> {
    number: &'a str,
    state: &'static str,
    event: EventView<'a>,
    history: HistoryView<'a>,
    /// A replacement: the new certificate, as issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<CertificateAnswer<'a>>,
}

/// A request's certificate number: 404 unless it names a recorded certificate.
fn recorded(state: &HttpState, number: &str) -> Result<CertificateNumber, ApiError> {
    let not_found = || ApiError::not_found(format!("no certificate {number} in the ledger"));
    let parsed = CertificateNumber::parse(number).ok_or_else(not_found)?;
    state.app.state().life(&parsed).ok_or_else(not_found)?;
    Ok(parsed)
}

/// Reads an authority's JSON write: its body, the hash of it and its idempotency key.
async fn body_of(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(serde_json::Value, Hash, Option<String>), ApiError> {
    require_json(req, "send the request as Content-Type: application/json")?;
    let key = idempotency_key(req)?;
    let body = read_body(req, payload).await?;
    let hash = crate::crypto::sha256(&body);
    let value = parse_json_strict(&body)?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    Ok((value, hash, key))
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::invalid("invalid_request", "request", problems)
}

/// The answer to the write that recorded entry `index` (the first of a replacement's two).
fn answer(state: &HttpState, index: u64, status: StatusCode) -> Result<HttpResponse, ApiError> {
    let (entry, _) = state.app.entry_at(index)?;
    let Some(number) = entry.event.certificate_number().cloned() else {
        return Err(ApiError::internal(format!(
            "entry {index} is not about a certificate"
        )));
    };
    // A replacement's first entry is the new certificate; its answer is about the old one.
    let (about, replacement) = match &entry.event {
        Event::CertificateIssued(s) => {
            let old = s
                .record
                .as_ref()
                .and_then(|r| r.certificate.content.replaces.clone())
                .ok_or_else(|| ApiError::internal(format!("entry {index} replaces nothing")))?;
            (old, state.app.issued_certificate(&number)?)
        }
        _ => (number, None),
    };
    let history = state
        .app
        .history(&about)?
        .ok_or_else(|| ApiError::internal(format!("{about} has no history")))?;
    let newest = history.newest_entry();
    let qr = replacement
        .as_ref()
        .map(|r| crate::codec::seal::qr_text(&state.public_url, &state.app.seal(r)));
    let view = HistoryView::of(&history, true);
    let body = serde_json::to_value(LifecycleAnswer {
        number: about.as_str(),
        state: view.state,
        event: EventView::of(newest, true),
        history: view,
        replacement: replacement
            .as_deref()
            .zip(qr)
            .map(|(r, qr)| CertificateAnswer::of(r, qr, LedgerDetail::Proof)),
    })
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(&format!("/v1/certificates/{about}")).expect("ascii"),
        ))
        .json(body))
}

/// An earlier request with the same idempotency key: its answer if the body is the same, 422
/// otherwise; `None` if the key is new.
fn replay(
    state: &HttpState,
    authority: &ActiveAuthority,
    key: &Option<String>,
    hash: &Hash,
) -> Result<Option<HttpResponse>, ApiError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let Some((same, index)) = state.app.lifecycle_replay(authority, key, hash)? else {
        return Ok(None);
    };
    if !same {
        let mut err = invalid(vec![Problem::new(
            "Idempotency-Key",
            format!("was already used for another request body (it recorded entry {index})"),
        )]);
        err.code = "idempotency_key_reused";
        return Err(err);
    }
    let mut resp = answer(state, index, StatusCode::CREATED)?;
    resp.headers_mut().insert(
        header::HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    Ok(Some(resp))
}

/// Waits for a write and answers it (or, when another request with the same key won the
/// race, answers as that one did).
async fn finish(
    state: &HttpState,
    authority: &ActiveAuthority,
    key: Option<String>,
    hash: Hash,
    rx: tokio::sync::oneshot::Receiver<Result<u64, LedgerError>>,
) -> Result<HttpResponse, ApiError> {
    match rx.await.unwrap_or(Err(LedgerError::Closed)) {
        Ok(index) => answer(state, index, StatusCode::CREATED),
        Err(LedgerError::IdempotencyConflict) => match replay(state, authority, &key, &hash)? {
            Some(resp) => Ok(resp),
            None => Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "a request with this Idempotency-Key is still being recorded; retry shortly",
            )),
        },
        Err(e) => Err(e.into()),
    }
}

fn first_index(r: Result<Appended, LedgerError>) -> Result<u64, LedgerError> {
    r.map(|a| a.index)
}

/// `POST /v1/certificates/{number}/import-confirmation`: an authority of the destination
/// participant records what arrived.
pub async fn confirm(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authority = super::auth::acting_authority(&state, &req)?;
    let number = recorded(&state, &number)?;
    let (value, hash, key) = body_of(&req, payload).await?;
    if let Some(resp) = replay(&state, &authority, &key, &hash)? {
        return Ok(resp);
    }
    let (input, mut problems) = arrival_from_json(&value)?;
    match state.app.check_confirmation(&authority, &number, &input) {
        Err(LedgerError::Invalid(found)) => {
            problems.extend(found);
            Err(invalid(problems))
        }
        Err(e) => Err(e.into()),
        Ok(_) if !problems.is_empty() => Err(invalid(problems)),
        Ok(content) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            state.app.confirm(
                authority.clone(),
                number,
                content,
                key.clone().map(|k| (k, hash)),
                move |r| {
                    let _ = tx.send(first_index(r));
                },
            );
            finish(&state, &authority, key, hash, rx).await
        }
    }
}

/// `POST /v1/certificates/{number}/void`: an authority of the issuing participant voids it.
pub async fn void(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authority = super::auth::acting_authority(&state, &req)?;
    let number = recorded(&state, &number)?;
    let (value, hash, key) = body_of(&req, payload).await?;
    if let Some(resp) = replay(&state, &authority, &key, &hash)? {
        return Ok(resp);
    }
    let (reason, mut problems) = reason_from_json(&value, &[]);
    match state.app.check_void(&authority, &number, &reason) {
        Err(LedgerError::Invalid(found)) => {
            problems.extend(found);
            Err(invalid(problems))
        }
        Err(e) => Err(e.into()),
        Ok(_) if !problems.is_empty() => Err(invalid(problems)),
        Ok(reason) => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            state.app.void(
                authority.clone(),
                number,
                reason,
                key.clone().map(|k| (k, hash)),
                move |r| {
                    let _ = tx.send(first_index(r));
                },
            );
            finish(&state, &authority, key, hash, rx).await
        }
    }
}

/// `POST /v1/certificates/{number}/replace` with `{"certificate": {...}, "reason": "..."}`: an
/// authority of the issuing participant issues a new certificate in its place and voids it, in
/// one atomic batch.
pub async fn replace(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authority = super::auth::acting_authority(&state, &req)?;
    let number = recorded(&state, &number)?;
    let (value, hash, key) = body_of(&req, payload).await?;
    if let Some(resp) = replay(&state, &authority, &key, &hash)? {
        return Ok(resp);
    }
    let (reason, mut problems) = reason_from_json(&value, &["certificate"]);
    let reason = match state.app.check_void(&authority, &number, &reason) {
        Err(LedgerError::Invalid(found)) => {
            problems.extend(found);
            None
        }
        Err(e) => return Err(e.into()),
        Ok(reason) => Some(reason),
    };
    let draft = match value.get("certificate") {
        None | Some(serde_json::Value::Null) => {
            problems.push(Problem::new(
                "certificate",
                "is required: the new certificate, as for POST /v1/certificates",
            ));
            None
        }
        Some(v) if !v.is_object() => {
            problems.push(Problem::new("certificate", "must be a JSON object"));
            None
        }
        Some(v) => {
            let (mut input, claimed, wire) = draft_from_json(v)?;
            input.request_hash = Some(hash);
            problems.extend(
                wire.into_iter()
                    .map(|p| Problem::new(format!("certificate.{}", p.field), p.message)),
            );
            match state
                .app
                .validate(&authority, &input, claimed.as_deref(), Some(&number))
            {
                Err(IssueError::Forbidden(message)) => {
                    return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", message))
                }
                Err(IssueError::Invalid(found)) => {
                    problems.extend(
                        found
                            .into_iter()
                            .map(|p| Problem::new(format!("certificate.{}", p.field), p.message)),
                    );
                    None
                }
                Ok(content) => Some((input, content)),
            }
        }
    };
    let (Some(reason), Some((input, content)), true) = (reason, draft, problems.is_empty()) else {
        return Err(invalid(problems));
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.app.replace(
        authority.clone(),
        Replacement {
            old: number,
            input: Arc::new(input),
            content,
            reason,
        },
        key.clone().map(|k| (k, hash)),
        move |r| {
            let _ = tx.send(r.map(|all| all[0].index));
        },
    );
    finish(&state, &authority, key, hash, rx).await
}

/// Reads a submission an authority signed with its own key: the authority of the token (any
/// authority: the checks say whether this one may act) and the JSON body.
async fn signed_body(
    state: &HttpState,
    req: &HttpRequest,
    number: &str,
    payload: web::Payload,
) -> Result<(String, CertificateNumber, serde_json::Value), ApiError> {
    let p = super::auth::require(state, req, &[crate::tokens::Role::Authority])?;
    let number = recorded(state, number)?;
    let (value, _, _) = body_of(req, payload).await?;
    Ok((p.owner, number, value))
}

/// Answers a signed submission the checks refused: when the certificate's state refuses it
/// because these very signed bytes were recorded before (a retry), the recorded event.
fn refused_submission(
    state: &HttpState,
    number: &CertificateNumber,
    signed: &[u8],
    signature: &[u8; 64],
    error: LedgerError,
) -> Result<HttpResponse, ApiError> {
    if let LedgerError::Refused(crate::domain::state::Refusal::Conflict(_)) = &error {
        if let Some(index) = state.app.recorded_submission(number, signed, signature)? {
            let mut resp = answer(state, index, StatusCode::CREATED)?;
            resp.headers_mut().insert(
                header::HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
            return Ok(resp);
        }
    }
    Err(match error {
        LedgerError::Invalid(problems) => invalid(problems),
        e => e.into(),
    })
}

/// `POST /v1/certificates/{number}/import-confirmation/signed`: a confirmation the calling
/// authority signed with its own key (`kpcert sign confirm`).
pub async fn confirm_signed(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (owner, number, value) = signed_body(&state, &req, &number, payload).await?;
    let submitted = super::json::signed_confirmation_from_json(&value).map_err(invalid)?;
    let signed = match state
        .app
        .check_signed_confirmation(&owner, &number, &submitted)
    {
        Ok(signed) => signed,
        Err(e) => {
            return refused_submission(
                &state,
                &number,
                &submitted.confirmation,
                &submitted.signature,
                e,
            )
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    state
        .app
        .record_signed_confirmation(owner, signed, move |r| {
            let _ = tx.send(first_index(r));
        });
    match rx.await.unwrap_or(Err(LedgerError::Closed)) {
        Ok(index) => answer(&state, index, StatusCode::CREATED),
        Err(e) => refused_submission(
            &state,
            &number,
            &submitted.confirmation,
            &submitted.signature,
            e,
        ),
    }
}

/// `POST /v1/certificates/{number}/void/signed`: a void the calling authority signed with its
/// own key (`kpcert sign void`).
pub async fn void_signed(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (owner, number, value) = signed_body(&state, &req, &number, payload).await?;
    let (submitted, _) = super::json::signed_void_from_json(&value, false).map_err(invalid)?;
    let signed = match state
        .app
        .check_signed_void(&owner, &number, &submitted, None)
    {
        Ok(signed) => signed,
        Err(e) => {
            return refused_submission(&state, &number, &submitted.void, &submitted.signature, e)
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.app.record_signed_void(owner, signed, move |r| {
        let _ = tx.send(first_index(r));
    });
    match rx.await.unwrap_or(Err(LedgerError::Closed)) {
        Ok(index) => answer(&state, index, StatusCode::CREATED),
        Err(e) => refused_submission(&state, &number, &submitted.void, &submitted.signature, e),
    }
}

/// `POST /v1/certificates/{number}/replace/signed`: a replacement the calling authority signed
/// with its own key (`kpcert sign replace`): the new certificate, stating `replaces`, and the
/// void of the old one naming it, recorded in one atomic batch.
pub async fn replace_signed(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (owner, number, value) = signed_body(&state, &req, &number, payload).await?;
    let (void, certificate) = super::json::signed_void_from_json(&value, true).map_err(invalid)?;
    let certificate = certificate.expect("a replacement has its certificate");
    let app = state.app.clone();
    let old = number.clone();
    let (checked, void, owner) = web::block(move || {
        let checked = app.check_signed_replacement(&owner, &old, &certificate, &void);
        (checked, void, owner)
    })
    .await?;
    let (new, voided) = match checked {
        Ok(both) => both,
        Err(e) => return refused_submission(&state, &number, &void.void, &void.signature, e),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    state
        .app
        .record_signed_replacement(owner, new, voided, move |r| {
            let _ = tx.send(r.map(|all| all[0].index));
        });
    match rx.await.unwrap_or(Err(LedgerError::Closed)) {
        Ok(index) => answer(&state, index, StatusCode::CREATED),
        Err(LedgerError::NumberTaken(message)) => {
            match refused_submission(
                &state,
                &number,
                &void.void,
                &void.signature,
                LedgerError::Refused(crate::domain::state::Refusal::Conflict(message.clone())),
            ) {
                Ok(resp) => Ok(resp),
                Err(_) => Err(ApiError::new(StatusCode::CONFLICT, "number_taken", message)),
            }
        }
        Err(e) => refused_submission(&state, &number, &void.void, &void.signature, e),
    }
}
