//! `kpcert report annual --year Y`: the Secretariat's annual report from a data folder (read
//! only, fine while the server runs). The folder is audited first against the pinned ledger key
//! (nothing is reported from entries the signed checkpoint does not commit to), then its public
//! entries are read and the report written as Markdown and HTML.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::LedgerKeyArgs;
use crate::ledger::reader::FolderReader;

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// The annual report of a year: status changes with their decisions, trade measures,
    /// rehabilitation progress, documents recorded, certificates issued, confirmed and voided
    /// per participant. Writes annual-report-YEAR.md and annual-report-YEAR.html.
    Annual(AnnualArgs),
}

#[derive(Args, Debug)]
pub struct AnnualArgs {
    /// The year reported.
    #[arg(long)]
    year: i64,
    /// The data folder.
    #[arg(long, env = "KPCERT_DATA_DIR", default_value = "kpcert-data")]
    data_dir: PathBuf,
    #[command(flatten)]
    key: LedgerKeyArgs,
    /// The folder to write the report to.
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

pub fn run(command: &ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Annual(args) = command;
    if !(2000..=9999).contains(&args.year) {
        anyhow::bail!("--year must be a year such as 2026");
    }
    let verifier = args.key.verifier()?;
    let audited = crate::audit::audit_folder(
        &args.data_dir,
        &verifier,
        None,
        crate::audit::Options::default(),
        |_, _| {},
    )
    .map_err(|f| anyhow::anyhow!("the ledger does not pass its audit, no report: {f}"))?;
    let folder = FolderReader::open(&args.data_dir, |note| verifier.open(note).is_ok())
        .map_err(anyhow::Error::msg)?;
    let (frames, _) = folder.entries(audited.entries);
    let mut entries = Vec::new();
    for frame in frames {
        let frame = frame.map_err(|e| anyhow::anyhow!("{e}"))?;
        entries.push(crate::codec::decode_entry(&frame.entry)?);
    }
    let report = crate::report::AnnualReport::of(args.year, entries);
    super::output_outside(
        &args.out.join("annual-report"),
        &[&args.data_dir, &args.key.keys_dir],
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let md = args.out.join(format!("annual-report-{}.md", args.year));
    let html = args.out.join(format!("annual-report-{}.html", args.year));
    std::fs::write(&md, report.markdown())
        .with_context(|| format!("cannot write {}", md.display()))?;
    std::fs::write(&html, report.html())
        .with_context(|| format!("cannot write {}", html.display()))?;
    eprintln!(
        "annual report {} from {} audited entries: {} and {}",
        args.year,
        audited.entries,
        md.display(),
        html.display()
    );
    Ok(())
}
