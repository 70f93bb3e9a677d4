//! `kpcert export`: the portable export of a data folder, read-only (fine while the server
//! runs): the committed checkpoint, checked against the ledger's public key, and exactly the
//! entries it covers; with `--full`, every certificate's record too.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::LedgerKeyArgs;
use crate::codec::export::{write_export, Level};
use crate::ledger::reader::FolderReader;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The data folder.
    #[arg(long, env = "KPCERT_DATA_DIR", default_value = "kpcert-data")]
    data_dir: PathBuf,
    #[command(flatten)]
    key: LedgerKeyArgs,
    /// The export file to write (refused inside the data or keys folder).
    #[arg(long)]
    out: PathBuf,
    /// Include every certificate's full record (commercially sensitive: a backup for
    /// `kpcert restore`, or a full audit). Without it the export holds the public entries only.
    #[arg(long)]
    full: bool,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    super::output_outside(&args.out, &[&args.data_dir, &args.key.keys_dir])?;
    let verifier = args.key.verifier()?;
    let folder = FolderReader::open(&args.data_dir, |note| verifier.open(note).is_ok())
        .map_err(anyhow::Error::msg)?;
    let checkpoint = verifier
        .open(&folder.note)
        .context("the data folder's checkpoint does not verify with the ledger key")?;
    let note = folder.note.clone();
    let out = &args.out;
    let tmp = out.with_extension("partial");
    // A full export holds every certificate's commercial content: only its owner may read it.
    let mode = if args.full { 0o600 } else { 0o644 };
    let file = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?
    };
    // An existing file keeps its mode through open: set it.
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    let mut writer = std::io::BufWriter::new(file);
    let (entries, _) = folder.entries(checkpoint.size);
    let level = if args.full {
        Level::Full
    } else {
        Level::Public
    };
    write_export(&mut writer, level, &note, checkpoint.size, entries)?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&tmp, out)?;
    eprintln!(
        "exported {} entries ({}) to {}",
        checkpoint.size,
        if args.full {
            "full: with every certificate's record; keep it as private as the data folder"
        } else {
            "public: entries only"
        },
        out.display()
    );
    Ok(())
}
