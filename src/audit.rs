//! Auditing a ledger from entry 0, trusting nothing but the pinned ledger key: every entry
//! decodes, chains to the one before and enters the Merkle tree; the ledger state
//! ([`State::apply`], the rules issuance enforces) accepts it; every signature verifies with the
//! key the ledger's own earlier entries registered; and the signed checkpoint states exactly the
//! entries replayed. With the checkpoint an earlier audit kept, it also proves the ledger only
//! grew since (no fork, no rewrite).
//!
//! Signatures are checked in batches of [`SIGNATURE_BATCH`] on a pool of threads of their own
//! (one a core but one) while the next entries are decoded, and on the decoding thread itself
//! whenever the pool has enough queued;
//! [`Options::strict_signatures`] checks each one with `verify_strict` instead (api/export.md
//! says what the two differ on).

use std::io::Read;
use std::path::Path;

use crate::codec::export::{ExportError, ExportReader, Frame, Level};
use crate::codec::lifecycle::decode_arrival_record;
use crate::codec::record::check_seal;
use crate::codec::{decode_entry, decode_record, entry_hash};
use crate::crypto::{verify_batch, Hash, PublicKey};
use crate::domain::{Event, State};
use crate::ledger::reader::FolderReader;
use crate::tlog::merkle::{leaf_hash, Frontier, EMPTY_ROOT};
use crate::tlog::{Checkpoint, NoteVerifier};

/// Signatures checked together, on a thread of their own.
pub const SIGNATURE_BATCH: usize = 512;

/// Most batches queued for the verifier threads at once (and most threads): two a thread keep
/// each busy (issue 14: with one pair of batches joined before the next, the cores idled about
/// a fifth of the time); beyond that the decoding thread verifies, so memory stays bounded.
const IN_FLIGHT: usize = 6;

/// Where and why an audit failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", .index.map(|i| format!("entry {i}: ")).unwrap_or_default())]
pub struct AuditFailure {
    /// The first bad entry, when the failure is about one.
    pub index: Option<u64>,
    pub reason: String,
}

fn at(index: u64, reason: impl Into<String>) -> AuditFailure {
    AuditFailure {
        index: Some(index),
        reason: reason.into(),
    }
}

fn whole(reason: impl Into<String>) -> AuditFailure {
    AuditFailure {
        index: None,
        reason: reason.into(),
    }
}

/// How to audit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Check every signature with `verify_strict` instead of in batches (slower; exact even for
    /// signatures only a key's holder could craft).
    pub strict_signatures: bool,
    /// Threads that verify signature batches besides the decoding thread, which verifies a batch
    /// itself whenever they have two each queued; `None`: one a core but one.
    pub verifier_threads: Option<usize>,
}

/// What a successful audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// Public (entries only) or full (every record checked too).
    pub level: Level,
    /// Full records checked against their commitments and the rules of issuance.
    pub records: u64,
    pub entries: u64,
    pub certificates: u64,
    pub participants: u64,
    pub authorities: u64,
    pub first_time_ms: Option<u64>,
    pub last_time_ms: Option<u64>,
    pub checkpoint: Checkpoint,
    /// The signed checkpoint note verified (kept by `--state` for the next audit).
    pub note: String,
    /// The state the replay folded the entries into (statistics are recomputed from it).
    pub state: Box<State>,
}

/// A signature waiting for its batch: (entry index, what was signed, signed bytes, signature,
/// key).
type Pending = (u64, &'static str, Vec<u8>, [u8; 64], PublicKey);

/// A batch's outcome once a verifier thread has checked it, with the batch itself: it is freed
/// (or reused) on the thread that allocated it.
type Checked = (Result<(), AuditFailure>, Vec<Pending>);

/// Where a batch's [`Checked`] outcome arrives.
type Outcome = std::sync::mpsc::Receiver<Checked>;

/// A batch for a verifier thread, and where its outcome goes.
type Job = (Vec<Pending>, std::sync::mpsc::Sender<Checked>);

/// The threads that verify signature batches, one a core but the decoding thread's, kept for the
/// whole audit: a thread spawned per batch started with an empty allocator heap and paid fresh,
/// zeroed pages for every batch verification's scratch memory (about a tenth of an audit's
/// time, issue 14). The batches go back to the decoding thread, which allocated them, for the
/// same reason. The decoding thread verifies a batch itself whenever these threads have enough
/// queued, so that every core runs one thread, always busy (three threads on two cores lost
/// about a tenth of the signature rate to time slicing).
struct Verifiers {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Verifiers {
    /// `threads` threads (by default one a core but one, none on a single core; at most
    /// [`IN_FLIGHT`]) that check every batch in batch mode, or each signature alone with
    /// `strict`.
    fn new(strict: bool, threads: Option<usize>) -> Verifiers {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let n = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() - 1))
            .min(IN_FLIGHT);
        let threads = (0..n)
            .map(|_| {
                let queue = queue.clone();
                std::thread::spawn(move || loop {
                    // The lock is held only to take the next job, not while verifying it.
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((batch, outcome)) = job else {
                        return;
                    };
                    let result = verify_pending(&batch, strict);
                    let _ = outcome.send((result, batch));
                })
            })
            .collect();
        Verifiers {
            jobs: Some(jobs),
            threads,
        }
    }

    /// Queues `batch`; its outcome arrives on the returned receiver (an error if the thread
    /// that took it panicked).
    fn submit(&self, batch: Vec<Pending>) -> Outcome {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send((batch, tx));
        }
        rx
    }
}

/// No verifier thread outlives its audit: they finish the batches already queued and stop.
impl Drop for Verifiers {
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Verifies `batch`; when the batch check fails (or in strict mode), `verify_strict` finds the
/// first bad signature.
fn verify_pending(batch: &[Pending], strict: bool) -> Result<(), AuditFailure> {
    if !strict {
        let items: Vec<(&[u8], &[u8; 64], &PublicKey)> = batch
            .iter()
            .map(|(_, _, m, s, k)| (m.as_slice(), s, k))
            .collect();
        if verify_batch(&items) {
            return Ok(());
        }
    }
    for (index, what, message, signature, key) in batch {
        if !key.verify_strict(message, signature) {
            return Err(at(
                *index,
                format!("the {what} signature does not verify with the authority's key"),
            ));
        }
    }
    Ok(())
}

/// Replays entries from 0 and checks everything the ledger promises.
pub struct Auditor {
    options: Options,
    level: Level,
    /// Full records checked (full level).
    records: u64,
    state: State,
    prev: Hash,
    frontier: Frontier,
    first_time_ms: Option<u64>,
    /// Root at an earlier checkpoint's size (fork detection), once reached.
    watch: Option<(u64, Option<Hash>)>,
    pending: Vec<Pending>,
    /// The tree as a data folder stores it (`nodes.dat`), compared node by node as the replay
    /// rebuilds it.
    stored_nodes: Option<Box<dyn Read>>,
    /// The batches being verified on other cores while this one decodes the next entries,
    /// oldest first.
    in_flight: std::collections::VecDeque<Outcome>,
    /// The threads verifying them (started with the first batch).
    verifiers: Option<Verifiers>,
    /// A checked batch's vector, emptied, for the next batch.
    spare: Vec<Pending>,
}

impl Auditor {
    /// An auditor; with `previous`, the checkpoint an earlier audit verified, it also proves
    /// the ledger still extends it.
    pub fn new(previous: Option<&Checkpoint>, options: Options, level: Level) -> Auditor {
        Auditor {
            options,
            level,
            records: 0,
            state: State::new(),
            prev: [0; 32],
            frontier: Frontier::default(),
            first_time_ms: None,
            watch: previous.map(|c| (c.size, (c.size == 0).then_some(EMPTY_ROOT))),
            pending: Vec::with_capacity(SIGNATURE_BATCH),
            stored_nodes: None,
            in_flight: std::collections::VecDeque::new(),
            verifiers: None,
            spare: Vec::new(),
        }
    }

    /// Checks the next entry (and, at the full level, its record).
    pub fn feed(&mut self, frame: &Frame) -> Result<(), AuditFailure> {
        match self.feed_inner(frame) {
            Ok(()) => {
                if self.pending.len() >= SIGNATURE_BATCH {
                    return self.batch_full();
                }
                Ok(())
            }
            // An earlier entry's bad signature is the first failure, if there is one.
            Err(e) => Err(self.check_signatures().err().unwrap_or(e)),
        }
    }

    /// Hands off the full pending batch; on a failure no thread is left running behind the
    /// audit (what the others find is dropped: the failure already found is the lowest index).
    fn batch_full(&mut self) -> Result<(), AuditFailure> {
        let result = self.hand_off();
        if result.is_err() {
            let _ = self.join_in_flight();
        }
        result
    }

    /// Sends the full pending batch to a verifier thread, or verifies it here when they have
    /// enough queued (at most [`IN_FLIGHT`] batches wait: bounded memory). An error is the
    /// failure with the lowest index found so far: the oldest batch's, or after joining the
    /// batches before the one verified here.
    fn hand_off(&mut self) -> Result<(), AuditFailure> {
        // The batches verified already, from the oldest on (one that finished behind an
        // unfinished one waits: results are taken in entry order).
        while let Some(rx) = self.in_flight.front() {
            let received = match rx.try_recv() {
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                received => received.ok(),
            };
            self.in_flight.pop_front();
            self.checked(received)?;
        }
        let Options {
            strict_signatures: strict,
            verifier_threads,
        } = self.options;
        let verifiers = self
            .verifiers
            .get_or_insert_with(|| Verifiers::new(strict, verifier_threads));
        // Two batches queued a verifier thread keep it busy while it hands one back; beyond
        // that (or IN_FLIGHT in all), this thread verifies the batch itself instead of waiting
        // (a failure waits behind the batches before it, so that the lowest index is reported).
        if self.in_flight.len() < (2 * verifiers.threads.len()).min(IN_FLIGHT) {
            let mut next = std::mem::take(&mut self.spare);
            next.reserve(SIGNATURE_BATCH);
            let batch = std::mem::replace(&mut self.pending, next);
            self.in_flight.push_back(verifiers.submit(batch));
        } else {
            let result = verify_pending(&self.pending, strict);
            self.pending.clear();
            if result.is_err() {
                // The batches before this one come first.
                return self.join_in_flight().and(result);
            }
        }
        Ok(())
    }

    /// A verifier thread's outcome (none if it panicked); its batch is kept for the next.
    fn checked(&mut self, received: Option<Checked>) -> Result<(), AuditFailure> {
        let Some((result, mut batch)) = received else {
            return Err(whole("signature verification panicked"));
        };
        batch.clear();
        self.spare = batch;
        result
    }

    /// Waits for the oldest batch in flight (batches are joined in entry order, so the first
    /// failure found is the one with the lowest index).
    fn join_oldest(&mut self) -> Result<(), AuditFailure> {
        match self.in_flight.pop_front() {
            Some(outcome) => self.checked(outcome.recv().ok()),
            None => Ok(()),
        }
    }

    fn join_in_flight(&mut self) -> Result<(), AuditFailure> {
        // Join every batch, in order; the first failure has the lowest index.
        let mut first = Ok(());
        while !self.in_flight.is_empty() {
            let result = self.join_oldest();
            if first.is_ok() {
                first = result;
            }
        }
        first
    }

    /// Waits for the batches in flight, then verifies what is pending.
    pub fn check_signatures(&mut self) -> Result<(), AuditFailure> {
        self.join_in_flight()?;
        let batch = std::mem::take(&mut self.pending);
        verify_pending(&batch, self.options.strict_signatures)
    }

    fn feed_inner(&mut self, frame: &Frame) -> Result<(), AuditFailure> {
        let bytes = frame.entry.as_slice();
        let i = self.state.size();
        let mut entry = decode_entry(bytes).map_err(|e| at(i, format!("does not decode: {e}")))?;
        let mut seal = None;
        match (&mut entry.event, self.level) {
            (Event::CertificateIssued(signed), Level::Full) => {
                if frame.record.is_empty() {
                    return Err(at(i, "a full export must hold every certificate's record"));
                }
                let full = decode_record(&frame.record)
                    .map_err(|e| at(i, format!("its record does not decode: {e}")))?;
                // The state checks that the record is what the issuance commits to, and every
                // rule of issuance; the seal must state that certificate.
                seal = Some(check_seal(&full, &signed.issuance).map_err(|e| at(i, e))?);
                signed.record = Some(Box::new(full));
                self.records += 1;
            }
            (Event::ImportConfirmed(c), Level::Full) => {
                if frame.record.is_empty() {
                    return Err(at(
                        i,
                        "a full export must hold every import confirmation's record",
                    ));
                }
                // The state checks that the arrival is what the confirmation commits to and
                // that the discrepancies are those between the certificate and the arrival.
                c.record = Some(Box::new(
                    decode_arrival_record(&frame.record)
                        .map_err(|e| at(i, format!("its record does not decode: {e}")))?,
                ));
                self.records += 1;
            }
            _ if !frame.record.is_empty() => {
                return Err(at(i, "a record where none belongs"));
            }
            _ => {}
        }
        // The state judges the entry first (its index, time and rules), then the chain; either
        // failure ends the audit, so the state's step past a broken link is never used.
        let applied = self.state.apply(&entry).map_err(|v| at(i, v.0))?;
        if entry.prev != self.prev {
            return Err(at(
                i,
                "prev does not match the previous entry's hash (the chain is broken)",
            ));
        }
        let time_ms = entry.time_ms;
        if let Some(key) = applied.signed_by {
            if let Some(seal) = seal {
                let (message, signature) = seal.into_signed_parts();
                self.pending.push((i, "seal", message, signature, key));
            }
            let what = match &entry.event {
                Event::CertificateIssued(_) => "issuance",
                Event::ImportConfirmed(_) => "import confirmation",
                Event::CertificateVoided(_) => "void",
                _ => "entry",
            };
            // The entry is done with once applied: its signed bytes move to the batch (the
            // event is consumed, so nothing below can read it).
            if let Some((signed, signature)) = entry.event.into_signed() {
                self.pending.push((i, what, signed, signature, key));
            }
        }
        self.prev = entry_hash(bytes);
        let mut stored_differs = None;
        let stored = &mut self.stored_nodes;
        self.frontier.push(leaf_hash(bytes), |id, hash| {
            if let Some(nodes) = stored {
                let mut recorded = [0u8; 32];
                if stored_differs.is_none()
                    && (nodes.read_exact(&mut recorded).is_err() || &recorded != hash)
                {
                    stored_differs = Some((id.level, id.index));
                }
            }
        });
        if let Some((level, index)) = stored_differs {
            return Err(at(
                i,
                format!("nodes.dat differs from the tree of the entries (node {level}/{index})"),
            ));
        }
        self.first_time_ms.get_or_insert(time_ms);
        if let Some((size, root @ None)) = &mut self.watch {
            if self.frontier.size() == *size {
                *root = Some(self.frontier.root());
            }
        }
        Ok(())
    }

    /// Every signature is checked, then the replay is compared with the signed checkpoint and
    /// the one an earlier audit kept.
    fn finish(
        mut self,
        checkpoint: Checkpoint,
        note: String,
        previous: Option<&Checkpoint>,
    ) -> Result<AuditReport, AuditFailure> {
        self.check_signatures()?;
        if let (Some(prev), Some((_, Some(root)))) = (previous, self.watch) {
            if prev.root != root {
                return Err(whole(format!(
                    "the ledger does not extend the checkpoint verified before (size {}): it was rewritten or forked",
                    prev.size
                )));
            }
        }
        let replayed = self.state.size();
        if checkpoint.size != replayed {
            return Err(whole(format!(
                "the checkpoint states {} entries but {replayed} were replayed",
                checkpoint.size
            )));
        }
        if checkpoint.root != self.frontier.root() {
            return Err(whole(
                "the Merkle root of the entries is not the signed checkpoint's root",
            ));
        }
        if let Some((new, old)) = self.state.pending_replacement() {
            return Err(whole(format!(
                "the ledger ends inside a replacement: {new} replaces {old}, but the void of {old} does not follow"
            )));
        }
        if let Some((size, None)) = self.watch {
            return Err(whole(format!(
                "the ledger is shorter ({replayed} entries) than the {size} of the checkpoint verified before: truncated or forked"
            )));
        }
        Ok(AuditReport {
            level: self.level,
            records: self.records,
            entries: replayed,
            certificates: self.state.certificates(),
            participants: self.state.participants().count() as u64,
            authorities: self.state.authorities().count() as u64,
            first_time_ms: self.first_time_ms,
            last_time_ms: (replayed > 0).then(|| self.state.last_time_ms()),
            checkpoint,
            note,
            state: Box::new(std::mem::take(&mut self.state)),
        })
    }
}

fn open_note(verifier: &NoteVerifier, note: &str) -> Result<Checkpoint, AuditFailure> {
    verifier.open(note).map_err(|e| {
        whole(format!(
            "the checkpoint does not verify with the pinned ledger key: {e}"
        ))
    })
}

/// What is replayed: the entries, how many, the verified checkpoint and its note.
struct Replay<I> {
    entries: I,
    count: u64,
    checkpoint: Checkpoint,
    note: String,
}

/// Feeds the entries to `auditor` and concludes against the checkpoint.
fn replay(
    mut auditor: Auditor,
    Replay {
        entries,
        count,
        checkpoint,
        note,
    }: Replay<impl Iterator<Item = Result<Frame, ExportError>>>,
    previous: Option<&Checkpoint>,
    progress: &mut impl FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    for (i, bytes) in (0..count).zip(entries) {
        // A framing error after a bad signature: the signature is the first failure.
        let frame = bytes
            .map_err(|e| at(i, e.to_string()))
            .map_err(|e| auditor.check_signatures().err().unwrap_or(e))?;
        auditor.feed(&frame)?;
        if i % 10_000 == 0 {
            progress(i, count);
        }
    }
    progress(count, count);
    auditor.finish(checkpoint, note, previous)
}

/// Audits an export file read from `input`, at the level the export holds: public (chain,
/// tree, checkpoint, every issuance signature and the legality of every event) or full (also
/// every record against its commitment, its seal and every rule of issuance).
pub fn audit_export(
    input: impl Read,
    verifier: &NoteVerifier,
    previous: Option<&Checkpoint>,
    options: Options,
    mut progress: impl FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    let mut reader = ExportReader::open(input).map_err(|e| whole(e.to_string()))?;
    let checkpoint = open_note(verifier, &reader.note)?;
    let (note, count) = (reader.note.clone(), reader.count);
    let report = replay(
        Auditor::new(previous, options, reader.level),
        Replay {
            entries: reader.by_ref(),
            count,
            checkpoint,
            note,
        },
        previous,
        &mut progress,
    )?;
    reader.finish().map_err(|e| whole(e.to_string()))?;
    Ok(report)
}

/// Audits a data folder read-only (at the full level), safe while the server runs: the checkpoint in
/// `checkpoint.txt` names how many entries are committed, and those are read from `entries.dat`
/// (append-only, so committed bytes never change).
pub fn audit_folder(
    dir: &Path,
    verifier: &NoteVerifier,
    previous: Option<&Checkpoint>,
    options: Options,
    mut progress: impl FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    let folder = FolderReader::open(dir, |note| verifier.open(note).is_ok()).map_err(whole)?;
    let checkpoint = open_note(verifier, &folder.note)?;
    let note = folder.note.clone();
    let size = checkpoint.size;
    let (entries, nodes) = folder.entries(size);
    let mut auditor = Auditor::new(previous, options, Level::Full);
    auditor.stored_nodes = Some(Box::new(nodes));
    replay(
        auditor,
        Replay {
            entries,
            count: size,
            checkpoint,
            note,
        },
        previous,
        &mut progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    /// A batch already judged by a verifier thread.
    fn judged(result: Result<(), AuditFailure>) -> Outcome {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send((result, Vec::new())).expect("the receiver is here");
        rx
    }

    /// Two batches in flight have both failed when the decoding thread hands off the next: the
    /// first failure (the lower index) is the one reported, not the later batch's.
    #[test]
    fn of_two_failed_batches_in_flight_the_first_is_reported() {
        let key = SigningKey::from_seed(&[5; 32]);
        let mut auditor = Auditor::new(None, Options::default(), Level::Public);
        auditor.verifiers = Some(Verifiers::new(false, Some(1)));
        auditor.in_flight.push_back(judged(Err(at(5, "the first"))));
        auditor
            .in_flight
            .push_back(judged(Err(at(9, "the second"))));
        auditor.pending = (0..SIGNATURE_BATCH as u64)
            .map(|i| {
                let message = i.to_be_bytes().to_vec();
                let signature = key.sign(&message);
                (2_000 + i, "issuance", message, signature, key.public_key())
            })
            .collect();
        let failure = auditor.batch_full().expect_err("a batch in flight failed");
        assert_eq!(failure.index, Some(5), "{failure}");
        assert!(auditor.in_flight.is_empty(), "nothing is left in flight");
    }
}
