//! Fault injection at the storage boundary, for the ledger's own tests only (compiled under
//! `cfg(test)`): a failure planned at one step of a commit, on one ledger, happens once.

use std::sync::Mutex;

use super::LedgerError;

/// A step of a commit where a failure can be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Appending to the files: half of the entries' bytes are written, then ENOSPC.
    ShortWrite,
    /// Appending to the files: ENOSPC before anything is written.
    NoSpace,
    /// `fdatasync` of the files fails.
    Sync,
    /// The index batch (the commit point) fails to apply.
    Commit,
}

/// The failure planned on one ledger.
#[derive(Default)]
pub struct Plan(Mutex<Option<Step>>);

impl Plan {
    /// Plans a failure at `step`.
    pub fn arm(&self, step: Step) {
        *self.0.lock().expect("fault plan") = Some(step);
    }

    /// Whether the failure planned is at `step` (it happens once).
    pub fn take(&self, step: Step) -> bool {
        let mut planned = self.0.lock().expect("fault plan");
        if *planned == Some(step) {
            *planned = None;
            true
        } else {
            false
        }
    }
}

/// The error an injected failure returns.
pub fn error(step: Step) -> LedgerError {
    LedgerError::Storage(format!(
        "injected fault at {step:?}: {}",
        std::io::Error::from_raw_os_error(28)
    ))
}
