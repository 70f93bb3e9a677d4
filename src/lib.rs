//! kpcert: Kimberley Process certificates issued over HTTPS, signed with each issuing authority's
//! ed25519 key and chained into an append-only, verifiable ledger.
//!
//! See ARCHITECTURE.md for the code map and the invariants each module keeps.

pub mod app;
pub mod audit;
pub mod b64;
pub mod cbor;
pub mod checkpoint;
pub mod cli;
pub mod crypto;
pub mod domain;
pub mod encoding;
pub mod http;
pub mod keys;
pub mod ledger;
pub mod merkle;
pub mod qr;
pub mod seal;
pub mod tls;
pub mod trust;
