//! Issuing authorities: who may issue for which participant, with which key and validity policy.

use super::certificate::text_rule;
use super::country::CountryCode;
use crate::crypto::{KeyId, PublicKey};

/// Default certificate validity in days (the US default; the scheme sets no length).
pub const DEFAULT_VALIDITY_DAYS: u32 = 60;
/// Longest validity an authority may be configured with.
pub const MAX_VALIDITY_DAYS_LIMIT: u32 = 365;
/// Longest authority name, in characters.
pub const MAX_AUTHORITY_NAME_CHARS: usize = 200;

/// A national issuing authority as registered in the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    /// `<participant>-A<n>`, e.g. `BW-A1`, assigned in registration order.
    pub id: String,
    pub participant: CountryCode,
    pub name: String,
    pub public_key: PublicKey,
    pub default_validity_days: u32,
    pub max_validity_days: u32,
}

impl Authority {
    /// The issuer block of a certificate this authority signs with key `key_id`.
    pub fn issuer(&self, key_id: KeyId) -> super::certificate::Issuer {
        super::certificate::Issuer {
            participant: self.participant,
            authority_id: self.id.clone(),
            authority_name: self.name.clone(),
            key_id,
        }
    }

    /// The key id of the authority's registered signing key.
    pub fn key_id(&self) -> KeyId {
        self.public_key.key_id()
    }

    /// The id of the `n`-th authority (from 1) of `participant`.
    pub fn id_for(participant: CountryCode, n: u64) -> String {
        format!("{participant}-A{n}")
    }

    /// The validity used when a request gives no expiry, for an authority whose longest
    /// validity is `max_validity_days`.
    pub fn default_validity_for(max_validity_days: u32) -> u32 {
        DEFAULT_VALIDITY_DAYS.min(max_validity_days)
    }

    /// What is wrong with this registration's own fields, if anything (the id's sequence is
    /// the ledger state's to judge).
    pub fn problem(&self) -> Option<String> {
        if let Err(e) = text_rule(&self.name, MAX_AUTHORITY_NAME_CHARS) {
            return Some(format!("the authority name {e}"));
        }
        if !(1..=MAX_VALIDITY_DAYS_LIMIT).contains(&self.max_validity_days) {
            return Some(format!(
                "the maximum validity must be between 1 and {MAX_VALIDITY_DAYS_LIMIT} days"
            ));
        }
        if !(1..=self.max_validity_days).contains(&self.default_validity_days) {
            return Some(
                "the default validity must be between 1 day and the maximum validity".into(),
            );
        }
        None
    }
}
