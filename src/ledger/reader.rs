//! Read-only access to a data folder that a server may be holding: the committed checkpoint in
//! `checkpoint.txt` and the entries it covers, read in order from `entries.dat`, with
//! `offsets.dat` checked against where each entry really starts and `nodes.dat` handed to the
//! auditor to compare with the tree it rebuilds. Safe while the server runs (it only appends to
//! the files and writes `checkpoint.txt` over itself, or replaces it by rename when its length
//! changes; [`read_checkpoint_note`] reads it again until its signature verifies) and needs no
//! private key and no lock.
//! Used by `kpcert audit --data-dir` and `kpcert export --data-dir`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::files::{ENTRIES_FILE, NODES_FILE, OFFSETS_FILE};
use super::CHECKPOINT_FILE;
use crate::codec::export::{read_frame, ExportError, Frame};

/// A data folder opened for reading.
pub struct FolderReader {
    /// The committed checkpoint note (verified by the caller, who pins the ledger key).
    pub note: String,
    entries: BufReader<File>,
    offsets: BufReader<File>,
    nodes: BufReader<File>,
}

/// Reads the checkpoint note at `path`, again while `sound` refuses it (up to 100 times, a
/// millisecond apart): the server writes each new note over the last in place, and a read
/// racing that write can see part of each. `sound` is the caller's check of the note's
/// signature, so a note is only ever taken whole; one that never passes is returned as read,
/// for the caller to refuse by name.
pub fn read_checkpoint_note(path: &Path, sound: impl Fn(&str) -> bool) -> std::io::Result<String> {
    let mut note = std::fs::read_to_string(path)?;
    for _ in 0..100 {
        if sound(&note) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        note = std::fs::read_to_string(path)?;
    }
    Ok(note)
}

fn open(dir: &Path, name: &str) -> Result<BufReader<File>, String> {
    File::open(dir.join(name))
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()))
}

impl FolderReader {
    /// Opens `dir`: reads its checkpoint note (whole: see [`read_checkpoint_note`], with
    /// `sound` the caller's check of its signature), opens its files.
    pub fn open(dir: &Path, sound: impl Fn(&str) -> bool) -> Result<FolderReader, String> {
        let note = read_checkpoint_note(&dir.join(CHECKPOINT_FILE), sound).map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_written_over_in_place_is_read_whole() {
        use crate::crypto::SigningKey;
        use crate::tlog::{Checkpoint, NoteSigner};
        use std::os::unix::fs::FileExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CHECKPOINT_FILE);
        // Two signed notes of one length, written over each other without pause (a long
        // origin makes a read that catches a write half done likely: without reading again
        // until the signature verifies, this test fails).
        let origin = format!("test/{}", "l".repeat(3000));
        let signer = NoteSigner::new(&origin, SigningKey::from_seed(&[5; 32]));
        let note = |size, root| {
            signer.sign(&Checkpoint {
                origin: origin.clone(),
                size,
                root,
            })
        };
        let (a, b) = (note(10, [1; 32]), note(11, [2; 32]));
        assert_eq!(a.len(), b.len());
        std::fs::write(&path, &a).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        /// Stops the writer however the test ends (a failed assertion too).
        struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let stopping = Stop(stop.clone());
        let writer = {
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let (a, b, stop) = (a.clone(), b.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    file.write_all_at(a.as_bytes(), 0).unwrap();
                    file.write_all_at(b.as_bytes(), 0).unwrap();
                }
            })
        };
        let verifier = signer.verifier();
        for _ in 0..500 {
            let read = read_checkpoint_note(&path, |n| verifier.open(n).is_ok()).unwrap();
            assert!(read == a || read == b, "a mixed note was read: {read:?}");
        }
        drop(stopping);
        writer.join().unwrap();
    }
}
