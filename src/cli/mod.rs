//! The `kpcert` command line: the only module that touches `clap` (and `anyhow`), one file per
//! command.
//!
//! Two stages, as in ripgrep: clap parses raw arguments, then each command checks what clap
//! cannot (TLS flag combinations, loopback-only plain HTTP) before anything is opened. A command
//! that needs the data folder's lock while a server holds it says so at once and exits 2.

mod audit;
mod authority;
mod export;
mod keys;
mod populate;
pub use populate::{populate_year, YearOptions};
mod report;
mod restore;
mod serve;
mod sign;
mod stats;
mod token;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{App, Config, DEFAULT_ORIGIN};
use crate::keys::{KeyDir, LEDGER_KEY};
use crate::tlog::NoteVerifier;

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
    Serve(serve::ServeArgs),
    /// Run the API on localhost with a self-signed certificate and demo authorities for BW, AE,
    /// IN and EU, printing their tokens and a ready-to-paste curl command.
    Demo(serve::DemoArgs),
    /// Manage issuing authorities, their keys and tokens: through a running server with --url
    /// and a Secretariat token, or in the data folder while no server holds it.
    #[command(subcommand)]
    Authority(authority::AuthorityCommand),
    /// Mint, list and revoke bearer tokens of any role: through a running server with --url
    /// and a Secretariat token, or in the data folder while no server holds it.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Show public keys (reads only the public files of the keys folder).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Verify a certificate's QR code offline, against a signed trust bundle (no network).
    /// Exit code 0 only for the verdict `valid`.
    Verify(verify::VerifyArgs),
    /// Write the portable ledger export of a data folder (read-only: fine while the server
    /// runs; needs only the public ledger key).
    Export(export::ExportArgs),
    /// Audit a ledger from entry 0, trusting only the pinned ledger key. Exit code 0 when it
    /// passes, 1 when it fails, 2 when it cannot be audited.
    Audit(audit::AuditArgs),
    /// Sign a certificate with an authority's own key (an authority that keeps its key on its
    /// own systems): writes the body of POST /v1/certificates/signed, or sends it with --submit.
    Sign(sign::SignArgs),
    /// Rebuild a data folder from an export (a backup): audits it first, then writes it into an
    /// empty folder.
    Restore(restore::RestoreArgs),
    /// Trade statistics from a running server: annual totals for anyone, a participant's detail
    /// for its authorities, everything for the Secretariat and monitors; --open-data for the
    /// yearly public table.
    Stats(stats::StatsArgs),
    /// Reports from the ledger (audited first): `kpcert report annual --year Y`.
    #[command(subcommand)]
    Report(report::ReportCommand),
}

/// The data and keys folders.
#[derive(Args, Debug, Clone)]
struct Dirs {
    /// Folder of the ledger (append-only files and the sled index).
    #[arg(
        long,
        global = true,
        env = "KPCERT_DATA_DIR",
        default_value = "kpcert-data"
    )]
    data_dir: PathBuf,
    /// Folder of the keys (created 0700; private key files 0600).
    #[arg(long, global = true, env = "KPCERT_KEYS_DIR", default_value = "keys")]
    keys_dir: PathBuf,
}

/// The ledger key to trust: pinned, or the public one in a keys folder.
#[derive(Args, Debug, Clone)]
struct LedgerKeyArgs {
    /// The ledger's verifier key (`name+hex8+base64`, as `kpcert keys show` prints it). Pin it
    /// out of band for an independent audit; without it, keys/ledger.pub and keys/ledger.origin
    /// are used (no private key is read).
    #[arg(long)]
    ledger_key: Option<String>,
    #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
    keys_dir: PathBuf,
}

impl LedgerKeyArgs {
    fn verifier(&self) -> anyhow::Result<NoteVerifier> {
        match &self.ledger_key {
            Some(k) => Ok(NoteVerifier::parse(k)?),
            None => ledger_verifier(&self.keys_dir)
                .map_err(|e| anyhow::anyhow!("no --ledger-key given, and {e}")),
        }
    }
}

/// Refuses to write `out` (a file the command creates, or replaces through a `.partial` file
/// beside it) inside one of `folders` (the data and keys folders the command was pointed at, or
/// their defaults): the CLI never writes over the ledger's files or the keys.
fn output_outside(out: &Path, folders: &[&Path]) -> anyhow::Result<()> {
    // What the write would really touch: the nearest existing folder it lands in (a command
    // may create the rest), and the file itself when it exists (a link elsewhere).
    let landing = out
        .ancestors()
        .skip(1)
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find_map(|a| a.canonicalize().ok());
    let targets: Vec<PathBuf> = [landing, out.canonicalize().ok()]
        .into_iter()
        .flatten()
        .collect();
    for folder in folders {
        let Ok(folder) = folder.canonicalize() else {
            continue;
        };
        if targets.iter().any(|t| t.starts_with(&folder)) {
            anyhow::bail!(
                "{} is inside {}, a folder of the ledger or its keys: write it elsewhere (nothing was written)",
                out.display(),
                folder.display()
            );
        }
    }
    Ok(())
}

/// The data folder a command defaults to: `KPCERT_DATA_DIR`, else `kpcert-data`.
fn default_data_dir() -> PathBuf {
    std::env::var_os("KPCERT_DATA_DIR").map_or_else(|| PathBuf::from("kpcert-data"), PathBuf::from)
}

/// The ledger's verifier from the public files of a keys folder.
fn ledger_verifier(keys_dir: &Path) -> anyhow::Result<NoteVerifier> {
    let keys = KeyDir::existing(keys_dir)?;
    let key = keys.load_public(LEDGER_KEY).map_err(|e| {
        anyhow::anyhow!(
            "no ledger key in {} ({e}): it is generated on the first `kpcert serve` or `kpcert demo`",
            keys_dir.display()
        )
    })?;
    let origin = keys
        .stored_origin()?
        .unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
    Ok(NoteVerifier::new(&origin, key)?)
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => serve::serve(args).map(|()| true),
        Command::Demo(args) => serve::demo(args).map(|()| true),
        Command::Authority(cmd) => authority::run(cmd).map(|()| true),
        Command::Keys(cmd) => keys::run(cmd).map(|()| true),
        Command::Export(args) => export::run(&args).map(|()| true),
        Command::Audit(args) => audit::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Restore(args) => restore::run(&args).map(|()| true),
        Command::Report(command) => report::run(&command).map(|()| true),
        Command::Sign(args) => sign::run(&args).map(|()| true),
        Command::Stats(args) => stats::run(&args).map(|()| true),
        Command::Token(cmd) => token::run(cmd).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kpcert: {e:#}");
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

/// Opens the service on `dirs` with the system clock.
fn open(dirs: &Dirs, origin: Option<String>) -> anyhow::Result<App> {
    Ok(App::open(&Config {
        data_dir: dirs.data_dir.clone(),
        keys_dir: dirs.keys_dir.clone(),
        origin,
        clock: crate::clock::system(),
        snapshot_every: crate::ledger::SNAPSHOT_EVERY,
    })?)
}
