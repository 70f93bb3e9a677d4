//! The `kpcert` command line: the only module that touches `clap`.
//!
//! Two stages, as in ripgrep: clap parses raw arguments, then each command checks what clap
//! cannot (TLS flag combinations, loopback-only plain HTTP) before anything is opened.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::app::{App, Config, DEFAULT_ORIGIN};
use crate::checkpoint::NoteSigner;
use crate::domain::authority::DEFAULT_VALIDITY_DAYS;
use crate::keys::{KeyDir, LEDGER_KEY};
use crate::{http, tls};

#[derive(Parser, Debug)]
#[command(
    name = "kpcert",
    version,
    about = "Kimberley Process certificates with a verifiable ledger"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTPS API.
    Serve(ServeArgs),
    /// Run the API on localhost with a self-signed certificate and demo authorities for BW, AE,
    /// IN and EU, printing their tokens and a ready-to-paste curl command.
    Demo(DemoArgs),
    /// Manage issuing authorities (while the server is stopped).
    #[command(subcommand)]
    Authority(AuthorityCommand),
    /// Show public keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify a certificate's QR code offline, against a signed trust bundle (no network).
    /// Exit code 0 only for the verdict `valid`.
    Verify(VerifyArgs),
    /// Write the portable ledger export (while the server is stopped; use GET
    /// /v1/ledger/export while it runs).
    Export {
        #[command(flatten)]
        dirs: Dirs,
        /// The export file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Audit a ledger export from entry 0, trusting only the pinned ledger key.
    Audit(AuditArgs),
}

#[derive(Args, Debug)]
struct AuditArgs {
    /// The export file (kpcert export, or GET /v1/ledger/export).
    #[arg(long, required_unless_present_any = ["data_dir", "url"], conflicts_with_all = ["data_dir", "url"])]
    file: Option<PathBuf>,
    /// A data folder, read-only; safe while the server runs.
    #[arg(long, conflicts_with = "url")]
    data_dir: Option<PathBuf>,
    /// A kpcert server (https://host:port): its GET /v1/ledger/export is streamed and audited.
    #[arg(long, requires = "cacert")]
    url: Option<String>,
    /// PEM certificate(s) to trust for --url.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// The ledger's verifier key (`name+hex8+base64`, as `kpcert keys show` prints it). Pin it
    /// out of band for an independent audit; without it, the key in --keys-dir is used.
    #[arg(long)]
    ledger_key: Option<String>,
    #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
    keys_dir: PathBuf,
    /// Where the last verified checkpoint is kept; the next audit must extend it.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// The trust bundle file (saved from GET /v1/trust-bundle).
    #[arg(long)]
    trust: PathBuf,
    /// A PNG image of the QR code.
    #[arg(long, conflicts_with = "qr_text", required_unless_present = "qr_text")]
    qr_image: Option<PathBuf>,
    /// The scanned QR text.
    #[arg(long)]
    qr_text: Option<String>,
    /// The Secretariat root public key (64 hex digits); default: root.pub in the keys folder.
    #[arg(long)]
    root_key: Option<String>,
    #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
    keys_dir: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug, Clone)]
struct Dirs {
    /// Folder of the sled database.
    #[arg(long, env = "KPCERT_DATA_DIR", default_value = "kpcert-data")]
    data_dir: PathBuf,
    /// Folder of the private keys (created 0700; key files 0600).
    #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
    keys_dir: PathBuf,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    dirs: Dirs,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate kept in the keys folder (for trials).
    #[arg(long)]
    tls_self_signed: bool,
    /// Allow plain HTTP on a non-loopback address (never do this on a network you do not control).
    #[arg(long)]
    insecure_plain_http: bool,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args, Debug)]
struct ServerArgs {
    /// Checkpoint origin (and ledger key name); fixed when the ledger key is first generated.
    #[arg(long)]
    origin: Option<String>,
    /// Requests per second per client address on public endpoints (0 disables the limit).
    #[arg(long, default_value_t = 50.0)]
    public_rate_limit: f64,
    /// HTTP worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Public base URL printed in QR codes (`<URL>/S/<seal>`); default https://localhost:<port>.
    #[arg(long)]
    public_url: Option<String>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    dirs: Dirs,
    /// Loopback address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    action: Option<DemoAction>,
}

#[derive(Subcommand, Debug)]
enum DemoAction {
    /// Fill the demo ledger with realistic certificates (for benchmarks and audits at scale),
    /// then exit. The server must be stopped.
    Populate {
        /// How many certificates to issue.
        #[arg(long)]
        certificates: u64,
    },
}

#[derive(Subcommand, Debug)]
enum AuthorityCommand {
    /// Register an issuing authority, generate its signing key and print its token once.
    Add {
        #[command(flatten)]
        dirs: Dirs,
        /// KP participant code (ISO 3166-1 alpha-2, or EU).
        #[arg(long)]
        participant: String,
        /// Official name of the authority.
        #[arg(long)]
        name: String,
        /// Longest validity the authority may give a certificate, in days.
        #[arg(long, default_value_t = 90)]
        max_validity_days: u32,
        /// Print one JSON object: authority_id, key_id, token, participant, name.
        #[arg(long)]
        json: bool,
    },
    /// List the registered authorities.
    List {
        #[command(flatten)]
        dirs: Dirs,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Mint a new bearer token for an authority (printed once).
    Token {
        #[command(flatten)]
        dirs: Dirs,
        /// Authority id, e.g. BW-A1.
        #[arg(long)]
        authority: String,
        /// Revoke the authority's earlier tokens first.
        #[arg(long)]
        revoke_others: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Print the ledger's checkpoint verifier key. Reads only the keys folder, so it works
    /// while the server runs.
    Show {
        #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
        keys_dir: PathBuf,
        /// Print a JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Demo(args) => demo(args),
        Command::Authority(cmd) => authority(cmd),
        Command::Keys(KeysCommand::Show { keys_dir, json }) => keys_show(&keys_dir, json),
        Command::Export { dirs, out } => export(&dirs, &out),
        Command::Audit(args) => match audit(&args) {
            Ok(true) => return ExitCode::SUCCESS,
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Verify(args) => match verify_offline(&args) {
            Ok(true) => return ExitCode::SUCCESS,
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kpcert: {message}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KPCERT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn config(dirs: &Dirs, origin: Option<String>) -> Config {
    Config {
        data_dir: dirs.data_dir.clone(),
        keys_dir: dirs.keys_dir.clone(),
        origin,
    }
}

fn open(dirs: &Dirs, origin: Option<String>) -> Result<App, String> {
    App::open(&config(dirs, origin)).map_err(|e| e.to_string())
}

fn options(args: &ServerArgs, listen: SocketAddr) -> http::Options {
    http::Options {
        public_rate_limit: args.public_rate_limit,
        workers: args.workers,
        handle_signals: true,
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://localhost:{}", listen.port())),
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let tls_mode = match (&args.tls_cert, &args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), false) => Some(TlsMode::Files(cert.clone(), key.clone())),
        (None, None, true) => Some(TlsMode::SelfSigned),
        (None, None, false) => None,
        _ => return Err("give either --tls-cert and --tls-key, or --tls-self-signed".into()),
    };
    if tls_mode.is_none() && !args.listen.ip().is_loopback() && !args.insecure_plain_http {
        return Err(format!(
            "refusing plain HTTP on {}: it is not a loopback address. Serve HTTPS with --tls-cert/--tls-key \
             (or --tls-self-signed for trials), listen on 127.0.0.1, or pass --insecure-plain-http if you really mean it",
            args.listen
        ));
    }
    let app = Arc::new(open(&args.dirs, args.server.origin.clone())?);
    let tls = match tls_mode {
        None => None,
        Some(TlsMode::Files(cert, key)) => Some(tls::from_pem_files(&cert, &key)?),
        Some(TlsMode::SelfSigned) => {
            let keys = KeyDir::open(&args.dirs.keys_dir).map_err(|e| e.to_string())?;
            let (config, path) = tls::self_signed(&keys, &tls_names(args.listen))?;
            eprintln!("self-signed TLS certificate: {}", path.display());
            Some(config)
        }
    };
    run_server(app, args.listen, tls, &options(&args.server, args.listen))
}

enum TlsMode {
    Files(PathBuf, PathBuf),
    SelfSigned,
}

fn tls_names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ip = listen.ip().to_string();
    if !listen.ip().is_unspecified() && !names.contains(&ip) {
        names.push(ip);
    }
    names
}

fn run_server(
    app: Arc<App>,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
    options: &http::Options,
) -> Result<(), String> {
    let listener =
        TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %listener.local_addr().map_err(|e| e.to_string())?, scheme, "serving");
    let server_app = app.clone();
    let options = options.clone();
    let result = actix_web::rt::System::new()
        .block_on(async move { http::serve(server_app, listener, tls, &options)?.await });
    app.close();
    result.map_err(|e| format!("server error: {e}"))
}

const DEMO_AUTHORITIES: [(&str, &str); 4] = [
    ("BW", "Demo: Government Diamond Valuator, Botswana"),
    ("AE", "Demo: UAE Kimberley Process Office, Dubai"),
    (
        "IN",
        "Demo: Gem and Jewellery Export Promotion Council, Mumbai",
    ),
    ("EU", "Demo: Antwerp Diamond Office (EU authority)"),
];

/// A demo authority: participant, name, and (authority id, fresh token).
type DemoAuthority = (&'static str, &'static str, (String, String));

/// Registers the demo authorities that are missing; returns each with a fresh token.
fn demo_authorities(app: &App, dirs: &Dirs) -> Result<Vec<DemoAuthority>, String> {
    let existing = app.authorities();
    let mut tokens = Vec::new();
    for (participant, name) in DEMO_AUTHORITIES {
        let token = match existing.iter().find(|a| a.name == name) {
            Some(a) if !app.can_issue(&a.id) => {
                return Err(format!(
                    "demo authority {} has no signing key in {} (it was registered with one); \
                     restore the key file, or remove {} and {} to start the demo over",
                    a.id,
                    dirs.keys_dir.display(),
                    dirs.data_dir.display(),
                    dirs.keys_dir.display()
                ))
            }
            Some(a) => {
                app.revoke_tokens(&a.id).map_err(|e| e.to_string())?;
                (
                    a.id.clone(),
                    app.new_token(&a.id).map_err(|e| e.to_string())?,
                )
            }
            None => {
                let new = app
                    .add_authority(participant, name, 90)
                    .map_err(|e| e.to_string())?;
                (new.authority.id, new.token)
            }
        };
        tokens.push((participant, name, token));
    }
    Ok(tokens)
}

/// `kpcert demo populate`: issues `count` realistic certificates in-process, many in flight.
fn populate(app: &App, dirs: &Dirs, count: u64) -> Result<(), String> {
    let tokens = demo_authorities(app, dirs)?;
    let authorities: Vec<_> = tokens
        .iter()
        .filter_map(|(_, _, (id, _))| app.active_authority(id))
        .collect();
    let destinations = ["AE", "IN", "BE", "BW", "ZA", "NA", "US", "CN", "IL", "GB"];
    let started = std::time::Instant::now();
    let today = crate::domain::Date::from_unix_seconds(crate::ledger::now_ms() / 1000);
    actix_web::rt::System::new().block_on(async {
        let mut done = 0u64;
        while done < count {
            let window = (count - done).min(2048);
            let mut batch = Vec::with_capacity(window as usize);
            for k in 0..window {
                let i = done + k;
                let authority = authorities[(i % authorities.len() as u64) as usize].clone();
                let mut destination = destinations[(i % destinations.len() as u64) as usize];
                if destination == authority.authority.participant.as_str() || destination == "BE" {
                    destination = if authority.authority.participant.as_str() == "AE" { "IN" } else { "AE" };
                }
                let body = json!({
                    "exporter": {"name": format!("Exporter {} Rough Trading", i % 977), "address": format!("Plot {}, Industrial Area", i % 3001)},
                    "importer": {"name": format!("Importer {} DMCC", i % 613), "address": "Almas Tower, Dubai"},
                    "destination": destination,
                    "origin": if i % 3 == 0 { json!({"mixed": true, "countries": ["BW", "NA", "ZA"]}) } else { json!({"countries": ["BW"]}) },
                    "parcels": 1 + i % 40,
                    "items": [{"hs_code": "7102.10", "carats": format!("{}.{:02}", 10 + i % 5000, i % 100), "value_usd": format!("{}.00", 5000 + (i % 900) * 1000)}],
                });
                let (input, _) = http::parse_issue_request(&body).map_err(|p| format!("{p:?}"))?;
                let content = app.validate(&authority, &input, None, today).map_err(|_| "invalid generated certificate".to_owned())?;
                batch.push(app.issue(authority, content, None));
            }
            for result in futures_util::future::join_all(batch).await {
                result.map_err(|e| e.to_string())?;
            }
            done += window;
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprint!("\r{done}/{count} certificates");
            }
        }
        Ok::<(), String>(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "\nissued {count} certificates in {secs:.1} s ({:.0}/s); the ledger has {} entries",
        count as f64 / secs,
        app.ledger().size()
    );
    Ok(())
}

fn demo(args: DemoArgs) -> Result<(), String> {
    if let Some(DemoAction::Populate { certificates }) = args.action {
        let app = open(&args.dirs, args.server.origin.clone())?;
        let result = populate(&app, &args.dirs, certificates);
        app.close();
        return result;
    }
    if !args.listen.ip().is_loopback() {
        return Err(
            "the demo listens on a loopback address only; use `kpcert serve` otherwise".into(),
        );
    }
    let app = Arc::new(open(&args.dirs, args.server.origin.clone())?);
    let keys = KeyDir::open(&args.dirs.keys_dir).map_err(|e| e.to_string())?;
    let (tls, cert_path) = tls::self_signed(&keys, &tls_names(args.listen))?;
    let cert_path = std::fs::canonicalize(&cert_path).unwrap_or(cert_path);
    let tokens = demo_authorities(&app, &args.dirs)?;
    let base = format!("https://localhost:{}", args.listen.port());
    println!(
        "kpcert demo: {base}  (ledger in {}, keys in {})",
        args.dirs.data_dir.display(),
        args.dirs.keys_dir.display()
    );
    println!("TLS: self-signed certificate {}", cert_path.display());
    println!("Ledger verifier key: {}", app.ledger_verifier());
    println!();
    println!("Demo issuing authorities (new tokens each start; earlier demo tokens are revoked):");
    for (participant, name, (id, token)) in &tokens {
        println!("  {participant}  {id:<6} {name}");
        println!("      token: {token}");
    }
    let bw_token = &tokens[0].2 .1;
    let cacert = cert_path.display();
    println!();
    println!("Issue a certificate as Botswana (BW) for a shipment to the UAE:");
    println!();
    println!(
        "curl --cacert {cacert} -X POST {base}/v1/certificates \\\n  -H 'Authorization: Bearer {bw_token}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{}'",
        DEMO_REQUEST
    );
    println!();
    println!("Then look it up (use the number from the answer):");
    println!(
        "  curl --cacert {cacert} {base}/v1/certificates/BW-{}-000001",
        crate::domain::Date::from_unix_seconds(crate::ledger::now_ms() / 1000).year()
    );
    println!("  curl --cacert {cacert} {base}/v1/ledger/checkpoint");
    println!();
    println!("Press Ctrl-C to stop.");
    run_server(
        app,
        args.listen,
        Some(tls),
        &options(&args.server, args.listen),
    )
}

/// The request the demo prints: the example of the README.
pub const DEMO_REQUEST: &str = r#"{"exporter":{"name":"Okavango Diamond Company","address":"Plot 123, Gaborone, Botswana"},"importer":{"name":"Desert Rough DMCC","address":"Almas Tower, Dubai, UAE"},"destination":"AE","origin":{"countries":["BW"]},"parcels":3,"items":[{"hs_code":"7102.10","carats":"1520.35","value_usd":"845000.00"}]}"#;

fn authority(cmd: AuthorityCommand) -> Result<(), String> {
    match cmd {
        AuthorityCommand::Add {
            dirs,
            participant,
            name,
            max_validity_days,
            json,
        } => {
            let app = open(&dirs, None)?;
            let new = app
                .add_authority(&participant, &name, max_validity_days)
                .map_err(|e| e.to_string())?;
            app.close();
            let a = &new.authority;
            if json {
                println!(
                    "{}",
                    json!({"authority_id": a.id, "key_id": a.key_id().to_string(), "token": new.token, "participant": a.participant.as_str(), "name": a.name})
                );
            } else {
                println!("authority_id: {}", a.id);
                println!("participant:  {}", a.participant);
                println!("name:         {}", a.name);
                println!("key_id:       {}", a.key_id());
                println!("token:        {}", new.token);
                println!();
                println!("The token is shown once; only its hash is stored. Default validity {} days, maximum {} days.", a.default_validity_days.min(DEFAULT_VALIDITY_DAYS), a.max_validity_days);
            }
            Ok(())
        }
        AuthorityCommand::List { dirs, json } => {
            let app = open(&dirs, None)?;
            let list: Vec<_> = app
                .authorities()
                .into_iter()
                .map(|a| {
                    let can_issue = app.can_issue(&a.id);
                    (a, can_issue)
                })
                .collect();
            app.close();
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|(a, can_issue)| json!({"authority_id": a.id, "participant": a.participant.as_str(), "name": a.name, "key_id": a.key_id().to_string(), "max_validity_days": a.max_validity_days, "can_issue": can_issue}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for (a, can_issue) in list {
                    let status = if can_issue {
                        ""
                    } else {
                        "  (no signing key here: cannot issue)"
                    };
                    println!(
                        "{:<8} {}  {}  key {}{status}",
                        a.id,
                        a.participant,
                        a.name,
                        a.key_id()
                    );
                }
            }
            Ok(())
        }
        AuthorityCommand::Token {
            dirs,
            authority,
            revoke_others,
        } => {
            let app = open(&dirs, None)?;
            if !app.authorities().iter().any(|a| a.id == authority) {
                return Err(format!(
                    "no authority {authority} (see `kpcert authority list`)"
                ));
            }
            if revoke_others {
                let n = app.revoke_tokens(&authority).map_err(|e| e.to_string())?;
                eprintln!("revoked {n} earlier token(s)");
            }
            let token = app.new_token(&authority).map_err(|e| e.to_string())?;
            app.close();
            println!("{token}");
            Ok(())
        }
    }
}

fn keys_show(keys_dir: &Path, json: bool) -> Result<(), String> {
    let keys = KeyDir::open(keys_dir).map_err(|e| e.to_string())?;
    if !keys.has_key(LEDGER_KEY) {
        return Err(format!(
            "no ledger key in {} yet: it is generated on the first `kpcert serve` or `kpcert demo`",
            keys_dir.display()
        ));
    }
    let origin = keys
        .stored_origin()
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    let key = keys.load(LEDGER_KEY).map_err(|e| e.to_string())?;
    let verifier = NoteSigner::new(&origin, key).verifier();
    let root = keys
        .load(crate::keys::ROOT_KEY)
        .map(|k| crate::trust::root_key_text(&k.public_key()))
        .ok();
    if json {
        println!(
            "{}",
            json!({"ledger": {"origin": origin, "verifier_key": verifier.to_string()}, "root_key": root})
        );
    } else {
        println!("ledger checkpoint verifier key: {verifier}");
        if let Some(root) = root {
            println!("secretariat root key (trust bundles): {root}");
        }
    }
    Ok(())
}

fn export(dirs: &Dirs, out: &Path) -> Result<(), String> {
    let app = open(dirs, None)?;
    let tmp = out.with_extension("partial");
    let file =
        std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    app.export(&mut writer)?;
    let file = writer.into_inner().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, out).map_err(|e| e.to_string())?;
    let size = app.ledger().size();
    app.close();
    eprintln!("exported {size} entries to {}", out.display());
    Ok(())
}

/// `kpcert audit`: returns whether the ledger passed.
fn audit(args: &AuditArgs) -> Result<bool, String> {
    use crate::checkpoint::{Checkpoint, NoteVerifier};
    let ledger_key = match &args.ledger_key {
        Some(k) => k.clone(),
        None => {
            let keys = KeyDir::open(&args.keys_dir).map_err(|e| e.to_string())?;
            let origin = keys
                .stored_origin()
                .map_err(|e| e.to_string())?
                .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
            let key = keys.load(LEDGER_KEY).map_err(|e| {
                format!(
                    "no --ledger-key given and no ledger key in {}: {e}",
                    args.keys_dir.display()
                )
            })?;
            NoteSigner::new(&origin, key).verifier().to_string()
        }
    };
    let verifier = NoteVerifier::parse(&ledger_key).map_err(|e| e.to_string())?;
    let previous: Option<Checkpoint> = match &args.state {
        Some(path) if path.exists() => {
            let note = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Some(verifier.open(&note).map_err(|e| {
                format!(
                    "the state file {} does not hold a checkpoint of this ledger: {e}",
                    path.display()
                )
            })?)
        }
        _ => None,
    };
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.json;
    let started = std::time::Instant::now();
    let progress = |done: u64, total: u64| {
        if terminal && total > 0 {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            let left = (total - done) as f64 / rate.max(1.0);
            eprint!("\r{done}/{total} entries  {rate:.0}/s  {left:.0} s left   ");
        }
    };
    let (result, audited_note) = match (&args.file, &args.data_dir) {
        (None, None) if args.url.is_some() => {
            let url = format!(
                "{}/v1/ledger/export",
                args.url
                    .as_deref()
                    .unwrap_or_default()
                    .trim_end_matches('/')
            );
            let pem_path = args.cacert.as_ref().ok_or("--url needs --cacert")?;
            let pem = std::fs::read(pem_path)
                .map_err(|e| format!("cannot read {}: {e}", pem_path.display()))?;
            let body = tls::https_get(&url, &pem)?;
            // Keep the note the export carried, for the state file.
            let (note_tx, note_rx) = std::sync::mpsc::channel();
            let tee = NoteTee {
                inner: body,
                head: Vec::new(),
                sent: false,
                tx: note_tx,
            };
            let result = crate::audit::audit_export(
                std::io::BufReader::with_capacity(1 << 20, tee),
                verifier,
                previous.as_ref(),
                progress,
            );
            (
                result,
                note_rx
                    .try_recv()
                    .map_err(|_| "no checkpoint in the export".to_owned()),
            )
        }
        (Some(path), _) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let reader = std::io::BufReader::with_capacity(1 << 20, file);
            let result = crate::audit::audit_export(reader, verifier, previous.as_ref(), progress);
            (result, audit_note(path))
        }
        (None, Some(dir)) => {
            let result = crate::audit::audit_data_dir(dir, verifier, previous.as_ref(), progress);
            let note = std::fs::read_to_string(dir.join(crate::ledger::CHECKPOINT_FILE))
                .map_err(|e| e.to_string());
            (result, note)
        }
        (None, None) => return Err("give --file or --data-dir".into()),
    };
    if terminal {
        eprintln!();
    }
    match result {
        Ok(report) => {
            if let Some(path) = &args.state {
                // Keep the checkpoint just verified: the next audit must extend it.
                let note = audited_note?;
                if verifier_matches(&ledger_key, &note, &report.checkpoint) {
                    let tmp = path.with_extension("partial");
                    std::fs::write(&tmp, note).map_err(|e| e.to_string())?;
                    std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
                }
            }
            let t = |ms: Option<u64>| ms.map(crate::domain::date::format_unix_ms);
            if args.json {
                println!(
                    "{}",
                    json!({"ok": true, "entries": report.entries, "certificates": report.certificates,
                           "participants": report.participants, "authorities": report.authorities,
                           "first_time": t(report.first_time_ms), "last_time": t(report.last_time_ms),
                           "checkpoint": {"origin": report.checkpoint.origin, "size": report.checkpoint.size,
                                          "root": crate::b64::encode(&report.checkpoint.root)},
                           "extends_previous": previous.as_ref().map(|cp| cp.size),
                           "seconds": started.elapsed().as_secs_f64()})
                );
            } else {
                println!(
                    "ledger OK: {} entries, {} certificates, {} participants, {} authorities",
                    report.entries, report.certificates, report.participants, report.authorities
                );
                println!(
                    "from {} to {}",
                    t(report.first_time_ms).unwrap_or_default(),
                    t(report.last_time_ms).unwrap_or_default()
                );
                println!(
                    "checkpoint {} size {} root {}",
                    report.checkpoint.origin,
                    report.checkpoint.size,
                    crate::b64::encode(&report.checkpoint.root)
                );
                if let Some(cp) = &previous {
                    println!("extends the checkpoint verified before (size {})", cp.size);
                }
            }
            Ok(true)
        }
        Err(failure) => {
            if args.json {
                println!(
                    "{}",
                    json!({"ok": false, "index": failure.index, "reason": failure.reason})
                );
            } else {
                println!("LEDGER FAILED the audit: {failure}");
            }
            Ok(false)
        }
    }
}

/// Passes an export stream through and sends its checkpoint note once the header is read.
struct NoteTee {
    inner: Box<dyn std::io::Read>,
    head: Vec<u8>,
    sent: bool,
    tx: std::sync::mpsc::Sender<String>,
}

impl std::io::Read for NoteTee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.sent {
            self.head.extend_from_slice(&buf[..n]);
            if self.head.len() >= 20 {
                let len = u32::from_be_bytes(self.head[16..20].try_into().unwrap()) as usize;
                if self.head.len() >= 20 + len {
                    let note = String::from_utf8_lossy(&self.head[20..20 + len]).into_owned();
                    let _ = self.tx.send(note);
                    self.sent = true;
                    self.head = Vec::new();
                }
            }
        }
        Ok(n)
    }
}

/// Whether `note` is the checkpoint the audit verified (the live folder's file may have moved on
/// since; then the state is not updated and the next audit simply starts from the older one).
fn verifier_matches(key: &str, note: &str, audited: &crate::checkpoint::Checkpoint) -> bool {
    crate::checkpoint::NoteVerifier::parse(key)
        .ok()
        .and_then(|v| v.open(note).ok())
        .is_some_and(|cp| &cp == audited)
}

/// The checkpoint note at the head of an export file.
fn audit_note(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut head = [0u8; 20];
    f.read_exact(&mut head).map_err(|e| e.to_string())?;
    let len = u32::from_be_bytes(head[16..20].try_into().unwrap()) as usize;
    let mut note = vec![0u8; len.min(4096)];
    f.read_exact(&mut note).map_err(|e| e.to_string())?;
    String::from_utf8(note).map_err(|e| e.to_string())
}

/// `kpcert verify`: the offline border check. Returns whether the verdict is `valid`.
fn verify_offline(args: &VerifyArgs) -> Result<bool, String> {
    use crate::seal::{open, seal_from_qr_text};
    use crate::trust::TrustBundle;
    let root_hex = match &args.root_key {
        Some(k) => k.clone(),
        None => std::fs::read_to_string(args.keys_dir.join("root.pub")).map_err(|e| {
            format!(
                "no --root-key given and cannot read {}: {e}",
                args.keys_dir.join("root.pub").display()
            )
        })?,
    };
    let root = crate::crypto::from_hex(root_hex.trim())
        .and_then(|b| crate::crypto::PublicKey::from_bytes(&b).ok())
        .ok_or("the root key must be 64 hex digits of an ed25519 public key")?;
    let bundle_text = std::fs::read_to_string(&args.trust)
        .map_err(|e| format!("cannot read {}: {e}", args.trust.display()))?;
    let bundle = TrustBundle::open_signed_json(&bundle_text, &root).map_err(|e| e.to_string())?;
    let text = match (&args.qr_text, &args.qr_image) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) => {
            let png =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            crate::qr::read_png(&png)?.remove(0)
        }
        (None, None) => return Err("give --qr-text or --qr-image".into()),
    };
    let now = crate::ledger::now_ms();
    let today = crate::domain::Date::from_unix_seconds(now / 1000);
    let age_hours = now.saturating_sub(bundle.issued_at_ms) as f64 / 3_600_000.0;
    let stale = now > bundle.next_update_ms;

    let (verdict, reason, claims) = match seal_from_qr_text(&text).and_then(|b| open(&b)) {
        Err(e) => ("malformed", e.0, None),
        Ok(opened) => {
            let keys = bundle.keys_with_id(&opened.key_id);
            match keys.iter().find(|a| opened.verify(&a.public_key)) {
                None if keys.is_empty() => (
                    "forged",
                    format!("key {} is not in the trust bundle", opened.key_id),
                    None,
                ),
                None => ("forged", "the signature does not verify".to_owned(), None),
                Some(a) => {
                    let c = opened.claims;
                    let issued_ms = c.issued_on.days() as u64 * 86_400_000;
                    let in_window = issued_ms + 86_400_000 > a.valid_from_ms
                        && a.valid_until_ms.is_none_or(|until| issued_ms <= until);
                    let participant_active = bundle
                        .participants
                        .iter()
                        .any(|p| p.code == c.participant.as_str() && p.status == "active");
                    if a.authority_id != c.authority_id || a.participant != c.participant.as_str() {
                        (
                            "forged",
                            "the seal names another authority than its key".to_owned(),
                            Some(c),
                        )
                    } else if !in_window {
                        (
                            "forged",
                            "the key was not valid on the date of issue".to_owned(),
                            Some(c),
                        )
                    } else if !participant_active {
                        (
                            "forged",
                            format!("{} is not an active participant", c.participant),
                            Some(c),
                        )
                    } else if let Some(problem) = c.date_problem(today) {
                        let verdict = match problem {
                            crate::seal::DateProblem::Expired(_) => "expired",
                            crate::seal::DateProblem::IssuedInFuture(_) => "forged",
                        };
                        (verdict, problem.to_string(), Some(c))
                    } else {
                        (
                            "valid",
                            format!(
                                "signed by {} ({}); valid until {} inclusive; offline: ledger status not checked",
                                a.authority_id, a.name, c.expires_on
                            ),
                            Some(c),
                        )
                    }
                }
            }
        }
    };
    let bundle_note = format!(
        "trust bundle issued {age_hours:.1} h ago{}",
        if stale {
            " - PAST ITS NEXT UPDATE: fetch a new one when you can"
        } else {
            ""
        }
    );
    if args.json {
        let fields = claims.as_ref().map(|c| {
            json!({
                "number": c.number().as_str(),
                "issuer": {"participant": c.participant.as_str(), "authority_id": c.authority_id},
                "exporter": c.exporter_name,
                "importer": c.importer_name,
                "destination": c.destination.as_str(),
                "parcels": c.parcels,
                "items": c.items.iter().map(|i| json!({"hs_code": i.hs_code.as_str(), "carats": i.carats.to_string(), "value_usd": i.value_usd.to_string()})).collect::<Vec<_>>(),
                "issued_on": c.issued_on.to_string(),
                "expires_on": c.expires_on.to_string(),
                "hash": crate::crypto::hex(&c.certificate_hash),
            })
        });
        println!(
            "{}",
            json!({"verdict": verdict, "reasons": [reason], "certificate": fields,
                   "bundle": {"issued_at": crate::domain::date::format_unix_ms(bundle.issued_at_ms),
                              "age_hours": age_hours, "stale": stale}})
        );
    } else {
        println!("verdict: {}", verdict.to_uppercase());
        println!("reason:  {reason}");
        if let Some(c) = &claims {
            println!(
                "certificate {}  issued by {} ({})",
                c.number(),
                c.participant,
                c.authority_id
            );
            println!("exporter    {}", c.exporter_name);
            println!("importer    {}", c.importer_name);
            println!("destination {}   parcels {}", c.destination, c.parcels);
            for i in &c.items {
                println!(
                    "goods       {}  {} ct  USD {}",
                    i.hs_code.as_str(),
                    i.carats,
                    i.value_usd
                );
            }
            println!("issued on   {}   expires on {}", c.issued_on, c.expires_on);
        }
        println!("{bundle_note}");
    }
    if stale {
        eprintln!("warning: the trust bundle is past its next_update");
    }
    Ok(verdict == "valid")
}
