//! Auditing a ledger from entry 0, trusting nothing but the pinned ledger key: the portable
//! export file, and the replay that checks every entry, signature and the signed checkpoint.
//!
//! Export file (api/export.md): the 16 bytes `KPCERT-EXPORT-V1`, a 4-byte big-endian length and
//! the signed checkpoint note, an 8-byte big-endian entry count N (the checkpoint's size), then N
//! records of a 4-byte big-endian length and the entry's canonical bytes. It streams both ways.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{Read, Write};

use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::crypto::{verify_batch, Hash, PublicKey};
use crate::domain::{Authority, CountryCode};
use crate::encoding::{decode_certificate, entry_hash, Entry, Event};
use crate::merkle::{leaf_hash, Frontier};

/// First bytes of an export file.
pub const EXPORT_MAGIC: &[u8; 16] = b"KPCERT-EXPORT-V1";
/// Largest entry an export may hold.
const MAX_ENTRY: usize = 64 * 1024;

/// Where and why an audit failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFailure {
    /// The first bad entry, when the failure is about one.
    pub index: Option<u64>,
    pub reason: String,
}

impl fmt::Display for AuditFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "entry {i}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
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

/// What a successful audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub entries: u64,
    pub certificates: u64,
    pub participants: u64,
    pub authorities: u64,
    pub first_time_ms: Option<u64>,
    pub last_time_ms: Option<u64>,
    pub checkpoint: Checkpoint,
}

/// Writes an export file: the checkpoint note, then its `size` entries from `entries`.
pub fn write_export<W: Write, E>(
    mut out: W,
    note: &str,
    size: u64,
    entries: impl Iterator<Item = Result<Vec<u8>, E>>,
) -> Result<(), String>
where
    E: fmt::Display,
{
    let io = |e: std::io::Error| e.to_string();
    out.write_all(EXPORT_MAGIC).map_err(io)?;
    out.write_all(&(note.len() as u32).to_be_bytes())
        .map_err(io)?;
    out.write_all(note.as_bytes()).map_err(io)?;
    out.write_all(&size.to_be_bytes()).map_err(io)?;
    let mut written = 0u64;
    for entry in entries {
        let bytes = entry.map_err(|e| e.to_string())?;
        out.write_all(&(bytes.len() as u32).to_be_bytes())
            .map_err(io)?;
        out.write_all(&bytes).map_err(io)?;
        written += 1;
    }
    if written != size {
        return Err(format!("exported {written} entries, expected {size}"));
    }
    out.flush().map_err(io)
}

/// Replays entries from 0 and checks everything the ledger promises.
pub struct Auditor {
    verifier: NoteVerifier,
    next: u64,
    prev: Hash,
    frontier: Frontier,
    participants: HashSet<CountryCode>,
    authorities: HashMap<String, Authority>,
    /// Last serial per (participant, year): numbers must follow each other (1, 2, 3, ...), which
    /// proves uniqueness with memory that does not grow with the ledger.
    serials: HashMap<(CountryCode, i64), u64>,
    certificates: u64,
    first_time_ms: Option<u64>,
    last_time_ms: Option<u64>,
    /// Root at an earlier checkpoint's size (fork detection), once reached.
    watch: Option<(u64, Option<Hash>)>,
    /// Certificate signatures waiting for the next batch check: (index, bytes, signature, key).
    pending: Vec<Pending>,
    /// The batch being verified on another core while this one decodes the next entries.
    in_flight: Vec<std::thread::JoinHandle<Result<(), AuditFailure>>>,
}

type Pending = (u64, Vec<u8>, [u8; 64], PublicKey);

/// Batch-verifies `batch`; when the batch fails, verify_strict finds the first bad signature.
fn verify_pending(batch: &[Pending]) -> Result<(), AuditFailure> {
    let items: Vec<(&[u8], &[u8; 64], &PublicKey)> = batch
        .iter()
        .map(|(_, m, s, k)| (m.as_slice(), s, k))
        .collect();
    if verify_batch(&items) {
        return Ok(());
    }
    for (index, message, signature, key) in batch {
        if !key.verify_strict(message, signature) {
            return Err(at(
                *index,
                "the certificate signature does not verify with the authority's key",
            ));
        }
    }
    Ok(())
}

/// Signatures checked together; split over both cores.
const SIGNATURE_BATCH: usize = 1024;

impl Auditor {
    /// An auditor trusting only `verifier` (the pinned ledger key). With `previous`, the
    /// checkpoint an earlier audit verified, it also proves the ledger still extends it.
    pub fn new(verifier: NoteVerifier, previous: Option<&Checkpoint>) -> Auditor {
        Auditor {
            verifier,
            next: 0,
            prev: [0; 32],
            frontier: Frontier::default(),
            participants: HashSet::new(),
            authorities: HashMap::new(),
            serials: HashMap::new(),
            certificates: 0,
            first_time_ms: None,
            last_time_ms: None,
            watch: previous.map(|c| {
                (
                    c.size,
                    if c.size == 0 {
                        Some(crate::merkle::EMPTY_ROOT)
                    } else {
                        None
                    },
                )
            }),
            pending: Vec::with_capacity(SIGNATURE_BATCH),
            in_flight: Vec::new(),
        }
    }

    /// Checks the next entry.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), AuditFailure> {
        match self.feed_inner(bytes) {
            Ok(()) => {
                if self.pending.len() >= SIGNATURE_BATCH {
                    // Verify this batch on another core while decoding goes on here.
                    self.join_in_flight()?;
                    let mut first = std::mem::take(&mut self.pending);
                    let second = first.split_off(first.len() / 2);
                    self.pending.reserve(SIGNATURE_BATCH);
                    self.in_flight = vec![
                        std::thread::spawn(move || verify_pending(&first)),
                        std::thread::spawn(move || verify_pending(&second)),
                    ];
                }
                Ok(())
            }
            // An earlier entry's bad signature is the first failure, if there is one.
            Err(e) => Err(self.check_signatures().err().unwrap_or(e)),
        }
    }

    fn join_in_flight(&mut self) -> Result<(), AuditFailure> {
        // Join both halves; the first half's failure has the lower index.
        let results: Vec<_> = self
            .in_flight
            .drain(..)
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(whole("signature verification panicked")))
            })
            .collect();
        results.into_iter().collect()
    }

    /// Waits for the batch in flight, then verifies what is pending.
    pub fn check_signatures(&mut self) -> Result<(), AuditFailure> {
        self.join_in_flight()?;
        let batch = std::mem::take(&mut self.pending);
        verify_pending(&batch)
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<(), AuditFailure> {
        let i = self.next;
        let entry = Entry::decode(bytes).map_err(|e| at(i, format!("does not decode: {e}")))?;
        if entry.index != i {
            return Err(at(
                i,
                format!(
                    "holds index {} (entries must be contiguous from 0)",
                    entry.index
                ),
            ));
        }
        if entry.prev != self.prev {
            return Err(at(
                i,
                "prev does not match the previous entry's hash (the chain is broken)",
            ));
        }
        if self.last_time_ms.is_some_and(|t| entry.time_ms < t) {
            return Err(at(i, "its time goes backwards"));
        }
        self.check_event(i, &entry)?;
        self.prev = entry_hash(bytes);
        self.frontier.push(leaf_hash(bytes), |_, _| {});
        self.first_time_ms.get_or_insert(entry.time_ms);
        self.last_time_ms = Some(entry.time_ms);
        self.next += 1;
        if let Some((size, root @ None)) = &mut self.watch {
            if self.next == *size {
                *root = Some(self.frontier.root());
            }
        }
        Ok(())
    }

    fn check_event(&mut self, i: u64, entry: &Entry) -> Result<(), AuditFailure> {
        match &entry.event {
            Event::ParticipantRegistered(p) => {
                if entry.actor != "secretariat" || entry.key_id.is_some() {
                    return Err(at(
                        i,
                        "a participant can only be registered by the secretariat",
                    ));
                }
                self.participants.insert(p.code);
            }
            Event::AuthorityRegistered(a) => {
                if entry.actor != "secretariat" || entry.key_id.is_some() {
                    return Err(at(
                        i,
                        "an authority can only be registered by the secretariat",
                    ));
                }
                if !self.participants.contains(&a.participant) {
                    return Err(at(
                        i,
                        format!(
                            "authority {} is for {}, not a registered participant",
                            a.id, a.participant
                        ),
                    ));
                }
                if self.authorities.insert(a.id.clone(), a.clone()).is_some() {
                    return Err(at(i, format!("authority {} is registered twice", a.id)));
                }
            }
            Event::CertificateIssued {
                certificate,
                signature,
            } => {
                let authority = self.authorities.get(&entry.actor).ok_or_else(|| {
                    at(
                        i,
                        format!(
                            "issued by {}, which no earlier entry registered",
                            entry.actor
                        ),
                    )
                })?;
                if entry.key_id != Some(authority.key_id()) {
                    return Err(at(
                        i,
                        "the entry's key id is not the authority's registered key",
                    ));
                }
                // Checked in batches over both cores (check_signatures), strictly on failure.
                self.pending
                    .push((i, certificate.clone(), *signature, authority.public_key));
                let cert = decode_certificate(certificate)
                    .map_err(|e| at(i, format!("certificate does not decode: {e}")))?;
                if cert.issuer.authority_id != authority.id
                    || cert.issuer.participant != authority.participant
                    || cert.issuer.key_id != authority.key_id()
                    || cert.number.participant() != authority.participant
                {
                    return Err(at(
                        i,
                        "the certificate's issuer does not match the acting authority",
                    ));
                }
                if !self.participants.contains(&cert.content.destination)
                    || cert.content.destination == authority.participant
                {
                    return Err(at(
                        i,
                        "the destination is not another registered participant",
                    ));
                }
                let serial: u64 = cert
                    .number
                    .as_str()
                    .rsplit('-')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| at(i, "the certificate number has no serial"))?;
                let year = cert.content.issued_on.year();
                if !cert.number.as_str().contains(&format!("-{year:04}-")) {
                    return Err(at(
                        i,
                        "the certificate number does not carry its year of issue",
                    ));
                }
                let last = self
                    .serials
                    .entry((authority.participant, year))
                    .or_insert(0);
                if serial != *last + 1 {
                    return Err(at(
                        i,
                        format!(
                            "certificate number {} is out of sequence (expected serial {}): reused or missing numbers",
                            cert.number,
                            *last + 1
                        ),
                    ));
                }
                *last = serial;
                self.certificates += 1;
            }
            Event::Other { kind, .. } => {
                return Err(at(
                    i,
                    format!("unknown kind {kind:?} (written by a newer kpcert?)"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the signed checkpoint against what was replayed.
    pub fn finish(mut self, note: &str) -> Result<AuditReport, AuditFailure> {
        self.check_signatures()?;
        let checkpoint = self.verifier.open(note).map_err(|e| {
            whole(format!(
                "the checkpoint does not verify with the pinned ledger key: {e}"
            ))
        })?;
        if checkpoint.size != self.next {
            return Err(whole(format!(
                "the checkpoint states {} entries but {} were replayed",
                checkpoint.size, self.next
            )));
        }
        if checkpoint.root != self.frontier.root() {
            return Err(whole(
                "the Merkle root of the entries is not the signed checkpoint's root",
            ));
        }
        if let Some((size, None)) = self.watch {
            return Err(whole(format!(
                "the ledger is shorter ({} entries) than the {size} of the checkpoint verified before: truncated or forked",
                self.next
            )));
        }
        Ok(AuditReport {
            entries: self.next,
            certificates: self.certificates,
            participants: self.participants.len() as u64,
            authorities: self.authorities.len() as u64,
            first_time_ms: self.first_time_ms,
            last_time_ms: self.last_time_ms,
            checkpoint,
        })
    }

    /// The root this ledger had at the earlier checkpoint's size, once replayed that far.
    pub fn root_at_previous(&self) -> Option<Hash> {
        self.watch.and_then(|(_, r)| r)
    }
}

/// Audits an export file read from `input`, with an optional previous checkpoint.
pub fn audit_export(
    mut input: impl Read,
    verifier: NoteVerifier,
    previous: Option<&Checkpoint>,
    mut progress: impl FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    if read_exact(&mut input, 16, "its header")? != EXPORT_MAGIC {
        return Err(whole("not a kpcert export file"));
    }
    let note_len =
        u32::from_be_bytes(read_exact(&mut input, 4, "its header")?.try_into().unwrap()) as usize;
    if note_len > 4096 {
        return Err(whole("the checkpoint note is too long"));
    }
    let note = String::from_utf8(read_exact(&mut input, note_len, "the checkpoint")?)
        .map_err(|_| whole("the checkpoint is not text"))?;
    let count = u64::from_be_bytes(read_exact(&mut input, 8, "its header")?.try_into().unwrap());
    let auditor = replay(
        &mut input,
        count,
        Auditor::new(verifier, previous),
        &mut progress,
    )?;
    let mut rest = [0u8; 1];
    if input.read(&mut rest).map_err(|e| whole(e.to_string()))? != 0 {
        return Err(whole("bytes after the last entry"));
    }
    conclude(auditor, previous, &note)
}

/// Feeds `count` length-prefixed entries from `input` to `auditor`.
fn replay(
    input: &mut impl Read,
    count: u64,
    mut auditor: Auditor,
    progress: &mut impl FnMut(u64, u64),
) -> Result<Auditor, AuditFailure> {
    for i in 0..count {
        let len = u32::from_be_bytes(
            read_exact(input, 4, "an entry")
                .map_err(|e| at(i, e.reason))
                .map_err(|e| auditor.check_signatures().err().unwrap_or(e))?
                .try_into()
                .unwrap(),
        ) as usize;
        let bytes = if len > MAX_ENTRY {
            Err(at(i, format!("claims {len} bytes")))
        } else {
            read_exact(input, len, "an entry").map_err(|e| at(i, e.reason))
        };
        // A framing error after a bad signature: the signature is the first failure.
        let bytes = bytes.map_err(|e| auditor.check_signatures().err().unwrap_or(e))?;
        auditor.feed(&bytes)?;
        if i % 10_000 == 0 {
            progress(i, count);
        }
    }
    progress(count, count);
    // Every signature is checked before any whole-ledger verdict (trailing bytes, forks).
    auditor.check_signatures()?;
    Ok(auditor)
}

/// Fork detection against the previous checkpoint, then the signed checkpoint itself.
fn conclude(
    auditor: Auditor,
    previous: Option<&Checkpoint>,
    note: &str,
) -> Result<AuditReport, AuditFailure> {
    if let (Some(prev), Some(root)) = (previous, auditor.root_at_previous()) {
        if prev.root != root {
            return Err(whole(format!(
                "the ledger does not extend the checkpoint verified before (size {}): it was rewritten or forked",
                prev.size
            )));
        }
    }
    auditor.finish(note)
}

/// Audits a data folder read-only, safe while the server runs: the checkpoint in
/// `checkpoint.txt` names how many entries are committed, and those are read from `entries.dat`
/// (append-only, so committed bytes never change).
pub fn audit_data_dir(
    dir: &std::path::Path,
    verifier: NoteVerifier,
    previous: Option<&Checkpoint>,
    mut progress: impl FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    let note = std::fs::read_to_string(dir.join(crate::ledger::CHECKPOINT_FILE)).map_err(|e| {
        whole(format!(
            "cannot read {}: {e}",
            crate::ledger::CHECKPOINT_FILE
        ))
    })?;
    let size = verifier
        .open(&note)
        .map_err(|e| {
            whole(format!(
                "the checkpoint does not verify with the pinned ledger key: {e}"
            ))
        })?
        .size;
    let file = std::fs::File::open(dir.join("entries.dat"))
        .map_err(|e| whole(format!("cannot read entries.dat: {e}")))?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, file);
    let auditor = replay(
        &mut input,
        size,
        Auditor::new(verifier, previous),
        &mut progress,
    )?;
    conclude(auditor, previous, &note)
}

fn read_exact(input: &mut impl Read, n: usize, what: &str) -> Result<Vec<u8>, AuditFailure> {
    let mut buf = vec![0; n];
    input
        .read_exact(&mut buf)
        .map_err(|_| whole(format!("the export file ends inside {what}")))?;
    Ok(buf)
}
