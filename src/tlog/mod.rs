//! The transparency-log layer: RFC 6962/9162 Merkle math (pure, over a tiny "read these
//! hashes" interface) and C2SP signed notes and checkpoints.

pub mod merkle;
pub mod note;

pub use note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
