//! Read-only access to a data folder that a server may be holding: the committed checkpoint in
//! `checkpoint.txt` and the entries it covers, read in order from `entries.dat`. Safe while the
//! server runs (it only appends to `entries.dat` and replaces `checkpoint.txt` atomically) and
//! needs no private key and no lock. Used by `kpcert audit --data-dir` and `kpcert export
//! --data-dir`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::files::ENTRIES_FILE;
use super::CHECKPOINT_FILE;
use crate::codec::export::{read_record, ExportError};

/// A data folder opened for reading.
pub struct FolderReader {
    /// The committed checkpoint note (not verified here: the caller pins the ledger key).
    pub note: String,
    entries: BufReader<File>,
}

impl FolderReader {
    /// Opens `dir`: reads its checkpoint note, opens its entries.
    pub fn open(dir: &Path) -> Result<FolderReader, String> {
        let note = std::fs::read_to_string(dir.join(CHECKPOINT_FILE)).map_err(|e| {
            format!(
                "cannot read {}: {e} (is this a kpcert data folder?)",
                dir.join(CHECKPOINT_FILE).display()
            )
        })?;
        let file = File::open(dir.join(ENTRIES_FILE))
            .map_err(|e| format!("cannot read {}: {e}", dir.join(ENTRIES_FILE).display()))?;
        Ok(FolderReader {
            note,
            entries: BufReader::with_capacity(1 << 20, file),
        })
    }

    /// The first `count` entries, in order (the caller takes `count` from the verified note).
    pub fn entries(self, count: u64) -> impl Iterator<Item = Result<Vec<u8>, ExportError>> {
        let mut input = self.entries;
        (0..count).map(move |_| read_record(&mut input))
    }
}
