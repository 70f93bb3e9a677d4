//! The ledger's public read side: health, the latest checkpoint and the verifier key, pages of
//! entries, the streamed export, and inclusion and consistency proofs.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::auth::require;
use super::error::ApiError;
use super::Shared;
use crate::codec::decode_entry;
use crate::codec::export::Level;
use crate::codec::text::base64;
use crate::ledger::LedgerError;
use crate::tlog::merkle::ProofError;
use crate::tokens::Role;
use crate::views::EntryView;

/// Most entries one `GET /v1/ledger/entries` returns.
pub const MAX_ENTRIES_PER_PAGE: u64 = 1000;
/// Public exports streaming at once (at most one per client address); past it, 503 with
/// Retry-After. Full exports (Secretariat and monitors) have as many slots of their own, so
/// that anonymous clients cannot hold them.
pub const MAX_CONCURRENT_EXPORTS: usize = 2;
/// Entry pages built or sent at once; past it, 503 with Retry-After.
pub const MAX_CONCURRENT_PAGES: usize = 8;
/// How long an export waits for a client that does not read before it gives up.
pub const STALLED_EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn busy(what: &str) -> ApiError {
    ApiError::unavailable(format!(
        "too many {what} are in progress on this server; retry shortly"
    ))
}

pub async fn healthz(state: Shared) -> HttpResponse {
    if let Some(problem) = state.app.ledger().corrupt() {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!(
            {"status": "corrupt", "reason": problem}
        ));
    }
    if state.app.ledger().is_unavailable() {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!(
            {"status": "unavailable", "reason": "the ledger cannot accept writes"}
        ));
    }
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn checkpoint(state: Shared) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.app.ledger().head().note.clone())
}

pub async fn verifier_key(state: Shared) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", state.app.ledger_verifier_text()))
}

/// Parses a query parameter as a non-negative decimal integer.
fn query_u64(
    query: &HashMap<String, String>,
    name: &str,
    default: Option<u64>,
) -> Result<u64, ApiError> {
    match query.get(name) {
        None => default
            .ok_or_else(|| ApiError::bad_request(format!("query parameter {name} is required"))),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "query parameter {name} must be a non-negative integer, not {v:?}"
                ))
            }),
    }
}

/// A tree size parameter: defaults to the current size and may not exceed it.
fn tree_size_param(
    state: &Shared,
    query: &HashMap<String, String>,
    name: &str,
) -> Result<u64, ApiError> {
    let current = state.app.ledger().size();
    let size = query_u64(query, name, Some(current))?;
    if size > current {
        return Err(ApiError::bad_request(format!(
            "{name} {size} is past the ledger size {current}"
        )));
    }
    Ok(size)
}

fn proof_error(e: ProofError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

#[derive(Serialize)]
struct PageEntry<'a> {
    index: u64,
    canonical: String,
    entry: EntryView<'a>,
}

#[derive(Serialize)]
struct Page<'a> {
    start: u64,
    size: u64,
    next: Option<u64>,
    entries: Vec<PageEntry<'a>>,
}

pub async fn entries(
    state: Shared,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let size = state.app.ledger().size();
    let start = query_u64(&query, "start", Some(0))?;
    let limit = query_u64(&query, "limit", Some(100))?;
    if limit == 0 || limit > MAX_ENTRIES_PER_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_ENTRIES_PER_PAGE}"
        )));
    }
    if start > size {
        return Err(ApiError::bad_request(format!(
            "start {start} is past the ledger size {size}"
        )));
    }
    let end = start.saturating_add(limit).min(size);
    // The permit lives until the page is sent (its last chunk taken by the connection), so
    // that clients that do not read cannot pile up pages in memory beyond the bound.
    let permit = state
        .pages
        .clone()
        .try_acquire_owned()
        .map_err(|_| busy("entry pages"))?;
    // Reading, decoding and encoding a page is blocking work: keep it off the async workers.
    let app = state.app.clone();
    let body = web::block(move || -> Result<Vec<u8>, LedgerError> {
        let read: Vec<(u64, Vec<u8>, crate::domain::Entry)> = app
            .ledger()
            .entries(start, end)
            .map(|r| {
                let (i, bytes) = r?;
                let entry = decode_entry(&bytes)
                    .map_err(|e| LedgerError::Corrupt(format!("entry {i}: {e}")))?;
                Ok((i, bytes, entry))
            })
            .collect::<Result<_, LedgerError>>()?;
        let page = Page {
            start,
            size,
            next: (end < size).then_some(end),
            entries: read
                .iter()
                .map(|(i, bytes, entry)| PageEntry {
                    index: *i,
                    canonical: base64(bytes),
                    entry: EntryView::of(entry),
                })
                .collect(),
        };
        serde_json::to_vec(&page).map_err(|e| LedgerError::Storage(e.to_string()))
    })
    .await??;
    let body = web::Bytes::from(body);
    let chunks: Vec<web::Bytes> = (0..body.len())
        .step_by(64 * 1024)
        .map(|at| body.slice(at..(at + 64 * 1024).min(body.len())))
        .collect();
    let stream = futures_util::stream::unfold(
        (chunks.into_iter(), Some(permit)),
        |(mut chunks, permit)| async move {
            let chunk = chunks.next()?;
            Some((Ok::<_, std::io::Error>(chunk), (chunks, permit)))
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream))
}

/// A `Write` that hands 64 KiB chunks to a streaming HTTP body.
struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
    buf: Vec<u8>,
    /// How long to wait for a client that does not read.
    stall: std::time::Duration,
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut chunk = Ok(web::Bytes::from(std::mem::take(&mut self.buf)));
        // A client that stops reading fills the channel: give up after a while instead of
        // holding the thread (and the permit) forever.
        let started = std::time::Instant::now();
        loop {
            match self.tx.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::BrokenPipe,
                        "client gone",
                    ))
                }
                Err(tokio::sync::mpsc::error::TrySendError::Full(back)) => {
                    if started.elapsed() > self.stall {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the client stopped reading the export",
                        ));
                    }
                    chunk = back;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        }
    }
}

/// `GET /v1/ledger/export`: the public export (entries only) as of the latest checkpoint.
pub async fn export(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    const FILE: &str = "kpcert-ledger.export";
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(export_response(FILE).finish());
    }
    // One public export at a time per client address, so that one client cannot hold every
    // public slot.
    let held = match super::limit::client_ip(&req) {
        Some(ip) => Some(state.export_clients.admit(Some(ip)).ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "an export to this address is already in progress; one at a time",
            )
        })?),
        None => None,
    };
    let permit = state
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| busy("exports"))?;
    stream_export(state, Level::Public, FILE, (permit, held))
}

/// The headers of an export answer (HEAD answers them alone, without reading the ledger).
fn export_response(file_name: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ));
    response
}

/// `GET /v1/ledger/export/full`: the full export (entries and every certificate's record), for
/// the Secretariat and monitors.
pub async fn export_full(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat, Role::Monitor])?;
    if req.method() == actix_web::http::Method::HEAD {
        return Ok(export_response("kpcert-ledger-full.export").finish());
    }
    let permit = state
        .full_exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| busy("full exports"))?;
    stream_export(
        state,
        Level::Full,
        "kpcert-ledger-full.export",
        (permit, None),
    )
}

/// Streams an export (api/export.md) from the blocking pool; memory stays bounded whatever the
/// ledger size.
/// `permit` (its slot, and its client's) is held until the stream ends.
fn stream_export(
    state: Shared,
    level: Level,
    file_name: &str,
    permit: (
        tokio::sync::OwnedSemaphorePermit,
        Option<super::per_address::Slot>,
    ),
) -> Result<HttpResponse, ApiError> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let app = state.app.clone();
    let stall = state.timeouts.stalled_export;
    actix_web::rt::task::spawn_blocking(move || {
        let _permit = permit;
        let mut out = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(64 * 1024),
            stall,
        };
        if let Err(e) = app.export(level, &mut out) {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(export_response(file_name).streaming(body))
}

#[derive(Serialize)]
struct InclusionView {
    index: u64,
    size: u64,
    leaf_hash: String,
    proof: Vec<String>,
}

pub async fn inclusion(
    state: Shared,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let index = query_u64(&query, "index", None)?;
    let size = tree_size_param(&state, &query, "size")?;
    if index >= size {
        return Err(proof_error(ProofError::IndexOutOfRange { index, size }));
    }
    let ledger = state.app.ledger();
    let entry = ledger
        .entry(index)?
        .ok_or_else(|| LedgerError::Corrupt(format!("missing entry {index}")))?;
    let tree = crate::tlog::Checkpoint {
        origin: String::new(),
        size,
        root: ledger.proven_root(size)?,
    };
    let proof = ledger.proven_inclusion(index, &entry, &tree)?;
    let leaf = crate::tlog::merkle::leaf_hash(&entry);
    Ok(HttpResponse::Ok().json(InclusionView {
        index,
        size,
        leaf_hash: base64(&leaf),
        proof: proof.iter().map(|h| base64(h)).collect(),
    }))
}

#[derive(Serialize)]
struct ConsistencyView {
    from: u64,
    to: u64,
    proof: Vec<String>,
}

pub async fn consistency(
    state: Shared,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let from = query_u64(&query, "from", None)?;
    let to = tree_size_param(&state, &query, "to")?;
    if from > to {
        return Err(proof_error(ProofError::SizeOutOfRange { from, to }));
    }
    if from == 0 {
        return Err(proof_error(ProofError::FromZero));
    }
    let proof = state.app.ledger().consistency_proof(from, to)?;
    Ok(HttpResponse::Ok().json(ConsistencyView {
        from,
        to,
        proof: proof.iter().map(|h| base64(h)).collect(),
    }))
}
