//! The writer thread (and its committer): the only code that appends to the ledger. Each job
//! builds its entries (one, or several that stand or fall together, such as a replacement's new
//! certificate and void) against the ledger state as it will be when they are appended; the
//! writer applies the entry to that state ([`State::apply`]: what may not follow is refused
//! here, before anything is written), encodes it, appends it with every other job waiting, signs
//! one checkpoint for the batch, and hands the batch to [`commit`].

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;

use super::index::Batch;
use super::{Appended, LedgerError, NewEntry, Published, Shared, SignedCheckpoint};
use crate::clock::SharedClock;
use crate::codec::export::{Frame, MAX_ENTRY_BYTES};
use crate::codec::{encode_entry, encode_entry_record, entry_hash, snapshot};
use crate::crypto::Hash;
use crate::domain::{Entry, Event, State};
use crate::tlog::merkle::{self, Frontier};
use crate::tlog::{Checkpoint, NoteSigner};

/// Most jobs one group commit takes.
pub const MAX_BATCH: usize = 4096;

/// Smallest batch worth handing to the committer thread while more jobs wait.
const PIPELINE_MIN_BATCH: usize = 32;

/// A snapshot of the state is kept every this many entries, or every quarter of the ledger when
/// that is more (start-up replays at most these). Encoding a snapshot costs time in proportion
/// to the whole state (about 1 s at 200,000 entries), so a fixed interval would cost more per
/// entry as the ledger grows.
pub const SNAPSHOT_EVERY: u64 = 16_384;

/// Entries between two `fdatasync`s of `offsets.dat` and `nodes.dat` (every commit syncs
/// `entries.dat`; the other two are derived from it and rebuilt at open past the point the
/// index records as durable: at most this many entries, plus a batch).
pub const DERIVED_SYNC_EVERY: u64 = 4_096;

/// A committed state (the one published for its checkpoint) and its head hash, for a snapshot.
type Snapshot = (Arc<State>, Hash);

/// The newest state waiting for the snapshot thread, with its head hash (only the newest is
/// kept: an older one still waiting is replaced). It is the state already published for its
/// checkpoint, shared, so the writer never copies it nor waits for the encoding.
#[derive(Default)]
pub(super) struct SnapshotSlot {
    /// The newest state waiting, and whether the thread is told to stop.
    pending: Mutex<(Option<Snapshot>, bool)>,
    ready: Condvar,
}

impl SnapshotSlot {
    /// Offers a committed state for the next snapshot.
    fn offer(&self, snapshot: Snapshot) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).0 = Some(snapshot);
        self.ready.notify_one();
    }

    /// The next state to snapshot; `None` once stopped with nothing left.
    fn next(&self) -> Option<Snapshot> {
        let mut g = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(s) = g.0.take() {
                return Some(s);
            }
            if g.1 {
                return None;
            }
            g = self.ready.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn stop(&self) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.ready.notify_one();
    }
}

/// Tells the snapshot thread to stop when dropped: however [`Writer::run`] ends (a panic too),
/// the thread does not wait forever holding the index open.
struct StopSnapshots(Arc<Shared>);

impl Drop for StopSnapshots {
    fn drop(&mut self) {
        self.0.snapshots.stop();
    }
}

/// The snapshot thread: encodes each committed state offered and stores it in the index.
fn keep_snapshots(shared: &Shared) {
    while let Some(snapshot) = shared.snapshots.next() {
        let (state, head) = snapshot;
        let started = std::time::Instant::now();
        let bytes = snapshot::encode_state(&state, &head);
        match shared.index.store_snapshot(&bytes) {
            Ok(()) => tracing::debug!(
                size = state.size(),
                bytes = bytes.len(),
                ms = started.elapsed().as_millis() as u64,
                "stored a state snapshot"
            ),
            // Only start-up time depends on it: the next one may succeed.
            Err(e) => tracing::warn!(error = %e, "could not store the state snapshot"),
        }
    }
}

pub(super) type Build =
    Box<dyn FnOnce(&mut AppendContext<'_>) -> Result<Vec<NewEntry>, LedgerError> + Send>;
pub(super) type Reply = Box<dyn FnOnce(Result<Vec<Appended>, LedgerError>) + Send>;

/// A job's entries as they were appended: index, canonical bytes and event of each.
type Written = Vec<(u64, Vec<u8>, Event)>;

pub(super) enum Msg {
    Job(Job),
    Stop,
}

pub(super) struct Job {
    pub build: Build,
    pub reply: Reply,
    /// Jobs with an order (a sequence and a position in it, such as the serials reserved for
    /// pre-signed certificates) are built in that order within a batch, whatever order they
    /// were queued in.
    pub order: Option<(String, u64)>,
}

/// Puts the ordered jobs of each sequence in their order, in the places that sequence's jobs
/// held; every other job keeps its place (so jobs of different sequences, and unordered ones,
/// keep the order they were queued in).
fn order_batch(batch: Vec<Job>) -> Vec<Job> {
    let mut by_sequence: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (i, job) in batch.iter().enumerate() {
        if let Some((sequence, _)) = &job.order {
            by_sequence.entry(sequence.as_str()).or_default().push(i);
        }
    }
    let mut from: Vec<usize> = (0..batch.len()).collect();
    for places in by_sequence.values() {
        let mut sorted = places.clone();
        sorted.sort_by_key(|i| batch[*i].order.as_ref().map(|(_, n)| *n));
        for (place, job) in places.iter().zip(sorted) {
            from[*place] = job;
        }
    }
    let mut slots: Vec<Option<Job>> = batch.into_iter().map(Some).collect();
    from.into_iter()
        .map(|i| slots[i].take().expect("each job taken once"))
        .collect()
}

/// The writer's view offered to an append job while it builds its entry.
pub struct AppendContext<'a> {
    index: u64,
    time_ms: u64,
    state: &'a State,
    /// Idempotency claims not yet in the index: of the batches that may still be committing,
    /// and of this batch so far.
    claimed: &'a VecDeque<HashSet<String>>,
    this_batch: &'a HashSet<String>,
    index_reader: &'a super::index::Index,
    claim: Option<(String, String, Hash)>,
}

impl AppendContext<'_> {
    /// The index the (first) entry will get.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entry's time, unix milliseconds.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The ledger state the entry will be applied to (every earlier entry included).
    pub fn state(&self) -> &State {
        self.state
    }

    /// Claims idempotency `key` of `actor` for this entry, with the hash of the request that
    /// asked for it. Fails if the key is taken: committed, or by an entry not yet committed.
    pub fn claim_idempotency(
        &mut self,
        actor: &str,
        key: &str,
        request_hash: &Hash,
    ) -> Result<(), LedgerError> {
        let pending = claim_key(actor, key);
        if self.this_batch.contains(&pending)
            || self.claimed.iter().any(|set| set.contains(&pending))
            || self.index_reader.idempotency(actor, key)?.is_some()
        {
            return Err(LedgerError::IdempotencyConflict);
        }
        self.claim = Some((actor.to_owned(), key.to_owned(), *request_hash));
        Ok(())
    }
}

/// The in-memory key of an idempotency claim.
fn claim_key(actor: &str, key: &str) -> String {
    format!("{actor}\0{key}")
}

/// The writer thread's state: it builds entries and appends them to the files; the committer
/// thread makes each prepared batch durable and answers it.
pub(super) struct Writer {
    pub shared: Arc<Shared>,
    pub signer: NoteSigner,
    pub clock: SharedClock,
    pub frontier: Frontier,
    pub prev: Hash,
    pub state: State,
    /// Size at the last state snapshot.
    pub snapshot_size: u64,
    /// Entries between snapshots.
    pub snapshot_every: u64,
    /// Entries `offsets.dat` and `nodes.dat` are durable for (synced, or rebuilt at open).
    pub derived_size: u64,
    /// Entries between two syncs of those two files.
    pub derived_every: u64,
    /// Idempotency claims of the last two batches that wrote entries: the one the committer
    /// may be syncing and the one before it (the committer takes a batch only after it has
    /// committed the previous one, so anything older is in the index).
    pub claimed: VecDeque<HashSet<String>>,
    /// Length of entries.dat, where the next record goes.
    pub entries_end: u64,
}

/// A batch whose entries are written to the files (not yet synced), with what its commit point
/// must record and whom to answer.
pub(super) struct Prepared {
    batch: Batch,
    published: Published,
    time_ms: u64,
    done: Vec<(Reply, Written)>,
    /// The head hash when the published state is to be snapshot once this batch is committed.
    snapshot: Option<Hash>,
    /// Whether this commit also syncs `offsets.dat` and `nodes.dat` (and records it).
    sync_derived: bool,
}

/// Makes a prepared batch durable (files, then the index commit point) and answers its jobs.
pub(super) fn commit(shared: &Shared, prepared: Prepared) {
    let Prepared {
        batch,
        published,
        time_ms,
        done,
        snapshot,
        sync_derived,
    } = prepared;
    if shared.poisoned.load(Ordering::SeqCst) {
        for (reply, ..) in done {
            reply(Err(LedgerError::Poisoned));
        }
        return;
    }
    let started = std::time::Instant::now();
    let written = shared.files.sync(sync_derived).and_then(|()| {
        // The commit point: once the index has the batch, the entries exist, whatever happens next.
        #[cfg(test)]
        if shared.files.faults.take(super::faults::Step::Commit) {
            return Err(super::faults::error(super::faults::Step::Commit));
        }
        shared.index.apply(batch)?;
        if let Err(e) = shared.index.flush_durably() {
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
            let entries: usize = done.iter().map(|(_, w)| w.len()).sum();
            crate::metrics::global().commit(entries as u64, started.elapsed().as_micros() as u64);
            let checkpoint = published.checkpoint.clone();
            // Its commit point is durable: the snapshot can never cover uncommitted entries.
            if let Some(head) = snapshot {
                shared.snapshots.offer((published.state.clone(), head));
            }
            *shared.published.write().expect("published lock") = published;
            // For auditors reading the folder while the server runs (the index is locked): the
            // latest committed checkpoint, before any answer, so that what was acknowledged is
            // in what they read. A stale checkpoint.txt means the folder cannot be written: the
            // service is not healthy even if the commit itself went through.
            match shared.publish_checkpoint(&checkpoint.note) {
                Ok(()) => shared.stale_checkpoint.store(false, Ordering::SeqCst),
                Err(e) => {
                    if !shared.stale_checkpoint.swap(true, Ordering::SeqCst) {
                        tracing::error!(error = %e, "could not update checkpoint.txt for auditors");
                    }
                }
            }
            for (reply, written) in done {
                reply(Ok(written
                    .into_iter()
                    .map(|(index, entry_bytes, event)| Appended {
                        index,
                        time_ms,
                        entry_bytes,
                        event,
                        checkpoint: checkpoint.clone(),
                    })
                    .collect()));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "ledger commit failed; refusing further appends");
            shared.poisoned.store(true, Ordering::SeqCst);
            for (reply, ..) in done {
                reply(Err(LedgerError::Storage(e.to_string())));
            }
        }
    }
}

impl Writer {
    /// Takes jobs in batches. A batch is committed on this thread when nothing else waits (no
    /// thread hop on the latency path); when more jobs are queued, it is handed to the committer
    /// thread so that its fsyncs overlap the preparation of the next batch.
    pub fn run(&mut self, queue: mpsc::Receiver<Msg>) {
        // A rendezvous channel: the writer is at most one prepared batch ahead of the committer.
        let (to_committer, prepared) = mpsc::sync_channel::<Prepared>(0);
        let finished = Arc::new(AtomicU64::new(0));
        let shared = self.shared.clone();
        let committer_finished = finished.clone();
        let snapshot_shared = self.shared.clone();
        let stop_snapshots = StopSnapshots(self.shared.clone());
        let snapshotter = thread::Builder::new()
            .name("ledger-snapshot".into())
            .spawn(move || keep_snapshots(&snapshot_shared))
            .expect("spawn the ledger snapshot thread");
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
                    Msg::Job(job) => {
                        crate::metrics::global().queued(-1);
                        batch.push(job)
                    }
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
            } else if let Some(prepared) = self.prepare(order_batch(batch)) {
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
        // The last snapshot offered is stored before the ledger closes (and its flush).
        drop(stop_snapshots);
        let _ = snapshotter.join();
        // A clean close leaves nothing to rebuild at the next open.
        if !self.shared.poisoned.load(Ordering::SeqCst) && self.derived_size < self.state.size() {
            let size = self.state.size();
            let synced = self
                .shared
                .files
                .sync(true)
                .and_then(|()| self.shared.index.record_derived(size));
            match synced {
                Ok(()) => self.derived_size = size,
                Err(e) => {
                    tracing::warn!(error = %e, "could not sync the ledger's derived files at close; they will be rebuilt at the next open")
                }
            }
        }
        self.shared.closed.store(true, Ordering::SeqCst);
        // Fail whatever was queued behind the stop.
        if let Some(Msg::Job(job)) = carried {
            (job.reply)(Err(LedgerError::Closed));
        }
        while let Ok(Msg::Job(job)) = queue.try_recv() {
            (job.reply)(Err(LedgerError::Closed));
        }
    }

    /// Builds the batch's entries, applies them to the state, appends them to the files and
    /// signs the new checkpoint.
    pub fn prepare(&mut self, jobs: Vec<Job>) -> Option<Prepared> {
        let mut batch = Batch::default();
        let mut entries_buf = Vec::with_capacity(jobs.len() * 1200);
        let mut offsets_buf = Vec::with_capacity(jobs.len() * 8);
        let mut nodes_buf = Vec::with_capacity(jobs.len() * 64);
        let mut upper = Vec::new();
        let mut done: Vec<(Reply, Written)> = Vec::with_capacity(jobs.len());
        let mut entries_end = self.entries_end;
        let time_ms = self.clock.now_ms().max(self.state.last_time_ms());
        let mut this_batch = HashSet::new();
        for job in jobs {
            let index = self.frontier.size();
            let mut ctx = AppendContext {
                index,
                time_ms,
                state: &self.state,
                claimed: &self.claimed,
                this_batch: &this_batch,
                index_reader: &self.shared.index,
                claim: None,
            };
            let build = job.build;
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(&mut ctx)))
                .unwrap_or_else(|_| {
                    tracing::error!("an append job panicked; it is answered with an error");
                    Err(LedgerError::Storage("the append job panicked".into()))
                });
            let claim = ctx.claim.take();
            let news = match built {
                Ok(news) if news.is_empty() => {
                    (job.reply)(Err(LedgerError::Rejected("the job built no entry".into())));
                    continue;
                }
                Ok(news) => news,
                Err(e) => {
                    (job.reply)(Err(e));
                    continue;
                }
            };
            // Several entries stand or fall together: they are applied to a copy of the state
            // (cheap: its maps are shared until changed), kept only if every one is accepted.
            // A certificate that replaces another opens a replacement its void must close in
            // the same job: such a job is tried on a copy too, and refused if it leaves the
            // replacement open (else every later entry would be refused).
            let opens_replacement = news.iter().any(|n| {
                matches!(&n.event, Event::CertificateIssued(s)
                    if s.record.as_ref().is_some_and(|r| r.certificate.content.replaces.is_some()))
            });
            let mut trial = (news.len() > 1 || opens_replacement).then(|| self.state.clone());
            let mut prev = self.prev;
            let mut staged = Vec::with_capacity(news.len());
            let mut refused = None;
            for (k, new) in news.into_iter().enumerate() {
                let entry = Entry {
                    index: index + k as u64,
                    time_ms,
                    actor: new.actor,
                    key_id: new.key_id,
                    prev,
                    event: new.event,
                };
                let bytes = encode_entry(&entry);
                let Some(record) = encode_entry_record(&entry.event) else {
                    refused = Some(LedgerError::Rejected(format!(
                        "a {} entry is recorded with its full record",
                        entry.event.kind().as_str()
                    )));
                    break;
                };
                if bytes.len() > MAX_ENTRY_BYTES || record.len() > MAX_ENTRY_BYTES {
                    refused = Some(LedgerError::Rejected(format!(
                        "an entry of {} bytes (record {}) is over the {MAX_ENTRY_BYTES}-byte limit",
                        bytes.len(),
                        record.len()
                    )));
                    break;
                }
                let state = trial.as_mut().unwrap_or(&mut self.state);
                // A panic in the rules (a bug) must not kill the writer silently: the state may
                // be half-changed, so the ledger refuses every write until restarted (and
                // /healthz says so); nothing of this entry is written.
                let applied =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| state.apply(&entry)));
                match applied {
                    Ok(Ok(_)) => {}
                    Ok(Err(violation)) => {
                        refused = Some(LedgerError::Rejected(violation.0));
                        break;
                    }
                    Err(_) => {
                        tracing::error!(
                            "the ledger rules panicked on an entry; writes stop until restart"
                        );
                        self.shared.poisoned.store(true, Ordering::SeqCst);
                        refused = Some(LedgerError::Storage(
                            "the ledger rules failed on this entry; the ledger stops writing until it is restarted".into(),
                        ));
                        break;
                    }
                }
                prev = entry_hash(&bytes);
                staged.push((entry, bytes, record));
            }
            if refused.is_none()
                && trial
                    .as_ref()
                    .is_some_and(|t| t.pending_replacement().is_some())
            {
                refused = Some(LedgerError::Rejected(
                    "a certificate that replaces another is recorded only with the void of the one it replaces, in the same job".into(),
                ));
            }
            if let Some(e) = refused {
                (job.reply)(Err(e));
                continue;
            }
            if let Some(state) = trial {
                self.state = state;
            }
            if let Some((actor, key, hash)) = claim {
                batch.idempotency(&actor, &key, &hash, index);
                this_batch.insert(claim_key(&actor, &key));
            }
            let mut written = Vec::with_capacity(staged.len());
            for (entry, bytes, record) in staged {
                self.frontier.push(merkle::leaf_hash(&bytes), |id, hash| {
                    nodes_buf.extend_from_slice(hash);
                    if id.level >= super::nodes::UPPER_LEVEL {
                        upper.push((id, *hash));
                    }
                });
                offsets_buf.extend_from_slice(&entries_end.to_be_bytes());
                let before = entries_buf.len();
                Frame::write_into(&bytes, &record, &mut entries_buf);
                entries_end += (entries_buf.len() - before) as u64;
                written.push((entry.index, bytes, entry.event));
            }
            self.prev = prev;
            done.push((job.reply, written));
        }
        if done.is_empty() {
            return None;
        }
        self.claimed.push_back(this_batch);
        if self.claimed.len() > 2 {
            self.claimed.pop_front();
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
        batch.commit_point(head.checkpoint.size, &self.prev, &head.note);
        let size = self.state.size();
        let sync_derived = size - self.derived_size >= self.derived_every;
        if sync_derived {
            batch.derived(size);
            self.derived_size = size;
        }
        let snapshot =
            (size - self.snapshot_size >= self.snapshot_every.max(size / 4)).then(|| {
                self.snapshot_size = size;
                self.prev
            });
        if let Err(e) = self
            .shared
            .files
            .append(&entries_buf, &offsets_buf, &nodes_buf)
        {
            tracing::error!(error = %e, "ledger append failed; refusing further appends");
            self.shared.poisoned.store(true, Ordering::SeqCst);
            for (reply, ..) in done {
                reply(Err(LedgerError::Storage(e.to_string())));
            }
            return None;
        }
        self.entries_end = entries_end;
        // Readers ask only for nodes of committed entries: these are used once this batch is.
        self.shared.upper.add(&upper);
        Some(Prepared {
            batch,
            published: Published {
                checkpoint: head,
                state: Arc::new(self.state.clone()),
            },
            time_ms,
            done,
            snapshot,
            sync_derived,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(order: Option<(&str, u64)>) -> Job {
        Job {
            build: Box::new(|_| Ok(Vec::new())),
            reply: Box::new(|_| {}),
            order: order.map(|(s, n)| (s.to_owned(), n)),
        }
    }

    #[test]
    fn a_batch_orders_each_sequence_in_its_own_places_only() {
        // Review of the populate run: sorting every ordered job together moved one
        // participant's certificates into another's places, so callers that match replies by
        // entry index (demo populate) paired them with the wrong shipments.
        let batch = vec![
            job(Some(("BW-2026", 12))),
            job(None),
            job(Some(("RU-2026", 5))),
            job(Some(("BW-2026", 11))),
            job(Some(("RU-2026", 3))),
            job(Some(("AE-2026", 1))),
        ];
        let got: Vec<Option<(String, u64)>> =
            order_batch(batch).into_iter().map(|j| j.order).collect();
        let want = [
            Some(("BW-2026", 11)),
            None,
            Some(("RU-2026", 3)),
            Some(("BW-2026", 12)),
            Some(("RU-2026", 5)),
            Some(("AE-2026", 1)),
        ]
        .map(|o| o.map(|(s, n)| (s.to_owned(), n)));
        assert_eq!(got, want);
    }
}
