//! kpcert: Kimberley Process certificates issued over HTTPS, signed with each issuing authority's
//! ed25519 key and chained into an append-only, verifiable ledger.
//!
//! See ARCHITECTURE.md for the code map and the invariants each module keeps.

pub mod app;
pub mod audit;
pub mod cli;
pub mod client;
pub mod clock;
pub mod codec;
pub mod crypto;
pub mod documents;
pub mod domain;
#[doc(hidden)]
pub mod fuzz;
pub mod http;
pub mod keys;
pub mod ledger;
pub mod metrics;
pub mod portal;
pub mod qr;
pub mod report;
pub mod startup;
pub mod statistics;
pub mod tlog;
pub mod tls;
pub mod tokens;
pub mod verify;
pub mod views;
