//! What operators see: an access log line per request (method, route pattern, status, latency,
//! the client's network prefix rather than its address), request counters, and `GET /metrics`
//! in the Prometheus text format, answered to loopback clients only (scrape it locally or
//! through the operator's own proxy).

use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};

use super::error::ApiError;
use super::limit::client_ip;
use super::Shared;

/// The client's network, as logged: IPv4 /24, IPv6 /48 (enough to tell clients apart in an
/// incident, not enough to track a person).
fn prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// The middleware around every request.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = super::matched(&req).map_or("(no route)", |m| m.pattern);
    let client = client_ip(req.request()).map(prefix).unwrap_or_default();
    let response = next.call(req).await?;
    let status = response.status().as_u16();
    crate::metrics::global().request(route, status);
    tracing::info!(
        target: "kpcert::access",
        %method,
        route,
        status,
        micros = started.elapsed().as_micros() as u64,
        client,
        "request"
    );
    Ok(response)
}

/// `GET /metrics`: the counters, for loopback clients only.
pub async fn metrics(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if !req.peer_addr().is_some_and(|a| a.ip().is_loopback()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "metrics are served to loopback clients only",
        ));
    }
    let ledger = state.app.ledger();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::global().render(ledger.size(), ledger.state().certificates())))
}
