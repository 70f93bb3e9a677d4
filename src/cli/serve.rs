//! `kpcert serve` and `kpcert demo` (with `demo populate`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use super::{open, Dirs};
use crate::app::App;
use crate::domain::{DraftInput, Input, ItemInput, OriginInput, PartyInput};
use crate::http;
use crate::startup::{self, Tls};

#[derive(Args, Debug)]
pub struct ServeArgs {
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
pub struct ServerArgs {
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
    /// A reverse proxy (address or network, e.g. 10.0.0.5 or 10.0.0.0/24) whose
    /// X-Forwarded-For names the client for rate limits and logs; repeat for several. Off by
    /// default: the peer address is the client.
    #[arg(long, value_parser = parse_cidr)]
    trusted_proxy: Vec<http::limit::Cidr>,
    /// Open connections one client address may hold (IPv6: per /64), counted from the TCP
    /// accept, before any TLS handshake; past it new ones are closed at once. Trusted proxies
    /// are not capped; 0 disables.
    #[arg(long, default_value_t = http::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)]
    max_connections_per_address: usize,
}

fn parse_cidr(s: &str) -> Result<http::limit::Cidr, String> {
    http::limit::Cidr::parse(s)
        .ok_or_else(|| format!("{s:?} is not an address or network (a.b.c.d/n)"))
}

#[derive(Args, Debug)]
pub struct DemoArgs {
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
    /// then exit. The server must be stopped. With --year, a new data folder gets a whole
    /// year of traffic (exports, import confirmations, discrepancies, re-exports, voids,
    /// production reports and three planted anomalies) with the ledger's clock walking
    /// through that year.
    Populate {
        /// How many certificates to issue (with --year: over the year; default 60000).
        #[arg(long, required_unless_present = "year")]
        certificates: Option<u64>,
        /// Generate this year's traffic (into a new data folder).
        #[arg(long)]
        year: Option<i64>,
        /// Seed of the generated year (the same seed gives the same traffic).
        #[arg(long, default_value_t = 2025, requires = "year")]
        seed: u64,
    },
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
        timeouts: http::Timeouts::default(),
        trusted_proxies: args.trusted_proxy.clone(),
        max_connections_per_address: args.max_connections_per_address,
    }
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), false) => Tls::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        (None, None, true) => Tls::SelfSigned,
        (None, None, false) => Tls::None,
        _ => bail!("give either --tls-cert and --tls-key, or --tls-self-signed"),
    };
    if matches!(tls, Tls::None) && !args.listen.ip().is_loopback() && !args.insecure_plain_http {
        bail!(
            "refusing plain HTTP on {}: it is not a loopback address. Serve HTTPS with --tls-cert/--tls-key \
             (or --tls-self-signed for trials), listen on 127.0.0.1, or pass --insecure-plain-http if you really mean it",
            args.listen
        );
    }
    // The port and the TLS files first: a typo must not leave a new ledger behind.
    let listener = startup::bind(args.listen).map_err(anyhow::Error::msg)?;
    let tls = startup::tls_config(&tls, &args.dirs.keys_dir, args.listen)
        .map_err(anyhow::Error::msg)?
        .map(|(config, path)| {
            if let Some(path) = path {
                eprintln!("self-signed TLS certificate: {}", path.display());
            }
            config
        });
    let app = Arc::new(open(&args.dirs, args.server.origin.clone())?);
    if let Some(token) = app.take_bootstrap_token() {
        eprintln!(
            "Secretariat token (shown once; keep it safe, it administers this service through /v1/admin/): {token}"
        );
    }
    let bound = listener.local_addr()?;
    startup::run(app, listener, tls, &options(&args.server, bound)).map_err(anyhow::Error::msg)
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

/// The KP's real history of standing (shared/DOMAIN.md), recorded once in a demo ledger so
/// that a newcomer sees standing judged at a date: the Republic of the Congo removed in 2004
/// with an order to refuse its certificates and readmitted in 2007, Venezuela self-suspended
/// 2008-2016, the Central African Republic suspended in 2013, partially resumed from approved
/// zones under a monitoring team in 2015 and reinstated in 2024, and the UN embargo on Côte
/// d'Ivoire's rough diamonds 2005-2014. Dates are those of the public record as far as the
/// domain notes give them; the references are labelled as demo records, not the KP's own.
fn demo_history(app: &App) -> anyhow::Result<()> {
    use crate::domain::{
        CountryCode, Date, Decision, DecisionBody, MeasureKind, PartialTerms, Status, StatusChange,
        TradeMeasure, Zone,
    };
    let code = |c: &str| CountryCode::participant(c).expect("a participant code");
    let day = |d: &str| Date::parse(d).expect("a date");
    let state = app.state();
    let recorded = |c: &str| {
        state
            .standing(code(c))
            .is_some_and(|h| !h.changes.is_empty() || !h.measures.is_empty())
    };
    let change = |c: &str, status, on: &str, reference: &str| StatusChange {
        participant: code(c),
        status,
        effective_on: day(on),
        decision: Decision {
            reference: format!("demo record: {reference}"),
            body: DecisionBody::Plenary,
            decided_on: day(on),
        },
        terms: None,
        refuse_from: None,
        note: String::new(),
    };
    let mut changes = Vec::new();
    if !recorded("CG") {
        let mut removal = change(
            "CG",
            Status::Removed,
            "2004-07-09",
            "removal of the Republic of the Congo",
        );
        removal.refuse_from = Some(day("2004-07-09"));
        removal.note = "exports far above its production capacity".into();
        changes.push(removal);
        changes.push(change(
            "CG",
            Status::Active,
            "2007-11-08",
            "readmission after a review visit",
        ));
    }
    if !recorded("VE") {
        changes.push(change(
            "VE",
            Status::SelfSuspended,
            "2008-11-06",
            "Venezuela suspends itself",
        ));
        changes.push(change(
            "VE",
            Status::Active,
            "2016-07-01",
            "Venezuela resumes",
        ));
    }
    if !recorded("CF") {
        changes.push(change(
            "CF",
            Status::Suspended,
            "2013-05-23",
            "suspension of the Central African Republic",
        ));
        let mut partial = change(
            "CF",
            Status::PartiallySuspended,
            "2015-07-01",
            "operational framework: exports from compliant zones",
        );
        partial.terms = Some(PartialTerms {
            zones: vec![
                Zone {
                    id: "CF-BER".into(),
                    name: "Berbérati".into(),
                },
                Zone {
                    id: "CF-CAR".into(),
                    name: "Carnot".into(),
                },
                Zone {
                    id: "CF-NOL".into(),
                    name: "Nola".into(),
                },
            ],
            prior_approval: true,
            team: Some("Demo monitoring team".into()),
        });
        changes.push(partial);
        changes.push(change(
            "CF",
            Status::Active,
            "2024-11-15",
            "full reinstatement",
        ));
    }
    for c in changes {
        app.record_status_change(c)?;
    }
    if !recorded("CI") {
        app.record_trade_measure(TradeMeasure {
            participant: code("CI"),
            kind: MeasureKind::Embargo,
            reference: "UNSC resolution 1643 (2005)".into(),
            imposed_by: "UN Security Council".into(),
            from: day("2005-12-15"),
            until: Some(day("2014-04-29")),
            note: "KP status unchanged: an external block on exports".into(),
        })?;
    }
    Ok(())
}

/// A demo authority: participant, name, authority id and a fresh token.
struct DemoAuthority {
    participant: &'static str,
    name: &'static str,
    id: String,
    token: String,
}

/// Registers the demo authorities that are missing; returns each with a fresh token.
fn demo_authorities(app: &App, dirs: &Dirs) -> anyhow::Result<Vec<DemoAuthority>> {
    let existing = app.authorities();
    let mut list = Vec::new();
    for (participant, name) in DEMO_AUTHORITIES {
        let (id, token) = match existing.iter().find(|a| a.name == name) {
            Some(a) if !app.can_issue(&a.id) => bail!(
                "demo authority {} has no signing key in {} (it was registered with one); \
                 restore the key file, or remove {} and {} to start the demo over",
                a.id,
                dirs.keys_dir.display(),
                dirs.data_dir.display(),
                dirs.keys_dir.display()
            ),
            Some(a) => {
                app.revoke_tokens(&a.id)?;
                (a.id.clone(), app.new_token(&a.id)?)
            }
            None => {
                let new = app.add_authority(participant, name, 90)?;
                (new.authority.id, new.token)
            }
        };
        list.push(DemoAuthority {
            participant,
            name,
            id,
            token,
        });
    }
    Ok(list)
}

fn given(s: impl Into<String>) -> Input<String> {
    Input::Given(s.into())
}

/// The `i`-th generated request of `demo populate`: realistic names, amounts and origins.
fn generated_request(i: u64, issuer: &str) -> DraftInput {
    const DESTINATIONS: [&str; 10] = ["AE", "IN", "EU", "BW", "ZA", "NA", "US", "CN", "IL", "GB"];
    let mut destination = DESTINATIONS[(i % DESTINATIONS.len() as u64) as usize];
    if destination == issuer {
        destination = if issuer == "AE" { "IN" } else { "AE" };
    }
    let party = |name: String, address: String| {
        Input::Given(PartyInput {
            name: given(name),
            address: given(address),
        })
    };
    let origin = if i % 3 == 0 {
        OriginInput {
            mixed: Input::Given(true),
            countries: Input::Given(vec![given("BW"), given("NA"), given("ZA")]),
        }
    } else {
        OriginInput {
            mixed: Input::Missing,
            countries: Input::Given(vec![given("BW")]),
        }
    };
    DraftInput {
        exporter: party(
            format!("Exporter {} Rough Trading", i % 977),
            format!("Plot {}, Industrial Area", i % 3001),
        ),
        importer: party(
            format!("Importer {} DMCC", i % 613),
            "Almas Tower, Dubai".into(),
        ),
        destination: given(destination),
        origin: Input::Given(origin),
        parcels: Input::Given(1 + (i % 40) as i64),
        items: Input::Given(vec![Input::Given(ItemInput {
            hs_code: given("7102.10"),
            carats: given(format!("{}.{:02}", 10 + i % 5000, i % 100)),
            value_usd: given(format!("{}.00", 5000 + (i % 900) * 1000)),
        })]),
        expires_on: Input::Missing,
        derived_from: Input::Missing,
        origin_zone: Input::Missing,
        request_hash: None,
    }
}

/// `kpcert demo populate`: issues `count` realistic certificates in-process, many in flight,
/// with the real validation, signatures and durable commits.
fn populate(app: &App, dirs: &Dirs, count: u64) -> anyhow::Result<()> {
    let demo = demo_authorities(app, dirs)?;
    let authorities: Vec<_> = demo
        .iter()
        .filter_map(|d| app.active_authority(&d.id))
        .collect();
    let started = std::time::Instant::now();
    let mut done = 0u64;
    while done < count {
        let window = (count - done).min(2048);
        let (tx, rx) = std::sync::mpsc::channel();
        for k in 0..window {
            let i = done + k;
            let authority = authorities[(i % authorities.len() as u64) as usize].clone();
            let input = generated_request(i, authority.authority.participant.as_str());
            let content = app
                .validate(&authority, &input, None, None)
                .map_err(|e| anyhow::anyhow!("a generated certificate is invalid: {e:?}"))?;
            let tx = tx.clone();
            app.issue(authority, Arc::new(input), content, None, move |r| {
                let _ = tx.send(r);
            });
        }
        drop(tx);
        for result in rx {
            result.context("issuing a generated certificate")?;
        }
        done += window;
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!("\r{done}/{count} certificates");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "\nissued {count} certificates in {secs:.1} s ({:.0}/s); the ledger has {} entries",
        count as f64 / secs,
        app.ledger().size()
    );
    Ok(())
}

/// The request the demo prints: the example of the README.
pub const DEMO_REQUEST: &str = r#"{"exporter":{"name":"Okavango Diamond Company","address":"Plot 123, Gaborone, Botswana"},"importer":{"name":"Desert Rough DMCC","address":"Almas Tower, Dubai, UAE"},"destination":"AE","origin":{"countries":["BW"]},"parcels":3,"items":[{"hs_code":"7102.10","carats":"1520.35","value_usd":"845000.00"}]}"#;

pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(DemoAction::Populate {
        certificates,
        year: Some(year),
        seed,
    }) = args.action
    {
        let clock = crate::clock::ManualClock::at(0);
        return super::populate::populate_year(
            crate::app::Config {
                data_dir: args.dirs.data_dir.clone(),
                keys_dir: args.dirs.keys_dir.clone(),
                origin: args.server.origin.clone(),
                clock: clock.clone(),
                snapshot_every: crate::ledger::SNAPSHOT_EVERY,
            },
            clock,
            &super::populate::YearOptions {
                year,
                certificates: certificates.unwrap_or(60_000),
                seed,
            },
        );
    }
    if let Some(DemoAction::Populate { certificates, .. }) = args.action {
        let certificates = certificates.expect("clap requires it without --year");
        let app = open(&args.dirs, args.server.origin.clone())?;
        let result = populate(&app, &args.dirs, certificates);
        app.close();
        return result;
    }
    if !args.listen.ip().is_loopback() {
        bail!("the demo listens on a loopback address only; use `kpcert serve` otherwise");
    }
    let listener = startup::bind(args.listen)
        .map_err(|e| anyhow::anyhow!("{e} (pick another port with --listen 127.0.0.1:PORT)"))?;
    let app = Arc::new(open(&args.dirs, args.server.origin.clone())?);
    let (tls, cert_path) = startup::tls_config(&Tls::SelfSigned, &args.dirs.keys_dir, args.listen)
        .map_err(anyhow::Error::msg)?
        .expect("a self-signed configuration");
    let cert_path = cert_path.expect("a self-signed certificate");
    let cert_path = std::fs::canonicalize(&cert_path).unwrap_or(cert_path);
    let demo = demo_authorities(&app, &args.dirs)?;
    demo_history(&app)?;
    let bound = listener.local_addr()?;
    let base = format!("https://localhost:{}", bound.port());
    println!(
        "kpcert demo: {base}  (ledger in {}, keys in {})",
        args.dirs.data_dir.display(),
        args.dirs.keys_dir.display()
    );
    println!("TLS: self-signed certificate {}", cert_path.display());
    println!("Ledger verifier key: {}", app.ledger_verifier());
    println!(
        "Public portal (English, French, Portuguese, Russian, Arabic, Chinese): {base}/  statistics: {base}/statistics  verify: {base}/verify"
    );
    if let Some(token) = app.take_bootstrap_token() {
        println!("Secretariat token (shown once; administers the service at {base}/v1/admin/):");
        println!("  {token}");
    }
    // Demo tokens of the other roles, new each start like the demo authorities' tokens.
    let demo_token = |role: crate::tokens::Role, owner: &str| -> anyhow::Result<String> {
        app.tokens().revoke_owner(role, owner)?;
        Ok(app.mint_token(role, owner, 1)?)
    };
    let demo_secretariat = demo_token(crate::tokens::Role::Secretariat, "Demo Secretariat")?;
    let demo_monitor = demo_token(crate::tokens::Role::Monitor, "Demo monitoring team")?;
    println!();
    println!("Demo tokens (new each start, valid one day):");
    println!("  secretariat  {demo_secretariat}");
    println!("  monitor      {demo_monitor}");
    println!();
    println!("Demo issuing authorities (new tokens each start; earlier demo tokens are revoked):");
    for d in &demo {
        println!("  {}  {:<6} {}", d.participant, d.id, d.name);
        println!("      token: {}", d.token);
    }
    let bw_token = &demo[0].token;
    let cacert = cert_path.display();
    println!();
    println!("Issue a certificate as Botswana (BW) for a shipment to the UAE:");
    println!();
    println!(
        "curl --cacert {cacert} -X POST {base}/v1/certificates \\\n  -H 'Authorization: Bearer {bw_token}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{DEMO_REQUEST}'"
    );
    println!();
    println!(
        "Then look it up as its issuer (use the number from the answer; the full record answers"
    );
    println!(
        "only its parties: the issuer, the destination's authorities, the Secretariat, monitors):"
    );
    println!(
        "  curl --cacert {cacert} -H 'Authorization: Bearer {bw_token}' {base}/v1/certificates/BW-{}-000001",
        app.today().year()
    );
    println!("  curl --cacert {cacert} {base}/v1/ledger/checkpoint");
    println!();
    println!(
        "Participants' standing, judged at a date (the KP's history is recorded in the demo):"
    );
    println!("  curl --cacert {cacert} '{base}/v1/participants/CG?at=2005-01-01'   # removed, refuse its certificates");
    println!("  curl --cacert {cacert} '{base}/v1/participants/CF?at=2016-01-01'   # partially suspended, approved zones");
    println!("  curl --cacert {cacert} {base}/v1/participants/CI                   # the UN embargo 2005-2014");
    println!();
    println!("Press Ctrl-C to stop.");
    startup::run(app, listener, Some(tls), &options(&args.server, bound))
        .map_err(anyhow::Error::msg)
}
