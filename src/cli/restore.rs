//! `kpcert restore`: rebuilds a data folder from an export (the backup `kpcert export` takes
//! while the server runs). The export is audited first, from entry 0, against the ledger's
//! public key; only a ledger that passes is written, into an empty folder.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::LedgerKeyArgs;
use crate::audit::{audit_export, Options};
use crate::clock::Clock;
use crate::codec::export::ExportReader;

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The export file to restore from.
    #[arg(long)]
    from: PathBuf,
    /// The data folder to create (it must not hold a ledger).
    #[arg(long, env = "KPCERT_DATA_DIR", default_value = "kpcert-data")]
    data_dir: PathBuf,
    #[command(flatten)]
    key: LedgerKeyArgs,
}

fn open(path: &PathBuf) -> anyhow::Result<std::io::BufReader<std::fs::File>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(std::io::BufReader::with_capacity(1 << 20, file))
}

pub fn run(args: &RestoreArgs) -> anyhow::Result<()> {
    // Only into an empty (or new) folder: the ledger's files must not mix with others (the
    // keys folder, a backup folder), and nothing is written where that is refused.
    if let Ok(mut entries) = std::fs::read_dir(&args.data_dir) {
        if entries.next().is_some() {
            bail!(
                "{} holds files: restore into an empty folder (or a new one)",
                args.data_dir.display()
            );
        }
    }
    let verifier = args.key.verifier()?;
    let report = match audit_export(
        open(&args.from)?,
        &verifier,
        None,
        Options::default(),
        |_, _| {},
    ) {
        Ok(report) => report,
        Err(failure) => bail!(
            "{} fails its audit, nothing was restored: {failure}",
            args.from.display()
        ),
    };
    if report.level != crate::codec::export::Level::Full {
        bail!(
            "{} is a public export (entries only): a service needs every certificate's record; restore from a full export (kpcert export --full, or GET /v1/ledger/export/full)",
            args.from.display()
        );
    }
    let reader = ExportReader::open(open(&args.from)?)?;
    if reader.note != report.note {
        bail!(
            "{} changed while it was being restored",
            args.from.display()
        );
    }
    let note = reader.note.clone();
    let restored = crate::ledger::restore(
        &args.data_dir,
        &report.checkpoint,
        &note,
        reader,
        crate::clock::SystemClock.now_ms(),
    )
    .with_context(|| format!("restoring into {}", args.data_dir.display()))?;
    eprintln!(
        "restored {restored} entries ({} certificates) into {}; put the backed-up `tokens` file \
         there too, and start the service with the keys folder this ledger belongs to",
        report.certificates,
        args.data_dir.display()
    );
    Ok(())
}
