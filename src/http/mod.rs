//! The HTTPS API: the only module that touches `actix-web`.
//!
//! Handlers are thin: check the caller, decode the request into domain input, call [`App`],
//! encode the answer from the views in [`crate::views`]. Every error is an [`error::ApiError`];
//! nothing is written unless the answer is 201. The route table below is the one list of routes:
//! it registers the handlers, marks which ones the per-client rate limit guards, and is what a
//! test compares with api/openapi.yaml.

mod admin;
mod auth;
mod cases;
mod certificates;
mod documents;
pub mod error;
pub mod json;
mod ledger;
mod lifecycle;
pub mod limit;
mod observe;
mod per_address;
mod portal;
mod standing;
mod stats;
mod verify;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::app::App;
use crate::tls;
use error::ApiError;
use limit::RateLimiter;

pub use json::{parse_issue_request, MAX_BODY_BYTES};
pub use ledger::{MAX_CONCURRENT_EXPORTS, MAX_CONCURRENT_PAGES, MAX_ENTRIES_PER_PAGE};
pub use per_address::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;

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
    /// Deadlines for slow or silent clients.
    pub timeouts: Timeouts,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for rate limits and logs);
    /// none by default: the peer address is the client.
    pub trusted_proxies: Vec<limit::Cidr>,
    /// Open connections per client address (IPv6: per /64), counted from the TCP accept;
    /// trusted proxies are not capped; 0 disables.
    pub max_connections_per_address: usize,
}

/// How long a client may take at each step before the server gives up on it.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To send a request's head after connecting (or after the last request).
    pub request_head: std::time::Duration,
    /// To finish a TLS handshake.
    pub tls_handshake: std::time::Duration,
    /// To send a request body.
    pub body: std::time::Duration,
    /// To read the next part of an export.
    pub stalled_export: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            request_head: CLIENT_REQUEST_TIMEOUT,
            tls_handshake: TLS_HANDSHAKE_TIMEOUT,
            body: json::BODY_TIMEOUT,
            stalled_export: ledger::STALLED_EXPORT_TIMEOUT,
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            public_rate_limit: 50.0,
            workers: 0,
            handle_signals: false,
            public_url: "https://localhost:8443".into(),
            timeouts: Timeouts::default(),
            trusted_proxies: Vec::new(),
            max_connections_per_address: per_address::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        }
    }
}

/// How long a client may take to send a request's head.
pub const CLIENT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a TLS handshake may take.
pub const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Open connections per worker thread; past it, new ones wait in the listen backlog.
pub const MAX_CONNECTIONS_PER_WORKER: usize = 2048;

/// Headers on every answer: no sniffing, no framing, no referrer, and a content security
/// policy that allows the verification page its inline style and nothing else.
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
}

/// What every handler shares.
pub struct HttpState {
    app: Arc<App>,
    limiter: RateLimiter,
    public_url: String,
    /// Rendered QR codes by certificate number; cleared when full.
    qr_cache: Mutex<std::collections::HashMap<String, Arc<certificates::RenderedQr>>>,
    /// Public exports streaming at once (each holds a blocking thread): past it, 503.
    exports: Arc<tokio::sync::Semaphore>,
    /// Full exports (Secretariat and monitors) streaming at once: slots of their own.
    full_exports: Arc<tokio::sync::Semaphore>,
    /// Public exports in progress, one per client address.
    export_clients: Arc<per_address::AddressCap>,
    /// Entry pages being built or sent at once (each holds up to a few MB): past it, 503.
    pages: Arc<tokio::sync::Semaphore>,
    timeouts: Timeouts,
    trusted_proxies: Vec<limit::Cidr>,
}

type Shared = web::Data<HttpState>;

/// Declares the route table: `ROUTES` (method, path, who may call it) for the OpenAPI and the
/// role tests, and `configure` registering each handler, the `public` ones behind the per-client
/// rate limit. Who may call a route: `open` (anyone, not rate limited: health and local
/// metrics), `public` (anyone, rate limited), `authority`, `secretariat`, `monitor` (a bearer
/// token of that role), `oversight` (the Secretariat or a monitor), `party` (a certificate's parties: its
/// issuing authority, the destination's authorities, the Secretariat and monitors); tokens are
/// checked by the handler.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path, $access:ident;)*) => {
        /// Every route, as (method, path, access) in OpenAPI notation; tests keep
        /// api/openapi.yaml (`x-kpcert-access`) in step and call each with every role.
        pub const ROUTES: &[(&str, &str, &str)] =
            &[$((stringify!($method), $path, stringify!($access))),*];

        fn configure(cfg: &mut web::ServiceConfig) {
            // One resource per path, holding every method of it.
            let mut routes: Vec<(&'static str, actix_web::Route)> = Vec::new();
            $(
                routes.push(($path, web::$method().to($handler)));
                if stringify!($method) == "get" {
                    // HEAD asks what GET would answer (actix-web sends no body for it).
                    routes.push(($path, web::head().to($handler)));
                }
            )*
            let mut paths: Vec<&'static str> = Vec::new();
            for (p, _) in &routes {
                if !paths.contains(p) {
                    paths.push(*p);
                }
            }
            let mut resources: Vec<(&'static str, actix_web::Resource)> =
                paths.iter().map(|p| (*p, web::resource(*p))).collect();
            for (path, route) in routes {
                let slot = resources.iter_mut().find(|(p, _)| *p == path).expect("a path");
                slot.1 = std::mem::replace(&mut slot.1, web::resource(path)).route(route);
            }
            for (_, resource) in resources {
                cfg.service(resource.default_service(web::to(not_found)));
            }
        }
    };
}

routes! {
    get "/healthz" => ledger::healthz, open;
    get "/metrics" => observe::metrics, open;
    // The border check first: the router tries the routes in this order, and each templated
    // one costs a regular expression.
    post "/v1/verify" => verify::verify, public;
    post "/v1/certificates" => certificates::issue, authority;
    get "/v1/certificates/next" => certificates::next_number, authority;
    post "/v1/certificates/signed" => certificates::issue_signed, authority;
    get "/v1/certificates/{number}" => certificates::get_certificate, party;
    get "/v1/certificates/{number}/qr.png" => certificates::qr_png, party;
    get "/v1/certificates/{number}/qr.svg" => certificates::qr_svg, party;
    post "/v1/certificates/{number}/import-confirmation" => lifecycle::confirm, authority;
    post "/v1/certificates/{number}/void" => lifecycle::void, authority;
    post "/v1/certificates/{number}/replace" => lifecycle::replace, authority;
    post "/v1/certificates/{number}/import-confirmation/signed" => lifecycle::confirm_signed, authority;
    post "/v1/certificates/{number}/void/signed" => lifecycle::void_signed, authority;
    post "/v1/certificates/{number}/replace/signed" => lifecycle::replace_signed, authority;
    get "/S/{seal}" => portal::seal_page, public;
    get "/" => portal::home, public;
    get "/participants" => portal::participants, public;
    get "/participants/{code}" => portal::participant, public;
    get "/statistics" => portal::statistics, public;
    get "/ledger" => portal::ledger, public;
    get "/verify" => portal::verify, public;
    get "/documents" => portal::documents, public;
    get "/reconciliation" => portal::reconciliation, oversight;
    get "/v1/trust-bundle" => verify::trust_bundle, public;
    get "/v1/participants" => standing::list, public;
    post "/v1/documents" => documents::upload, oversight;
    get "/v1/documents" => documents::list, public;
    get "/v1/documents/{hash}" => documents::download, public;
    get "/v1/documents/{hash}/record" => documents::record, public;
    get "/v1/participants/{code}" => standing::get, public;
    post "/v1/participants/{code}/approvals" => standing::approve, monitor;
    get "/v1/participants/{code}/case" => cases::get_case, public;
    get "/cases/{code}" => cases::case_page, public;
    post "/v1/participants/{code}/case/steps" => cases::record_step, oversight;
    post "/v1/participants/{code}/case/benchmarks" => cases::set_benchmark, oversight;
    post "/v1/participants/{code}/production" => stats::report_production, authority;
    get "/v1/statistics" => stats::get_statistics, public;
    get "/v1/statistics/open-data" => stats::get_open_data, public;
    get "/v1/reconciliation" => stats::get_reconciliation, oversight;
    post "/v1/ledger/audits" => stats::record_audit, oversight;
    get "/v1/ledger/checkpoint" => ledger::checkpoint, public;
    get "/v1/ledger/verifier-key" => ledger::verifier_key, public;
    get "/v1/ledger/entries" => ledger::entries, public;
    get "/v1/ledger/export" => ledger::export, public;
    get "/v1/ledger/export/full" => ledger::export_full, oversight;
    get "/v1/ledger/proof/inclusion" => ledger::inclusion, public;
    get "/v1/ledger/proof/consistency" => ledger::consistency, public;
    get "/v1/admin/authorities" => admin::list_authorities, secretariat;
    post "/v1/admin/authorities" => admin::add_authority, secretariat;
    post "/v1/admin/authorities/{id}/keys" => admin::add_key, secretariat;
    post "/v1/admin/authorities/{id}/keys/{key_id}/revoke" => admin::revoke_key, secretariat;
    post "/v1/admin/participants/{code}/status" => standing::change_status, secretariat;
    post "/v1/admin/participants/{code}/measures" => standing::record_measure, secretariat;
    get "/v1/admin/tokens" => admin::list_tokens, secretariat;
    post "/v1/admin/tokens" => admin::mint_token, secretariat;
    delete "/v1/admin/tokens/{prefix}" => admin::revoke_token, secretariat;
}

/// The route a request's path matches, from the route table, as the router matches it: on the
/// path the router sees (percent-encoded letters decoded: `/v1/%76erify` is `/v1/verify`), each
/// `{name}` standing for one non-empty segment, the first path in table order winning. The
/// middlewares (rate limit, access log) run before the router and classify each request once
/// with this (stored in the request's extensions), never by the raw path: a spelling the
/// router accepts must not escape the limit (issue 14 finding). Plain segment comparisons,
/// where actix-web's `match_pattern` ran a regular expression per templated route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matched {
    /// The route's path pattern (`/v1/certificates/{number}`).
    pub pattern: &'static str,
    /// Whether the request's method on that path is a `public` route (rate limited).
    pub public: bool,
}

/// The distinct route paths in table order, split into segments.
fn route_paths() -> &'static [(&'static str, Vec<&'static str>)] {
    static PATHS: std::sync::OnceLock<Vec<(&'static str, Vec<&'static str>)>> =
        std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for (_, path, _) in ROUTES {
            if !paths.iter().any(|(p, _)| p == path) {
                paths.push((path, path.split('/').collect()));
            }
        }
        paths
    })
}

/// The pattern of the route `path` (as the router sees it) matches, if any.
pub fn route_pattern(path: &str) -> Option<&'static str> {
    route_paths()
        .iter()
        .find(|(_, segments)| {
            let mut actual = path.split('/');
            segments.iter().all(|p| match actual.next() {
                Some(a) if p.starts_with('{') => !a.is_empty(),
                Some(a) => a == *p,
                None => false,
            }) && actual.next().is_none()
        })
        .map(|(pattern, _)| *pattern)
}

/// Classifies `req` once (stored in its extensions) and returns what it matched.
pub fn matched(req: &actix_web::dev::ServiceRequest) -> Option<Matched> {
    use actix_web::HttpMessage as _;
    if let Some(m) = req.extensions().get::<Option<Matched>>() {
        return *m;
    }
    let m = route_pattern(req.match_info().as_str()).map(|pattern| {
        // HEAD asks what GET would answer.
        let method = match req.method().as_str() {
            "HEAD" => "GET",
            other => other,
        };
        Matched {
            pattern,
            public: ROUTES.iter().any(|(m, p, access)| {
                m.eq_ignore_ascii_case(method) && *p == pattern && *access == "public"
            }),
        }
    });
    req.extensions_mut().insert(m);
    m
}

/// A running server.
pub struct Running {
    handle: actix_web::dev::ServerHandle,
    port: u16,
}

impl Running {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it gracefully.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

fn server(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tls::ServerConfig>,
    options: &Options,
) -> std::io::Result<actix_web::dev::Server> {
    let state = web::Data::new(HttpState {
        limiter: RateLimiter::new(options.public_rate_limit, app.clock().clone()),
        app,
        public_url: options.public_url.clone(),
        qr_cache: Mutex::new(Default::default()),
        exports: Arc::new(tokio::sync::Semaphore::new(ledger::MAX_CONCURRENT_EXPORTS)),
        full_exports: Arc::new(tokio::sync::Semaphore::new(ledger::MAX_CONCURRENT_EXPORTS)),
        export_clients: per_address::AddressCap::new(1, Vec::new()),
        pages: Arc::new(tokio::sync::Semaphore::new(ledger::MAX_CONCURRENT_PAGES)),
        timeouts: options.timeouts,
        trusted_proxies: options.trusted_proxies.clone(),
    });
    let app_factory = move || {
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
            .wrap(from_fn(limit::limit))
            .wrap(security_headers())
            .wrap(from_fn(observe::access_log))
            .configure(configure)
            .default_service(web::to(not_found))
    };
    // Built from actix-server and actix-http (what actix-web's HttpServer is made of) so that
    // each connection is counted against its client address from the TCP accept, before any
    // TLS handshake: one address cannot hold every connection slot with idle sockets.
    let mut builder = actix_server::Server::build()
        .max_concurrent_connections(MAX_CONNECTIONS_PER_WORKER)
        .backlog(1024)
        // Signals are handled in `run`: the default handler stops at once on SIGINT, dropping
        // requests whose entries may already be committed.
        .disable_signals()
        .shutdown_timeout(30);
    if options.workers > 0 {
        builder = builder.workers(options.workers);
    }
    let shutdown = builder.graceful_shutdown_signal();
    let cap = per_address::AddressCap::new(
        options.max_connections_per_address,
        options.trusted_proxies.clone(),
    );
    let timeouts = options.timeouts;
    let local = listener.local_addr()?;
    // Bounded resources: connections that never send a request, TLS handshakes and request
    // heads that never finish, and keep-alive connections are all cut after a deadline.
    // One HTTP service per worker, for plain TCP or TLS streams.
    macro_rules! http {
        () => {{
            let shutdown = shutdown.clone();
            // The app's URL configuration (scheme and host for generated URLs) is unused:
            // public URLs come from `--public-url`.
            let app =
                actix_service::map_config(app_factory(), |_| actix_web::dev::AppConfig::default());
            actix_http::HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(std::time::Duration::from_secs(15))
                .client_request_timeout(timeouts.request_head)
                .client_disconnect_timeout(std::time::Duration::from_secs(2))
                .local_addr(local)
                .finish(app)
        }};
    }
    /// Admits a connection against the per-address cap, holding its slot until it closes.
    macro_rules! capped {
        ($factory:expr) => {{
            let cap = cap.clone();
            actix_service::apply_fn_factory(
                $factory,
                move |io: actix_web::rt::net::TcpStream, srv| {
                    let slot = cap.admit(io.peer_addr().ok().map(|a| a.ip()));
                    if slot.is_none() {
                        crate::metrics::global().connection_refused();
                    }
                    let call = slot.as_ref().map(|_| actix_service::Service::call(srv, io));
                    async move {
                        match call {
                            Some(call) => {
                                let result = call.await;
                                drop(slot);
                                result.map(|_| ())
                            }
                            // Over the cap: the stream was dropped (closed) without an answer.
                            None => Ok(()),
                        }
                    }
                },
            )
        }};
    }
    let builder = match tls {
        Some(config) => builder.listen("kpcert-https", listener, move || {
            let tls_config =
                actix_http::TlsAcceptorConfig::default().handshake_timeout(timeouts.tls_handshake);
            capped!(http!().rustls_0_23_with_config(config.clone(), tls_config))
        })?,
        None => builder.listen("kpcert-http", listener, move || capped!(http!().tcp()))?,
    };
    Ok(builder.run())
}

/// Starts the API on `listener` (TLS when `tls` is given) on a thread of its own and returns
/// once it accepts connections.
pub fn start(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tls::ServerConfig>,
    options: &Options,
) -> std::io::Result<Running> {
    let port = listener.local_addr()?.port();
    let options = options.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match server(app, listener, tls, &options) {
                    Ok(server) => {
                        let _ = tx.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            })
        })?;
    let handle = rx
        .recv()
        .map_err(|_| std::io::Error::other("the server thread ended"))??;
    Ok(Running { handle, port })
}

/// Runs the API on `listener` until it is stopped (by a signal when `options.handle_signals`).
pub fn run(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tls::ServerConfig>,
    options: &Options,
) -> std::io::Result<()> {
    let options = options.clone();
    actix_web::rt::System::new().block_on(async move {
        let server = server(app, listener, tls, &options)?;
        if options.handle_signals {
            let handle = server.handle();
            actix_web::rt::spawn(async move {
                if wait_for_stop_signal().await.is_ok() {
                    tracing::info!("stopping: finishing the requests in flight");
                    handle.stop(true).await;
                }
            });
        }
        server.await
    })
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM: both stop gracefully, so that every request whose entry
/// is being committed gets its answer.
async fn wait_for_stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let known = route_pattern(req.match_info().as_str()).is_some();
    if known {
        ApiError::new(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {}", req.method(), req.path()),
        )
        .response()
    } else {
        ApiError::not_found("no such route").response()
    }
}

#[cfg(test)]
mod tests {
    use super::route_pattern;

    #[test]
    fn a_path_matches_the_first_route_whose_segments_it_fills() {
        assert_eq!(route_pattern("/"), Some("/"));
        assert_eq!(route_pattern("/v1/verify"), Some("/v1/verify"));
        // A literal route registered before a templated one wins, as in the router.
        assert_eq!(
            route_pattern("/v1/certificates/next"),
            Some("/v1/certificates/next")
        );
        assert_eq!(
            route_pattern("/v1/certificates/BW-2026-000001"),
            Some("/v1/certificates/{number}")
        );
        assert_eq!(
            route_pattern("/v1/certificates/BW-2026-000001/qr.png"),
            Some("/v1/certificates/{number}/qr.png")
        );
        for unknown in [
            "",
            "/v1/verify/",
            "/v1//verify",
            "/v1/certificates/",
            "/v1/certificates//qr.png",
            "/v1/%76erify",
            "/nothing",
        ] {
            assert_eq!(route_pattern(unknown), None, "{unknown:?}");
        }
    }
}
