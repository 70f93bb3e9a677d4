//! Issuing authorities: who may issue for which participant, with which key and validity policy.

use super::country::CountryCode;
use crate::crypto::{KeyId, PublicKey};

/// Default certificate validity in days (the US default; the scheme sets no length).
pub const DEFAULT_VALIDITY_DAYS: u32 = 60;
/// Longest validity an authority may be configured with.
pub const MAX_VALIDITY_DAYS_LIMIT: u32 = 365;

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
    /// The key id of the authority's signing key.
    pub fn key_id(&self) -> KeyId {
        self.public_key.key_id()
    }

    /// The id of the `n`-th authority (from 1) of `participant`.
    pub fn id_for(participant: CountryCode, n: u64) -> String {
        format!("{participant}-A{n}")
    }
}
