//! `spawn_app()`: starts the real application over HTTPS on port 0 and returns a client for it.

use std::sync::Arc;

use kpcert::app::{App, Config};
use kpcert::clock::{ManualClock, SharedClock};
use kpcert::domain::DraftInput;
use kpcert::http;
use kpcert::startup::{self, Tls};
use serde_json::{json, Value};

/// A running server with its folders and demo-like authorities.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Arc<App>,
    /// The keys folder (authority private keys, for tests that sign as an authority).
    pub keys_dir: std::path::PathBuf,
    /// The server's self-signed certificate (PEM), the only root clients trust.
    pub cert_path: std::path::PathBuf,
    /// Tokens of the Secretariat (minted at the first start) and of a monitoring team.
    pub secretariat: String,
    pub monitor: String,
    /// (authority id, token) for BW, AE and EU.
    pub bw: (String, String),
    pub ae: (String, String),
    pub eu: (String, String),
    server: http::Running,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs an issuance request with `token`.
    pub async fn issue_with(&self, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/certificates"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// POSTs an issuance request as BW.
    pub async fn issue(&self, body: &Value) -> reqwest::Response {
        self.issue_with(&self.bw.1.clone(), body).await
    }

    /// GETs `path` with `token`.
    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub fn ledger_size(&self) -> u64 {
        self.app.ledger().size()
    }

    /// A client of this server that connects from `ip` (any 127.0.0.0/8 address is loopback),
    /// to act as another client address.
    pub fn client_from(&self, ip: &str) -> reqwest::Client {
        let pem = std::fs::read(&self.cert_path).unwrap();
        reqwest::Client::builder()
            .use_preconfigured_tls(kpcert::tls::client_trusting(&pem).unwrap())
            .local_address(Some(ip.parse().unwrap()))
            .build()
            .unwrap()
    }

    /// Audits `export` trusting this server's ledger key; panics if it fails.
    pub fn audit(&self, export: &[u8]) -> kpcert::audit::AuditReport {
        kpcert::audit::audit_export(
            export,
            self.app.ledger_verifier(),
            None,
            Default::default(),
            |_, _| {},
        )
        .expect("the export audits")
    }

    /// The full export, written in-process.
    pub fn full_export(&self) -> Vec<u8> {
        let mut export = Vec::new();
        self.app
            .export(kpcert::codec::export::Level::Full, &mut export)
            .unwrap();
        export
    }

    pub async fn stop(&self) {
        self.server.stop().await;
    }
}

/// The README's example request (BW to AE).
pub fn example_request() -> Value {
    json!({
        "exporter": {"name": "Okavango Diamond Company", "address": "Plot 123, Gaborone, Botswana"},
        "importer": {"name": "Desert Rough DMCC", "address": "Almas Tower, Dubai, UAE"},
        "destination": "AE",
        "origin": {"countries": ["BW"]},
        "parcels": 3,
        "items": [{"hs_code": "7102.10", "carats": "1520.35", "value_usd": "845000.00"}],
    })
}

/// The README's example as domain input.
pub fn example_input() -> DraftInput {
    kpcert::http::parse_issue_request(&example_request())
        .unwrap()
        .0
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(http::Options::default())
}

pub fn spawn_app_with(options: http::Options) -> TestApp {
    spawn_app_at(options, kpcert::clock::system())
}

/// A server whose clock stands still at noon UTC of `date` until the test moves it.
pub fn spawn_app_on(date: &str) -> (TestApp, Arc<ManualClock>) {
    let clock = ManualClock::at_date(date);
    (spawn_app_at(http::Options::default(), clock.clone()), clock)
}

/// Entries between state snapshots in tests: small, so that every test server snapshots (after
/// the 61 registry entries of genesis, and again every few dozen entries) and every restart
/// restores from a snapshot.
pub const TEST_SNAPSHOT_EVERY: u64 = 50;

/// Opens the application in a fresh temporary folder with `clock`.
pub fn open_app(dir: &std::path::Path, clock: SharedClock) -> App {
    try_open_app(dir, clock).expect("open app")
}

/// [`open_app`], for a test whose folder may rightly be refused.
pub fn try_open_app(
    dir: &std::path::Path,
    clock: SharedClock,
) -> Result<App, kpcert::app::AppError> {
    App::open(&Config {
        data_dir: dir.join("data"),
        keys_dir: dir.join("keys"),
        origin: Some("test.kpcert.local/ledger".into()),
        clock,
        snapshot_every: TEST_SNAPSHOT_EVERY,
    })
}

pub fn spawn_app_at(options: http::Options, clock: SharedClock) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_app(dir.path(), clock);
    let add = |code: &str, name: &str| {
        let new = app.add_authority(code, name, 90).expect("add authority");
        (new.authority.id, new.token)
    };
    let bw = add("BW", "Ministry of Minerals, Botswana");
    let ae = add("AE", "UAE Kimberley Process Office");
    let eu = add("EU", "Antwerp Diamond Office");
    let secretariat = app
        .take_bootstrap_token()
        .expect("the first start mints a Secretariat token");
    serve(app, dir, options, secretariat, [bw, ae, eu])
}

/// Serves a data folder filled beforehand (`dir`/data and `dir`/keys, e.g. by `kpcert demo
/// populate --year`) whose BW, AE and EU authorities are `BW-A1`, `AE-A1` and `EU-A1`.
pub fn spawn_app_in(dir: tempfile::TempDir, clock: SharedClock) -> TestApp {
    let app = App::open(&Config {
        data_dir: dir.path().join("data"),
        keys_dir: dir.path().join("keys"),
        origin: None,
        clock,
        snapshot_every: TEST_SNAPSHOT_EVERY,
    })
    .expect("open the filled folder");
    let secretariat = app
        .mint_token(kpcert::tokens::Role::Secretariat, "test secretariat", 30)
        .unwrap();
    let token = |id: &str| (id.to_owned(), app.new_token(id).expect("a token"));
    let authorities = [token("BW-A1"), token("AE-A1"), token("EU-A1")];
    serve(app, dir, http::Options::default(), secretariat, authorities)
}

fn serve(
    app: App,
    dir: tempfile::TempDir,
    options: http::Options,
    secretariat: String,
    [bw, ae, eu]: [(String, String); 3],
) -> TestApp {
    let keys_dir = dir.path().join("keys");
    let monitor = app
        .mint_token(kpcert::tokens::Role::Monitor, "Monitoring team", 30)
        .unwrap();
    let app = Arc::new(app);
    let listen = "127.0.0.1:0".parse().unwrap();
    let (tls_config, cert_path) = startup::tls_config(&Tls::SelfSigned, &keys_dir, listen)
        .expect("tls")
        .expect("a TLS configuration");
    let cert_path = cert_path.expect("a self-signed certificate");
    let server = startup::spawn(app.clone(), listen, Some(tls_config), &options).expect("serve");
    let pem = std::fs::read(&cert_path).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(kpcert::tls::client_trusting(&pem).unwrap())
        .build()
        .unwrap();
    TestApp {
        base: format!("https://localhost:{}", server.port()),
        client,
        app,
        keys_dir,
        cert_path,
        secretariat,
        monitor,
        bw,
        ae,
        eu,
        server,
        _dir: dir,
    }
}

/// A client that trusts only the self-signed certificate in `dir`/keys (a server run by the
/// real binary).
pub fn client_for(dir: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(dir.join("keys/tls-self-signed.crt")).unwrap();
    reqwest::Client::builder()
        .use_preconfigured_tls(kpcert::tls::client_trusting(&pem).unwrap())
        .build()
        .unwrap()
}

/// POSTs the README example to `base` with `token`.
pub async fn post_example(client: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    client
        .post(format!("{base}/v1/certificates"))
        .bearer_auth(token)
        .json(&example_request())
        .send()
        .await
        .unwrap()
}

/// Decodes standard base64.
/// The field names of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

/// The `ledger` fields of a lean certificate answer and of one with the proof.
pub const LEAN: [&str; 3] = ["index", "time", "tree_size"];
pub const PROVEN: [&str; 7] = [
    "checkpoint",
    "entry",
    "inclusion_proof",
    "index",
    "time",
    "tlog_proof",
    "tree_size",
];

/// The tree size a checkpoint note states (its second line).
pub fn note_size(note: &str) -> u64 {
    note.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("not a checkpoint note: {note}"))
}

pub fn b64(s: &str) -> Vec<u8> {
    kpcert::codec::text::from_base64(s).expect("base64")
}
