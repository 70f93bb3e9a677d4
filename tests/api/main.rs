//! The one integration-test binary: the real server on port 0 over real TLS, a real sled
//! database in a temporary folder, a real HTTP client, and the real `kpcert` binary.

mod admin_load;
mod audit;
mod audit_rules;
mod cases;
mod cli;
mod crash;
mod documents;
mod fuzz_corpus;
mod go_crosscheck;
mod helpers;
mod hostile;
mod integrity;
mod issuance;
mod keys;
mod ledger;
mod lifecycle;
mod merkle;
mod offline;
mod own_key;
mod own_key_lifecycle;
mod portal;
mod privacy;
mod roles;
mod rules;
mod seal;
mod spec_data;
mod standing;
mod standing_attacks;
mod statistics;
mod tidy;
mod vectors;
mod verdicts;
mod verify;
