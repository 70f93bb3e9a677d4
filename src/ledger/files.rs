//! The three append-only ledger files: `entries.dat` (each entry framed with its full record:
//! a 4-byte big-endian length and the entry's canonical bytes, then a 4-byte big-endian length
//! and the record, empty for entries without one; [`Frame`]), `offsets.dat` (entry `i`'s 8-byte
//! big-endian offset at `8·i`) and `nodes.dat` (every Merkle node as 32 bytes in Go tlog's
//! stored-hash order).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use super::LedgerError;
use crate::codec::export::{Frame, MAX_ENTRY_BYTES};
use crate::crypto::Hash;
use crate::tlog::merkle::{self, NodeId, NodeSource};

/// File names in the data folder.
pub(crate) const ENTRIES_FILE: &str = "entries.dat";
pub(crate) const OFFSETS_FILE: &str = "offsets.dat";
pub(crate) const NODES_FILE: &str = "nodes.dat";

/// Bytes read at once for a frame.
const FRAME_READ: usize = 8192;

/// The three append-only files.
pub(super) struct LogFiles {
    pub entries: File,
    pub offsets: File,
    pub nodes: File,
    /// Failures planned by the ledger's tests.
    #[cfg(test)]
    pub faults: super::faults::Plan,
}

fn read_exact_at(file: &File, len: usize, offset: u64) -> Result<Vec<u8>, LedgerError> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

fn u64_at(file: &File, offset: u64) -> Result<u64, LedgerError> {
    let raw = read_exact_at(file, 8, offset)?;
    Ok(u64::from_be_bytes(raw.try_into().expect("8 bytes")))
}

impl LogFiles {
    pub fn open(dir: &Path) -> Result<LogFiles, LedgerError> {
        let created = !dir.join(ENTRIES_FILE).exists();
        let open = |name: &str| {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(dir.join(name))
                .map_err(|e| {
                    LedgerError::Storage(format!("cannot open {}: {e}", dir.join(name).display()))
                })
        };
        let files = LogFiles {
            entries: open(ENTRIES_FILE)?,
            offsets: open(OFFSETS_FILE)?,
            nodes: open(NODES_FILE)?,
            #[cfg(test)]
            faults: Default::default(),
        };
        if created {
            // New directory entries must survive a power loss too.
            File::open(dir)?.sync_all()?;
        }
        Ok(files)
    }

    pub(super) fn offset(&self, index: u64) -> Result<u64, LedgerError> {
        u64_at(&self.offsets, index * 8)
    }

    fn part_at(&self, index: u64, offset: u64) -> Result<Vec<u8>, LedgerError> {
        let len = u32::from_be_bytes(
            read_exact_at(&self.entries, 4, offset)?
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        if len > MAX_ENTRY_BYTES {
            return Err(LedgerError::Corrupt(format!(
                "entry {index} claims {len} bytes"
            )));
        }
        read_exact_at(&self.entries, len, offset + 4)
    }

    /// The bytes of entry `index`, which the caller knows is committed.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        self.part_at(index, self.offset(index)?)
    }

    /// Entry `index` with its record.
    pub fn frame(&self, index: u64) -> Result<Frame, LedgerError> {
        self.frame_at(index, self.offset(index)?)
    }

    /// Entry `index` with its record, framed at `offset` of `entries.dat`: one read of
    /// [`FRAME_READ`] bytes usually holds both lengths and both parts (a certificate's entry
    /// and record are a few KB); what it does not hold is read on its own.
    fn frame_at(&self, index: u64, offset: u64) -> Result<Frame, LedgerError> {
        let mut buf = vec![0u8; FRAME_READ];
        let mut got = 0;
        while got < buf.len() {
            match self.entries.read_at(&mut buf[got..], offset + got as u64)? {
                0 => break,
                n => got += n,
            }
        }
        buf.truncate(got);
        let entry = self.part_in(index, &buf, offset, 0)?;
        let record = self.part_in(index, &buf, offset, 4 + entry.len())?;
        Ok(Frame { entry, record })
    }

    /// The part framed at `at` of `buf` (read from `base`), or from the file where `buf` ends
    /// before it.
    fn part_in(
        &self,
        index: u64,
        buf: &[u8],
        base: u64,
        at: usize,
    ) -> Result<Vec<u8>, LedgerError> {
        if let Some(prefix) = buf.get(at..at + 4) {
            let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes")) as usize;
            if len > MAX_ENTRY_BYTES {
                return Err(LedgerError::Corrupt(format!(
                    "entry {index} claims {len} bytes"
                )));
            }
            if let Some(part) = buf.get(at + 4..at + 4 + len) {
                return Ok(part.to_vec());
            }
        }
        self.part_at(index, base + at as u64)
    }

    /// Brings the files to the committed `size`. `entries.dat` is made durable with every
    /// commit; `offsets.dat` and `nodes.dat` only for the first `derived` entries (see the
    /// storage contract): their part for the entries after that is rebuilt from `entries.dat`
    /// where a crash left it unwritten, short or wrong (the same bytes a clean run wrote).
    /// Returns where the committed frames end in `entries.dat`; what lies past the committed
    /// size is left for [`LogFiles::cut_uncommitted`]. Anything committed that is missing from
    /// `entries.dat`, or from the durable part of the other two, is corruption. A tail longer
    /// than `max_tail` entries (counted in `entries.dat`, which every commit syncs, and in
    /// `offsets.dat`) means the index is older than the files (a lost or restored `index/`):
    /// refused before anything is changed. The rebuilt parts are checked by the caller against
    /// the committed head and signed checkpoint, like everything else.
    pub fn recover(&self, size: u64, derived: u64, max_tail: u64) -> Result<u64, LedgerError> {
        let tail_entries = (self.offsets.metadata()?.len().saturating_sub(size * 8)).div_ceil(8);
        if tail_entries > max_tail {
            return Err(LedgerError::Corrupt(format!(
                "the ledger files hold {tail_entries} entries past the {size} the index has committed; \
                 the index/ folder is older than the files (restored or replaced?); refusing to cut them"
            )));
        }
        let derived = derived.min(size);
        let short = |name: &str, actual: u64, len: u64| {
            LedgerError::Corrupt(format!(
                "{name} holds {actual} bytes but the committed ledger needs {len}"
            ))
        };
        // The two derived files, with the length of their durable part.
        let durable = [
            (&self.offsets, derived * 8, OFFSETS_FILE),
            (
                &self.nodes,
                merkle::stored_hash_count(derived) * 32,
                NODES_FILE,
            ),
        ];
        for (file, len, name) in durable {
            let actual = file.metadata()?.len();
            if actual < len {
                return Err(short(name, actual, len));
            }
        }
        // The entries after the durable part, read in order from entries.dat: their offsets
        // and the Merkle nodes they complete.
        let mut at = match derived {
            0 => 0,
            n => {
                let last = self.offset(n - 1)?;
                last + self.frame_at(n - 1, last)?.framed_len()
            }
        };
        let mut frontier = merkle::Frontier::load(self, derived)?;
        let mut offsets = Vec::with_capacity(((size - derived) * 8) as usize);
        let mut nodes = Vec::new();
        for i in derived..size {
            let frame = self.frame_at(i, at).map_err(|e| {
                LedgerError::Corrupt(format!(
                    "{ENTRIES_FILE} ends inside committed entry {i} of {size} ({e})"
                ))
            })?;
            offsets.extend_from_slice(&at.to_be_bytes());
            frontier.push(merkle::leaf_hash(&frame.entry), |_, hash| {
                nodes.extend_from_slice(hash)
            });
            at += frame.framed_len();
        }
        // Complete frames past the committed ones: at most the batches in flight at a crash.
        let mut past = 0;
        let mut end = at;
        while past <= max_tail {
            match self.frame_at(size + past, end) {
                Ok(frame) => {
                    end += frame.framed_len();
                    past += 1;
                }
                Err(_) => break,
            }
        }
        if past > max_tail {
            return Err(LedgerError::Corrupt(format!(
                "{ENTRIES_FILE} holds more than {max_tail} entries past the {size} the index has committed; \
                 the index/ folder is older than the files (restored or replaced?); refusing to cut them"
            )));
        }
        for ((file, from, name), bytes) in durable.into_iter().zip([&offsets, &nodes]) {
            let held = file.metadata()?.len().saturating_sub(from);
            let mut present = vec![0u8; held.min(bytes.len() as u64) as usize];
            file.read_exact_at(&mut present, from)?;
            if present != *bytes {
                tracing::warn!(
                    file = name,
                    entries = size - derived,
                    "rebuilding from entries.dat the part a crash left unwritten"
                );
                file.set_len(from)?;
                (&*file).write_all(bytes)?;
            }
            if from < file.metadata()?.len() {
                // Durable from here on (they may have been written but never synced).
                file.sync_data()?;
            }
        }
        Ok(at)
    }

    /// Cuts the bytes past the committed `size` (whose frames end at `entries_end` in
    /// `entries.dat`) off the three files: a batch that was written but not committed when the
    /// process stopped. Called once the open checked the committed part.
    pub fn cut_uncommitted(&self, size: u64, entries_end: u64) -> Result<(), LedgerError> {
        let want = [
            (&self.entries, entries_end, ENTRIES_FILE),
            (&self.offsets, size * 8, OFFSETS_FILE),
            (
                &self.nodes,
                merkle::stored_hash_count(size) * 32,
                NODES_FILE,
            ),
        ];
        for (file, len, name) in want {
            let actual = file.metadata()?.len();
            if actual < len {
                return Err(LedgerError::Corrupt(format!(
                    "{name} holds {actual} bytes but the committed ledger needs {len}"
                )));
            }
            if actual > len {
                tracing::warn!(
                    file = name,
                    cut = actual - len,
                    "removing an uncommitted tail"
                );
                file.set_len(len)?;
                file.sync_all()?;
            }
        }
        Ok(())
    }

    /// Appends prepared bytes to the three files (not yet synced).
    pub fn append(&self, entries: &[u8], offsets: &[u8], nodes: &[u8]) -> Result<(), LedgerError> {
        #[cfg(test)]
        {
            use super::faults::{error, Step};
            if self.faults.take(Step::NoSpace) {
                return Err(error(Step::NoSpace));
            }
            if self.faults.take(Step::ShortWrite) {
                (&self.entries).write_all(&entries[..entries.len() / 2])?;
                return Err(error(Step::ShortWrite));
            }
        }
        (&self.entries).write_all(entries)?;
        (&self.offsets).write_all(offsets)?;
        (&self.nodes).write_all(nodes)?;
        Ok(())
    }

    /// `count` stored hashes from stored-hash index `first` on, as bytes (32 each).
    pub fn stored_hashes(&self, first: u64, count: u64) -> Result<Vec<u8>, LedgerError> {
        let mut bytes = vec![0u8; (count * 32) as usize];
        self.nodes
            .read_exact_at(&mut bytes, first * 32)
            .map_err(|e| {
                LedgerError::Corrupt(format!(
                    "Merkle nodes {first}..{} of nodes.dat: {e}",
                    first + count
                ))
            })?;
        Ok(bytes)
    }

    /// Length of `entries.dat`.
    pub fn entries_len(&self) -> Result<u64, LedgerError> {
        Ok(self.entries.metadata()?.len())
    }

    /// `fdatasync` of `entries.dat`, and of `offsets.dat` and `nodes.dat` too when `derived`,
    /// one after the other on this thread. (Issued in parallel from two spawned threads they
    /// took longer: 765 against 637 us a commit under issuance load, 425 against 240 us
    /// alone; each sync is its own device flush on this file system, and the threads had to
    /// be scheduled first. Issue 14, BENCHMARKS.md.)
    pub fn sync(&self, derived: bool) -> Result<(), LedgerError> {
        #[cfg(test)]
        if self.faults.take(super::faults::Step::Sync) {
            return Err(super::faults::error(super::faults::Step::Sync));
        }
        self.entries.sync_data()?;
        if derived {
            self.offsets.sync_data()?;
            self.nodes.sync_data()?;
        }
        Ok(())
    }
}

impl NodeSource for LogFiles {
    type Error = LedgerError;
    fn node(&self, id: NodeId) -> Result<Hash, LedgerError> {
        let at = merkle::stored_hash_index(id.level, id.index) * 32;
        let mut hash = [0u8; 32];
        self.nodes.read_exact_at(&mut hash, at).map_err(|e| {
            LedgerError::Corrupt(format!("Merkle node {}/{}: {e}", id.level, id.index))
        })?;
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_the_same_whether_one_read_holds_it_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogFiles::open(dir.path()).unwrap();
        // Sizes around the single read: inside it, crossing it in a part, in a length prefix,
        // and past it entirely; the last frame ends the file.
        let sizes = [
            (10, 0),
            (300, 2_000),
            (5_000, 5_000),
            (FRAME_READ - 6, 3),
            (FRAME_READ - 4, 0),
            (9_000, 0),
            (1, 20_000),
            (7, 7),
        ];
        let mut frames = Vec::new();
        let (mut entries, mut offsets) = (Vec::new(), Vec::new());
        for (k, (e, r)) in sizes.iter().enumerate() {
            let frame = Frame {
                entry: vec![k as u8 + 1; *e],
                record: vec![k as u8 + 100; *r],
            };
            offsets.extend_from_slice(&(entries.len() as u64).to_be_bytes());
            Frame::write_into(&frame.entry, &frame.record, &mut entries);
            frames.push(frame);
        }
        files.append(&entries, &offsets, &[]).unwrap();
        for (i, frame) in frames.iter().enumerate() {
            let read = files.frame(i as u64).unwrap();
            assert_eq!(read.entry, frame.entry, "entry {i}");
            assert_eq!(read.record, frame.record, "record {i}");
            assert_eq!(files.entry(i as u64).unwrap(), frame.entry);
        }
    }
}
