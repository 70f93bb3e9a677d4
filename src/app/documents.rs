//! Documents on the service: the Secretariat or a monitoring team records a file of the
//! institutional memory (the file stored by its SHA-256, then the ledger entry naming it), and
//! anyone allowed reads it back, checked against the hash the ledger committed to, with the
//! proof of its entry.

use std::sync::Arc;

use super::App;
use crate::crypto::Hash;
use crate::domain::{Date, Document, DocumentEntry, Event};
use crate::ledger::{LedgerError, NewEntry, SignedCheckpoint};

/// A recorded document with its entry and the inclusion proof against a checkpoint.
pub struct ProvenDocument {
    pub entry: DocumentEntry,
    pub entry_bytes: Vec<u8>,
    pub proof: Vec<Hash>,
    pub checkpoint: Arc<SignedCheckpoint>,
}

impl App {
    /// Records `bytes` as `document` (whose hash and size are the bytes'), by `actor` (the
    /// Secretariat or `monitor:<team>`): checked first, then the file stored durably, then the
    /// entry appended (checked again on the writer). Its entry index, and whether it is new
    /// (`false`: the bytes of a recorded document whose stored copy was missing or altered,
    /// which they repair).
    pub fn record_document(
        &self,
        actor: String,
        mut document: Document,
        bytes: &[u8],
    ) -> Result<(u64, bool), LedgerError> {
        document.hash = crate::crypto::sha256(bytes);
        document.size = bytes.len() as u64;
        // The very bytes of a recorded document whose stored copy is missing or altered: the
        // copy is repaired, nothing new is recorded.
        if let Some(existing) = self.state().document(&document.hash).cloned() {
            if !matches!(self.documents.get(&document.hash), Ok(Some(_))) {
                self.documents
                    .put(bytes)
                    .map_err(|e| LedgerError::Storage(format!("cannot store the document: {e}")))?;
                return Ok((existing.index, false));
            }
        }
        let problems = self.state().document_problems(&document, self.today());
        if !problems.is_empty() {
            return Err(LedgerError::Invalid(problems));
        }
        self.documents
            .put(bytes)
            .map_err(|e| LedgerError::Storage(format!("cannot store the document: {e}")))?;
        let appended = self.ledger.append_blocking(move |ctx| {
            let day = Date::from_unix_ms(ctx.time_ms());
            let problems = ctx.state().document_problems(&document, day);
            if !problems.is_empty() {
                return Err(LedgerError::Invalid(problems));
            }
            Ok(NewEntry {
                actor,
                key_id: None,
                event: Event::DocumentRecorded(document),
            })
        })?;
        Ok((appended.index, true))
    }

    /// The file of recorded document `hash`, checked against its hash: `None` when no such
    /// document is recorded. A recorded document whose file is missing or altered is an error.
    pub fn document_file(
        &self,
        hash: &Hash,
    ) -> Result<Option<(DocumentEntry, Vec<u8>)>, LedgerError> {
        let Some(entry) = self.state().document(hash).cloned() else {
            return Ok(None);
        };
        match self.documents.get(hash) {
            Ok(Some(bytes)) => Ok(Some((entry, bytes))),
            Ok(None) => Err(LedgerError::Storage(format!(
                "the file of document {} (ledger entry {}) is missing from documents/",
                crate::codec::text::hex(hash),
                entry.index
            ))),
            Err(e) => Err(LedgerError::Storage(e.to_string())),
        }
    }

    /// Recorded document `hash` with its entry and inclusion proof against the latest
    /// checkpoint.
    pub fn proven_document(&self, hash: &Hash) -> Result<Option<ProvenDocument>, LedgerError> {
        let checkpoint = self.ledger.head();
        let Some(entry) = self.state().document(hash).cloned() else {
            return Ok(None);
        };
        let (decoded, entry_bytes) = self.entry_at(entry.index)?;
        if !matches!(&decoded.event, Event::DocumentRecorded(d) if d.hash == *hash) {
            return Err(LedgerError::Corrupt(format!(
                "entry {}, which the state names for a document, records something else",
                entry.index
            )));
        }
        let proof =
            self.ledger
                .proven_inclusion(entry.index, &entry_bytes, &checkpoint.checkpoint)?;
        Ok(Some(ProvenDocument {
            entry,
            entry_bytes,
            proof,
            checkpoint,
        }))
    }
}
