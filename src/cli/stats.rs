//! `kpcert stats`: the statistics of a running server (GET /v1/statistics, or the yearly
//! open-data table with --open-data), printed as JSON or CSV. What a token may read is the
//! server's decision: without one, annual totals per participant.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::client::Client;

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The kpcert server (https://host:port, or http:// on loopback).
    #[arg(long, env = "KPCERT_URL")]
    url: String,
    /// PEM certificate(s) to trust instead of the system's root certificates.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Bearer token: an authority sees its own participant's detail, the Secretariat and
    /// monitors everything; without one, annual totals.
    #[arg(long, env = "KPCERT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// One year (or --from and --to).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    year: Option<i64>,
    #[arg(long)]
    from: Option<i64>,
    #[arg(long)]
    to: Option<i64>,
    /// quarter, half or year.
    #[arg(long, default_value = "year")]
    period: String,
    /// Only this participant (code).
    #[arg(long)]
    participant: Option<String>,
    /// export or import.
    #[arg(long)]
    flow: Option<String>,
    /// By HS code and partner.
    #[arg(long)]
    detail: bool,
    /// CSV instead of JSON.
    #[arg(long)]
    csv: bool,
    /// The public yearly open-data table (CSV; JSON with --json) of --year (default: last
    /// year).
    #[arg(long, conflicts_with_all = ["from", "to", "participant", "flow", "detail"])]
    open_data: bool,
    /// With --open-data: JSON instead of CSV.
    #[arg(long, requires = "open_data")]
    json: bool,
}

pub fn run(args: &StatsArgs) -> anyhow::Result<()> {
    let pem = match &args.cacert {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let client = Client::new(&args.url, pem.as_deref())?;
    let mut query: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            query.push((k.to_owned(), v));
        }
    };
    let path = if args.open_data {
        push("year", args.year.map(|y| y.to_string()));
        push(
            "format",
            Some(if args.json { "json" } else { "csv" }.into()),
        );
        "/v1/statistics/open-data"
    } else {
        push("year", args.year.map(|y| y.to_string()));
        push("from", args.from.map(|y| y.to_string()));
        push("to", args.to.map(|y| y.to_string()));
        push("period", Some(args.period.clone()));
        push("participant", args.participant.clone());
        push("flow", args.flow.clone());
        push("detail", args.detail.then(|| "true".into()));
        push("format", Some(if args.csv { "csv" } else { "json" }.into()));
        "/v1/statistics"
    };
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            let safe = v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            anyhow::ensure!(safe, "--{k} {v:?}: letters, digits, '-' and '.' only");
            Ok(format!("{k}={v}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut body = String::new();
    client
        .get(
            &format!("{path}?{}", query.join("&")),
            args.token.as_deref(),
        )?
        .read_to_string(&mut body)
        .context("reading the answer")?;
    print!("{body}");
    Ok(())
}
