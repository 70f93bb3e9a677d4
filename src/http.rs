//! The HTTPS API: the only module that touches `actix-web` and JSON.
//!
//! Handlers are thin: check the caller, decode the request into domain input, call [`App`],
//! encode the answer. Every error is JSON `{"error", "message", "problems": [{field, message}]}`
//! with a fitting status; nothing is written unless the answer is 201.

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde_json::{json, Map, Value};

use crate::app::{App, IssueError, IssuedCertificate, Verdict, Verification};
use crate::b64;
use crate::crypto::hex;
use crate::domain::date::format_unix_ms;
use crate::domain::{Date, DraftInput, Input, ItemInput, Origin, OriginInput, PartyInput, Problem};
use crate::encoding::{Entry, Event};
use crate::ledger::LedgerError;
use crate::merkle::ProofError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most entries one `GET /v1/ledger/entries` returns.
pub const MAX_ENTRIES_PER_PAGE: u64 = 1000;

/// Every route, as (method, path) in OpenAPI notation; a test keeps api/openapi.yaml in step.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("post", "/v1/certificates"),
    ("get", "/v1/certificates/{number}"),
    ("get", "/v1/certificates/{number}/qr.png"),
    ("get", "/v1/certificates/{number}/qr.svg"),
    ("post", "/v1/verify"),
    ("get", "/S/{seal}"),
    ("get", "/v1/trust-bundle"),
    ("get", "/v1/ledger/checkpoint"),
    ("get", "/v1/ledger/verifier-key"),
    ("get", "/v1/ledger/entries"),
    ("get", "/v1/ledger/export"),
    ("get", "/v1/ledger/proof/inclusion"),
    ("get", "/v1/ledger/proof/consistency"),
];

/// Server options beyond the listener.
#[derive(Clone, Debug)]
pub struct Options {
    /// Requests per second each client IP may make to public read endpoints; 0 disables.
    pub public_rate_limit: f64,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Stop gracefully on SIGINT and SIGTERM (the CLI); off for servers embedded in tests.
    pub handle_signals: bool,
    /// The public base URL printed in QR codes (`<URL>/S/<seal>`, upper-cased).
    pub public_url: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            public_rate_limit: 50.0,
            workers: 0,
            handle_signals: false,
            public_url: "https://localhost:8443".into(),
        }
    }
}

/// A JSON API error.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Vec<Problem>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn response(&self) -> HttpResponse {
        let problems: Vec<Value> = self
            .problems
            .iter()
            .map(|p| json!({"field": p.field, "message": p.message}))
            .collect();
        let mut builder = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            builder.insert_header((header::RETRY_AFTER, "1"));
        }
        builder.json(json!({"error": self.code, "message": self.message, "problems": problems}))
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

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        tracing::error!(error = %e, "ledger error");
        match e {
            LedgerError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the ledger is busy; retry in a second",
            ),
            LedgerError::Poisoned | LedgerError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the ledger cannot accept writes right now",
            ),
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error (logged)",
            ),
        }
    }
}

/// Per-client token buckets for the public endpoints.
struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    map: HashMap<IpAddr, (f64, Instant)>,
    last_sweep: Instant,
}

/// Most clients tracked at once; past it, full buckets are swept at most once a second, and if
/// that is not enough the table starts afresh (briefly lenient rather than locking people out).
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// The bucket a client address falls in: IPv4 addresses one by one, IPv6 by /64 (one site).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl RateLimiter {
    fn new(per_second: f64) -> RateLimiter {
        RateLimiter {
            per_second,
            burst: (per_second * 2.0).max(1.0),
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let Some(ip) = req.peer_addr().map(|a| client_key(a.ip())) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.map.len() > MAX_TRACKED_CLIENTS
            && now.duration_since(buckets.last_sweep).as_secs() >= 1
        {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if buckets.map.len() > MAX_TRACKED_CLIENTS {
                buckets.map.clear();
            }
            buckets.last_sweep = now;
        }
        let (tokens, at) = buckets.map.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens < 1.0 {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address; retry in a second",
            ));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

struct State {
    app: Arc<App>,
    limiter: RateLimiter,
    public_url: String,
    /// Rendered QR codes by certificate number (PNG bytes, SVG text, version); cleared when full.
    qr_cache: Mutex<HashMap<String, Arc<RenderedQr>>>,
}

struct RenderedQr {
    png: Vec<u8>,
    svg: String,
}

/// Most rendered QR codes kept in memory.
const QR_CACHE_ENTRIES: usize = 4096;
/// Pixels per module of the PNG: about 0.33 mm at 300 dpi would be 4; 8 leaves room to scale down.
const QR_PNG_SCALE: usize = 8;

type Shared = web::Data<State>;

/// Starts the API on `listener` (TLS when `tls` is given) and returns the running server.
pub fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    options: &Options,
) -> std::io::Result<actix_web::dev::Server> {
    let state = web::Data::new(State {
        app,
        limiter: RateLimiter::new(options.public_rate_limit),
        public_url: options.public_url.clone(),
        qr_cache: Mutex::new(HashMap::new()),
    });
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(state.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| ApiError::bad_request(e.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::bad_request(e.to_string()).into()),
            )
            .route("/healthz", web::get().to(healthz))
            .route("/v1/certificates", web::post().to(issue))
            .route("/v1/certificates/{number}", web::get().to(get_certificate))
            .route("/v1/certificates/{number}/qr.png", web::get().to(qr_png))
            .route("/v1/certificates/{number}/qr.svg", web::get().to(qr_svg))
            .route("/v1/verify", web::post().to(verify))
            .route("/S/{seal}", web::get().to(verify_page))
            .route("/v1/trust-bundle", web::get().to(trust_bundle))
            .route("/v1/ledger/checkpoint", web::get().to(checkpoint))
            .route("/v1/ledger/verifier-key", web::get().to(verifier_key))
            .route("/v1/ledger/entries", web::get().to(entries))
            .route("/v1/ledger/export", web::get().to(export))
            .route("/v1/ledger/proof/inclusion", web::get().to(inclusion))
            .route("/v1/ledger/proof/consistency", web::get().to(consistency))
            .default_service(web::to(not_found))
    });
    let server = if options.handle_signals {
        server
    } else {
        server.disable_signals()
    };
    let server = if options.workers > 0 {
        server.workers(options.workers)
    } else {
        server
    };
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let known = ROUTES.iter().any(|(_, path)| {
        let pattern: Vec<&str> = path.split('/').collect();
        let actual: Vec<&str> = req.path().split('/').collect();
        pattern.len() == actual.len()
            && pattern
                .iter()
                .zip(&actual)
                .all(|(p, a)| p.starts_with('{') || p == a)
    });
    if known {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {}", req.method(), req.path()),
        )
        .response()
    } else {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").response()
    }
}

async fn healthz(state: Shared) -> HttpResponse {
    if state.app.ledger().is_unavailable() {
        return HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "reason": "the ledger cannot accept writes"}));
    }
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(1024));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn issue(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let authority = bearer_token(&req)
        .and_then(|t| state.app.authenticate(t))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid issuing authority token is required (Authorization: Bearer <token>)",
            )
        })?;
    if !is_json(&req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the certificate as Content-Type: application/json",
        ));
    }
    let idempotency_key = idempotency_key(&req)?;
    let body = read_body(&req, payload).await?;
    let request_hash = crate::crypto::sha256(&body);
    if let Some(key) = &idempotency_key {
        if let Some(replay) = state
            .app
            .idempotent_replay(&authority, key, &request_hash)?
        {
            return replayed(replay, &state);
        }
    }
    let value = parse_json_strict(&body)?;
    let (input, claimed_issuer, mut problems) = draft_from_json(&value)?;
    let today = Date::from_unix_seconds(crate::ledger::now_ms() / 1000);
    let content = match state
        .app
        .validate(&authority, &input, claimed_issuer.as_deref(), today)
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
    match state
        .app
        .issue(authority.clone(), content, idempotency)
        .await
    {
        Ok(issued) => Ok(created(&issued, &state)),
        Err(LedgerError::IdempotencyConflict) => {
            // Another request with this key won the race; answer as it did once it is committed.
            let key = idempotency_key.expect("a conflict needs a key");
            match state
                .app
                .idempotent_replay(&authority, &key, &request_hash)?
            {
                Some(replay) => replayed(replay, &state),
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

/// The 201 answer for a newly issued (or replayed) certificate.
fn created(issued: &IssuedCertificate, state: &State) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(&format!("/v1/certificates/{}", issued.certificate.number))
                .expect("numbers are ascii"),
        ))
        .json(certificate_answer(issued, state))
}

/// The answer to a retried request: the original certificate if the body is the same.
fn replayed(
    (same_body, issued): (bool, IssuedCertificate),
    state: &State,
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
    let mut resp = created(&issued, state);
    resp.headers_mut().insert(
        header::HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    Ok(resp)
}

/// The optional `Idempotency-Key` header: 1 to 128 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
        )),
    }
}

/// A JSON value in which no object repeats a key: `{"destination": "AE", "destination": "KE"}`
/// is ambiguous input for a document that gets signed, so it is refused rather than resolved.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StrictValue, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StrictValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StrictValue, A::Error> {
                let mut list = Vec::new();
                while let Some(StrictValue(v)) = seq.next_element()? {
                    list.push(v);
                }
                Ok(StrictValue(Value::Array(list)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<StrictValue, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let StrictValue(v) = map.next_value()?;
                    if object.insert(key.clone(), v).is_some() {
                        return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                    }
                }
                Ok(StrictValue(Value::Object(object)))
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_json_strict(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<StrictValue>(body)
        .map(|v| v.0)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_certificate",
        message: format!("the certificate request has {} problem(s)", problems.len()),
        problems,
    }
}

/// Walks a JSON object, taking known fields and reporting unknown ones and wrong types.
struct JsonFields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    problems: &'a mut Vec<Problem>,
}

impl<'a> JsonFields<'a> {
    fn open(
        path: &str,
        value: &'a Value,
        known: &[&str],
        problems: &'a mut Vec<Problem>,
    ) -> Option<JsonFields<'a>> {
        let Some(map) = value.as_object() else {
            problems.push(Problem::new(path, "must be a JSON object"));
            return None;
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                problems.push(Problem::new(join(path, key), "unknown field"));
            }
        }
        Some(JsonFields {
            path: path.to_owned(),
            map,
            problems,
        })
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn string(&mut self, key: &str) -> Input<String> {
        let field = self.field(key);
        string_input(&field, self.map.get(key), self.problems)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn string_input(field: &str, value: Option<&Value>, problems: &mut Vec<Problem>) -> Input<String> {
    match value {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::String(s)) => Input::Given(s.clone()),
        Some(Value::Number(_)) => {
            problems.push(Problem::new(
                field,
                "must be a JSON string (amounts are exact decimals written as strings, e.g. \"1520.35\")",
            ));
            Input::Invalid
        }
        Some(_) => {
            problems.push(Problem::new(field, "must be a JSON string"));
            Input::Invalid
        }
    }
}

fn party_input(
    path: &str,
    value: Option<&Value>,
    problems: &mut Vec<Problem>,
) -> Input<PartyInput> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Input::Missing;
    };
    let Some(mut f) = JsonFields::open(path, value, &["name", "address"], problems) else {
        return Input::Invalid;
    };
    Input::Given(PartyInput {
        name: f.string("name"),
        address: f.string("address"),
    })
}

fn array<'v>(
    field: &str,
    value: Option<&'v Value>,
    problems: &mut Vec<Problem>,
) -> Input<&'v Vec<Value>> {
    match value {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::Array(a)) => Input::Given(a),
        Some(_) => {
            problems.push(Problem::new(field, "must be a JSON array"));
            Input::Invalid
        }
    }
}

/// Decodes an issuance request body for tools and test vectors: the domain input and the
/// optional `issuer` claim, or every wire problem found.
pub fn parse_issue_request(value: &Value) -> Result<(DraftInput, Option<String>), Vec<Problem>> {
    match draft_from_json(value) {
        Ok((input, issuer, problems)) if problems.is_empty() => Ok((input, issuer)),
        Ok((_, _, problems)) => Err(problems),
        Err(e) => Err(vec![Problem::new("", e.message)]),
    }
}

/// Decodes the issuance request: the domain input, the optional `issuer` claim, and the wire
/// problems found on the way (unknown fields, wrong JSON types).
fn draft_from_json(value: &Value) -> Result<(DraftInput, Option<String>, Vec<Problem>), ApiError> {
    const FIELDS: &[&str] = &[
        "issuer",
        "exporter",
        "importer",
        "destination",
        "origin",
        "parcels",
        "items",
        "expires_on",
    ];
    let Some(map) = value.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut problems = Vec::new();
    let (issuer, destination, expires_on) = {
        let mut f = JsonFields::open("", value, FIELDS, &mut problems).expect("an object");
        (
            f.string("issuer"),
            f.string("destination"),
            f.string("expires_on"),
        )
    };
    let issuer = match issuer {
        Input::Given(s) => Some(s),
        _ => None,
    };
    let parcels = match map.get("parcels") {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Input::Given(i),
            None => {
                problems.push(Problem::new("parcels", "must be a whole number"));
                Input::Invalid
            }
        },
        Some(_) => {
            problems.push(Problem::new("parcels", "must be a JSON number"));
            Input::Invalid
        }
    };
    let exporter = party_input("exporter", map.get("exporter"), &mut problems);
    let importer = party_input("importer", map.get("importer"), &mut problems);
    let origin = match map.get("origin").filter(|v| !v.is_null()) {
        None => Input::Missing,
        Some(v) => match JsonFields::open("origin", v, &["mixed", "countries"], &mut problems) {
            None => Input::Invalid,
            Some(o) => {
                let mixed = match o.map.get("mixed") {
                    None | Some(Value::Null) => Input::Missing,
                    Some(Value::Bool(b)) => Input::Given(*b),
                    Some(_) => {
                        o.problems
                            .push(Problem::new("origin.mixed", "must be true or false"));
                        Input::Invalid
                    }
                };
                let countries = match array("origin.countries", o.map.get("countries"), o.problems)
                {
                    Input::Given(list) => Input::Given(
                        list.iter()
                            .enumerate()
                            .map(|(i, c)| {
                                let field = format!("origin.countries[{i}]");
                                match string_input(&field, Some(c), o.problems) {
                                    Input::Missing => {
                                        o.problems
                                            .push(Problem::new(field, "must be a JSON string"));
                                        Input::Invalid
                                    }
                                    other => other,
                                }
                            })
                            .collect(),
                    ),
                    Input::Missing => Input::Missing,
                    Input::Invalid => Input::Invalid,
                };
                Input::Given(OriginInput { mixed, countries })
            }
        },
    };
    let items = match array("items", map.get("items"), &mut problems) {
        Input::Given(list) => Input::Given(
            list.iter()
                .enumerate()
                .map(|(i, item)| {
                    let path = format!("items[{i}]");
                    match JsonFields::open(
                        &path,
                        item,
                        &["hs_code", "carats", "value_usd"],
                        &mut problems,
                    ) {
                        None => Input::Invalid,
                        Some(mut f) => Input::Given(ItemInput {
                            hs_code: f.string("hs_code"),
                            carats: f.string("carats"),
                            value_usd: f.string("value_usd"),
                        }),
                    }
                })
                .collect(),
        ),
        Input::Missing => Input::Missing,
        Input::Invalid => Input::Invalid,
    };
    let input = DraftInput {
        exporter,
        importer,
        destination,
        origin,
        parcels,
        items,
        expires_on,
    };
    Ok((input, issuer, problems))
}

/// The answer for one certificate: serialised straight from typed views (no intermediate
/// `serde_json::Value`), in the documented field order.
#[derive(serde::Serialize)]
struct CertificateAnswer<'a> {
    number: &'a str,
    /// The QR text (`<PUBLIC URL>/S/<BASE32 SEAL>`), absent if the authority's key is not here.
    qr: Option<String>,
    hash: String,
    signature: String,
    key_id: String,
    canonical: String,
    certificate: CertificateView<'a>,
    ledger: LedgerView<'a>,
}

#[derive(serde::Serialize)]
struct CertificateView<'a> {
    number: &'a str,
    issuer: IssuerView<'a>,
    issued_on: String,
    expires_on: String,
    exporter: PartyView<'a>,
    importer: PartyView<'a>,
    destination: &'a str,
    origin: OriginView<'a>,
    parcels: u32,
    items: Vec<ItemView>,
    totals: TotalsView,
}

#[derive(serde::Serialize)]
struct IssuerView<'a> {
    participant: &'a str,
    authority_id: &'a str,
    authority_name: &'a str,
    key_id: String,
}

#[derive(serde::Serialize)]
struct PartyView<'a> {
    name: &'a str,
    address: &'a str,
}

#[derive(serde::Serialize)]
struct OriginView<'a> {
    mixed: bool,
    countries: Vec<&'a str>,
}

#[derive(serde::Serialize)]
struct ItemView {
    hs_code: &'static str,
    carats: String,
    value_usd: String,
}

#[derive(serde::Serialize)]
struct TotalsView {
    carats: String,
    value_usd: String,
}

#[derive(serde::Serialize)]
struct LedgerView<'a> {
    index: u64,
    entry: String,
    time: String,
    tree_size: u64,
    inclusion_proof: Vec<String>,
    checkpoint: &'a str,
    tlog_proof: String,
}

fn party(p: &crate::domain::Party) -> PartyView<'_> {
    PartyView {
        name: &p.name,
        address: &p.address,
    }
}

fn certificate_answer<'a>(issued: &'a IssuedCertificate, state: &State) -> CertificateAnswer<'a> {
    let cert = &issued.certificate;
    let c = &cert.content;
    let (mixed, countries) = match &c.origin {
        Origin::Single(code) => (false, vec![code.as_str()]),
        Origin::Mixed(list) => (true, list.iter().map(|c| c.as_str()).collect()),
    };
    let checkpoint = &issued.checkpoint;
    let proof_b64: Vec<String> = issued.proof.iter().map(|h| b64::encode(h)).collect();
    let mut tlog_proof = format!("c2sp.org/tlog-proof@v1\nindex {}\n", issued.entry_index);
    for h in &proof_b64 {
        tlog_proof.push_str(h);
        tlog_proof.push('\n');
    }
    tlog_proof.push('\n');
    tlog_proof.push_str(&checkpoint.note);
    CertificateAnswer {
        number: cert.number.as_str(),
        qr: state
            .app
            .seal(issued)
            .map(|seal| crate::seal::qr_text(&state.public_url, &seal)),
        hash: hex(&issued.hash),
        signature: b64::encode(&issued.signature),
        key_id: cert.issuer.key_id.to_string(),
        canonical: b64::encode(&issued.canonical),
        certificate: CertificateView {
            number: cert.number.as_str(),
            issuer: IssuerView {
                participant: cert.issuer.participant.as_str(),
                authority_id: &cert.issuer.authority_id,
                authority_name: &cert.issuer.authority_name,
                key_id: cert.issuer.key_id.to_string(),
            },
            issued_on: c.issued_on.to_string(),
            expires_on: c.expires_on.to_string(),
            exporter: party(&c.exporter),
            importer: party(&c.importer),
            destination: c.destination.as_str(),
            origin: OriginView { mixed, countries },
            parcels: c.parcels,
            items: c
                .items
                .iter()
                .map(|i| ItemView {
                    hs_code: i.hs_code.as_str(),
                    carats: i.carats.to_string(),
                    value_usd: i.value_usd.to_string(),
                })
                .collect(),
            totals: TotalsView {
                carats: cert.total_carats().to_string(),
                value_usd: cert.total_value_usd().to_string(),
            },
        },
        ledger: LedgerView {
            index: issued.entry_index,
            entry: b64::encode(&issued.entry),
            time: format_unix_ms(issued.entry_time_ms),
            tree_size: checkpoint.checkpoint.size,
            inclusion_proof: proof_b64,
            checkpoint: &checkpoint.note,
            tlog_proof,
        },
    }
}

/// The recorded certificate `number`, or a JSON 404.
fn find_certificate(state: &State, number: &str) -> Result<IssuedCertificate, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no certificate {number} in the ledger"),
        )
    };
    if number.len() > 32 {
        return Err(not_found());
    }
    state.app.certificate(number)?.ok_or_else(not_found)
}

async fn get_certificate(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    let issued = find_certificate(&state, &number)?;
    Ok(HttpResponse::Ok().json(certificate_answer(&issued, &state)))
}

/// The rendered QR code of certificate `number`, from the cache or built once (building takes
/// about a millisecond and a half, so it is kept off the issuance path).
async fn rendered_qr(state: &Shared, number: &str) -> Result<Arc<RenderedQr>, ApiError> {
    if let Some(hit) = state.qr_cache.lock().expect("qr cache").get(number) {
        return Ok(hit.clone());
    }
    let issued = find_certificate(state, number)?;
    let seal = state.app.seal(&issued).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the issuing authority's key is not on this server",
        )
    })?;
    let text = crate::seal::qr_text(&state.public_url, &seal);
    let rendered = web::block(move || {
        crate::qr::Symbol::encode(&text).map(|symbol| RenderedQr {
            png: symbol.png(QR_PNG_SCALE),
            svg: symbol.svg(),
        })
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
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
    state.limiter.check(req)?;
    let rendered = rendered_qr(state, number).await?;
    let (content_type, body) = if svg {
        ("image/svg+xml", rendered.svg.clone().into_bytes())
    } else {
        ("image/png", rendered.png.clone())
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400, immutable"))
        .body(body))
}

async fn qr_png(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    qr_image(&state, &req, &number, false).await
}

async fn qr_svg(
    state: Shared,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    qr_image(&state, &req, &number, true).await
}

/// `POST /v1/verify` with `{"qr": "<scanned text>"}` or `{"number": "..."}`: the verdict and
/// what it rests on. Public and rate limited; it shows only what the seal itself shows.
async fn verify(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    if !is_json(&req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send {\"qr\": \"...\"} or {\"number\": \"...\"} as application/json",
        ));
    }
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
    let today = Date::from_unix_seconds(crate::ledger::now_ms() / 1000);
    let verification = match (field("qr"), field("number"), unknown.is_empty()) {
        (Some(qr), None, true) if qr.len() <= 4096 => state.app.verify_qr(qr, today)?,
        (None, Some(number), true) if number.len() <= 32 => {
            state.app.verify_number(number, today)?
        }
        _ => {
            let mut problems = unknown;
            problems.push(Problem::new(
                "",
                "send exactly one of qr (the scanned text, at most 4096 characters) or number",
            ));
            return Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_request",
                message: "nothing to verify".into(),
                problems,
            });
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(verification_json(&state, &verification)))
}

fn verification_json(state: &State, v: &Verification) -> Value {
    let certificate = v.claims.as_ref().map(|c| {
        let (mixed, countries) = match &c.origin {
            Origin::Single(code) => (false, vec![code.as_str()]),
            Origin::Mixed(list) => (true, list.iter().map(|c| c.as_str()).collect()),
        };
        json!({
            "number": c.number().as_str(),
            "issuer": {"participant": c.participant.as_str(), "authority_id": c.authority_id},
            "exporter": {"name": c.exporter_name},
            "importer": {"name": c.importer_name},
            "destination": c.destination.as_str(),
            "origin": {"mixed": mixed, "countries": countries},
            "parcels": c.parcels,
            "items": c.items.iter().map(|i| json!({
                "hs_code": i.hs_code.as_str(),
                "carats": i.carats.to_string(),
                "value_usd": i.value_usd.to_string(),
            })).collect::<Vec<_>>(),
            "issued_on": c.issued_on.to_string(),
            "expires_on": c.expires_on.to_string(),
            "hash": hex(&c.certificate_hash),
        })
    });
    let ledger = v.record.as_ref().map(|r| {
        json!({
            "index": r.entry_index,
            "events": [{
                "index": r.entry_index,
                "kind": "certificate.issued",
                "time": format_unix_ms(r.entry_time_ms),
                "actor": r.certificate.issuer.authority_id,
            }],
            "entry": b64::encode(&r.entry),
            "tree_size": r.checkpoint.checkpoint.size,
            "inclusion_proof": r.proof.iter().map(|h| b64::encode(h)).collect::<Vec<_>>(),
            "checkpoint": r.checkpoint.note,
        })
    });
    json!({
        "verdict": v.verdict.as_str(),
        "reasons": v.reasons,
        "checked_at": format_unix_ms(crate::ledger::now_ms()),
        "ledger_verifier_key": state.app.ledger_verifier().to_string(),
        "certificate": certificate,
        "ledger": ledger,
    })
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
async fn verify_page(
    state: Shared,
    req: HttpRequest,
    seal: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    let today = Date::from_unix_seconds(crate::ledger::now_ms() / 1000);
    let v = if seal.len() > 4096 {
        Verification {
            verdict: Verdict::Malformed,
            reasons: vec!["the code is too long to be a kpcert seal".into()],
            claims: None,
            record: None,
        }
    } else {
        state
            .app
            .verify_qr(&format!("HTTPS://SCANNED/S/{}", seal.as_str()), today)?
    };
    let (colour, headline, advice) = match v.verdict {
        Verdict::Valid => (
            "#0a7d2c",
            "VALID",
            "Genuine and recorded. Compare every field below with the paper and the shipment.",
        ),
        Verdict::Expired => (
            "#b36b00",
            "EXPIRED",
            "Genuine, but past its date of expiry. Do not accept the shipment on this certificate.",
        ),
        Verdict::Forged => (
            "#b00020",
            "FORGED",
            "Do not accept. The seal is not what the issuing authority signed or recorded.",
        ),
        Verdict::NotInLedger => (
            "#b00020",
            "NOT IN LEDGER",
            "Do not accept. Signed by a trusted key but never recorded: report it.",
        ),
        Verdict::Malformed => (
            "#5a5a5a",
            "NOT A KP SEAL",
            "This code is not a kpcert seal. Check the certificate by its number.",
        ),
        Verdict::Unknown => ("#5a5a5a", "UNKNOWN", "No such certificate."),
    };
    let mut rows = String::new();
    if let Some(c) = &v.claims {
        let origin = match &c.origin {
            Origin::Single(code) => code.to_string(),
            Origin::Mixed(list) => format!(
                "mixed: {}",
                if list.is_empty() {
                    "countries not stated".to_owned()
                } else {
                    list.iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        };
        let items = c
            .items
            .iter()
            .map(|i| {
                format!(
                    "{}: {} ct, USD {}",
                    i.hs_code.as_str(),
                    i.carats,
                    i.value_usd
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        for (label, value) in [
            ("Certificate", html_escape(c.number().as_str())),
            (
                "Issued by",
                html_escape(&format!("{} ({})", c.participant, c.authority_id)),
            ),
            ("Exporter", html_escape(&c.exporter_name)),
            ("Importer", html_escape(&c.importer_name)),
            ("Destination", html_escape(c.destination.as_str())),
            ("Origin", html_escape(&origin)),
            ("Parcels", c.parcels.to_string()),
            ("Goods", items),
            ("Issued on", c.issued_on.to_string()),
            ("Expires on", c.expires_on.to_string()),
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
        checked = format_unix_ms(crate::ledger::now_ms()),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page))
}

/// A `Write` that hands 64 KiB chunks to a streaming HTTP body.
struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
    buf: Vec<u8>,
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
        if !self.buf.is_empty() {
            let chunk = web::Bytes::from(std::mem::take(&mut self.buf));
            self.tx
                .blocking_send(Ok(chunk))
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        }
        Ok(())
    }
}

/// `GET /v1/ledger/export`: the whole ledger as of the latest checkpoint, streamed
/// (api/export.md); memory stays bounded whatever the ledger size.
async fn export(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let app = state.app.clone();
    std::thread::spawn(move || {
        let mut out = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(64 * 1024),
        };
        if let Err(e) = app.export(&mut out) {
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"kpcert-ledger.export\"",
        ))
        .streaming(body))
}

/// How long a trust bundle is meant to be used before fetching a new one.
pub const TRUST_BUNDLE_VALIDITY_MS: u64 = 7 * 24 * 3600 * 1000;

/// `GET /v1/trust-bundle`: the signed bundle for offline verifiers (api/trust-bundle.md).
async fn trust_bundle(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    Ok(HttpResponse::Ok().json(state.app.trust_bundle(TRUST_BUNDLE_VALIDITY_MS)))
}

async fn checkpoint(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(state.app.ledger().head().note.clone()))
}

async fn verifier_key(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", state.app.ledger_verifier())))
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

fn entry_json(index: u64, bytes: &[u8]) -> Value {
    let decoded = match Entry::decode(bytes) {
        Ok(entry) => {
            let payload = match &entry.event {
                Event::ParticipantRegistered(p) => json!({
                    "code": p.code.as_str(), "name": p.name, "region": p.region, "kind": p.kind.as_str(),
                }),
                Event::AuthorityRegistered(a) => json!({
                    "authority_id": a.id,
                    "participant": a.participant.as_str(),
                    "name": a.name,
                    "public_key": b64::encode(&a.public_key.to_bytes()),
                    "key_id": a.key_id().to_string(),
                    "default_validity_days": a.default_validity_days,
                    "max_validity_days": a.max_validity_days,
                }),
                Event::CertificateIssued {
                    certificate,
                    signature,
                } => json!({
                    "certificate": b64::encode(certificate),
                    "certificate_hash": hex(&crate::crypto::sha256(certificate)),
                    "number": crate::encoding::decode_certificate(certificate).ok().map(|c| c.number.to_string()),
                    "signature": b64::encode(signature),
                }),
                Event::Other { payload, .. } => json!({"cbor": b64::encode(&payload.encode())}),
            };
            json!({
                "kind": entry.event.kind(),
                "time": format_unix_ms(entry.time_ms),
                "actor": entry.actor,
                "key_id": entry.key_id.map(|k| k.to_string()),
                "prev": hex(&entry.prev),
                "payload": payload,
            })
        }
        Err(e) => json!({"error": e.to_string()}),
    };
    json!({"index": index, "canonical": b64::encode(bytes), "entry": decoded})
}

async fn entries(
    state: Shared,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
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
    // Reading and decoding a page is blocking work: keep it off the async workers.
    let app = state.app.clone();
    let list = web::block(move || {
        app.ledger()
            .entries(start, end)
            .map(|r| r.map(|(i, bytes)| entry_json(i, &bytes)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(HttpResponse::Ok().json(json!({
        "start": start,
        "size": size,
        "next": (end < size).then_some(end),
        "entries": list,
    })))
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

async fn inclusion(
    state: Shared,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    let index = query_u64(&query, "index", None)?;
    let size = tree_size_param(&state, &query, "size")?;
    if index >= size {
        return Err(proof_error(ProofError::IndexOutOfRange { index, size }));
    }
    let proof = state.app.ledger().inclusion_proof(index, size)?;
    let leaf = state
        .app
        .ledger()
        .entry(index)?
        .map(|b| crate::merkle::leaf_hash(&b))
        .ok_or_else(|| LedgerError::Corrupt(format!("missing entry {index}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "index": index,
        "size": size,
        "leaf_hash": b64::encode(&leaf),
        "proof": proof.iter().map(|h| b64::encode(h)).collect::<Vec<_>>(),
    })))
}

async fn consistency(
    state: Shared,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(&req)?;
    let from = query_u64(&query, "from", None)?;
    let to = tree_size_param(&state, &query, "to")?;
    if from > to {
        return Err(proof_error(ProofError::SizeOutOfRange { from, to }));
    }
    if from == 0 {
        return Err(proof_error(ProofError::FromZero));
    }
    let proof = state.app.ledger().consistency_proof(from, to)?;
    Ok(HttpResponse::Ok().json(json!({
        "from": from,
        "to": to,
        "proof": proof.iter().map(|h| b64::encode(h)).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_per_ipv4_address_and_per_ipv6_slash_64() {
        let key = |s: &str| client_key(s.parse().unwrap()).to_string();
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn duplicate_json_keys_are_refused_at_any_depth() {
        assert!(parse_json_strict(br#"{"a":1,"b":[{"c":2}]}"#).is_ok());
        assert!(parse_json_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_json_strict(br#"{"x":{"c":1,"c":1}}"#).is_err());
        assert!(parse_json_strict(br#"[{"c":1,"c":1}]"#).is_err());
    }
}
