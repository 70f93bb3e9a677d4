//! Border verification: `POST /v1/verify` (JSON), the page a phone opens from the QR code
//! (`GET /S/{seal}`, no JavaScript) and the signed trust bundle for offline verifiers. Public and
//! rate limited. A scanned seal shows what the seal itself shows (names, not addresses); a
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
use crate::domain::date::format_unix_ms;
use crate::domain::Problem;
use crate::verify::{Verdict, Verification};
use crate::views::{verdict_words, ClaimsView, HistoryView, VerificationView};

/// Longest scanned text or number accepted.
const MAX_QR_CHARS: usize = 4096;
const MAX_NUMBER_CHARS: usize = 32;

/// `POST /v1/verify` with `{"qr": "<scanned text>"}` or `{"number": "..."}`: the verdict and
/// what it rests on.
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
        .filter(|k| *k != "qr" && *k != "number")
        .map(|k| Problem::new(k.as_str(), "unknown field"))
        .collect();
    let field = |k: &str| map.get(k).and_then(Value::as_str);
    // A scanned seal shows what the paper shows; a number alone shows the commercial fields
    // only to a party to the certificate (numbers run in sequence and can be enumerated).
    let mut show_claims = true;
    let mut party = false;
    let verification = match (field("qr"), field("number"), unknown.is_empty()) {
        (Some(qr), None, true) if qr.chars().count() <= MAX_QR_CHARS => state.app.verify_qr(qr)?,
        (None, Some(number), true) if number.chars().count() <= MAX_NUMBER_CHARS => {
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
            problems.push(Problem::new(
                "",
                format!("send exactly one of qr (the scanned text, at most {MAX_QR_CHARS} characters) or number"),
            ));
            return Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_request",
                message: "nothing to verify".into(),
                problems,
            });
        }
    };
    let history = changed_history(&state, &verification)?;
    let mut view = VerificationView::online(
        &verification,
        state.app.clock().now_ms(),
        state.app.ledger_verifier().to_string(),
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
    let Some(record) = &v.record else {
        return Ok(None);
    };
    let number = &record.certificate.number;
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

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /S/{seal}`: the page a phone camera opens from the QR code. No JavaScript; the verdict
/// in large coloured words, the verified fields to compare with the paper, the time of the
/// check and the ledger position.
pub async fn verify_page(state: Shared, seal: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let v: OnlineVerification = if seal.len() > MAX_QR_CHARS {
        Verification::of(
            Verdict::Malformed,
            "the code is too long to be a kpcert seal",
        )
    } else {
        state
            .app
            .verify_qr(&format!("HTTPS://SCANNED/S/{}", seal.as_str()))?
    };
    // The page shows the fields of the seal it was opened with (what the QR itself holds).
    let (headline, colour, advice) = verdict_words(v.verdict);
    let mut rows = String::new();
    if let Some(claims) = &v.claims {
        let c = ClaimsView::of(claims);
        let origin = match (c.origin.mixed, c.origin.countries.as_slice()) {
            (false, list) => list.join(", "),
            (true, []) => "mixed: countries not stated".to_owned(),
            (true, list) => format!("mixed: {}", list.join(", ")),
        };
        let items = c
            .items
            .iter()
            .map(|i| format!("{}: {} ct, USD {}", i.hs_code, i.carats, i.value_usd))
            .collect::<Vec<_>>()
            .join("<br>");
        for (label, value) in [
            ("Certificate", html_escape(&c.number)),
            (
                "Issued by",
                html_escape(&format!(
                    "{} ({})",
                    c.issuer.participant, c.issuer.authority_id
                )),
            ),
            ("Exporter", html_escape(c.exporter.name)),
            ("Importer", html_escape(c.importer.name)),
            ("Destination", html_escape(c.destination)),
            ("Origin", html_escape(&origin)),
            ("Parcels", c.parcels.to_string()),
            ("Goods", items),
            ("Issued on", c.issued_on),
            ("Expires on", c.expires_on),
        ] {
            rows.push_str(&format!("<tr><th>{label}</th><td>{value}</td></tr>"));
        }
    }
    if let Some(r) = &v.record {
        rows.push_str(&format!(
            "<tr><th>Ledger</th><td>entry {} of {}</td></tr>",
            r.entry_index, r.checkpoint.checkpoint.size
        ));
    }
    if let Some(i) = &v.life.imported {
        rows.push_str(&format!(
            "<tr><th>Imported</th><td>on {} by {} (entry {})</td></tr>",
            i.received_on,
            html_escape(&i.authority_id),
            i.entry_index
        ));
    }
    if let Some(x) = &v.life.void {
        let replaced = match &x.replaced_by {
            Some(n) => {
                format!("; replaced by <a id=\"replaced-by\" href=\"/v1/certificates/{n}\">{n}</a>")
            }
            None => String::new(),
        };
        rows.push_str(&format!(
            "<tr><th>Void</th><td>since {} by {}: {}{replaced} (entry {})</td></tr>",
            x.on,
            html_escape(&x.authority_id),
            html_escape(x.reason.as_deref().unwrap_or("")),
            x.entry_index
        ));
    }
    let reasons = v
        .reasons
        .iter()
        .map(|r| format!("<li>{}</li>", html_escape(r)))
        .collect::<String>();
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{headline} - KP certificate check</title><style>\
body{{font-family:sans-serif;margin:0;padding:1rem;max-width:40rem}}\
#verdict{{background:{colour};color:#fff;font-size:2.6rem;font-weight:bold;text-align:center;padding:1.2rem;border-radius:.5rem}}\
table{{border-collapse:collapse;width:100%;margin-top:1rem}}th{{text-align:left;padding:.4rem;width:35%;vertical-align:top}}\
td{{padding:.4rem;font-size:1.1rem}}tr{{border-bottom:1px solid #ddd}}</style></head><body>\
<div id=\"verdict\" data-verdict=\"{verdict}\">{headline}</div><p><strong>{advice}</strong></p><ul>{reasons}</ul>\
<table>{rows}</table><p>Checked at {checked} against the Kimberley Process ledger.</p></body></html>\n",
        verdict = v.verdict.as_str(),
        checked = format_unix_ms(state.app.clock().now_ms()),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page))
}

/// `GET /v1/trust-bundle`: the signed bundle for offline verifiers (api/trust-bundle.md).
pub async fn trust_bundle(state: Shared) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(state.app.trust_bundle()))
}
