//! The one error type of the HTTP API: every failure is JSON `{"error", "message", "problems":
//! [{field, message}]}` with a fitting status. Validation errors become 4xx with every problem;
//! anything else is an opaque 500 (or 503) whose cause is logged.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use crate::domain::Problem;
use crate::ledger::LedgerError;

/// A JSON API error.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub problems: Vec<Problem>,
}

#[derive(Serialize)]
struct ProblemView<'a> {
    field: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct ErrorView<'a> {
    error: &'a str,
    message: &'a str,
    problems: Vec<ProblemView<'a>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error (logged)",
        )
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 422 with every problem of a request.
    pub fn invalid(code: &'static str, what: &str, problems: Vec<Problem>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: format!("the {what} has {} problem(s)", problems.len()),
            problems,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            builder.insert_header((header::RETRY_AFTER, "1"));
        }
        builder.json(ErrorView {
            error: self.code,
            message: &self.message,
            problems: self
                .problems
                .iter()
                .map(|p| ProblemView {
                    field: &p.field,
                    message: &p.message,
                })
                .collect(),
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

/// Logs a condition that may repeat on every request (a full disk) once, then at most once per
/// [`REPEAT_LOG_INTERVAL_MS`] with how many times it happened in between.
fn log_throttled(e: &LedgerError) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_MS: AtomicU64 = AtomicU64::new(0);
    static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
    // A monotonic count of ms since the first log: the interval needs no wall clock.
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let now = START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + REPEAT_LOG_INTERVAL_MS;
    let last = LAST_MS.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= REPEAT_LOG_INTERVAL_MS
        && LAST_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
        tracing::error!(error = %e, suppressed, "the ledger cannot write (answering 503)");
    } else {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
    }
}

/// The shortest interval between two log lines of the same repeated write failure.
pub const REPEAT_LOG_INTERVAL_MS: u64 = 10_000;

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::Busy => ApiError::unavailable("the ledger is busy; retry in a second"),
            LedgerError::Poisoned | LedgerError::Closed | LedgerError::Storage(_) => {
                log_throttled(&e);
                ApiError::unavailable("the ledger cannot accept writes right now")
            }
            LedgerError::Corrupt(_) => ApiError::unavailable(
                "the ledger data on this server failed its integrity check (logged); it answers nothing it cannot prove",
            ),
            LedgerError::Invalid(problems) => {
                ApiError::invalid("invalid_certificate", "certificate request", problems)
            }
            LedgerError::Refused(crate::domain::state::Refusal::Conflict(message)) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            LedgerError::Refused(crate::domain::state::Refusal::Forbidden(message)) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            LedgerError::Refused(crate::domain::state::Refusal::Invalid(problems)) => {
                ApiError::invalid("invalid_request", "request", problems)
            }
            LedgerError::NumberTaken(message) => {
                ApiError::new(StatusCode::CONFLICT, "number_taken", message)
            }
            // The ledger's rules refused the entry: nothing was written, and the request (or
            // a race with another writer) is at fault, not the server.
            LedgerError::Rejected(message) => {
                ApiError::new(StatusCode::CONFLICT, "refused_by_ledger_rules", message)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_failures_are_503_with_retry_after_and_corruption_is_never_a_500() {
        for e in [
            LedgerError::Storage("No space left on device (os error 28)".into()),
            LedgerError::Poisoned,
            LedgerError::Closed,
            LedgerError::Busy,
            LedgerError::Corrupt("entry 7".into()),
        ] {
            let response = ApiError::from(e).response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        }
    }
}
