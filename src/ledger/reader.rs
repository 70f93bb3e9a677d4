//! Read-only access to a data folder that a server may be holding: the committed checkpoint in
//! `checkpoint.txt` and the entries it covers, read in order from `entries.dat`, with
//! `offsets.dat` checked against where each entry really starts and `nodes.dat` handed to the
//! auditor to compare with the tree it rebuilds. Safe while the server runs (it only appends to
//! the files and replaces `checkpoint.txt` atomically) and needs no private key and no lock.
//! Used by `kpcert audit --data-dir` and `kpcert export --data-dir`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::files::{ENTRIES_FILE, NODES_FILE, OFFSETS_FILE};
use super::CHECKPOINT_FILE;
use crate::codec::export::{read_frame, ExportError, Frame};

/// A data folder opened for reading.
pub struct FolderReader {
    /// The committed checkpoint note (not verified here: the caller pins the ledger key).
    pub note: String,
    entries: BufReader<File>,
    offsets: BufReader<File>,
    nodes: BufReader<File>,
}

fn open(dir: &Path, name: &str) -> Result<BufReader<File>, String> {
    File::open(dir.join(name))
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()))
}

impl FolderReader {
    /// Opens `dir`: reads its checkpoint note, opens its files.
    pub fn open(dir: &Path) -> Result<FolderReader, String> {
        let note = std::fs::read_to_string(dir.join(CHECKPOINT_FILE)).map_err(|e| {
            format!(
                "cannot read {}: {e} (is this a kpcert data folder?)",
                dir.join(CHECKPOINT_FILE).display()
            )
        })?;
        Ok(FolderReader {
            note,
            entries: open(dir, ENTRIES_FILE)?,
            offsets: open(dir, OFFSETS_FILE)?,
            nodes: open(dir, NODES_FILE)?,
        })
    }

    /// The first `count` entries with their records, in order (the caller takes `count` from the verified note),
    /// each checked against `offsets.dat`; and `nodes.dat`, to compare with the tree.
    pub fn entries(
        self,
        count: u64,
    ) -> (impl Iterator<Item = Result<Frame, ExportError>>, impl Read) {
        let (mut input, mut offsets) = (self.entries, self.offsets);
        let mut at = 0u64;
        let entries = (0..count).map(move |i| {
            let mut recorded = [0u8; 8];
            offsets.read_exact(&mut recorded).map_err(|_| {
                ExportError::Corrupt(format!("{OFFSETS_FILE} ends before entry {i}"))
            })?;
            if u64::from_be_bytes(recorded) != at {
                return Err(ExportError::Corrupt(format!(
                    "{OFFSETS_FILE} places entry {i} at {} but it starts at {at}",
                    u64::from_be_bytes(recorded)
                )));
            }
            let frame = read_frame(&mut input)?;
            at += frame.framed_len();
            Ok(frame)
        });
        (entries, self.nodes)
    }
}
