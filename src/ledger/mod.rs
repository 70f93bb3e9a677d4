//! The append-only ledger: entries, their hash chain, the Merkle tree's nodes, signed
//! checkpoints, the ledger state and the lookup indexes. The only module that touches the ledger
//! files ([`files`]) and `sled` ([`index`]).
//!
//! # Layout of the data folder
//! - `entries.dat`: one frame per entry: a 4-byte big-endian length and the entry's canonical
//!   bytes, then a 4-byte length and the certificate's full record (empty for other kinds).
//! - `offsets.dat`: for entry `i`, the 8-byte big-endian offset of its frame in `entries.dat`.
//! - `nodes.dat`: every Merkle node as 32 bytes, in the append-only stored-hash order of
//!   [`merkle::stored_hash_index`] (each leaf hash followed by the subtrees it completes).
//! - `checkpoint.txt`: the latest committed checkpoint note, written after each commit before
//!   its answers (in place while notes keep their length, else replaced by rename), so that
//!   `kpcert audit --data-dir` can run while the server holds `index/`.
//! - `index/`: a sled database holding the commit point (size, head hash, latest checkpoint), a
//!   snapshot of the ledger state and idempotency claims. (A certificate's entry index is in
//!   the state, in memory: each certificate's life records it.)
//!
//! The three files are append-only and never rewritten; sled holds only small keys, so start-up
//! and lookups stay fast at millions of entries.
//!
//! # Storage contract
//! - **One commit point.** A batch of jobs is appended to the three files and `entries.dat` is
//!   `fdatasync`ed; then the new size, head hash, checkpoint and index keys are applied as one
//!   sled batch, flushed and the index file `fdatasync`ed. Only then is any job answered.
//!   sled's own flush uses `sync_file_range`, which does not survive a power loss: the explicit
//!   `fdatasync` calls are what make an acknowledged entry durable.
//! - **Derived files durable in bulk.** `offsets.dat` and `nodes.dat` follow from
//!   `entries.dat`: they are `fdatasync`ed every [`writer::DERIVED_SYNC_EVERY`] entries (the
//!   commit's sled batch then records how far they are durable) and at a clean close. On open,
//!   their part past that point is rebuilt from `entries.dat` where it is missing or wrong,
//!   then checked with everything else against the committed head and signed checkpoint. Two
//!   device flushes a commit instead of four.
//! - **Atomic.** An entry exists exactly when the committed size covers it: on open, bytes past the
//!   committed size in the three files (a batch that crashed before its sled commit) are cut off.
//!   A certificate and its lookup key commit together with its entry.
//! - **Checked before written.** Every entry is applied to the ledger state ([`State::apply`])
//!   before it is appended: an entry the rules refuse is answered with an error and never
//!   written. Certificate serials come from that state, so a refused request takes no number.
//! - **Group commit, pipelined under load.** One writer thread builds every entry: it takes all
//!   jobs waiting in its queue (up to [`MAX_BATCH`]), appends them to the files, and pays one
//!   round of `fdatasync` and one sled commit for all of them. When more jobs are already
//!   waiting behind a big batch, it hands the batch to a committer thread instead and prepares
//!   the next batch while that one is synced (never more than one ahead). Commits happen strictly
//!   in order, and a failed commit poisons every later one.
//! - **Append only.** No code path changes or removes an entry or a Merkle node. Indexes are
//!   contiguous from 0 and kept by the writer, never by sled's `generate_id`.
//! - **Genesis is atomic.** The entries given to [`Ledger::open`] for an empty ledger (the
//!   participant registry) are committed as one batch before anything else.
//! - **Times never go backwards.** An entry's time is the injected clock's, or the previous
//!   entry's time if the clock went back.
//! - **Poisoned on write failure.** If a batch fails to reach the disk, the writer's view can no
//!   longer be trusted: every later append fails with [`LedgerError::Poisoned`] until the process
//!   restarts, which cuts the files back to the last commit.
//! - **Snapshots off the writer.** Every [`SNAPSHOT_EVERY`] entries, or every quarter of the
//!   ledger when that is more, the committer hands the state it publishes (shared, not
//!   copied) to the snapshot thread once its batch is durably committed; that thread
//!   encodes it and stores it in the index, so a snapshot never covers uncommitted entries and
//!   issuance never waits for the encoding (about 1 s at 200,000 entries).
//! - **Start-up** reads the committed size, the last entry, O(log n) Merkle nodes, the nodes kept
//!   in memory for proofs (one read every 64 entries, [`nodes`]) and the latest
//!   state snapshot, then replays the entries after the snapshot (at most a snapshot interval,
//!   plus a batch, plus the entries committed while the last snapshot was being encoded) through [`State::apply`], each
//!   checked against its leaf hash and its predecessor. Entries behind the snapshot are checked
//!   when they are read: every certificate record is proved against the signed tree before it
//!   is answered.

#[cfg(test)]
mod faults;
mod files;
mod index;
mod nodes;
pub mod reader;
mod restore;
mod writer;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread;

use crate::clock::SharedClock;
use crate::codec::export::Frame;
use crate::codec::{decode_entry, entry_hash, snapshot};
use crate::crypto::{Hash, KeyId};
use crate::domain::{Event, State};
use crate::tlog::merkle::{self, Frontier, NodeId, NodeSource};
use crate::tlog::{Checkpoint, NoteSigner};
use files::LogFiles;
use index::Index;
use writer::{Job, Msg, Writer};

pub use restore::restore;
pub use writer::{AppendContext, MAX_BATCH, SNAPSHOT_EVERY};

/// Most jobs waiting for the writer; past it, appends fail at once with [`LedgerError::Busy`]
/// (HTTP 503) instead of piling up memory.
pub const MAX_QUEUED_JOBS: usize = 16_384;

/// Most entries the writer can have in the files without a commit: the batch being committed and
/// the one handed over behind it.
const MAX_UNCOMMITTED_ENTRIES: u64 = 2 * MAX_BATCH as u64;

/// The latest committed checkpoint note, for auditors of a live data folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.txt";

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Another process holds the database (sled's file lock).
    #[error("the data folder {} is in use by another kpcert process (is the server running?); stop it first", .0.display())]
    Locked(PathBuf),
    #[error("storage error: {0}")]
    Storage(String),
    /// An earlier write failed; restart to recover.
    #[error("an earlier write to the ledger failed; restart the server to recover")]
    Poisoned,
    /// The ledger was closed.
    #[error("the ledger is closed")]
    Closed,
    /// The writer's queue is full; retry shortly.
    #[error("the ledger is busy; retry shortly")]
    Busy,
    /// The stored data is not what this version wrote.
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    /// The folders do not belong together (another keys folder, another origin).
    #[error("{0}")]
    Mismatch(String),
    /// The job declined to append: the idempotency key is already taken (by an entry that is
    /// committed or not yet committed).
    #[error("the idempotency key is already used")]
    IdempotencyConflict,
    /// The rules of the ledger refuse the entry (nothing was written).
    #[error("refused by the ledger's rules: {0}")]
    Rejected(String),
    /// The job found its request invalid when it ran (nothing was written).
    #[error("the request is invalid")]
    Invalid(Vec<crate::domain::Problem>),
    /// The certificate number a signed certificate carries is already recorded (nothing was
    /// written).
    #[error("{0}")]
    NumberTaken(String),
    /// A lifecycle request the certificate's state or the actor's role does not allow
    /// (nothing was written).
    #[error("refused: {0:?}")]
    Refused(crate::domain::state::Refusal),
}

impl From<std::io::Error> for LedgerError {
    fn from(e: std::io::Error) -> LedgerError {
        LedgerError::Storage(e.to_string())
    }
}

/// What a job's builder appends: an event and who acted.
pub struct NewEntry {
    pub actor: String,
    /// The key the actor signed the payload with, if any.
    pub key_id: Option<KeyId>,
    pub event: Event,
}

/// A durable append: the entry (its bytes and its event) and a signed checkpoint that covers it.
#[derive(Clone, Debug)]
pub struct Appended {
    pub index: u64,
    pub time_ms: u64,
    pub entry_bytes: Vec<u8>,
    pub event: Event,
    pub checkpoint: Arc<SignedCheckpoint>,
}

/// A checkpoint and its signed note text.
#[derive(Clone, Debug)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

/// What readers see: the latest committed checkpoint and the state of the entries it covers.
#[derive(Clone)]
pub(crate) struct Published {
    pub checkpoint: Arc<SignedCheckpoint>,
    pub state: Arc<State>,
}

pub(crate) struct Shared {
    /// The data folder.
    dir: PathBuf,
    index: Index,
    files: LogFiles,
    published: RwLock<Published>,
    poisoned: AtomicBool,
    closed: AtomicBool,
    /// checkpoint.txt could not be written after the last commit (a read-only folder?).
    stale_checkpoint: AtomicBool,
    /// `checkpoint.txt` as the committer keeps it open, with the length of the note it holds
    /// ([`Shared::publish_checkpoint`]).
    checkpoint_out: Mutex<Option<(std::fs::File, usize)>>,
    /// What a read found that does not match what the ledger commits to (first report kept).
    corrupt: Mutex<Option<String>>,
    /// The size the state snapshot restored at open covered (entries after it were replayed).
    restored_from: u64,
    /// The committed state waiting for the snapshot thread.
    snapshots: writer::SnapshotSlot,
    /// The Merkle nodes kept in memory for proofs.
    upper: nodes::UpperNodes,
    /// The right edge's range hashes of the committed size (the head).
    edges: nodes::EdgeRanges,
}

/// The ledger. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    queue: mpsc::SyncSender<Msg>,
    writer: Arc<Mutex<Option<thread::JoinHandle<()>>>>,
}

/// Creates data folder `dir` readable by its owner only (0700) if it does not exist: it holds
/// every certificate's record (names, carats, values). An existing folder keeps its mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Whether users other than the owner may read or enter data folder `dir`.
pub fn readable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

/// Replaces `dir/checkpoint.txt` atomically with `note`.
fn write_checkpoint_file(dir: &Path, note: &str) -> std::io::Result<()> {
    let tmp = dir.join("checkpoint.txt.partial");
    std::fs::write(&tmp, note.as_bytes())?;
    std::fs::rename(&tmp, dir.join(CHECKPOINT_FILE))
}

impl Shared {
    /// Publishes a committed checkpoint `note` in `checkpoint.txt` for readers of the live
    /// folder; while the ledger is open, the only writer of the file. A note of the length of
    /// the one the file holds (every note while the tree size keeps its number of digits) is
    /// written over it in place, one `pwrite`; otherwise, or when the file was removed or
    /// replaced behind the service's back, it is replaced by rename. Replacing by rename on
    /// every commit cost this file system about a device flush each time (the new file's
    /// blocks are written out at the rename and the journal commit of the next `fdatasync`
    /// carries them). A reader may catch an in-place write half done:
    /// [`reader::read_checkpoint_note`] reads again until its signature verifies, and a note
    /// that does not verify is never trusted (at open, one that does not verify is reported,
    /// ignored and written anew).
    fn publish_checkpoint(&self, note: &str) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let mut out = self
            .checkpoint_out
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((file, len)) = out.as_ref() {
            // Still the folder's checkpoint.txt (not unlinked by a removal or a replacement).
            let linked = {
                use std::os::unix::fs::MetadataExt as _;
                file.metadata().is_ok_and(|m| m.nlink() > 0)
            };
            if *len == note.len() && linked {
                return file.write_all_at(note.as_bytes(), 0);
            }
        }
        *out = None;
        write_checkpoint_file(&self.dir, note)?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join(CHECKPOINT_FILE))?;
        *out = Some((file, note.len()));
        Ok(())
    }
}

/// The ledger state of the committed entries: the latest snapshot, then the entries after it
/// (the size the snapshot covers is the second value), each checked against its leaf in the
/// Merkle tree and its predecessor's hash before the state takes it.
fn restore_state(index: &Index, files: &LogFiles, size: u64) -> Result<(State, u64), LedgerError> {
    let corrupt = |what: String| LedgerError::Corrupt(what);
    let (mut state, snapshot_head) = match index.snapshot()? {
        Some(bytes) if snapshot::is_current(&bytes) => snapshot::decode_state(&bytes)
            .map_err(|e| corrupt(format!("the state snapshot: {e}")))?,
        Some(_) => {
            tracing::warn!(
                "the state snapshot is of another version ({} expected): replaying the ledger from entry 0",
                snapshot::SNAPSHOT_CONTEXT
            );
            (State::new(), [0u8; 32])
        }
        None => (State::new(), [0u8; 32]),
    };
    if state.size() > size {
        return Err(corrupt(format!(
            "the state snapshot covers {} entries but only {size} are committed",
            state.size()
        )));
    }
    let from = state.size();
    let mut prev = match from {
        0 => [0u8; 32],
        n => entry_hash(&files.entry(n - 1)?),
    };
    if prev != snapshot_head {
        return Err(corrupt(format!(
            "the state snapshot was not taken of these {from} entries (its head hash differs)"
        )));
    }
    for i in from..size {
        // With its record: the state keeps what the full records establish (a certificate's
        // destination and goods, what a confirmation received), which later entries are judged
        // by. State::apply checks each record against its entry's commitment.
        let frame = files.frame(i)?;
        let bytes = frame.entry;
        if files.node(NodeId { level: 0, index: i })? != merkle::leaf_hash(&bytes) {
            return Err(corrupt(format!(
                "entry {i} does not match its leaf hash in nodes.dat (the entry or the tree was changed)"
            )));
        }
        let mut entry = decode_entry(&bytes).map_err(|e| corrupt(format!("entry {i}: {e}")))?;
        crate::codec::attach_record(&mut entry, &frame.record)
            .map_err(|e| corrupt(format!("the record of entry {i}: {e}")))?;
        // The state keeps the hash of a certificate's seal, and a scanned seal with that hash is
        // taken for the recorded one: the seal must state the certificate under its key, as
        // when it was recorded (its signature was verified then, and is verified again on
        // every scan).
        if let crate::domain::Event::CertificateIssued(signed) = &entry.event {
            if let Some(full) = &signed.record {
                crate::codec::record::check_seal(full, &signed.issuance)
                    .map_err(|why| corrupt(format!("the record of entry {i}: {why}")))?;
            }
        }
        if entry.prev != prev {
            return Err(corrupt(format!(
                "entry {i} does not chain to the entry before it"
            )));
        }
        state
            .apply(&entry)
            .map_err(|v| corrupt(format!("entry {i}: {v}")))?;
        prev = entry_hash(&bytes);
    }
    Ok((state, from))
}

impl Ledger {
    /// Whether `dir` holds ledger entries (without opening or locking anything).
    pub fn holds_entries(dir: &Path) -> bool {
        std::fs::metadata(dir.join(files::ENTRIES_FILE)).is_ok_and(|m| m.len() > 0)
    }

    /// Whether `dir` holds any of a ledger's own files (entries, the published checkpoint, the
    /// index), even empty or alone: a folder with none is no data folder.
    pub fn holds_ledger_files(dir: &Path) -> bool {
        [files::ENTRIES_FILE, CHECKPOINT_FILE, index::INDEX_DIR]
            .iter()
            .any(|name| dir.join(name).exists())
    }

    /// Opens the files and the index, checks that they belong together, restores the state and
    /// returns the writer, not yet running.
    fn open_writer(
        dir: &Path,
        signer: NoteSigner,
        clock: SharedClock,
    ) -> Result<Writer, LedgerError> {
        let started = std::time::Instant::now();
        create_private_dir(dir)?;
        let index = Index::open(dir)?;
        let index_opened = started.elapsed();
        // sled's lock is held from here on: no other process touches the files below.
        let size = index.size()?;
        let files = LogFiles::open(dir)?;
        if !index.is_created()? {
            if files.entries_len()? > 0 {
                return Err(LedgerError::Corrupt(
                    "the index/ folder is new but the ledger files are not empty (lost or replaced index?)"
                        .into(),
                ));
            }
            index.mark_created(dir, clock.now_ms())?;
        }
        // The last checkpoint the service published for auditors (checkpoint.txt) is signed: a
        // size beyond the index's means the index is older than what was acknowledged (a
        // backup of index/ restored over newer files). Never cut what a signed checkpoint
        // covered.
        if let Ok(note) = std::fs::read_to_string(dir.join(CHECKPOINT_FILE)) {
            let published = signer.verifier().open(&note);
            if published.is_err() {
                // Written over in place after each commit: a power cut in the middle of a
                // write can leave it torn. It is written anew below; only this check is lost.
                tracing::warn!(
                    "{} does not verify with the ledger key (torn by a power cut during a write, or changed): ignored and written anew; the check that index/ is not older than the last published checkpoint is skipped this once",
                    dir.join(CHECKPOINT_FILE).display()
                );
            }
            if let Ok(published) = published {
                if published.size > size {
                    return Err(LedgerError::Mismatch(format!(
                        "{}/index/ has committed {size} entries but {} was signed and published for {}: \
                         the index is older than the ledger files (restored from an older backup?). \
                         Nothing was changed. Restore index/ together with the files of the same backup, \
                         or rebuild the folder from an export with `kpcert restore`",
                        dir.display(),
                        CHECKPOINT_FILE,
                        published.size
                    )));
                }
            }
        }
        let derived = index.derived()?;
        let entries_end = files.recover(size, derived.unwrap_or(size), MAX_UNCOMMITTED_ENTRIES)?;
        let frontier = Frontier::load(&files, size)?;
        let upper = nodes::UpperNodes::load(&files, size)?;
        let prev = match index.head()? {
            Some(head) => head,
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
        if size > 0 {
            let bytes = files.entry(size - 1)?;
            if entry_hash(&bytes) != prev {
                return Err(LedgerError::Corrupt(format!(
                    "entry {} does not match the committed head hash",
                    size - 1
                )));
            }
            let leaf = NodeId {
                level: 0,
                index: size - 1,
            };
            if files.node(leaf)? != merkle::leaf_hash(&bytes) {
                return Err(LedgerError::Corrupt(format!(
                    "nodes.dat does not match entry {}",
                    size - 1
                )));
            }
        }
        if let Some(note) = index.checkpoint()? {
            let stored = signer.verifier().open(&note).map_err(|e| {
                LedgerError::Mismatch(format!(
                    "this ledger's checkpoints were not signed by the ledger key and origin \
                     in use ({e}): the keys folder does not belong to this data folder \
                     (point --keys-dir at the one created with it)"
                ))
            })?;
            if stored != head.checkpoint {
                return Err(LedgerError::Corrupt(format!(
                    "the stored checkpoint (size {}) does not match the tree on disk (size {})",
                    stored.size, size
                )));
            }
        }
        // The committed part checked: only now is anything past it cut off.
        files.cut_uncommitted(size, entries_end)?;
        if derived.is_none_or(|d| d < size) {
            // recover() made both derived files durable for every committed entry: record it,
            // so that a crash before their next sync rebuilds only what comes after (an index
            // written before this was recorded needs it too).
            index.record_derived(size)?;
        }
        let (state, snapshot_size) = restore_state(&index, &files, size)?;
        let state_ms = started.elapsed();
        let replay_ms = (state_ms - index_opened).as_millis() as u64;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            index,
            files,
            published: RwLock::new(Published {
                checkpoint: head,
                state: Arc::new(state.clone()),
            }),
            poisoned: false.into(),
            closed: false.into(),
            stale_checkpoint: false.into(),
            checkpoint_out: Mutex::new(None),
            corrupt: Mutex::new(None),
            restored_from: snapshot_size,
            snapshots: writer::SnapshotSlot::default(),
            upper,
            edges: nodes::EdgeRanges::default(),
        });
        tracing::info!(
            size,
            replayed = size - snapshot_size,
            index_ms = index_opened.as_millis() as u64,
            replay_ms,
            total_ms = state_ms.as_millis() as u64,
            "opened the ledger"
        );
        Ok(Writer {
            shared: shared.clone(),
            signer,
            clock,
            frontier,
            prev,
            // The next snapshot is due SNAPSHOT_EVERY entries after the stored one, however
            // often the service restarts.
            snapshot_size,
            state,
            snapshot_every: SNAPSHOT_EVERY,
            // recover() made both files durable up to the committed size.
            derived_size: size,
            derived_every: writer::DERIVED_SYNC_EVERY,
            claimed: VecDeque::new(),
            entries_end: shared.files.entries_len()?,
        })
    }

    /// Opens (or creates) the ledger in `dir` and starts its writer thread, with `clock` for the
    /// entries' times. If the ledger is empty, `genesis` is appended first, atomically.
    pub fn open(
        dir: &Path,
        signer: NoteSigner,
        clock: SharedClock,
        genesis: Vec<NewEntry>,
    ) -> Result<Ledger, LedgerError> {
        Self::open_with(dir, signer, clock, genesis, SNAPSHOT_EVERY)
    }

    /// [`Ledger::open`] keeping a state snapshot every `snapshot_every` entries (tests and
    /// benchmarks use small values to exercise the snapshot path).
    pub fn open_with(
        dir: &Path,
        signer: NoteSigner,
        clock: SharedClock,
        genesis: Vec<NewEntry>,
        snapshot_every: u64,
    ) -> Result<Ledger, LedgerError> {
        let mut writer = Self::open_writer(dir, signer, clock)?;
        writer.snapshot_every = snapshot_every.max(1);
        let shared = writer.shared.clone();
        let size = writer.state.size();
        let (queue, jobs) = mpsc::sync_channel::<Msg>(MAX_QUEUED_JOBS);
        if size == 0 && !genesis.is_empty() {
            let failed: Arc<Mutex<Option<LedgerError>>> = Arc::default();
            let jobs = genesis
                .into_iter()
                .map(|entry| {
                    let failed = failed.clone();
                    Job {
                        build: Box::new(move |_| Ok(vec![entry])),
                        reply: Box::new(move |r| {
                            if let Err(e) = r {
                                *failed.lock().expect("genesis lock") = Some(e);
                            }
                        }),
                        order: None,
                    }
                })
                .collect();
            // All of genesis or none of it: a job that failed leaves the prepared batch
            // uncommitted (the next open cuts it from the files).
            let prepared = writer.prepare(jobs);
            let failure = failed.lock().expect("genesis lock").take();
            if let Some(e) = failure {
                return Err(e);
            }
            if let Some(prepared) = prepared {
                writer::commit(&writer.shared, prepared);
            }
            let failure = failed.lock().expect("genesis lock").take();
            if let Some(e) = failure {
                return Err(e);
            }
        }
        // Auditors of the live folder read the committed checkpoint from here.
        let published = shared.published.read().expect("published lock").clone();
        shared.publish_checkpoint(&published.checkpoint.note)?;
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
    /// writer thread and must be quick: it sees the next index and the ledger state.
    pub fn submit(
        &self,
        build: impl FnOnce(&mut AppendContext<'_>) -> Result<NewEntry, LedgerError> + Send + 'static,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        self.submit_all(
            move |ctx| build(ctx).map(|new| vec![new]),
            move |r| reply(r.map(|mut all| all.swap_remove(0))),
        )
    }

    /// [`Ledger::submit`] for a job whose entries stand or fall together: all are appended,
    /// consecutively and in one commit, or none is.
    pub fn submit_all(
        &self,
        build: impl FnOnce(&mut AppendContext<'_>) -> Result<Vec<NewEntry>, LedgerError>
            + Send
            + 'static,
        reply: impl FnOnce(Result<Vec<Appended>, LedgerError>) + Send + 'static,
    ) {
        self.queue_job(Job {
            build: Box::new(build),
            reply: Box::new(reply),
            order: None,
        })
    }

    /// [`Ledger::submit`] for a job with a place in sequence `order.0`: within a batch such
    /// jobs are built in the order of `order.1`, whatever order they were queued in.
    pub fn submit_ordered(
        &self,
        order: (String, u64),
        build: impl FnOnce(&mut AppendContext<'_>) -> Result<NewEntry, LedgerError> + Send + 'static,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        self.queue_job(Job {
            build: Box::new(move |ctx| build(ctx).map(|new| vec![new])),
            reply: Box::new(move |r| reply(r.map(|mut all| all.swap_remove(0)))),
            order: Some(order),
        })
    }

    fn queue_job(&self, job: Job) {
        if self.shared.closed.load(Ordering::SeqCst) {
            return (job.reply)(Err(LedgerError::Closed));
        }
        match self.queue.try_send(Msg::Job(job)) {
            Ok(()) => crate::metrics::global().queued(1),
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

    fn published(&self) -> Published {
        self.shared
            .published
            .read()
            .expect("published lock")
            .clone()
    }

    /// The latest signed checkpoint.
    pub fn head(&self) -> Arc<SignedCheckpoint> {
        self.published().checkpoint
    }

    /// The ledger state as of the latest checkpoint.
    pub fn state(&self) -> Arc<State> {
        self.published().state
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

    /// Committed entries `[start, end)` in order, each checked against its leaf in the tree
    /// (which also catches an `offsets.dat` that points elsewhere).
    pub fn entries(
        &self,
        start: u64,
        end: u64,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>), LedgerError>> + '_ {
        self.frames(start, end)
            .map(|r| r.map(|(i, frame)| (i, frame.entry)))
    }

    /// Committed entries `[start, end)` with their full records, each entry checked against
    /// its leaf in the tree (the record is the caller's to check against its entry).
    pub fn frames(
        &self,
        start: u64,
        end: u64,
    ) -> impl Iterator<Item = Result<(u64, Frame), LedgerError>> + '_ {
        let end = end.min(self.size());
        (start..end).map(move |i| {
            let files = &self.shared.files;
            let frame = files.frame(i)?;
            if files.node(NodeId { level: 0, index: i })? != merkle::leaf_hash(&frame.entry) {
                return Err(self.corruption(format!(
                    "entry {i} as read does not match its leaf hash in nodes.dat"
                )));
            }
            Ok((i, frame))
        })
    }

    /// Committed entry `index` with its full record (not yet checked against each other or
    /// the tree: see [`Ledger::proven_inclusion`]).
    pub fn frame(&self, index: u64) -> Result<Option<Frame>, LedgerError> {
        if index >= self.size() {
            return Ok(None);
        }
        self.shared.files.frame(index).map(Some)
    }

    /// The committed entry that claimed idempotency `key` of `actor`, with its request hash.
    pub fn idempotency(&self, actor: &str, key: &str) -> Result<Option<(Hash, u64)>, LedgerError> {
        let size = self.size();
        Ok(self
            .shared
            .index
            .idempotency(actor, key)?
            .filter(|&(_, index)| index < size))
    }

    /// Records that data read from disk does not match what the ledger commits to, logs it,
    /// and returns the error to answer with. `/healthz` reports it until the restart, which
    /// checks the files again.
    pub fn corruption(&self, what: String) -> LedgerError {
        tracing::error!(problem = %what, "ledger data read from disk does not match the ledger");
        crate::metrics::global().corruption();
        // A remembered range hash may come from the bad read: compute them afresh.
        self.shared.edges.forget();
        self.shared
            .corrupt
            .lock()
            .expect("corrupt lock")
            .get_or_insert_with(|| what.clone());
        LedgerError::Corrupt(what)
    }

    /// How many entries the state snapshot covered when the ledger opened (the rest were
    /// replayed through the rules).
    pub fn restored_from_snapshot(&self) -> u64 {
        self.shared.restored_from
    }

    /// The first corruption a read found since start, if any.
    pub fn corrupt(&self) -> Option<String> {
        self.shared.corrupt.lock().expect("corrupt lock").clone()
    }

    /// Whether the ledger cannot commit right now: the writer stopped (a failed write, or
    /// closed), or the last commit could not publish checkpoint.txt.
    pub fn is_unavailable(&self) -> bool {
        self.shared.poisoned.load(Ordering::SeqCst)
            || self.shared.closed.load(Ordering::SeqCst)
            || self.shared.stale_checkpoint.load(Ordering::SeqCst)
    }

    /// The Merkle nodes of the tree of `size` committed entries, for one proof.
    fn nodes(&self, size: u64) -> nodes::ProofNodes<'_> {
        // Only the head's edge is remembered: a proof against an older size (the public proof
        // endpoints take any) neither uses nor replaces it.
        let edges = (size == self.size()).then_some(&self.shared.edges);
        nodes::ProofNodes::new(&self.shared.files, &self.shared.upper, edges, size)
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

    /// The root of the first `size` entries, proved against the latest signed checkpoint (a
    /// consistency proof from `size` to it): nodes.dat is not trusted on its own.
    pub fn proven_root(&self, size: u64) -> Result<Hash, LedgerError> {
        let head = self.head();
        let signed = &head.checkpoint;
        self.check_size(size)?;
        if size == signed.size {
            return Ok(signed.root);
        }
        let files = &self.nodes(signed.size);
        let root = merkle::root(files, size)?;
        if size > 0 {
            let proof = merkle::consistency_proof(files, size, signed.size)?;
            merkle::verify_consistency(size, signed.size, &proof, &root, &signed.root).map_err(
                |e| {
                    self.corruption(format!(
                        "nodes.dat gives a root for size {size} that the signed checkpoint of size {} does not extend ({e})",
                        signed.size
                    ))
                },
            )?;
        }
        Ok(root)
    }

    /// Inclusion proof of entry `index`, whose bytes are `entry`, in the tree `checkpoint`
    /// (signed, or proved with [`Ledger::proven_root`]), checked against its root before it is
    /// returned: a proof that does not lead to the root, or entry bytes that are not its leaf,
    /// are corruption.
    pub fn proven_inclusion(
        &self,
        index: u64,
        entry: &[u8],
        checkpoint: &Checkpoint,
    ) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(checkpoint.size)?;
        let proof = merkle::inclusion_proof(&self.nodes(checkpoint.size), index, checkpoint.size)?;
        merkle::verify_inclusion(
            &merkle::leaf_hash(entry),
            index,
            checkpoint.size,
            &proof,
            &checkpoint.root,
        )
        .map_err(|e| {
            self.corruption(format!(
                "entry {index} is not what the signed tree of size {} commits to ({e})",
                checkpoint.size
            ))
        })?;
        Ok(proof)
    }

    /// Consistency proof between sizes `from` and `to` (`0 < from <= to <= current`), checked
    /// against the proved roots of both sizes before it is returned.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        let root_to = self.proven_root(to)?;
        let files = &self.nodes(to);
        let proof = merkle::consistency_proof(files, from, to)?;
        let root_from = merkle::root(files, from)?;
        merkle::verify_consistency(from, to, &proof, &root_from, &root_to).map_err(|e| {
            self.corruption(format!(
                "nodes.dat gives a consistency proof from {from} to {to} that does not verify ({e})"
            ))
        })?;
        Ok(proof)
    }

    /// Stops the writer after the jobs queued so far and flushes. Later appends fail with
    /// [`LedgerError::Closed`].
    pub fn close(&self) {
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = self.queue.send(Msg::Stop);
            let _ = handle.join();
            if !self.shared.poisoned.load(Ordering::SeqCst) {
                self.shared.index.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::codec::entry::encode_entry;
    use crate::crypto::SigningKey;
    use crate::domain::country::ISO_3166_1_ALPHA_2;
    use crate::domain::{CountryCode, Participant, ParticipantKind, SECRETARIAT};
    use crate::tlog::merkle::MemoryTree;
    use std::fs::OpenOptions;
    use std::io::Write as _;
    use writer::Job;

    fn signer() -> NoteSigner {
        NoteSigner::new("test/ledger", SigningKey::from_seed(&[5; 32]))
    }

    fn open(dir: &Path, signer: NoteSigner) -> Result<Ledger, LedgerError> {
        Ledger::open(dir, signer, ManualClock::at(1_800_000_000_000), Vec::new())
    }

    /// Appends `n` participant registrations, the next unregistered country codes.
    fn append(ledger: &Ledger, n: u64) {
        for _ in 0..n {
            ledger
                .append_blocking(move |ctx| {
                    let code = ISO_3166_1_ALPHA_2
                        .iter()
                        .filter_map(|c| CountryCode::country(c))
                        .find(|c| !ctx.state().is_participant(*c))
                        .unwrap();
                    Ok(NewEntry {
                        actor: SECRETARIAT.into(),
                        key_id: None,
                        event: Event::ParticipantRegistered(Participant {
                            code,
                            name: format!("Country {code}"),
                            region: "Test".into(),
                            kind: ParticipantKind::Participant,
                        }),
                    })
                })
                .unwrap();
        }
    }

    #[test]
    fn checkpoint_txt_states_every_commit_before_it_is_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CHECKPOINT_FILE);
        // A genesis: committed inside the open, before the file is first published.
        let genesis: Vec<NewEntry> = ["BW", "AE"]
            .into_iter()
            .map(|c| NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::ParticipantRegistered(Participant {
                    code: CountryCode::country(c).unwrap(),
                    name: format!("Country {c}"),
                    region: "Test".into(),
                    kind: ParticipantKind::Participant,
                }),
            })
            .collect();
        let ledger = Ledger::open(
            dir.path(),
            signer(),
            ManualClock::at(1_800_000_000_000),
            genesis,
        )
        .unwrap();
        let verifier = signer().verifier();
        let published =
            || reader::read_checkpoint_note(&path, |n| verifier.open(n).is_ok()).unwrap();
        assert_eq!(published(), ledger.head().note, "at open");
        // From 0 to 12 entries: written in place while the size keeps its digits, replaced
        // when it gains one (the file keeps being the one the committer writes to).
        for _ in 0..12 {
            append(&ledger, 1);
            assert_eq!(published(), ledger.head().note);
        }
        ledger.close();
        drop(ledger);
        let ledger = open(dir.path(), signer()).unwrap();
        assert_eq!(published(), ledger.head().note, "after a restart");
        append(&ledger, 1);
        assert_eq!(published(), ledger.head().note);
        // Removed, or replaced by another file, behind the service's back: the next commit
        // publishes it again (not into the unlinked file it had open).
        std::fs::remove_file(&path).unwrap();
        append(&ledger, 1);
        assert_eq!(published(), ledger.head().note, "after a removal");
        std::fs::write(dir.path().join("other"), "not a note").unwrap();
        std::fs::rename(dir.path().join("other"), &path).unwrap();
        append(&ledger, 1);
        assert_eq!(published(), ledger.head().note, "after a replacement");
    }

    #[test]
    fn an_entry_the_rules_refuse_is_answered_with_an_error_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 2);
        let before = ledger.head();
        let taken = ledger
            .state()
            .participants()
            .next()
            .unwrap()
            .participant
            .clone();
        let result = ledger.append_blocking(move |_| {
            Ok(NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::ParticipantRegistered(taken),
            })
        });
        match result {
            Err(LedgerError::Rejected(why)) => assert!(why.contains("registered twice"), "{why}"),
            other => panic!("expected a refusal, got {:?}", other.map(|a| a.index)),
        }
        assert_eq!(ledger.head().note, before.note, "nothing was appended");
        append(&ledger, 1);
        assert_eq!(ledger.size(), 3);
        assert_eq!(replayed_root(&ledger), ledger.head().checkpoint.root);
    }

    /// A job that claims idempotency key `key` and registers the next participant, and what it
    /// was answered.
    fn claiming(
        key: &'static str,
    ) -> (
        Job,
        std::sync::mpsc::Receiver<Result<Vec<Appended>, LedgerError>>,
    ) {
        let (tx, rx) = std::sync::mpsc::channel();
        let job = Job {
            build: Box::new(move |ctx| {
                ctx.claim_idempotency("BW-A1", key, &[7; 32])?;
                let code = ISO_3166_1_ALPHA_2
                    .iter()
                    .filter_map(|c| CountryCode::country(c))
                    .find(|c| !ctx.state().is_participant(*c))
                    .unwrap();
                Ok(vec![NewEntry {
                    actor: SECRETARIAT.into(),
                    key_id: None,
                    event: Event::ParticipantRegistered(Participant {
                        code,
                        name: format!("Country {code}"),
                        region: "Test".into(),
                        kind: ParticipantKind::Participant,
                    }),
                }])
            }),
            reply: Box::new(move |r| {
                let _ = tx.send(r);
            }),
            order: None,
        };
        (job, rx)
    }

    #[test]
    fn an_idempotency_key_claimed_by_a_batch_still_committing_stays_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            Ledger::open_writer(dir.path(), signer(), ManualClock::at(1_800_000_000_000)).unwrap();
        // Batch A claims K and is prepared but not committed (as when the committer holds it).
        let (a, _) = claiming("K");
        let held = writer.prepare(vec![a]).expect("batch A writes");
        // Batch B writes nothing: every job in it fails.
        let (failing, failed) = claiming("K");
        assert!(writer.prepare(vec![failing]).is_none());
        assert!(matches!(
            failed.recv().unwrap(),
            Err(LedgerError::IdempotencyConflict)
        ));
        // Batch C must still see A's claim.
        let (c, answer) = claiming("K");
        assert!(writer.prepare(vec![c]).is_none());
        assert!(matches!(
            answer.recv().unwrap(),
            Err(LedgerError::IdempotencyConflict)
        ));
        drop(held);
    }

    #[test]
    fn a_fault_at_any_step_of_a_commit_loses_nothing_acknowledged_and_adds_nothing_else() {
        use faults::Step;
        for step in [Step::NoSpace, Step::ShortWrite, Step::Sync, Step::Commit] {
            let dir = tempfile::tempdir().unwrap();
            let ledger = open(dir.path(), signer()).unwrap();
            append(&ledger, 3);
            let acknowledged = ledger.head();
            ledger.shared.files.faults.arm(step);
            let failed = ledger.append_blocking(|ctx| {
                let code = ISO_3166_1_ALPHA_2
                    .iter()
                    .filter_map(|c| CountryCode::country(c))
                    .find(|c| !ctx.state().is_participant(*c))
                    .unwrap();
                Ok(NewEntry {
                    actor: SECRETARIAT.into(),
                    key_id: None,
                    event: Event::ParticipantRegistered(Participant {
                        code,
                        name: "Never acknowledged".into(),
                        region: "Test".into(),
                        kind: ParticipantKind::Participant,
                    }),
                })
            });
            assert!(
                failed.is_err(),
                "{step:?}: the failed commit is not acknowledged"
            );
            assert!(ledger.is_unavailable(), "{step:?}: poisoned until restart");
            assert_eq!(
                ledger.head().note,
                acknowledged.note,
                "{step:?}: nothing published"
            );
            ledger.close();
            drop(ledger);

            // The restart keeps exactly what was acknowledged, and the folder audits clean.
            let ledger = open(dir.path(), signer()).unwrap();
            assert_eq!(ledger.size(), acknowledged.checkpoint.size, "{step:?}");
            assert_eq!(
                ledger.head().checkpoint,
                acknowledged.checkpoint,
                "{step:?}"
            );
            assert!(ledger
                .state()
                .participants()
                .all(|p| p.participant.name != "Never acknowledged"));
            append(&ledger, 1);
            ledger.close();
            drop(ledger);
            let report = crate::audit::audit_folder(
                dir.path(),
                &signer().verifier(),
                None,
                crate::audit::Options::default(),
                |_, _| {},
            )
            .unwrap_or_else(|f| panic!("{step:?}: {f}"));
            assert_eq!(report.entries, acknowledged.checkpoint.size + 1, "{step:?}");
        }
    }

    #[test]
    fn the_state_is_restored_from_its_snapshot_and_the_entries_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 7);
        let state = ledger.state();
        ledger.close();
        drop(ledger);
        let ledger = open(dir.path(), signer()).unwrap();
        assert_eq!(*ledger.state(), *state, "replayed from entry 0");
        ledger.close();
        drop(ledger);
        // A snapshot at 3 entries: the 4 after it are replayed on top.
        let index = Index::open(dir.path()).unwrap();
        let files = LogFiles::open(dir.path()).unwrap();
        let mut partial = State::new();
        for i in 0..3 {
            partial
                .apply(&decode_entry(&files.entry(i).unwrap()).unwrap())
                .unwrap();
        }
        let mut batch = index::Batch::default();
        let head = entry_hash(&files.entry(2).unwrap());
        batch.snapshot(&snapshot::encode_state(&partial, &head));
        index.apply(batch).unwrap();
        index.flush_durably().unwrap();
        drop(index);
        let ledger = open(dir.path(), signer()).unwrap();
        assert_eq!(*ledger.state(), *state, "snapshot plus replay");
        ledger.close();
    }

    fn replayed_root(ledger: &Ledger) -> Hash {
        let mut tree = MemoryTree::default();
        let mut prev = [0u8; 32];
        for item in ledger.entries(0, ledger.size()) {
            let (i, bytes) = item.unwrap();
            let entry = decode_entry(&bytes).unwrap();
            assert_eq!(encode_entry(&entry), bytes);
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
        let ledger = open(dir.path(), signer()).unwrap();
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
        let ledger = open(dir.path(), signer()).unwrap();
        assert_eq!(ledger.size(), 5);
        assert_eq!(ledger.head().checkpoint.root, root);
        append(&ledger, 3);
        assert_eq!(ledger.size(), 8);
        assert_eq!(replayed_root(&ledger), ledger.head().checkpoint.root);
        assert_eq!(merkle::root(&ledger.shared.files, 5).unwrap(), root);
        ledger.close();
        drop(ledger);

        // Losing committed bytes is corruption, never silently accepted.
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join("nodes.dat"))
            .unwrap();
        f.set_len(32).unwrap();
        match open(dir.path(), signer()) {
            Err(LedgerError::Corrupt(why)) => assert!(why.contains("nodes.dat"), "{why}"),
            other => panic!("expected corruption, got {:?}", other.map(|l| l.size())),
        }
    }

    #[test]
    fn offsets_and_nodes_are_synced_every_so_many_entries_and_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            Ledger::open_writer(dir.path(), signer(), ManualClock::at(1_800_000_000_000)).unwrap();
        writer.derived_every = 3;
        let mut recorded = Vec::new();
        for key in ["A", "B", "C", "D", "E", "F", "G"] {
            let (job, answer) = claiming(key);
            let prepared = writer.prepare(vec![job]).expect("one entry");
            writer::commit(&writer.shared, prepared);
            assert!(answer.recv().unwrap().is_ok());
            recorded.push(writer.shared.index.derived().unwrap().unwrap());
        }
        assert_eq!(recorded, [0, 0, 3, 3, 3, 6, 6]);
        drop(writer);

        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 2);
        ledger.close();
        drop(ledger);
        let index = Index::open(dir.path()).unwrap();
        assert_eq!(
            index.derived().unwrap(),
            Some(9),
            "a clean close syncs them"
        );
    }

    #[test]
    fn a_folder_from_before_the_derived_mark_gets_it_at_its_first_open() {
        // The mark was missing: every commit had synced the derived files, so they are durable
        // for the committed size, and the open records that before any lazy commit runs
        // (else a power cut before their first sync would find them short of the size the
        // missing mark stands for: refused although entries.dat holds everything).
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 3);
        ledger.close();
        drop(ledger);
        let index = Index::open(dir.path()).unwrap();
        index.forget_derived().unwrap();
        assert_eq!(index.derived().unwrap(), None);
        drop(index);
        let ledger = open(dir.path(), signer()).unwrap();
        assert_eq!(ledger.shared.index.derived().unwrap(), Some(3));
        append(&ledger, 2);
        assert_eq!(
            ledger.shared.index.derived().unwrap(),
            Some(3),
            "a power cut now rebuilds entries 3 and 4"
        );
    }

    #[test]
    fn an_index_older_than_the_entries_is_refused_before_anything_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 10);
        ledger.close();
        drop(ledger);
        // As after a power cut with an older index/ restored: it has committed 4 entries, and
        // offsets.dat was not durable past them; entries.dat holds all 10.
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join("offsets.dat"))
            .unwrap();
        f.set_len(4 * 8).unwrap();
        let entries = std::fs::read(dir.path().join("entries.dat")).unwrap();
        let files = LogFiles::open(dir.path()).unwrap();
        match files.recover(4, 4, 5) {
            Err(LedgerError::Corrupt(why)) => assert!(why.contains("entries.dat"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(
            std::fs::read(dir.path().join("entries.dat")).unwrap(),
            entries
        );
        // Within the tail two batches may leave, the committed part is found, nothing cut yet.
        let end = files.recover(4, 4, 6).unwrap();
        assert_eq!(
            end,
            files.offset(3).unwrap() + files.frame(3).unwrap().framed_len()
        );
        assert_eq!(
            std::fs::read(dir.path().join("entries.dat")).unwrap(),
            entries
        );
    }

    #[test]
    fn offsets_and_nodes_lost_in_a_power_cut_are_rebuilt_from_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 9);
        let (mut head, mut state) = (ledger.head(), ledger.state());
        ledger.close();
        drop(ledger);
        // As after a power cut: the index has the two derived files durable for 3 entries
        // only, and what was written after that is gone, or reads as zeros.
        let durable = 3;
        for zeros in [false, true] {
            Index::open(dir.path())
                .unwrap()
                .record_derived(durable)
                .unwrap();
            for (name, keep) in [
                ("offsets.dat", durable * 8),
                ("nodes.dat", merkle::stored_hash_count(durable) * 32),
            ] {
                let f = OpenOptions::new()
                    .write(true)
                    .open(dir.path().join(name))
                    .unwrap();
                let len = f.metadata().unwrap().len();
                f.set_len(keep).unwrap();
                if zeros {
                    f.set_len(len).unwrap();
                }
            }
            let ledger = open(dir.path(), signer()).unwrap();
            assert_eq!(ledger.head().checkpoint, head.checkpoint, "zeros: {zeros}");
            assert_eq!(*ledger.state(), *state);
            assert_eq!(replayed_root(&ledger), head.checkpoint.root);
            for i in 0..head.checkpoint.size {
                let entry = ledger.shared.files.entry(i).unwrap();
                ledger
                    .proven_inclusion(i, &entry, &head.checkpoint)
                    .unwrap();
            }
            append(&ledger, 1);
            assert_eq!(replayed_root(&ledger), ledger.head().checkpoint.root);
            (head, state) = (ledger.head(), ledger.state());
            ledger.close();
            drop(ledger);
        }
        // A committed entry missing from entries.dat is never rebuilt: it is corruption.
        let f = OpenOptions::new()
            .write(true)
            .open(dir.path().join("entries.dat"))
            .unwrap();
        f.set_len(f.metadata().unwrap().len() - 10).unwrap();
        Index::open(dir.path())
            .unwrap()
            .record_derived(durable)
            .unwrap();
        match open(dir.path(), signer()) {
            Err(LedgerError::Corrupt(why)) => assert!(why.contains("entries.dat"), "{why}"),
            other => panic!("expected corruption, got {:?}", other.map(|l| l.size())),
        }
    }

    #[test]
    fn a_lost_index_or_a_foreign_key_is_refused_not_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path(), signer()).unwrap();
        append(&ledger, 4);
        ledger.close();
        drop(ledger);

        let other = NoteSigner::new("test/ledger", SigningKey::from_seed(&[6; 32]));
        match open(dir.path(), other) {
            Err(LedgerError::Mismatch(why)) => assert!(why.contains("keys folder"), "{why}"),
            other => panic!("expected refusal, got {:?}", other.map(|l| l.size())),
        }
        let renamed = NoteSigner::new("test/other", SigningKey::from_seed(&[5; 32]));
        assert!(matches!(
            open(dir.path(), renamed),
            Err(LedgerError::Mismatch(_))
        ));

        std::fs::remove_dir_all(dir.path().join("index")).unwrap();
        match open(dir.path(), signer()) {
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
        let _ledger = open(dir.path(), signer()).unwrap();
        match open(dir.path(), signer()) {
            Err(LedgerError::Locked(_)) => {}
            other => panic!("expected Locked, got {:?}", other.map(|l| l.size())),
        }
    }
}
