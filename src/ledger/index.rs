//! The ledger's index: a sled database in `index/`, the only code that touches `sled`. It holds
//! the commit point (committed size, head hash, latest checkpoint note), a snapshot of the
//! ledger state, and idempotency claims.
//!
//! Keys: `msize`, `mhead`, `mcheckpoint`, `mcreated`, `mderived` (meta); `i`+actor+0+idempotency
//! key → request hash and entry index. (Older indexes also hold `c`+number → entry index;
//! nothing reads those any more: a certificate's entry index is in the ledger state.) The
//! state snapshot lives alone in its own tree (`snapshot`, key `s`): in the main tree its megabytes would be
//! rewritten with the leaf of the commit point on every batch.

use std::fs::File;
use std::path::Path;

use super::LedgerError;
use crate::crypto::Hash;

const META_SIZE: &[u8] = b"msize";
const META_CREATED: &[u8] = b"mcreated";
const META_CHECKPOINT: &[u8] = b"mcheckpoint";
const META_HEAD: &[u8] = b"mhead";
const META_DERIVED: &[u8] = b"mderived";
const SNAPSHOT_TREE: &[u8] = b"snapshot";
const SNAPSHOT_KEY: &[u8] = b"s";

impl From<sled::Error> for LedgerError {
    fn from(e: sled::Error) -> LedgerError {
        LedgerError::Storage(e.to_string())
    }
}

/// The open index.
pub(super) struct Index {
    db: sled::Db,
    tree: sled::Tree,
    /// The state snapshot, alone.
    snapshots: sled::Tree,
    /// sled's database file, for `fdatasync` after sled's own flush.
    db_file: File,
}

/// Writes that commit together (the commit point of one batch).
#[derive(Default)]
pub(super) struct Batch(sled::Batch, Option<Vec<u8>>);

fn idempotency_key(actor: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + actor.len() + key.len());
    k.push(b'i');
    k.extend_from_slice(actor.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn u64_from(v: &[u8]) -> Result<u64, LedgerError> {
    Ok(u64::from_be_bytes(v.try_into().map_err(|_| {
        LedgerError::Corrupt("an 8-byte index value has the wrong length".into())
    })?))
}

impl Batch {
    /// The new committed size, head hash and checkpoint note.
    pub fn commit_point(&mut self, size: u64, head: &Hash, note: &str) {
        self.0.insert(META_SIZE, &size.to_be_bytes());
        self.0.insert(META_HEAD, head);
        self.0.insert(META_CHECKPOINT, note.as_bytes());
    }

    /// `offsets.dat` and `nodes.dat` are durable for the first `size` entries (they were
    /// `fdatasync`ed before this batch commits).
    pub fn derived(&mut self, size: u64) {
        self.0.insert(META_DERIVED, &size.to_be_bytes());
    }

    /// A new state snapshot.
    pub fn snapshot(&mut self, bytes: &[u8]) {
        self.1 = Some(bytes.to_vec());
    }

    /// Idempotency `key` of `actor` is claimed by entry `index` for the request `request_hash`.
    pub fn idempotency(&mut self, actor: &str, key: &str, request_hash: &Hash, index: u64) {
        let mut v = request_hash.to_vec();
        v.extend_from_slice(&index.to_be_bytes());
        self.0.insert(idempotency_key(actor, key), v);
    }
}

/// Most bytes of index pages sled keeps in memory.
pub const INDEX_CACHE_BYTES: u64 = 64 << 20;

/// The sled index's folder inside the data folder.
pub(super) const INDEX_DIR: &str = "index";

impl Index {
    /// Opens `dir/index`; `Locked` when another process holds it. A lock still held for a
    /// moment after the same process closed the index (sled's flusher thread lets go of it
    /// asynchronously) is waited for, up to a second.
    pub fn open(dir: &Path) -> Result<Index, LedgerError> {
        let mut tries = 0;
        loop {
            match Index::open_once(dir) {
                Err(LedgerError::Locked(_)) if tries < 20 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn open_once(dir: &Path) -> Result<Index, LedgerError> {
        let index_dir = dir.join(INDEX_DIR);
        let db = sled::Config::new()
            .path(&index_dir)
            .mode(sled::Mode::HighThroughput)
            // sled caches up to 1 GB of pages by default; the index is read mostly for look-ups
            // by number (themselves cached above it). The figure counts sled's page sizes, not
            // resident memory exactly: the soak (BENCHMARKS.md) is the evidence.
            .cache_capacity(INDEX_CACHE_BYTES)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    LedgerError::Locked(dir.to_path_buf())
                }
                // sled 0.34 reports its file lock as an "other" I/O error that names the lock.
                sled::Error::Io(ref io) if io.to_string().contains("lock") => {
                    LedgerError::Locked(dir.to_path_buf())
                }
                other => LedgerError::Storage(format!(
                    "cannot open the index {}: {other}",
                    index_dir.display()
                )),
            })?;
        let tree: sled::Tree = (*db).clone();
        let snapshots = db.open_tree(SNAPSHOT_TREE)?;
        let db_file = File::open(index_dir.join("db"))?;
        Ok(Index {
            db,
            tree,
            snapshots,
            db_file,
        })
    }

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>, LedgerError> {
        Ok(self.tree.get(key)?)
    }

    /// Whether the index was created before (false for a new, empty `index/`).
    pub fn is_created(&self) -> Result<bool, LedgerError> {
        Ok(self.get(META_CREATED)?.is_some())
    }

    /// Marks a new index as created, durably.
    pub fn mark_created(&self, dir: &Path, now_ms: u64) -> Result<(), LedgerError> {
        self.tree.insert(META_CREATED, &now_ms.to_be_bytes())?;
        self.tree.insert(META_DERIVED, &0u64.to_be_bytes())?;
        self.flush_durably()?;
        File::open(dir.join(INDEX_DIR))?.sync_all()?;
        Ok(())
    }

    /// The committed size.
    pub fn size(&self) -> Result<u64, LedgerError> {
        self.get(META_SIZE)?.map_or(Ok(0), |v| u64_from(&v))
    }

    /// How many entries `offsets.dat` and `nodes.dat` are recorded durable for (past that they
    /// are rebuilt from `entries.dat` at open); `None` for an index written before this was
    /// recorded, which synced them with every commit.
    pub fn derived(&self) -> Result<Option<u64>, LedgerError> {
        self.get(META_DERIVED)?.map(|v| u64_from(&v)).transpose()
    }

    /// Records, durably, that `offsets.dat` and `nodes.dat` are durable for the first `size`
    /// entries (the caller synced them first).
    pub fn record_derived(&self, size: u64) -> Result<(), LedgerError> {
        let mut batch = Batch::default();
        batch.derived(size);
        self.apply(batch)?;
        self.flush_durably()
    }

    /// Removes the recorded `derived` size, as in an index written before it was recorded.
    #[cfg(test)]
    pub fn forget_derived(&self) -> Result<(), LedgerError> {
        self.tree.remove(META_DERIVED)?;
        self.flush_durably()
    }

    /// The committed head hash, if any entry is committed.
    pub fn head(&self) -> Result<Option<Hash>, LedgerError> {
        self.get(META_HEAD)?
            .map(|v| {
                v.as_ref()
                    .try_into()
                    .map_err(|_| LedgerError::Corrupt("head hash is not 32 bytes".into()))
            })
            .transpose()
    }

    /// The committed checkpoint note, if any.
    pub fn checkpoint(&self) -> Result<Option<String>, LedgerError> {
        Ok(self
            .get(META_CHECKPOINT)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The latest state snapshot, if any.
    pub fn snapshot(&self) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.snapshots.get(SNAPSHOT_KEY)?.map(|v| v.to_vec()))
    }

    /// The request hash and entry index that claimed idempotency `key` of `actor`.
    pub fn idempotency(&self, actor: &str, key: &str) -> Result<Option<(Hash, u64)>, LedgerError> {
        let Some(v) = self.get(&idempotency_key(actor, key))? else {
            return Ok(None);
        };
        if v.len() != 40 {
            return Err(LedgerError::Corrupt(
                "an idempotency record is not 40 bytes".into(),
            ));
        }
        Ok(Some((
            v[..32].try_into().expect("32 bytes"),
            u64_from(&v[32..])?,
        )))
    }

    /// Applies a batch: the commit point, then its snapshot (after it in sled's log, so a
    /// snapshot recovered after a crash never covers entries the commit point does not).
    pub fn apply(&self, batch: Batch) -> Result<(), LedgerError> {
        self.tree.apply_batch(batch.0)?;
        if let Some(snapshot) = batch.1 {
            self.snapshots.insert(SNAPSHOT_KEY, snapshot)?;
        }
        Ok(())
    }

    /// Replaces the state snapshot, outside any batch (the snapshot thread; it is made durable
    /// by the next commit's flush, or the one at close). Call it only for a state whose commit
    /// point is already durable: a snapshot must never cover uncommitted entries.
    pub fn store_snapshot(&self, bytes: &[u8]) -> Result<(), LedgerError> {
        self.snapshots.insert(SNAPSHOT_KEY, bytes)?;
        Ok(())
    }

    /// sled's flush, then `fdatasync` of the database file: durable across power loss.
    pub fn flush_durably(&self) -> Result<(), LedgerError> {
        self.db.flush()?;
        self.db_file.sync_data()?;
        Ok(())
    }

    /// sled's own flush, on close.
    pub fn flush(&self) {
        let _ = self.db.flush();
    }
}
