//! Documents over HTTP: the Secretariat or a monitoring team uploads a file with what it is
//! (`POST /v1/documents?title=...&kind=...&dated=...&participants=...&confidentiality=...`,
//! the file as the body); anyone lists the public documents (`GET /v1/documents`), downloads
//! one (`GET /v1/documents/{sha256}`, checked against the hash the ledger committed to) and
//! proves it is the one recorded (`GET /v1/documents/{sha256}/record`: the entry and its
//! inclusion proof). `kp_only` documents exist only for KP tokens.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::{principal, require};
use super::error::ApiError;
use super::json::read_body_up_to;
use super::Shared;
use crate::codec::text::{base64, from_hex};
use crate::documents::MAX_DOCUMENT_BYTES;
use crate::domain::date::format_unix_ms;
use crate::domain::{
    Confidentiality, CountryCode, Date, Document, DocumentEntry, DocumentKind, Problem,
};
use crate::ledger::LedgerError;
use crate::tokens::Role;
use crate::views::{tlog_proof, DocumentView, LedgerView};

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::invalid("invalid_request", "document", problems)
}

/// Whether the request carries a valid KP token (any role); an invalid token is a 401.
fn kp_reader(state: &Shared, req: &HttpRequest) -> Result<bool, ApiError> {
    if req.headers().get(header::AUTHORIZATION).is_none() {
        return Ok(false);
    }
    principal(state, req).map(|_| true)
}

/// The document's metadata from the query: every problem named.
fn metadata(query: &HashMap<String, String>, media_type: String) -> Result<Document, ApiError> {
    const KNOWN: [&str; 5] = ["title", "kind", "dated", "participants", "confidentiality"];
    let mut problems = Vec::new();
    for key in query.keys() {
        if !KNOWN.contains(&key.as_str()) {
            problems.push(Problem::new(key.clone(), "unknown query parameter"));
        }
    }
    let mut required = |key: &str| {
        let v = query.get(key);
        if v.is_none() {
            problems.push(Problem::new(key, "is required"));
        }
        v
    };
    let title = required("title").map(|t| crate::domain::certificate::normalized(t.trim()));
    let kind = required("kind").cloned();
    let dated = required("dated").cloned();
    let kind = kind.and_then(|k| {
        let parsed = DocumentKind::parse(&k);
        if parsed.is_none() {
            problems.push(Problem::new(
                "kind",
                "must be one of decision, minutes, report, visit_report, monitoring_report, evidence, other",
            ));
        }
        parsed
    });
    let dated = dated.and_then(|d| {
        let parsed = Date::parse(&d);
        if parsed.is_none() {
            problems.push(Problem::new(
                "dated",
                "must be a calendar date written YYYY-MM-DD",
            ));
        }
        parsed
    });
    let confidentiality = match query.get("confidentiality") {
        None => Some(Confidentiality::KpOnly),
        Some(c) => {
            let parsed = Confidentiality::parse(c);
            if parsed.is_none() {
                problems.push(Problem::new(
                    "confidentiality",
                    "must be public or kp_only (the default)",
                ));
            }
            parsed
        }
    };
    let mut participants = Vec::new();
    for code in query
        .get("participants")
        .map(|p| p.split(',').filter(|c| !c.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default()
    {
        match CountryCode::participant(code.trim()) {
            Some(c) => participants.push(c),
            None => problems.push(Problem::new(
                "participants",
                format!("{code:?} is not a participant code"),
            )),
        }
    }
    participants.sort();
    participants.dedup();
    match (title, kind, dated, confidentiality, problems.is_empty()) {
        (Some(title), Some(kind), Some(dated), Some(confidentiality), true) => Ok(Document {
            hash: [0; 32],
            size: 0,
            media_type,
            title,
            kind,
            dated,
            participants,
            confidentiality,
        }),
        _ => Err(invalid(problems)),
    }
}

/// `POST /v1/documents`: the Secretariat or a monitoring team records a document.
pub async fn upload(
    state: Shared,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = require(&state, &req, &[Role::Secretariat, Role::Monitor])?;
    if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) {
        if !encoding
            .to_str()
            .is_ok_and(|e| e.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the document uncompressed (kpcert records the exact bytes it receives)",
            ));
        }
    }
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "application/octet-stream".into());
    let document = metadata(&query, media_type)?;
    let bytes = read_body_up_to(&req, payload, MAX_DOCUMENT_BYTES).await?;
    let actor = super::standing::oversight_actor(&p);
    let app = state.app.clone();
    let (index, created) = web::block(move || app.record_document(actor, document, &bytes))
        .await?
        .map_err(|e| match e {
            LedgerError::Invalid(problems) => invalid(problems),
            e => e.into(),
        })?;
    let ledger = state.app.state();
    let entry = ledger
        .documents()
        .find(|d| d.index == index)
        .ok_or_else(|| ApiError::internal(format!("document entry {index} is not in the state")))?;
    let mut answer = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(answer
        .insert_header((
            header::LOCATION,
            format!(
                "/v1/documents/{}",
                crate::codec::text::hex(&entry.document.hash)
            ),
        ))
        .json({
            let mut body = listed(entry);
            if !created {
                body["repaired"] = serde_json::Value::Bool(true);
            }
            body
        }))
}

fn listed(d: &DocumentEntry) -> serde_json::Value {
    serde_json::json!({
        "document": DocumentView::of(&d.document),
        "index": d.index,
        "recorded": format_unix_ms(d.time_ms),
        "recorded_by": d.actor,
    })
}

/// `GET /v1/documents`: the documents the caller may read (public ones; all with a KP token),
/// newest first.
pub async fn list(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let kp = kp_reader(&state, &req)?;
    let ledger = state.app.state();
    let mut docs: Vec<&DocumentEntry> = ledger
        .documents()
        .filter(|d| kp || d.document.confidentiality == Confidentiality::Public)
        .collect();
    docs.sort_by_key(|d| std::cmp::Reverse(d.index));
    let list: Vec<serde_json::Value> = docs.into_iter().map(listed).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "documents": list })))
}

/// The recorded document `hash` if the caller may read it; 404 otherwise (a `kp_only`
/// document does not exist for the public).
fn readable(
    state: &Shared,
    req: &HttpRequest,
    hash: &str,
) -> Result<crate::crypto::Hash, ApiError> {
    let not_found = || ApiError::not_found(format!("no document {hash}"));
    let parsed: crate::crypto::Hash = from_hex(hash)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(not_found)?;
    let kp = kp_reader(state, req)?;
    let ledger = state.app.state();
    let d = ledger.document(&parsed).ok_or_else(not_found)?;
    if d.document.confidentiality == Confidentiality::KpOnly && !kp {
        return Err(not_found());
    }
    Ok(parsed)
}

/// `GET /v1/documents/{hash}`: the file, checked against its recorded SHA-256.
pub async fn download(
    state: Shared,
    req: HttpRequest,
    hash: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let parsed = readable(&state, &req, &hash)?;
    let app = state.app.clone();
    let (entry, bytes) = web::block(move || app.document_file(&parsed))
        .await?
        .map_err(|e| match e {
            // A missing or altered file: the operator must restore it from a backup.
            LedgerError::Storage(message) => {
                tracing::error!(%message, "document file");
                ApiError::unavailable(format!(
                    "{message}; the operator must restore it from a backup"
                ))
            }
            e => e.into(),
        })?
        .ok_or_else(|| ApiError::not_found(format!("no document {hash}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, entry.document.media_type.clone()))
        .insert_header((header::ETAG, format!("\"{}\"", hash.as_str())))
        .insert_header((
            header::CACHE_CONTROL,
            if entry.document.confidentiality == Confidentiality::Public {
                "public, max-age=31536000, immutable"
            } else {
                "private, no-store"
            },
        ))
        .insert_header((
            header::HeaderName::from_static("x-content-type-options"),
            "nosniff",
        ))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", hash.as_str()),
        ))
        .body(bytes))
}

/// `GET /v1/documents/{hash}/record`: what the ledger records of the document, with its entry
/// and inclusion proof against the latest checkpoint.
pub async fn record(
    state: Shared,
    req: HttpRequest,
    hash: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let parsed = readable(&state, &req, &hash)?;
    let app = state.app.clone();
    let proven = web::block(move || app.proven_document(&parsed))
        .await??
        .ok_or_else(|| ApiError::not_found(format!("no document {hash}")))?;
    let proof: Vec<String> = proven.proof.iter().map(|h| base64(h)).collect();
    let ledger = LedgerView {
        index: proven.entry.index,
        entry: base64(&proven.entry_bytes),
        time: format_unix_ms(proven.entry.time_ms),
        tree_size: proven.checkpoint.checkpoint.size,
        tlog_proof: tlog_proof(proven.entry.index, &proof, &proven.checkpoint),
        inclusion_proof: proof,
        checkpoint: &proven.checkpoint.note,
    };
    let mut body = listed(&proven.entry);
    body["ledger"] = serde_json::to_value(ledger).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(body))
}
