//! Rebuilding a data folder from an export (a backup taken with `kpcert export`, which works
//! while the server runs): the entries' exact bytes, their offsets and Merkle nodes, the index
//! (certificate numbers, a state snapshot) and, last, the commit point with the export's own
//! signed checkpoint. No private key is needed: the caller audits the export against the
//! ledger's public key first, and the service that later opens the folder checks that its key
//! signed that checkpoint.

use std::path::Path;

use super::files::LogFiles;
use super::index::{Batch, Index};
use super::{write_checkpoint_file, LedgerError};
use crate::codec::export::{ExportError, Frame};
use crate::codec::{decode_entry, entry_hash, snapshot};
use crate::domain::{Event, State};
use crate::tlog::merkle::{self, Frontier};
use crate::tlog::Checkpoint;

/// Writes the entries into the empty folder `dir`; `checkpoint` and `note` are the export's
/// (verified by the caller). Returns the number of entries restored. On failure the folder is
/// left incomplete and must be removed before another try: nothing is committed until the
/// last step.
pub fn restore(
    dir: &Path,
    checkpoint: &Checkpoint,
    note: &str,
    frames: impl Iterator<Item = Result<Frame, ExportError>>,
    now_ms: u64,
) -> Result<u64, LedgerError> {
    if super::Ledger::holds_ledger_files(dir) {
        return Err(LedgerError::Mismatch(format!(
            "{} already holds a ledger: restore into an empty folder",
            dir.display()
        )));
    }
    super::create_private_dir(dir)?;
    let index = Index::open(dir)?;
    let files = LogFiles::open(dir)?;
    let mut state = State::new();
    let mut frontier = Frontier::default();
    let mut prev = [0u8; 32];
    let mut batch = Batch::default();
    let (mut entries_buf, mut offsets_buf, mut nodes_buf) = (Vec::new(), Vec::new(), Vec::new());
    let mut at = 0u64;
    for item in frames {
        let frame = item.map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let bytes = frame.entry;
        let i = frontier.size();
        let mut entry =
            decode_entry(&bytes).map_err(|e| LedgerError::Corrupt(format!("entry {i}: {e}")))?;
        // Every certificate needs its full record: a service cannot answer for a certificate
        // it holds only the commitment of.
        if crate::codec::entry::has_record(entry.event.kind()) {
            if frame.record.is_empty() {
                return Err(LedgerError::Mismatch(format!(
                    "entry {i} has no full record: restore from a full export (kpcert export --full)"
                )));
            }
            crate::codec::attach_record(&mut entry, &frame.record)
                .map_err(|e| LedgerError::Corrupt(format!("the record of entry {i}: {e}")))?;
        } else if !frame.record.is_empty() {
            return Err(LedgerError::Corrupt(format!(
                "entry {i} is of a kind without a record but carries one"
            )));
        }
        if entry.prev != prev {
            return Err(LedgerError::Corrupt(format!("entry {i} does not chain")));
        }
        let applied = state
            .apply(&entry)
            .map_err(|v| LedgerError::Corrupt(format!("entry {i}: {v}")))?;
        // The record's certificate is bound to the entry by its hash (checked by the rules);
        // its seal is not, so it is verified here with the key that signed the entry: the file
        // is read again after its audit, and may have changed in between.
        if let (Event::CertificateIssued(signed), Some(key)) = (&entry.event, applied.signed_by) {
            let record = signed.record.as_deref().expect("attached above");
            let sealed = crate::codec::record::check_seal(record, &signed.issuance)
                .is_ok_and(|opened| opened.verify(&key));
            if !sealed {
                return Err(LedgerError::Corrupt(format!(
                    "the seal in the record of entry {i} does not verify"
                )));
            }
        }
        prev = entry_hash(&bytes);
        frontier.push(merkle::leaf_hash(&bytes), |_, hash| {
            nodes_buf.extend_from_slice(hash)
        });
        offsets_buf.extend_from_slice(&at.to_be_bytes());
        let before = entries_buf.len();
        Frame::write_into(&bytes, &frame.record, &mut entries_buf);
        at += (entries_buf.len() - before) as u64;
        if entries_buf.len() >= 8 << 20 {
            files.append(&entries_buf, &offsets_buf, &nodes_buf)?;
            entries_buf.clear();
            offsets_buf.clear();
            nodes_buf.clear();
        }
    }
    files.append(&entries_buf, &offsets_buf, &nodes_buf)?;
    if frontier.size() != checkpoint.size || frontier.root() != checkpoint.root {
        return Err(LedgerError::Corrupt(
            "the restored entries are not the tree of the export's checkpoint".into(),
        ));
    }
    files.sync(true)?;
    index.mark_created(dir, now_ms)?;
    batch.derived(checkpoint.size);
    batch.snapshot(&snapshot::encode_state(&state, &prev));
    batch.commit_point(checkpoint.size, &prev, note);
    index.apply(batch)?;
    index.flush_durably()?;
    write_checkpoint_file(dir, note)?;
    Ok(checkpoint.size)
}
