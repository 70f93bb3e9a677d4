//! The portal's pages over HTTP (`/`, `/participants`, `/participants/{code}`, `/statistics`,
//! `/ledger`, `/verify`, `/S/{seal}`, `/documents`, and `/reconciliation` for the Secretariat
//! and monitors). Thin: the language comes from `?lang=` or Accept-Language, the page from
//! `portal`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::require;
use super::error::ApiError;
use super::Shared;
use crate::domain::CountryCode;
use crate::portal::i18n::Lang;
use crate::portal::{self, Asked};
use crate::tokens::Role;
use crate::verify::Verdict;

type Params = web::Query<HashMap<String, String>>;

/// The page's language: `?lang=` when it names one, else the Accept-Language header.
fn language(req: &HttpRequest, query: &HashMap<String, String>) -> Lang {
    query
        .get("lang")
        .and_then(|l| Lang::parse(l))
        .unwrap_or_else(|| {
            Lang::negotiate(
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

fn page(lang: Lang, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_LANGUAGE, lang.code()))
        .insert_header((header::VARY, "Accept-Language"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// `GET /`: the portal's home.
pub async fn home(state: Shared, req: HttpRequest, q: Params) -> HttpResponse {
    let lang = language(&req, &q);
    page(lang, portal::home(lang, &state.app.state()))
}

/// `GET /participants`.
pub async fn participants(state: Shared, req: HttpRequest, q: Params) -> HttpResponse {
    let lang = language(&req, &q);
    page(
        lang,
        portal::participants(lang, &state.app.state(), state.app.today()),
    )
}

/// `GET /participants/{code}`.
pub async fn participant(
    state: Shared,
    req: HttpRequest,
    code: web::Path<String>,
    q: Params,
) -> Result<HttpResponse, ApiError> {
    let lang = language(&req, &q);
    let not_found = || ApiError::not_found(format!("{code} is not a registered participant"));
    let c = CountryCode::participant(&code).ok_or_else(not_found)?;
    let body = portal::participant(lang, &state.app.state(), c, state.app.today())
        .ok_or_else(not_found)?;
    Ok(page(lang, body))
}

/// `GET /statistics[?year=Y][&participant=C]`.
pub async fn statistics(state: Shared, req: HttpRequest, q: Params) -> HttpResponse {
    let lang = language(&req, &q);
    let ledger = state.app.state();
    let participant = q
        .get("participant")
        .and_then(|c| CountryCode::participant(c))
        .filter(|c| ledger.participant(*c).is_some());
    let published: Vec<_> = state
        .app
        .published_years()
        .into_iter()
        .filter_map(|y| state.app.published_year(y).map(|p| (y, p)))
        .collect();
    let latest = published
        .last()
        .map_or_else(|| state.app.today().year() - 1, |(y, _)| *y);
    let year = q
        .get("year")
        .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|y| y.parse::<i64>().ok())
        .unwrap_or(latest);
    page(
        lang,
        portal::statistics(lang, &ledger, year, participant, &published),
    )
}

/// `GET /ledger`.
pub async fn ledger(state: Shared, req: HttpRequest, q: Params) -> HttpResponse {
    let lang = language(&req, &q);
    let head = state.app.ledger().head();
    let base = state.public_url.clone();
    page(
        lang,
        portal::ledger(
            lang,
            &state.app.state(),
            &head.checkpoint,
            state.app.last_audit(),
            &base,
        ),
    )
}

/// `GET /verify[?number=N]`: the form, and the verdict on a number typed.
pub async fn verify(state: Shared, req: HttpRequest, q: Params) -> Result<HttpResponse, ApiError> {
    let lang = language(&req, &q);
    let ledger = state.app.state();
    let now = state.app.clock().now_ms();
    let body = match q.get("number").map(|n| n.trim()).filter(|n| !n.is_empty()) {
        None => portal::verify(lang, &ledger, Asked::Nothing, now),
        Some(n) => {
            let n: String = n.chars().take(40).collect::<String>().to_uppercase();
            let v = state.app.verify_number(&n)?;
            portal::verify(lang, &ledger, Asked::Number(&n, &v), now)
        }
    };
    Ok(page(lang, body))
}

/// `GET /S/{seal}`: the page a phone camera opens from the QR code, in the officer's
/// language.
pub async fn seal_page(
    state: Shared,
    req: HttpRequest,
    seal: web::Path<String>,
    q: Params,
) -> Result<HttpResponse, ApiError> {
    let lang = language(&req, &q);
    let v = if seal.len() > crate::http::verify::MAX_QR_CHARS {
        crate::verify::Verification::of(
            Verdict::Malformed,
            "the code is too long to be a kpcert seal",
        )
    } else {
        state
            .app
            .verify_qr(&format!("HTTPS://SCANNED/S/{}", seal.as_str()))?
    };
    let body = portal::verify(
        lang,
        &state.app.state(),
        Asked::Seal(&seal, &v),
        state.app.clock().now_ms(),
    );
    Ok(page(lang, body))
}

/// `GET /documents`.
pub async fn documents(state: Shared, req: HttpRequest, q: Params) -> HttpResponse {
    let lang = language(&req, &q);
    page(lang, portal::documents(lang, &state.app.state()))
}

/// `GET /reconciliation?period=P`: the Secretariat's and monitors' page.
pub async fn reconciliation(
    state: Shared,
    req: HttpRequest,
    q: Params,
) -> Result<HttpResponse, ApiError> {
    if let Err(e) = require(&state, &req, &[Role::Secretariat, Role::Monitor]) {
        let mut answer = e.response();
        if answer.status() == actix_web::http::StatusCode::UNAUTHORIZED {
            // A browser then asks for the token (as the password, any user name).
            answer.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(
                    "Basic realm=\"kpcert oversight: a Secretariat or monitor token as the password\", charset=\"UTF-8\"",
                ),
            );
        }
        return Ok(answer);
    }
    let lang = language(&req, &q);
    let period = super::stats::reconciliation_period(&state, &q)?;
    let view = crate::statistics::reconciliation(&state.app.state(), period, state.app.today());
    Ok(page(lang, portal::reconciliation(lang, &view)))
}
