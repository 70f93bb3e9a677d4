//! The append-only ledger: entries, their hash chain, the Merkle tree's nodes, signed
//! checkpoints and the lookup indexes. The only module that touches `sled` and the ledger files.
//!
//! # Layout of the data folder
//! - `entries.dat`: the entries' canonical bytes, each as a 4-byte big-endian length and the bytes.
//! - `offsets.dat`: for entry `i`, the 8-byte big-endian offset of its record in `entries.dat`.
//! - `nodes.dat`: every Merkle node as 32 bytes, in the append-only stored-hash order of
//!   [`merkle::stored_hash_index`] (each leaf hash followed by the subtrees it completes).
//! - `checkpoint.txt`: the latest committed checkpoint note, replaced atomically after each
//!   commit, so that `kpcert audit --data-dir` can run while the server holds `index/`.
//! - `index/`: a sled database holding the commit point (`size`, head hash, latest checkpoint),
//!   the counters, `c`+number -> entry index, `a`+authority id -> entry index,
//!   `p`+participant code -> entry index of its registry entry,
//!   `i`+authority id+0+idempotency key -> request hash and entry index, and
//!   `t`+SHA-256(token) -> authority id.
//!
//! The three files are append-only and never rewritten; sled holds only small keys, so start-up
//! and lookups stay fast at millions of entries.
//!
//! # Storage contract
//! - **One commit point.** A batch of jobs is appended to the three files, which are
//!   `fdatasync`ed; then the new size, head hash, checkpoint, counters and indexes are applied as
//!   one sled batch, flushed and the index file `fdatasync`ed. Only then is any job answered.
//!   sled's own flush uses `sync_file_range`, which does not survive a power loss: the explicit
//!   `fdatasync` calls are what make an acknowledged entry durable.
//! - **Atomic.** An entry exists exactly when the committed size covers it: on open, bytes past the
//!   committed size in the three files (a batch that crashed before its sled commit) are cut off.
//!   A certificate, its number counter and its lookup key commit together with its entry.
//! - **Group commit, pipelined under load.** One writer thread builds every entry: it takes all
//!   jobs waiting in its queue (up to [`MAX_BATCH`]), appends them to the files, and pays one
//!   round of `fdatasync` and one sled commit for all of them. When more jobs are already
//!   waiting behind a big batch, it hands the batch to a committer thread instead and prepares the next batch while
//!   that one is synced (never more than one ahead). Commits happen strictly in order, and a
//!   failed commit poisons every later one.
//! - **Append only.** No code path changes or removes an entry or a Merkle node. Indexes are
//!   contiguous from 0 and kept by the writer, never by sled's `generate_id`.
//! - **Genesis is atomic.** The entries given to [`Ledger::open`] for an empty ledger (the
//!   participant registry) are committed as one batch before anything else.
//! - **Times never go backwards.** An entry's time is the wall clock, or the previous entry's
//!   time if the clock went back.
//! - **Poisoned on write failure.** If a batch fails to reach the disk, the writer's view can no
//!   longer be trusted: every later append fails with [`LedgerError::Poisoned`] until the process
//!   restarts, which cuts the files back to the last commit.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::checkpoint::{Checkpoint, NoteSigner};
use crate::crypto::Hash;
use crate::encoding::{entry_hash, Entry, Event};
use crate::merkle::{self, Frontier, NodeId, NodeSource};

/// Most jobs one group commit takes.
pub const MAX_BATCH: usize = 4096;

/// Most jobs waiting for the writer; past it, appends fail at once with [`LedgerError::Busy`]
/// (HTTP 503) instead of piling up memory.
pub const MAX_QUEUED_JOBS: usize = 16_384;

/// Smallest batch worth handing to the committer thread while more jobs wait.
const PIPELINE_MIN_BATCH: usize = 32;

/// Why a ledger operation failed.
#[derive(Debug)]
pub enum LedgerError {
    /// Another process holds the database (sled's file lock).
    Locked(PathBuf),
    Storage(String),
    /// An earlier write failed; restart to recover.
    Poisoned,
    /// The ledger was closed.
    Closed,
    /// The writer's queue is full; retry shortly.
    Busy,
    /// The stored data is not what this version wrote.
    Corrupt(String),
    /// The job declined to append: the idempotency key is already taken (by an entry that is
    /// committed or in the same batch).
    IdempotencyConflict,
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerError::Locked(p) => write!(
                f,
                "the data folder {} is in use by another kpcert process (is the server running?); stop it first",
                p.display()
            ),
            LedgerError::Storage(e) => write!(f, "storage error: {e}"),
            LedgerError::Poisoned => write!(
                f,
                "an earlier write to the ledger failed; restart the server to recover"
            ),
            LedgerError::Corrupt(e) => write!(f, "ledger data is corrupt: {e}"),
            LedgerError::Closed => write!(f, "the ledger is closed"),
            LedgerError::Busy => write!(f, "the ledger is busy; retry shortly"),
            LedgerError::IdempotencyConflict => write!(f, "the idempotency key is already used"),
        }
    }
}

impl std::error::Error for LedgerError {}

impl From<sled::Error> for LedgerError {
    fn from(e: sled::Error) -> LedgerError {
        LedgerError::Storage(e.to_string())
    }
}

impl From<std::io::Error> for LedgerError {
    fn from(e: std::io::Error) -> LedgerError {
        LedgerError::Storage(e.to_string())
    }
}

/// The writer's view offered to an append job while it builds its entry.
pub struct AppendContext<'a> {
    tree: &'a sled::Tree,
    index: u64,
    time_ms: u64,
    prev: Hash,
    /// Writes of earlier jobs in the same batch, visible to later ones.
    batch_overlay: &'a HashMap<Vec<u8>, Vec<u8>>,
    /// Counters taken by earlier batches, which may still be on their way to sled.
    counters: &'a HashMap<Vec<u8>, Vec<u8>>,
    /// This job's own writes, merged only if it succeeds.
    writes: Vec<(Vec<u8>, Vec<u8>)>,
}

impl AppendContext<'_> {
    /// The index the entry will get.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entry's time, unix milliseconds.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        if let Some((_, v)) = self.writes.iter().rev().find(|(k, _)| k == key) {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = self.batch_overlay.get(key) {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = self.counters.get(key) {
            return Ok(Some(v.clone()));
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    /// Takes the next value of the counter `name` (1, 2, 3, ...), persisted with the entry.
    pub fn next_counter(&mut self, name: &str) -> Result<u64, LedgerError> {
        let key = key_with(COUNTER_PREFIX, name.as_bytes());
        let next = match self.get(&key)? {
            Some(v) => u64_from(&v)? + 1,
            None => 1,
        };
        self.writes.push((key, next.to_be_bytes().to_vec()));
        Ok(next)
    }

    /// Whether the certificate `number` is already recorded.
    pub fn has_certificate(&self, number: &str) -> Result<bool, LedgerError> {
        Ok(self.get(&key_with(b'c', number.as_bytes()))?.is_some())
    }

    /// Records that this entry holds certificate `number`.
    pub fn index_certificate(&mut self, number: &str) {
        self.writes.push((
            key_with(b'c', number.as_bytes()),
            self.index.to_be_bytes().to_vec(),
        ));
    }

    /// Records that this entry registers authority `id`.
    pub fn index_authority(&mut self, id: &str) {
        self.writes.push((
            key_with(b'a', id.as_bytes()),
            self.index.to_be_bytes().to_vec(),
        ));
    }

    /// Claims idempotency `key` of `actor` for this entry, with the hash of the request that
    /// asked for it. Fails if the key is taken, committed or earlier in the same batch.
    pub fn claim_idempotency(
        &mut self,
        actor: &str,
        key: &str,
        request_hash: &Hash,
    ) -> Result<(), LedgerError> {
        let k = idempotency_key(actor, key);
        if self.get(&k)?.is_some() {
            return Err(LedgerError::IdempotencyConflict);
        }
        let mut v = request_hash.to_vec();
        v.extend_from_slice(&self.index.to_be_bytes());
        self.writes.push((k, v));
        Ok(())
    }
}

fn idempotency_key(actor: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + actor.len() + key.len());
    k.push(b'i');
    k.extend_from_slice(actor.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

type Build = Box<dyn FnOnce(&mut AppendContext<'_>) -> Result<NewEntry, LedgerError> + Send>;
type Reply = Box<dyn FnOnce(Result<Appended, LedgerError>) + Send>;

/// What a job's builder appends: an event and who acted.
pub struct NewEntry {
    pub actor: String,
    /// The key the actor signed the payload with, if any.
    pub key_id: Option<crate::crypto::KeyId>,
    pub event: Event,
}

/// A durable append: the entry and a signed checkpoint that covers it.
#[derive(Clone, Debug)]
pub struct Appended {
    pub index: u64,
    pub time_ms: u64,
    pub entry_bytes: Vec<u8>,
    pub checkpoint: Arc<SignedCheckpoint>,
}

/// A checkpoint and its signed note text.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

enum Msg {
    Job(Job),
    Stop,
}

struct Job {
    build: Build,
    reply: Reply,
}

struct Shared {
    /// The data folder.
    dir: PathBuf,
    db: sled::Db,
    /// sled's database file, for `fdatasync` after sled's own flush.
    db_file: File,
    tree: sled::Tree,
    files: LogFiles,
    head: RwLock<Arc<SignedCheckpoint>>,
    poisoned: AtomicBool,
    closed: AtomicBool,
}

/// The ledger. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    queue: mpsc::SyncSender<Msg>,
    writer: Arc<Mutex<Option<thread::JoinHandle<()>>>>,
}

fn key_with(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn u64_from(v: &[u8]) -> Result<u64, LedgerError> {
    Ok(u64::from_be_bytes(v.try_into().map_err(|_| {
        LedgerError::Corrupt("an 8-byte counter has the wrong length".into())
    })?))
}

const COUNTER_PREFIX: u8 = b's';
/// The latest committed checkpoint note, for auditors of a live data folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.txt";
const META_SIZE: &[u8] = b"msize";
const META_CREATED: &[u8] = b"mcreated";
const META_CHECKPOINT: &[u8] = b"mcheckpoint";
const META_HEAD: &[u8] = b"mhead";

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The three append-only files.
struct LogFiles {
    entries: File,
    offsets: File,
    nodes: File,
}

/// Most entries the writer can have in the files without a commit: the batch being committed and
/// the one handed over behind it.
const MAX_UNCOMMITTED_ENTRIES: u64 = 2 * MAX_BATCH as u64;

/// Largest entry accepted (certificates are a few KiB at most).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

fn read_exact_at(file: &File, len: usize, offset: u64) -> Result<Vec<u8>, LedgerError> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

impl LogFiles {
    fn open(dir: &Path) -> Result<LogFiles, LedgerError> {
        let created = !dir.join("entries.dat").exists();
        let open = |name: &str| {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(dir.join(name))
        };
        let files = LogFiles {
            entries: open("entries.dat")?,
            offsets: open("offsets.dat")?,
            nodes: open("nodes.dat")?,
        };
        if created {
            // New directory entries must survive a power loss too.
            File::open(dir)?.sync_all()?;
        }
        Ok(files)
    }

    fn offset(&self, index: u64) -> Result<u64, LedgerError> {
        let raw = read_exact_at(&self.offsets, 8, index * 8)?;
        u64_from(&raw)
    }

    /// The bytes of entry `index`, which the caller knows is committed.
    fn entry(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        let offset = self.offset(index)?;
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

    /// Cuts the files back to the committed `size` (removing the batches that were written but
    /// not committed when the process stopped) and checks that nothing committed is missing. A
    /// tail longer than the writer can leave behind means the index is older than the files (a
    /// lost or restored `index/`): that is refused, never cut.
    fn recover(&self, size: u64) -> Result<(), LedgerError> {
        let tail_entries = (self.offsets.metadata()?.len().saturating_sub(size * 8)).div_ceil(8);
        if tail_entries > MAX_UNCOMMITTED_ENTRIES {
            return Err(LedgerError::Corrupt(format!(
                "the ledger files hold {tail_entries} entries past the {size} the index has committed; \
                 the index/ folder is older than the files (restored or replaced?); refusing to cut them"
            )));
        }
        let entries_end = match size {
            0 => 0,
            n => {
                let last = self.offset(n - 1).map_err(|_| {
                    LedgerError::Corrupt(format!("offsets.dat is shorter than {n} entries"))
                })?;
                last + 4 + self.entry(n - 1)?.len() as u64
            }
        };
        let want = [
            (&self.entries, entries_end, "entries.dat"),
            (&self.offsets, size * 8, "offsets.dat"),
            (
                &self.nodes,
                merkle::stored_hash_count(size) * 32,
                "nodes.dat",
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

    /// `fdatasync` of the three files, issued in parallel so that the file system can serve
    /// them with one journal commit.
    fn sync(&self) -> Result<(), LedgerError> {
        std::thread::scope(|s| {
            let offsets = s.spawn(|| self.offsets.sync_data());
            let nodes = s.spawn(|| self.nodes.sync_data());
            self.entries.sync_data()?;
            offsets.join().expect("fsync thread")?;
            nodes.join().expect("fsync thread")
        })?;
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

impl Shared {
    /// sled's flush, then `fdatasync` of the database file: durable across power loss.
    fn flush_durably(&self) -> Result<(), LedgerError> {
        self.db.flush()?;
        self.db_file.sync_data()?;
        Ok(())
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir` and starts its writer thread. If the ledger is
    /// empty, `genesis` is appended first, atomically. Start-up reads the size, the last entry
    /// and O(log n) Merkle nodes, never the whole ledger.
    pub fn open(
        dir: &Path,
        signer: NoteSigner,
        genesis: Vec<NewEntry>,
    ) -> Result<Ledger, LedgerError> {
        let started = std::time::Instant::now();
        std::fs::create_dir_all(dir)?;
        let index_dir = dir.join("index");
        let db = sled::Config::new()
            .path(&index_dir)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    LedgerError::Locked(dir.to_path_buf())
                }
                sled::Error::Io(ref io) if io.to_string().contains("lock") => {
                    LedgerError::Locked(dir.to_path_buf())
                }
                other => LedgerError::from(other),
            })?;
        let index_opened = started.elapsed();
        // sled's lock is held from here on: no other process touches the files below.
        let tree: sled::Tree = (*db).clone();
        let db_file = File::open(index_dir.join("db"))?;
        let size = match tree.get(META_SIZE)? {
            Some(v) => u64_from(&v)?,
            None => 0,
        };
        let files = LogFiles::open(dir)?;
        if tree.get(META_CREATED)?.is_none() {
            if files.entries.metadata()?.len() > 0 {
                return Err(LedgerError::Corrupt(
                    "the index/ folder is new but the ledger files are not empty (lost or replaced index?)"
                        .into(),
                ));
            }
            tree.insert(META_CREATED, &now_ms().to_be_bytes())?;
            db.flush()?;
            db_file.sync_data()?;
            File::open(dir.join("index"))?.sync_all()?;
        }
        files.recover(size)?;
        let frontier = Frontier::load(&files, size)?;
        let prev = match tree.get(META_HEAD)? {
            Some(v) => v
                .as_ref()
                .try_into()
                .map_err(|_| LedgerError::Corrupt("head hash is not 32 bytes".into()))?,
            None if size == 0 => [0u8; 32],
            None => return Err(LedgerError::Corrupt("size without a head hash".into())),
        };
        let checkpoint = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: frontier.root(),
        };
        // Sign the head afresh: ed25519 is deterministic, so when the key and tree are the ones
        // that signed the stored note (checked below), the bytes are the same.
        let head = Arc::new(SignedCheckpoint {
            note: signer.sign(&checkpoint),
            checkpoint,
        });
        // The pieces must belong together: the head hash and the last leaf must match the last
        // entry, and the stored checkpoint must verify with this key and state this tree. A
        // mismatch (mixed backups, another keys folder) is refused rather than re-signed.
        let last_time_ms = match size {
            0 => 0,
            n => {
                let bytes = files.entry(n - 1)?;
                if entry_hash(&bytes) != prev {
                    return Err(LedgerError::Corrupt(format!(
                        "entry {} does not match the committed head hash",
                        n - 1
                    )));
                }
                if files.node(NodeId {
                    level: 0,
                    index: n - 1,
                })? != merkle::leaf_hash(&bytes)
                {
                    return Err(LedgerError::Corrupt(format!(
                        "nodes.dat does not match entry {}",
                        n - 1
                    )));
                }
                Entry::decode(&bytes)
                    .map_err(|e| LedgerError::Corrupt(format!("entry {}: {e}", n - 1)))?
                    .time_ms
            }
        };
        if let Some(note) = tree.get(META_CHECKPOINT)? {
            let note = String::from_utf8_lossy(&note);
            let stored = signer.verifier().open(&note).map_err(|e| {
                LedgerError::Corrupt(format!(
                    "this ledger's checkpoints were not signed by the ledger key and origin \
                     in use ({e}): is this the keys folder that belongs to this data folder?"
                ))
            })?;
            if stored != head.checkpoint {
                return Err(LedgerError::Corrupt(format!(
                    "the stored checkpoint (size {}) does not match the tree on disk (size {})",
                    stored.size, size
                )));
            }
        }
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            db,
            db_file,
            tree,
            files,
            head: RwLock::new(head),
            poisoned: false.into(),
            closed: false.into(),
        });
        let (queue, jobs) = mpsc::sync_channel::<Msg>(MAX_QUEUED_JOBS);
        let entries_end = shared.files.entries.metadata()?.len();
        let mut writer = Writer {
            shared: shared.clone(),
            signer,
            frontier,
            prev,
            last_time_ms,
            entries_end,
            counters: HashMap::new(),
        };
        if size == 0 && !genesis.is_empty() {
            let failed: Arc<Mutex<Option<LedgerError>>> = Arc::default();
            let jobs = genesis
                .into_iter()
                .map(|entry| {
                    let failed = failed.clone();
                    Job {
                        build: Box::new(move |_| Ok(entry)),
                        reply: Box::new(move |r| {
                            if let Err(e) = r {
                                *failed.lock().expect("genesis lock") = Some(e);
                            }
                        }),
                    }
                })
                .collect();
            // All of genesis or none of it: a job that failed to build leaves the prepared batch
            // uncommitted (the next open cuts it from the files).
            let prepared = writer.prepare(jobs);
            let failure = failed.lock().expect("genesis lock").take();
            if let Some(e) = failure {
                return Err(e);
            }
            if let Some(prepared) = prepared {
                commit(&writer.shared, prepared);
            }
            let failure = failed.lock().expect("genesis lock").take();
            if let Some(e) = failure {
                return Err(e);
            }
        }
        // Auditors of the live folder read the committed checkpoint from here.
        let note = shared.head.read().expect("head lock").note.clone();
        let tmp = dir.join("checkpoint.txt.partial");
        std::fs::write(&tmp, note.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, dir.join(CHECKPOINT_FILE)))?;
        tracing::info!(
            size = shared.head.read().expect("head lock").checkpoint.size,
            index_ms = index_opened.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "opened the ledger"
        );
        let handle = thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(jobs))?;
        Ok(Ledger {
            shared,
            queue,
            writer: Arc::new(Mutex::new(Some(handle))),
        })
    }

    /// Queues a job and calls `reply` once it is durable or failed. `build` runs on the
    /// writer thread and must be quick: it sees the next index and may take counters.
    pub fn submit(
        &self,
        build: impl FnOnce(&mut AppendContext<'_>) -> Result<NewEntry, LedgerError> + Send + 'static,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        let job = Job {
            build: Box::new(build),
            reply: Box::new(reply),
        };
        if self.shared.closed.load(Ordering::SeqCst) {
            return (job.reply)(Err(LedgerError::Closed));
        }
        match self.queue.try_send(Msg::Job(job)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(Msg::Job(job))) => (job.reply)(Err(LedgerError::Busy)),
            Err(mpsc::TrySendError::Disconnected(Msg::Job(job))) => {
                (job.reply)(Err(LedgerError::Closed))
            }
            Err(_) => unreachable!("only jobs are submitted"),
        }
    }

    /// Appends and waits (for CLI use and tests; servers use [`Ledger::submit`]).
    pub fn append_blocking(
        &self,
        build: impl FnOnce(&mut AppendContext<'_>) -> Result<NewEntry, LedgerError> + Send + 'static,
    ) -> Result<Appended, LedgerError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(build, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(LedgerError::Closed))
    }

    /// The latest signed checkpoint.
    pub fn head(&self) -> Arc<SignedCheckpoint> {
        self.shared.head.read().expect("head lock").clone()
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.head().checkpoint.size
    }

    /// The canonical bytes of entry `index`, if it is committed.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        if index >= self.size() {
            return Ok(None);
        }
        self.shared.files.entry(index).map(Some)
    }

    /// Committed entries `[start, end)` in order.
    pub fn entries(
        &self,
        start: u64,
        end: u64,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>), LedgerError>> + '_ {
        let end = end.min(self.size());
        (start..end).map(move |i| Ok((i, self.shared.files.entry(i)?)))
    }

    /// The entry index recording certificate `number`.
    pub fn certificate_index(&self, number: &str) -> Result<Option<u64>, LedgerError> {
        let size = self.size();
        Ok(self
            .shared
            .tree
            .get(key_with(b'c', number.as_bytes()))?
            .map(|v| u64_from(&v))
            .transpose()?
            // Between the sled commit and the head update an index may be ahead of the head.
            .filter(|&index| index < size))
    }

    /// The committed entry that claimed idempotency `key` of `actor`, with its request hash.
    pub fn idempotency(&self, actor: &str, key: &str) -> Result<Option<(Hash, u64)>, LedgerError> {
        let size = self.size();
        let Some(v) = self.shared.tree.get(idempotency_key(actor, key))? else {
            return Ok(None);
        };
        if v.len() != 40 {
            return Err(LedgerError::Corrupt(
                "an idempotency record is not 40 bytes".into(),
            ));
        }
        let index = u64_from(&v[32..])?;
        Ok((index < size).then(|| (v[..32].try_into().expect("32 bytes"), index)))
    }

    /// Whether the writer stopped accepting appends (a failed write, or closed).
    pub fn is_unavailable(&self) -> bool {
        self.shared.poisoned.load(Ordering::SeqCst) || self.shared.closed.load(Ordering::SeqCst)
    }

    fn check_size(&self, size: u64) -> Result<(), LedgerError> {
        let committed = self.size();
        if size > committed {
            return Err(LedgerError::Corrupt(format!(
                "size {size} is past the committed size {committed}"
            )));
        }
        Ok(())
    }

    /// Entry indexes of all registered authorities.
    pub fn authority_indexes(&self) -> Result<Vec<u64>, LedgerError> {
        self.indexes(b'a')
    }

    /// Entry indexes of the latest registry entry of each participant.
    pub fn participant_indexes(&self) -> Result<Vec<u64>, LedgerError> {
        self.indexes(b'p')
    }

    fn indexes(&self, prefix: u8) -> Result<Vec<u64>, LedgerError> {
        let size = self.size();
        let mut list = Vec::new();
        for item in self.shared.tree.scan_prefix([prefix]) {
            let index = u64_from(&item?.1)?;
            if index < size {
                list.push(index);
            }
        }
        Ok(list)
    }

    /// The Merkle root of the first `size` entries (`size` <= the current size).
    pub fn root(&self, size: u64) -> Result<Hash, LedgerError> {
        self.check_size(size)?;
        merkle::root(&self.shared.files, size)
    }

    /// Inclusion proof of entry `index` in the tree of `size` (`index < size <= current`).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(size)?;
        merkle::inclusion_proof(&self.shared.files, index, size)
    }

    /// Consistency proof between sizes `from` and `to` (`0 < from <= to <= current`).
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(to)?;
        merkle::consistency_proof(&self.shared.files, from, to)
    }

    /// Stores the SHA-256 of a bearer token for `authority_id`, durably.
    pub fn add_token(&self, token_hash: &Hash, authority_id: &str) -> Result<(), LedgerError> {
        self.shared
            .tree
            .insert(key_with(b't', token_hash), authority_id.as_bytes())?;
        self.shared.flush_durably()
    }

    /// Removes every token of `authority_id`.
    pub fn revoke_tokens(&self, authority_id: &str) -> Result<usize, LedgerError> {
        let mut removed = 0;
        for item in self.shared.tree.scan_prefix([b't']) {
            let (k, v) = item?;
            if v.as_ref() == authority_id.as_bytes() {
                self.shared.tree.remove(k)?;
                removed += 1;
            }
        }
        self.shared.flush_durably()?;
        Ok(removed)
    }

    /// Every stored token hash with its authority id.
    pub fn tokens(&self) -> Result<Vec<(Hash, String)>, LedgerError> {
        self.shared
            .tree
            .scan_prefix([b't'])
            .map(|item| {
                let (k, v) = item?;
                let hash = k[1..]
                    .try_into()
                    .map_err(|_| LedgerError::Corrupt("a token key is not 33 bytes".into()))?;
                Ok((hash, String::from_utf8_lossy(&v).into_owned()))
            })
            .collect()
    }

    /// Stops the writer after the jobs queued so far and flushes. Later appends fail with
    /// [`LedgerError::Closed`].
    pub fn close(&self) {
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = self.queue.send(Msg::Stop);
            let _ = handle.join();
            if !self.shared.poisoned.load(Ordering::SeqCst) {
                let _ = self.shared.db.flush();
            }
        }
    }
}

/// The writer thread's state: it builds entries and appends them to the files; the committer
/// thread makes each prepared batch durable and answers it.
struct Writer {
    shared: Arc<Shared>,
    signer: NoteSigner,
    frontier: Frontier,
    prev: Hash,
    last_time_ms: u64,
    /// Length of entries.dat, where the next record goes.
    entries_end: u64,
    /// Every counter value this writer has taken, ahead of sled while a batch is in flight.
    counters: HashMap<Vec<u8>, Vec<u8>>,
}

/// A batch whose entries are written to the files (not yet synced), with what its commit point
/// must record and whom to answer.
struct Prepared {
    batch: sled::Batch,
    head: Arc<SignedCheckpoint>,
    time_ms: u64,
    done: Vec<(Reply, u64, Vec<u8>)>,
}

/// Makes a prepared batch durable (files, then the sled commit point) and answers its jobs.
fn commit(shared: &Shared, prepared: Prepared) {
    let Prepared {
        batch,
        head,
        time_ms,
        done,
    } = prepared;
    if shared.poisoned.load(Ordering::SeqCst) {
        for (reply, _, _) in done {
            reply(Err(LedgerError::Poisoned));
        }
        return;
    }
    let written = shared.files.sync().and_then(|()| {
        // The commit point: once sled has the batch, the entries exist, whatever happens next.
        shared.tree.apply_batch(batch)?;
        if let Err(e) = shared.flush_durably() {
            // sled may still write the batch in the background: whether these entries survive
            // is unknown, and answering "failed" could make clients issue twice. Stop here and
            // let the restart decide from what is on disk.
            tracing::error!(error = %e, "ledger commit applied but not flushed; aborting");
            std::process::abort();
        }
        Ok(())
    });
    match written {
        Ok(()) => {
            *shared.head.write().expect("head lock") = head.clone();
            // For auditors reading the folder while the server runs (sled is locked): the
            // latest committed checkpoint, replaced atomically. Advisory: it may lag a commit.
            let tmp = shared.dir.join("checkpoint.txt.partial");
            if std::fs::write(&tmp, head.note.as_bytes())
                .and_then(|()| std::fs::rename(&tmp, shared.dir.join(CHECKPOINT_FILE)))
                .is_err()
            {
                tracing::warn!("could not update checkpoint.txt for auditors");
            }
            for (reply, index, entry_bytes) in done {
                reply(Ok(Appended {
                    index,
                    time_ms,
                    entry_bytes,
                    checkpoint: head.clone(),
                }));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "ledger commit failed; refusing further appends");
            shared.poisoned.store(true, Ordering::SeqCst);
            for (reply, _, _) in done {
                reply(Err(LedgerError::Storage(e.to_string())));
            }
        }
    }
}

impl Writer {
    /// Takes jobs in batches. A batch is committed on this thread when nothing else waits (no
    /// thread hop on the latency path); when more jobs are queued, it is handed to the committer
    /// thread so that its fsyncs overlap the preparation of the next batch.
    fn run(&mut self, queue: mpsc::Receiver<Msg>) {
        // A rendezvous channel: the writer is at most one prepared batch ahead of the committer.
        let (to_committer, prepared) = mpsc::sync_channel::<Prepared>(0);
        let finished = Arc::new(AtomicU64::new(0));
        let shared = self.shared.clone();
        let committer_finished = finished.clone();
        let committer = thread::Builder::new()
            .name("ledger-commit".into())
            .spawn(move || {
                for batch in prepared {
                    commit(&shared, batch);
                    committer_finished.fetch_add(1, Ordering::SeqCst);
                }
            })
            .expect("spawn the ledger committer");
        let mut handed = 0u64;
        let mut carried: Option<Msg> = None;
        loop {
            let first = match carried.take() {
                Some(msg) => msg,
                None => match queue.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                },
            };
            let mut batch = Vec::new();
            let mut stop = false;
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Job(job) => batch.push(job),
                    Msg::Stop => {
                        stop = true;
                        break;
                    }
                }
                if batch.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            if self.shared.poisoned.load(Ordering::SeqCst) {
                for job in batch {
                    (job.reply)(Err(LedgerError::Poisoned));
                }
            } else if let Some(prepared) = self.prepare(batch) {
                if !stop {
                    carried = queue.try_recv().ok();
                }
                let committer_idle = finished.load(Ordering::SeqCst) == handed;
                // Overlap only pays when batches are big: a small batch is cheaper to commit here
                // than to hand over to another thread.
                let backlog = carried.is_some() && prepared.done.len() >= PIPELINE_MIN_BATCH;
                if committer_idle && !backlog {
                    commit(&self.shared, prepared);
                } else {
                    handed += 1;
                    if let Err(mpsc::SendError(p)) = to_committer.send(prepared) {
                        commit(&self.shared, p);
                    }
                }
            }
            if stop {
                break;
            }
        }
        drop(to_committer);
        let _ = committer.join();
        self.shared.closed.store(true, Ordering::SeqCst);
        // Fail whatever was queued behind the stop.
        if let Some(Msg::Job(job)) = carried {
            (job.reply)(Err(LedgerError::Closed));
        }
        while let Ok(Msg::Job(job)) = queue.try_recv() {
            (job.reply)(Err(LedgerError::Closed));
        }
    }

    /// Builds the batch's entries, appends them to the files and signs the new checkpoint.
    fn prepare(&mut self, jobs: Vec<Job>) -> Option<Prepared> {
        let mut overlay: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut batch = sled::Batch::default();
        let mut entries_buf = Vec::with_capacity(jobs.len() * 1200);
        let mut offsets_buf = Vec::with_capacity(jobs.len() * 8);
        let mut nodes_buf = Vec::with_capacity(jobs.len() * 64);
        let mut done: Vec<(Reply, u64, Vec<u8>)> = Vec::with_capacity(jobs.len());
        let time_ms = now_ms().max(self.last_time_ms);
        for job in jobs {
            let mut ctx = AppendContext {
                tree: &self.shared.tree,
                index: self.frontier.size(),
                time_ms,
                prev: self.prev,
                batch_overlay: &overlay,
                counters: &self.counters,
                writes: Vec::new(),
            };
            let build = job.build;
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(&mut ctx)))
                .unwrap_or_else(|_| {
                    tracing::error!("an append job panicked; it is answered with an error");
                    Err(LedgerError::Storage("the append job panicked".into()))
                });
            let NewEntry {
                actor,
                key_id,
                event,
            } = match built {
                Ok(new) => new,
                Err(e) => {
                    (job.reply)(Err(e));
                    continue;
                }
            };
            let entry = Entry {
                index: ctx.index,
                time_ms: ctx.time_ms,
                actor,
                key_id,
                prev: ctx.prev,
                event,
            };
            let writes = std::mem::take(&mut ctx.writes);
            let bytes = entry.encode();
            if bytes.len() > MAX_ENTRY_BYTES {
                (job.reply)(Err(LedgerError::Storage(format!(
                    "an entry of {} bytes is over the {MAX_ENTRY_BYTES}-byte limit",
                    bytes.len()
                ))));
                continue;
            }
            let index = entry.index;
            self.prev = entry_hash(&bytes);
            self.frontier.push(merkle::leaf_hash(&bytes), |_, hash| {
                nodes_buf.extend_from_slice(hash);
            });
            offsets_buf.extend_from_slice(&self.entries_end.to_be_bytes());
            entries_buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            entries_buf.extend_from_slice(&bytes);
            self.entries_end += 4 + bytes.len() as u64;
            if let Event::ParticipantRegistered(p) = &entry.event {
                // The ledger indexes its own registry entries: who is a participant is read
                // back from the ledger, not from the binary.
                batch.insert(
                    key_with(b'p', p.code.as_str().as_bytes()),
                    &index.to_be_bytes(),
                );
            }
            for (k, v) in writes {
                batch.insert(k.as_slice(), v.as_slice());
                if k.first() == Some(&COUNTER_PREFIX) {
                    self.counters.insert(k.clone(), v.clone());
                }
                overlay.insert(k, v);
            }
            done.push((job.reply, index, bytes));
        }
        if done.is_empty() {
            return None;
        }
        self.last_time_ms = time_ms;
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_owned(),
            size: self.frontier.size(),
            root: self.frontier.root(),
        };
        let head = Arc::new(SignedCheckpoint {
            note: self.signer.sign(&checkpoint),
            checkpoint,
        });
        batch.insert(META_SIZE, &head.checkpoint.size.to_be_bytes());
        batch.insert(META_HEAD, &self.prev);
        batch.insert(META_CHECKPOINT, head.note.as_bytes());
        let files = &self.shared.files;
        let appended = (|| -> Result<(), LedgerError> {
            (&files.entries).write_all(&entries_buf)?;
            (&files.offsets).write_all(&offsets_buf)?;
            (&files.nodes).write_all(&nodes_buf)?;
            Ok(())
        })();
        if let Err(e) = appended {
            tracing::error!(error = %e, "ledger append failed; refusing further appends");
            self.shared.poisoned.store(true, Ordering::SeqCst);
            for (reply, _, _) in done {
                reply(Err(LedgerError::Storage(e.to_string())));
            }
            return None;
        }
        Some(Prepared {
            batch,
            head,
            time_ms,
            done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::merkle::MemoryTree;

    fn signer() -> NoteSigner {
        NoteSigner::new("test/ledger", SigningKey::from_seed(&[5; 32]))
    }

    fn append(ledger: &Ledger, n: u64) {
        for i in 0..n {
            ledger
                .append_blocking(move |ctx| {
                    ctx.index_certificate(&format!("T-{i}"));
                    Ok(NewEntry {
                        actor: "test".into(),
                        key_id: None,
                        event: Event::CertificateIssued {
                            certificate: vec![i as u8; 100],
                            signature: [1; 64],
                        },
                    })
                })
                .unwrap();
        }
    }

    fn replayed_root(ledger: &Ledger) -> Hash {
        let mut tree = MemoryTree::default();
        let mut prev = [0u8; 32];
        for item in ledger.entries(0, ledger.size()) {
            let (i, bytes) = item.unwrap();
            let entry = Entry::decode(&bytes).unwrap();
            assert_eq!(entry.index, i);
            assert_eq!(entry.prev, prev);
            prev = entry_hash(&bytes);
            tree.push_data(&bytes);
        }
        tree.root()
    }

    #[test]
    fn an_uncommitted_tail_is_cut_and_a_missing_committed_part_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), signer(), Vec::new()).unwrap();
        append(&ledger, 5);
        let root = ledger.head().checkpoint.root;
        assert_eq!(replayed_root(&ledger), root);
        ledger.close();
        drop(ledger);

        // A batch that reached the files but not the sled commit.
        for name in ["entries.dat", "offsets.dat", "nodes.dat"] {
            let mut f = OpenOptions::new()
                .append(true)
                .open(dir.path().join(name))
                .unwrap();
            f.write_all(&[0xee; 77]).unwrap();
        }
        let ledger = Ledger::open(dir.path(), signer(), Vec::new()).unwrap();
        assert_eq!(ledger.size(), 5);
        assert_eq!(ledger.head().checkpoint.root, root);
        assert_eq!(ledger.certificate_index("T-3").unwrap(), Some(3));
        append(&ledger, 3);
        assert_eq!(ledger.size(), 8);
        assert_eq!(replayed_root(&ledger), ledger.head().checkpoint.root);
        assert_eq!(ledger.root(5).unwrap(), root);
        ledger.close();
        drop(ledger);

        // Losing committed bytes is corruption, never silently accepted.
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join("nodes.dat"))
            .unwrap();
        f.set_len(32).unwrap();
        match Ledger::open(dir.path(), signer(), Vec::new()) {
            Err(LedgerError::Corrupt(why)) => assert!(why.contains("nodes.dat"), "{why}"),
            other => panic!("expected corruption, got {:?}", other.map(|l| l.size())),
        }
    }

    #[test]
    fn a_lost_index_or_a_foreign_key_is_refused_not_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), signer(), Vec::new()).unwrap();
        append(&ledger, 4);
        ledger.close();
        drop(ledger);

        let other = NoteSigner::new("test/ledger", SigningKey::from_seed(&[6; 32]));
        match Ledger::open(dir.path(), other, Vec::new()) {
            Err(LedgerError::Corrupt(why)) => assert!(why.contains("ledger key"), "{why}"),
            other => panic!("expected refusal, got {:?}", other.map(|l| l.size())),
        }
        let renamed = NoteSigner::new("test/other", SigningKey::from_seed(&[5; 32]));
        assert!(matches!(
            Ledger::open(dir.path(), renamed, Vec::new()),
            Err(LedgerError::Corrupt(_))
        ));

        std::fs::remove_dir_all(dir.path().join("index")).unwrap();
        match Ledger::open(dir.path(), signer(), Vec::new()) {
            Err(LedgerError::Corrupt(why)) => assert!(why.contains("index/"), "{why}"),
            other => panic!("expected refusal, got {:?}", other.map(|l| l.size())),
        }
        let entries = std::fs::metadata(dir.path().join("entries.dat"))
            .unwrap()
            .len();
        assert!(entries > 0, "nothing was cut");
    }

    #[test]
    fn a_second_open_of_the_same_folder_is_refused_as_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _ledger = Ledger::open(dir.path(), signer(), Vec::new()).unwrap();
        match Ledger::open(dir.path(), signer(), Vec::new()) {
            Err(LedgerError::Locked(_)) => {}
            other => panic!("expected Locked, got {:?}", other.map(|l| l.size())),
        }
    }
}
