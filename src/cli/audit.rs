//! `kpcert audit`: replays a ledger from entry 0 (an export file, a data folder read-only, or a
//! server's streamed export) against the pinned ledger key, and keeps the verified checkpoint
//! so that the next audit proves the ledger only grew.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::LedgerKeyArgs;
use crate::audit::{audit_export, audit_folder, AuditReport, Options};
use crate::client::Client;
use crate::codec::export::Level;
use crate::codec::text::base64;
use crate::domain::date::format_unix_ms;
use crate::tlog::Checkpoint;

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// An export file (kpcert export, or GET /v1/ledger/export).
    #[arg(long, required_unless_present_any = ["data_dir", "url"], conflicts_with_all = ["data_dir", "url"])]
    file: Option<PathBuf>,
    /// A data folder, read-only; safe while the server runs.
    #[arg(long, conflicts_with = "url")]
    data_dir: Option<PathBuf>,
    /// A kpcert server (https://host:port, or http:// on loopback): its GET /v1/ledger/export
    /// is streamed and audited.
    #[arg(long)]
    url: Option<String>,
    /// PEM certificate(s) to trust for --url instead of the system's root certificates.
    #[arg(long, requires = "url")]
    cacert: Option<PathBuf>,
    /// Require a full audit (every certificate's record too): with --url the full export is
    /// fetched, which needs a Secretariat or monitor token (--token or KPCERT_TOKEN); with
    /// --file the file must be a full export. Either way, anything less fails. Without it, a
    /// file is audited at the level it holds; a data folder is always audited in full.
    #[arg(long, conflicts_with = "data_dir")]
    full: bool,
    /// Bearer token for --full.
    #[arg(long, env = "KPCERT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    key: LedgerKeyArgs,
    /// Where the last verified checkpoint is kept; the next audit must extend it.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Verify every signature with verify_strict instead of in batches (slower; see
    /// api/export.md for the one difference).
    #[arg(long)]
    strict_signatures: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// After a passing full audit, write the statistics recomputed from the replay to this
    /// file: the same JSON document as GET /v1/statistics?period=quarter&detail=true answers
    /// the Secretariat for the same ledger size (api/statistics.md), so the two compare byte
    /// for byte.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// After a pass with --url, record the audit in the ledger (POST /v1/ledger/audits, with a
    /// Secretariat or monitor --token): the portal's ledger page then shows when the ledger was
    /// last audited, up to which size, and by whom.
    #[arg(long, requires_all = ["url", "token"])]
    record: bool,
}

/// Returns whether the ledger passed.
pub fn run(args: &AuditArgs) -> anyhow::Result<bool> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(super::default_data_dir);
    for out in [&args.stats, &args.state].into_iter().flatten() {
        super::output_outside(out, &[&data_dir, &args.key.keys_dir])?;
    }
    let verifier = args.key.verifier()?;
    let previous: Option<Checkpoint> = match &args.state {
        Some(path) if path.exists() => {
            let note = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(verifier.open(&note).with_context(|| {
                format!(
                    "the state file {} does not hold a checkpoint of this ledger",
                    path.display()
                )
            })?)
        }
        _ => None,
    };
    let options = Options {
        strict_signatures: args.strict_signatures,
        verifier_threads: None,
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
    let previous_ref = previous.as_ref();
    let result = match (&args.file, &args.data_dir, &args.url) {
        (Some(path), _, _) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let reader = std::io::BufReader::with_capacity(1 << 20, file);
            audit_export(reader, &verifier, previous_ref, options, progress)
        }
        (None, Some(dir), _) => {
            // No trace of a ledger at all: nothing to audit (exit 2). A folder with any of
            // its files is audited, and fails if one is missing.
            if !crate::ledger::Ledger::holds_ledger_files(dir) {
                anyhow::bail!(
                    "{} is not a kpcert data folder (no entries.dat, checkpoint.txt or index/): nothing to audit",
                    dir.display()
                );
            }
            audit_folder(dir, &verifier, previous_ref, options, progress)
        }
        (None, None, Some(url)) => {
            let pem = match &args.cacert {
                Some(p) => {
                    Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
                }
                None => None,
            };
            let client = Client::new(url, pem.as_deref())?;
            let body = if args.full {
                let token = args.token.as_deref().context(
                    "--full needs a Secretariat or monitor token (--token or KPCERT_TOKEN)",
                )?;
                client.get("/v1/ledger/export/full", Some(token))?
            } else {
                client.get("/v1/ledger/export", None)?
            };
            let reader = std::io::BufReader::with_capacity(1 << 20, body);
            audit_export(reader, &verifier, previous_ref, options, progress)
        }
        (None, None, None) => anyhow::bail!("give --file, --data-dir or --url"),
    };
    if terminal {
        eprintln!();
    }
    match result {
        Ok(report) if args.full && report.level != Level::Full => {
            // A public export where a full one was asked for (a server or anyone in between
            // answered less): the records were not checked, so this is no full audit.
            let reason = "a full audit was asked for (--full), but the export holds no records (a public export): nothing of the records was checked";
            if args.json {
                println!("{}", json!({"ok": false, "index": null, "reason": reason}));
            } else {
                println!("LEDGER FAILED the audit: {reason}");
            }
            Ok(false)
        }
        Ok(report) if args.stats.is_some() && report.level != Level::Full => {
            let reason = "statistics (--stats) need every certificate's record: audit a full export (--full, or a data folder)";
            if args.json {
                println!("{}", json!({"ok": false, "index": null, "reason": reason}));
            } else {
                println!("LEDGER FAILED the audit: {reason}");
            }
            Ok(false)
        }
        Ok(report) => {
            if let Some(path) = &args.stats {
                let view = crate::statistics::statistics(
                    &report.state,
                    &crate::statistics::complete_query(),
                );
                let tmp = path.with_extension("partial");
                std::fs::write(&tmp, crate::statistics::statistics_json(&view))
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
                std::fs::rename(&tmp, path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = &args.state {
                // Keep the checkpoint just verified: the next audit must extend it.
                let tmp = path.with_extension("partial");
                std::fs::write(&tmp, &report.note)?;
                std::fs::rename(&tmp, path)?;
            }
            print_report(
                &report,
                previous_ref,
                args.json,
                started.elapsed().as_secs_f64(),
            );
            if args.record {
                record(args, &report)?;
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

/// Records the passed audit in the audited server's ledger.
fn record(args: &AuditArgs, report: &AuditReport) -> anyhow::Result<()> {
    let url = args.url.as_deref().context("--record needs --url")?;
    let token = args.token.as_deref().context("--record needs --token")?;
    let pem = match &args.cacert {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let client = Client::new(url, pem.as_deref())?;
    let body = json!({"size": report.checkpoint.size, "root": base64(&report.checkpoint.root),
                      "level": level(report)});
    let (status, text) = client.send("POST", "/v1/ledger/audits", token, Some(body.to_string()))?;
    anyhow::ensure!(
        status == 201,
        "the server did not record the audit ({status}): {text}"
    );
    eprintln!("recorded in the ledger: {text}");
    Ok(())
}

fn level(report: &AuditReport) -> &'static str {
    match report.level {
        Level::Public => "public",
        Level::Full => "full",
    }
}

fn print_report(report: &AuditReport, previous: Option<&Checkpoint>, json: bool, seconds: f64) {
    let t = |ms: Option<u64>| ms.map(format_unix_ms);
    if json {
        println!(
            "{}",
            json!({"ok": true, "level": level(report), "records": report.records,
                   "entries": report.entries, "certificates": report.certificates,
                   "participants": report.participants, "authorities": report.authorities,
                   "first_time": t(report.first_time_ms), "last_time": t(report.last_time_ms),
                   "checkpoint": {"origin": report.checkpoint.origin, "size": report.checkpoint.size,
                                  "root": base64(&report.checkpoint.root)},
                   "extends_previous": previous.map(|cp| cp.size),
                   "seconds": seconds})
        );
    } else {
        println!(
            "ledger OK ({} audit): {} entries, {} certificates, {} participants, {} authorities",
            level(report),
            report.entries,
            report.certificates,
            report.participants,
            report.authorities
        );
        match report.level {
            Level::Full => println!(
                "every record ({}) matches its commitment, its seal and the rules of issuance",
                report.records
            ),
            Level::Public => println!(
                "public entries only: records were not checked (audit a full export for that)"
            ),
        }
        println!(
            "from {} to {}",
            t(report.first_time_ms).unwrap_or_default(),
            t(report.last_time_ms).unwrap_or_default()
        );
        println!(
            "checkpoint {} size {} root {}",
            report.checkpoint.origin,
            report.checkpoint.size,
            base64(&report.checkpoint.root)
        );
        if let Some(cp) = previous {
            println!("extends the checkpoint verified before (size {})", cp.size);
        }
    }
}
