//! The encodings: deterministic CBOR with one strict map reader, and the one producer of every
//! byte string kpcert signs or hashes (certificates, issuances and records, ledger entries,
//! seals, trust bundles), plus
//! the export framing, the state snapshot and the text encodings of bytes.
//!
//! Every signed or hashed structure is `[context, body]` with a versioned context string that
//! domain-separates it; each decoder accepts exactly what its encoder produces, so a verifier
//! never re-serialises before checking a signature. api/ specifies every public format here.

pub mod case;
pub mod cbor;
pub mod certificate;
pub mod document;
pub mod entry;
pub mod export;
pub mod lifecycle;
pub mod record;
pub mod seal;
pub mod snapshot;
pub mod standing;
pub mod stats;
pub mod text;
pub mod trust;

pub use cbor::FormatError;
pub use certificate::{decode_certificate, encode_certificate};
pub use entry::{attach_record, decode_entry, encode_entry, encode_entry_record, entry_hash};
pub use record::{decode_issuance, decode_record, encode_issuance, encode_record};
