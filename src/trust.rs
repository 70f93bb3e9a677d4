//! The signed trust bundle for offline verification: the one producer of its signed bytes.
//!
//! A border post without a connection verifies seals against a bundle it downloaded earlier:
//! the participants and their status, the issuing authorities with their public keys, key ids
//! and validity windows, and the ledger's verifier key, with `issued_at` and `next_update`,
//! signed by the Secretariat root key. The signed bytes are deterministic CBOR
//! `["kpcert/trust-bundle/v1", {...}]` (api/trust-bundle.md); the JSON file around them only
//! carries them in base64 with the signature.

use std::fmt;

use crate::b64;
use crate::cbor::Value;
use crate::crypto::{hex, KeyId, PublicKey, SigningKey};

/// Context string of the bundle encoding.
pub const BUNDLE_CONTEXT: &str = "kpcert/trust-bundle/v1";

/// A participant as the bundle lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleParticipant {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// `active` today; suspensions come with the participant-status events.
    pub status: String,
}

/// An authority key as the bundle lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleAuthority {
    pub authority_id: String,
    pub participant: String,
    pub name: String,
    pub public_key: PublicKey,
    /// Unix ms from which the key may sign (its registration in the ledger).
    pub valid_from_ms: u64,
    /// Unix ms after which it may not (`None`: no end yet).
    pub valid_until_ms: Option<u64>,
}

/// What a bundle states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustBundle {
    pub issued_at_ms: u64,
    pub next_update_ms: u64,
    pub ledger_origin: String,
    pub ledger_verifier_key: String,
    pub participants: Vec<BundleParticipant>,
    pub authorities: Vec<BundleAuthority>,
}

/// Why a bundle file is rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleError(pub String);

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(msg: impl Into<String>) -> BundleError {
    BundleError(msg.into())
}

impl TrustBundle {
    /// The signed bytes.
    pub fn encode(&self) -> Vec<u8> {
        let participants = self
            .participants
            .iter()
            .map(|p| {
                Value::map([
                    ("code", Value::text(&p.code)),
                    ("name", Value::text(&p.name)),
                    ("kind", Value::text(&p.kind)),
                    ("status", Value::text(&p.status)),
                ])
            })
            .collect();
        let authorities = self
            .authorities
            .iter()
            .map(|a| {
                Value::map([
                    ("authority_id", Value::text(&a.authority_id)),
                    ("participant", Value::text(&a.participant)),
                    ("name", Value::text(&a.name)),
                    ("public_key", Value::Bytes(a.public_key.to_bytes().to_vec())),
                    ("key_id", Value::text(a.public_key.key_id().to_string())),
                    ("valid_from", Value::Uint(a.valid_from_ms)),
                    (
                        "valid_until",
                        a.valid_until_ms.map(Value::Uint).unwrap_or(Value::Null),
                    ),
                ])
            })
            .collect();
        let body = Value::map([
            ("issued_at", Value::Uint(self.issued_at_ms)),
            ("next_update", Value::Uint(self.next_update_ms)),
            (
                "ledger",
                Value::map([
                    ("origin", Value::text(&self.ledger_origin)),
                    ("verifier_key", Value::text(&self.ledger_verifier_key)),
                ]),
            ),
            ("participants", Value::Array(participants)),
            ("authorities", Value::Array(authorities)),
        ]);
        Value::Array(vec![Value::text(BUNDLE_CONTEXT), body]).encode()
    }

    /// The JSON file served and read: the signed bytes, the root signature and its key id.
    pub fn to_signed_json(&self, root: &SigningKey) -> serde_json::Value {
        let bytes = self.encode();
        serde_json::json!({
            "format": BUNDLE_CONTEXT,
            "root_key_id": root.public_key().key_id().to_string(),
            "bundle": b64::encode(&bytes),
            "signature": b64::encode(&root.sign(&bytes)),
        })
    }

    /// Checks a bundle file against the pinned root key and decodes it.
    pub fn open_signed_json(json: &str, root: &PublicKey) -> Result<TrustBundle, BundleError> {
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| err(format!("not a JSON bundle file: {e}")))?;
        if v["format"] != BUNDLE_CONTEXT {
            return Err(err(format!("not a {BUNDLE_CONTEXT} file")));
        }
        let field = |k: &str| {
            v[k].as_str()
                .and_then(b64::decode)
                .ok_or_else(|| err(format!("{k} is not base64")))
        };
        let (bytes, signature) = (field("bundle")?, field("signature")?);
        if !root.verify_strict(&bytes, &signature) {
            return Err(err(
                "the bundle's signature does not verify with the pinned root key",
            ));
        }
        Self::decode(&bytes)
    }

    fn decode(bytes: &[u8]) -> Result<TrustBundle, BundleError> {
        let v = Value::decode(bytes).map_err(|e| err(format!("bundle CBOR: {e}")))?;
        let body = match v.as_array() {
            Some([Value::Text(c), body]) if c == BUNDLE_CONTEXT => body,
            _ => return Err(err("not a [context, body] bundle")),
        };
        let exact = |m: &Value, keys: &[&str], what: &str| -> Result<(), BundleError> {
            let map = m
                .as_map()
                .ok_or_else(|| err(format!("{what} is not a map")))?;
            let ok = map.len() == keys.len()
                && map
                    .iter()
                    .all(|(k, _)| k.as_text().is_some_and(|k| keys.contains(&k)));
            if ok {
                Ok(())
            } else {
                Err(err(format!("{what} must have exactly the keys {keys:?}")))
            }
        };
        exact(
            body,
            &[
                "issued_at",
                "next_update",
                "ledger",
                "participants",
                "authorities",
            ],
            "the bundle",
        )?;
        let text = |m: &Value, k: &str| -> Result<String, BundleError> {
            m.get(k)
                .and_then(Value::as_text)
                .map(str::to_owned)
                .ok_or_else(|| err(format!("{k} is missing or not text")))
        };
        let uint = |m: &Value, k: &str| -> Result<u64, BundleError> {
            m.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| err(format!("{k} is missing or not a number")))
        };
        let ledger = body.get("ledger").ok_or_else(|| err("ledger is missing"))?;
        exact(ledger, &["origin", "verifier_key"], "ledger")?;
        let list = |k: &str| -> Result<&[Value], BundleError> {
            body.get(k)
                .and_then(Value::as_array)
                .ok_or_else(|| err(format!("{k} is not a list")))
        };
        let participants = list("participants")?
            .iter()
            .map(|p| {
                exact(p, &["code", "name", "kind", "status"], "a participant")?;
                Ok(BundleParticipant {
                    code: text(p, "code")?,
                    name: text(p, "name")?,
                    kind: text(p, "kind")?,
                    status: text(p, "status")?,
                })
            })
            .collect::<Result<Vec<_>, BundleError>>()?;
        let authorities = list("authorities")?
            .iter()
            .map(|a| {
                exact(
                    a,
                    &[
                        "authority_id",
                        "participant",
                        "name",
                        "public_key",
                        "key_id",
                        "valid_from",
                        "valid_until",
                    ],
                    "an authority",
                )?;
                let public_key = a
                    .get("public_key")
                    .and_then(Value::as_bytes)
                    .ok_or_else(|| err("public_key is missing"))
                    .and_then(|b| PublicKey::from_bytes(b).map_err(|e| err(e.to_string())))?;
                if text(a, "key_id")? != public_key.key_id().to_string() {
                    return Err(err("a key id does not match its public key"));
                }
                Ok(BundleAuthority {
                    authority_id: text(a, "authority_id")?,
                    participant: text(a, "participant")?,
                    name: text(a, "name")?,
                    public_key,
                    valid_from_ms: uint(a, "valid_from")?,
                    valid_until_ms: match a.get("valid_until") {
                        Some(Value::Null) => None,
                        _ => Some(uint(a, "valid_until")?),
                    },
                })
            })
            .collect::<Result<Vec<_>, BundleError>>()?;
        Ok(TrustBundle {
            issued_at_ms: uint(body, "issued_at")?,
            next_update_ms: uint(body, "next_update")?,
            ledger_origin: text(ledger, "origin")?,
            ledger_verifier_key: text(ledger, "verifier_key")?,
            participants,
            authorities,
        })
    }

    /// The authority keys with `key_id` (a key id is a truncated hash: try every one).
    pub fn keys_with_id(&self, key_id: &KeyId) -> Vec<&BundleAuthority> {
        self.authorities
            .iter()
            .filter(|a| &a.public_key.key_id() == key_id)
            .collect()
    }
}

/// The root key's printable form: 64 hex digits of the ed25519 public key.
pub fn root_key_text(key: &PublicKey) -> String {
    hex(&key.to_bytes())
}
