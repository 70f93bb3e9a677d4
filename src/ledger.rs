//! The append-only ledger in sled: entries, their hash chain, the Merkle tree's nodes, signed
//! checkpoints and the lookup indexes. The only module that touches `sled`.
//!
//! # Storage contract
//! - **Atomic.** One append job (for example "assign the next number, sign, record the
//!   certificate") becomes one entry, its Merkle nodes, its index keys, the new size and a new
//!   signed checkpoint, all written in one sled batch. A batch is applied atomically: after a
//!   crash either all of it is there or none of it.
//! - **Durable before acknowledged.** [`Ledger::append`] answers only after the batch was applied,
//!   `sled::Db::flush` returned, and the database file was `fdatasync`ed (sled 0.34's own flush
//!   uses `sync_file_range`, which survives a process kill but not a power loss).
//! - **Group commit.** One writer thread owns every write. It takes all jobs waiting in its queue
//!   (up to [`MAX_BATCH`]), applies them as one batch and pays one flush and one fsync for all.
//! - **Append only.** No code path updates or deletes an entry or a Merkle node. Indexes are
//!   contiguous from 0 and kept by the writer, never by `generate_id`.
//! - **Genesis is atomic.** The entries given to [`Ledger::open`] for an empty ledger (the
//!   participant registry) are written in one batch before anything else.
//! - **Times never go backwards.** An entry's time is the wall clock, or the previous entry's
//!   time if the clock went back.
//! - **Poisoned on write failure.** If a batch fails to apply or to reach the disk, the writer's
//!   view of the tree can no longer be trusted: every later append fails with
//!   [`LedgerError::Poisoned`] until the process restarts and reloads the state from disk.
//!
//! # Keys in the one sled tree
//! `e`+index (u64 BE) -> entry bytes; `h`+level (u8)+index (u64 BE) -> Merkle node;
//! `c`+number -> entry index; `s`+counter name (`certificate/<participant>/<year>`,
//! `authority/<participant>`) -> last value; `a`+authority id -> entry index;
//! `t`+SHA-256(token) -> authority id; `m`+name -> metadata (`size`, `checkpoint`, `head`).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::checkpoint::{Checkpoint, NoteSigner};
use crate::crypto::Hash;
use crate::encoding::{entry_hash, Entry, Event};
use crate::merkle::{self, Frontier, NodeId, NodeSource};

/// Most jobs one group commit takes.
pub const MAX_BATCH: usize = 4096;

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
    /// The stored data is not what this version wrote.
    Corrupt(String),
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
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    /// Takes the next value of the counter `name` (1, 2, 3, ...), persisted with the entry.
    pub fn next_counter(&mut self, name: &str) -> Result<u64, LedgerError> {
        let key = key_with(b's', name.as_bytes());
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
}

type Build = Box<dyn FnOnce(&mut AppendContext<'_>) -> Result<NewEntry, LedgerError> + Send>;
type Reply = Box<dyn FnOnce(Result<Appended, LedgerError>) + Send>;

/// What a job's builder appends: an event and who acted.
pub struct NewEntry {
    pub actor: String,
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
    db: sled::Db,
    /// The database file, for `fdatasync` after sled's own flush.
    db_file: File,
    tree: sled::Tree,
    head: RwLock<Arc<SignedCheckpoint>>,
    poisoned: AtomicBool,
    closed: AtomicBool,
}

/// The ledger. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Msg>,
    writer: Arc<Mutex<Option<thread::JoinHandle<()>>>>,
}

fn key_with(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn entry_key(index: u64) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn node_key(id: NodeId) -> [u8; 10] {
    let mut k = [b'h'; 10];
    k[1] = id.level;
    k[2..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn u64_from(v: &[u8]) -> Result<u64, LedgerError> {
    Ok(u64::from_be_bytes(v.try_into().map_err(|_| {
        LedgerError::Corrupt("an 8-byte counter has the wrong length".into())
    })?))
}

const META_SIZE: &[u8] = b"msize";
const META_CHECKPOINT: &[u8] = b"mcheckpoint";
const META_HEAD: &[u8] = b"mhead";

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct TreeNodes<'a>(&'a sled::Tree);

impl NodeSource for TreeNodes<'_> {
    type Error = LedgerError;
    fn node(&self, id: NodeId) -> Result<Hash, LedgerError> {
        let v = self.0.get(node_key(id))?.ok_or_else(|| {
            LedgerError::Corrupt(format!("missing Merkle node {}/{}", id.level, id.index))
        })?;
        v.as_ref()
            .try_into()
            .map_err(|_| LedgerError::Corrupt("a Merkle node is not 32 bytes".into()))
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
        let db = sled::Config::new()
            .path(dir)
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
        let tree: sled::Tree = (*db).clone();
        let db_file = File::open(dir.join("db"))?;
        let size = match tree.get(META_SIZE)? {
            Some(v) => u64_from(&v)?,
            None => 0,
        };
        let frontier = Frontier::load(&TreeNodes(&tree), size)?;
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
        // Re-sign at start: the stored note may come from another origin or key.
        let head = Arc::new(SignedCheckpoint {
            note: signer.sign(&checkpoint),
            checkpoint,
        });
        let last_time_ms = match size {
            0 => 0,
            n => {
                let bytes = tree
                    .get(entry_key(n - 1))?
                    .ok_or_else(|| LedgerError::Corrupt(format!("missing entry {}", n - 1)))?;
                Entry::decode(&bytes)
                    .map_err(|e| LedgerError::Corrupt(format!("entry {}: {e}", n - 1)))?
                    .time_ms
            }
        };
        let shared = Arc::new(Shared {
            db,
            db_file,
            tree,
            head: RwLock::new(head),
            poisoned: false.into(),
            closed: false.into(),
        });
        let (queue, jobs) = mpsc::channel::<Msg>();
        let mut writer = Writer {
            shared: shared.clone(),
            signer,
            frontier,
            prev,
            last_time_ms,
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
            writer.commit(jobs);
            let failure = failed.lock().expect("genesis lock").take();
            if let Some(e) = failure {
                return Err(e);
            }
        }
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
        if let Err(mpsc::SendError(Msg::Job(job))) = self.queue.send(Msg::Job(job)) {
            (job.reply)(Err(LedgerError::Closed));
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
        rx.recv().unwrap_or(Err(LedgerError::Poisoned))
    }

    /// The latest signed checkpoint.
    pub fn head(&self) -> Arc<SignedCheckpoint> {
        self.shared.head.read().expect("head lock").clone()
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.head().checkpoint.size
    }

    /// The canonical bytes of entry `index`, if it exists.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.shared.tree.get(entry_key(index))?.map(|v| v.to_vec()))
    }

    /// Entries `[start, end)` in order, streamed from one range scan.
    pub fn entries(
        &self,
        start: u64,
        end: u64,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>), LedgerError>> {
        self.shared
            .tree
            .range(entry_key(start)..entry_key(end))
            .map(|r| {
                let (k, v) = r?;
                Ok((u64_from(&k[1..])?, v.to_vec()))
            })
    }

    /// The entry index recording certificate `number`.
    pub fn certificate_index(&self, number: &str) -> Result<Option<u64>, LedgerError> {
        self.shared
            .tree
            .get(key_with(b'c', number.as_bytes()))?
            .map(|v| u64_from(&v))
            .transpose()
    }

    /// Entry indexes of all registered authorities.
    pub fn authority_indexes(&self) -> Result<Vec<u64>, LedgerError> {
        self.shared
            .tree
            .scan_prefix([b'a'])
            .map(|r| u64_from(&r?.1))
            .collect()
    }

    /// The Merkle root of the first `size` entries (`size` <= the current size).
    pub fn root(&self, size: u64) -> Result<Hash, LedgerError> {
        merkle::root(&TreeNodes(&self.shared.tree), size)
    }

    /// Inclusion proof of entry `index` in the tree of `size` (`index < size <= current`).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        merkle::inclusion_proof(&TreeNodes(&self.shared.tree), index, size)
    }

    /// Consistency proof between sizes `from` and `to` (`0 < from <= to <= current`).
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        merkle::consistency_proof(&TreeNodes(&self.shared.tree), from, to)
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

    /// The authority id a token hash belongs to.
    pub fn token_owner(&self, token_hash: &Hash) -> Result<Option<String>, LedgerError> {
        Ok(self
            .shared
            .tree
            .get(key_with(b't', token_hash))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Stops the writer after the jobs queued so far and flushes. Later appends fail with
    /// [`LedgerError::Closed`].
    pub fn close(&self) {
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = self.queue.send(Msg::Stop);
            let _ = handle.join();
            let _ = self.shared.db.flush();
        }
    }
}

struct Writer {
    shared: Arc<Shared>,
    signer: NoteSigner,
    frontier: Frontier,
    prev: Hash,
    last_time_ms: u64,
}

impl Writer {
    fn run(&mut self, queue: mpsc::Receiver<Msg>) {
        while let Ok(first) = queue.recv() {
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
            } else if !batch.is_empty() {
                self.commit(batch);
            }
            if stop {
                self.shared.closed.store(true, Ordering::SeqCst);
                // Fail whatever was queued behind the stop.
                while let Ok(Msg::Job(job)) = queue.try_recv() {
                    (job.reply)(Err(LedgerError::Closed));
                }
                return;
            }
        }
    }

    fn commit(&mut self, jobs: Vec<Job>) {
        let mut overlay: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut batch = sled::Batch::default();
        let mut done: Vec<(Reply, u64, Vec<u8>)> = Vec::with_capacity(jobs.len());
        let start_frontier = self.frontier.clone();
        let start_prev = self.prev;
        let time_ms = now_ms().max(self.last_time_ms);
        for job in jobs {
            let mut ctx = AppendContext {
                tree: &self.shared.tree,
                index: self.frontier.size(),
                time_ms,
                prev: self.prev,
                batch_overlay: &overlay,
                writes: Vec::new(),
            };
            match (job.build)(&mut ctx) {
                Err(e) => (job.reply)(Err(e)),
                Ok(NewEntry { actor, event }) => {
                    let entry = Entry {
                        index: ctx.index,
                        time_ms: ctx.time_ms,
                        actor,
                        prev: ctx.prev,
                        event,
                    };
                    let writes = std::mem::take(&mut ctx.writes);
                    let bytes = entry.encode();
                    let index = entry.index;
                    self.prev = entry_hash(&bytes);
                    self.frontier.push(merkle::leaf_hash(&bytes), |id, hash| {
                        batch.insert(&node_key(id), hash.as_slice());
                    });
                    batch.insert(&entry_key(index), bytes.as_slice());
                    for (k, v) in writes {
                        batch.insert(k.as_slice(), v.as_slice());
                        overlay.insert(k, v);
                    }
                    done.push((job.reply, index, bytes));
                }
            }
        }
        if done.is_empty() {
            return;
        }
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
        let written = self
            .shared
            .tree
            .apply_batch(batch)
            .map_err(LedgerError::from)
            .and_then(|()| self.shared.flush_durably());
        match written {
            Ok(()) => {
                self.last_time_ms = time_ms;
                *self.shared.head.write().expect("head lock") = head.clone();
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
                tracing::error!(error = %e, "ledger write failed; refusing further appends");
                self.frontier = start_frontier;
                self.prev = start_prev;
                self.shared.poisoned.store(true, Ordering::SeqCst);
                for (reply, _, _) in done {
                    reply(Err(LedgerError::Storage(e.to_string())));
                }
            }
        }
    }
}
