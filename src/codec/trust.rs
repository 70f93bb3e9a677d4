//! The signed trust bundle for offline verification: the one producer of its signed bytes.
//!
//! A border post without a connection verifies seals against a bundle it downloaded earlier:
//! the participants and their standing over time (status changes with their decisions, trade
//! measures), the issuing authorities' keys with their validity windows,
//! the ledger's verifier key, and the state of every certificate still inside its validity that
//! is void or imported (what changes a verdict), with `issued_at`, `next_update` and the ledger
//! size it was made at, signed by the Secretariat root key. The signed bytes are deterministic CBOR `["kpcert/trust-bundle/v4", {...}]`
//! (api/trust-bundle.md); the JSON file around them only carries them in base64 with the
//! signature. Lists are sorted (participants by code, keys by authority id, start of validity,
//! then key id) and the decoder refuses any other order, so a bundle has exactly one encoding.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value};
use super::text::{base64, from_base64, hex};
use crate::crypto::{KeyId, PublicKey, SigningKey};
use crate::domain::{
    CertificateNumber, CountryCode, Date, KeyWindow, ParticipantKind, Revocation, StandingHistory,
    State,
};

/// Context string of the bundle encoding.
pub const BUNDLE_CONTEXT: &str = "kpcert/trust-bundle/v4";

/// A participant as the bundle lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleParticipant {
    pub code: CountryCode,
    pub name: String,
    pub kind: ParticipantKind,
    /// Its status changes and trade measures, as the ledger recorded them.
    pub standing: StandingHistory,
}

/// An authority key as the bundle lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleKey {
    pub authority_id: String,
    pub participant: CountryCode,
    pub name: String,
    pub key: KeyWindow,
}

/// What changed a certificate's verdict after issuance, as the bundle lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleState {
    /// Voided (with its replacement, if any).
    Void {
        replaced_by: Option<CertificateNumber>,
    },
    /// Its arrival was confirmed.
    Imported,
}

/// A certificate whose verdict changed after issuance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleCertificate {
    pub number: CertificateNumber,
    pub state: BundleState,
    /// The day of the void, or the day of arrival of an import.
    pub on: Date,
    pub authority_id: String,
    pub entry_index: u64,
}

/// What a bundle states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustBundle {
    pub issued_at_ms: u64,
    pub next_update_ms: u64,
    pub ledger_origin: String,
    pub ledger_verifier_key: String,
    /// The ledger size the bundle was made at (its certificates section is as of it).
    pub ledger_size: u64,
    pub participants: Vec<BundleParticipant>,
    pub authorities: Vec<BundleKey>,
    /// Sorted by number.
    pub certificates: Vec<BundleCertificate>,
}

/// Why a bundle file is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BundleError(pub String);

impl From<FormatError> for BundleError {
    fn from(e: FormatError) -> BundleError {
        BundleError(format!("bundle: {e}"))
    }
}

fn err(msg: impl Into<String>) -> BundleError {
    BundleError(msg.into())
}

const AUTHORITY_KEYS: [&str; 8] = [
    "authority_id",
    "participant",
    "name",
    "public_key",
    "key_id",
    "valid_from",
    "valid_until",
    "revoked",
];

impl TrustBundle {
    /// The bundle of what `state` establishes, issued at `now_ms` and meant to be replaced
    /// after `valid_for_ms`.
    pub fn of_state(
        state: &State,
        now_ms: u64,
        valid_for_ms: u64,
        ledger_origin: &str,
        ledger_verifier_key: &str,
    ) -> TrustBundle {
        let participants = state
            .participants()
            .map(|p| BundleParticipant {
                code: p.participant.code,
                name: p.participant.name.clone(),
                kind: p.participant.kind,
                standing: p.standing.clone(),
            })
            .collect();
        let mut authorities: Vec<BundleKey> = state
            .authorities()
            .flat_map(|a| {
                a.keys.iter().map(move |k| BundleKey {
                    authority_id: a.authority.id.clone(),
                    participant: a.authority.participant,
                    name: a.authority.name.clone(),
                    key: k.clone(),
                })
            })
            .collect();
        authorities.sort_by(|a, b| a.order().cmp(&b.order()));
        let today = Date::from_unix_ms(now_ms);
        let mut certificates: Vec<BundleCertificate> = state
            .changed_lives()
            .filter(|(_, l)| l.expires_on >= today)
            .map(|(n, l)| match (&l.voided, &l.confirmed) {
                (Some(v), _) => BundleCertificate {
                    number: n.clone(),
                    state: BundleState::Void {
                        replaced_by: v.replaced_by.clone(),
                    },
                    on: Date::from_unix_ms(v.time_ms),
                    authority_id: v.authority_id.clone(),
                    entry_index: v.index,
                },
                (None, Some(c)) => BundleCertificate {
                    number: n.clone(),
                    state: BundleState::Imported,
                    on: c.received_on,
                    authority_id: c.authority_id.clone(),
                    entry_index: c.index,
                },
                (None, None) => unreachable!("only changed lives"),
            })
            .collect();
        certificates.sort_by(|a, b| a.number.cmp(&b.number));
        TrustBundle {
            issued_at_ms: now_ms,
            next_update_ms: now_ms.saturating_add(valid_for_ms),
            ledger_origin: ledger_origin.to_owned(),
            ledger_verifier_key: ledger_verifier_key.to_owned(),
            ledger_size: state.size(),
            participants,
            authorities,
            certificates,
        }
    }

    /// The signed bytes.
    pub fn encode(&self) -> Vec<u8> {
        let participants = self
            .participants
            .iter()
            .map(|p| {
                Value::map([
                    ("code", Value::text(p.code.as_str())),
                    ("name", Value::text(&p.name)),
                    ("kind", Value::text(p.kind.as_str())),
                    ("standing", super::standing::history_value(&p.standing)),
                ])
            })
            .collect();
        let authorities = self
            .authorities
            .iter()
            .map(|a| {
                Value::map([
                    ("authority_id", Value::text(&a.authority_id)),
                    ("participant", Value::text(a.participant.as_str())),
                    ("name", Value::text(&a.name)),
                    (
                        "public_key",
                        Value::bytes(a.key.public_key.to_bytes().to_vec()),
                    ),
                    ("key_id", Value::text(a.key.key_id.to_string())),
                    ("valid_from", Value::Uint(a.key.valid_from_ms)),
                    (
                        "valid_until",
                        a.key.valid_until_ms.map(Value::Uint).unwrap_or(Value::Null),
                    ),
                    (
                        "revoked",
                        match &a.key.revoked {
                            Some(r) => Value::map([
                                ("from", Value::Uint(r.from_ms)),
                                ("reason", Value::text(&r.reason)),
                            ]),
                            None => Value::Null,
                        },
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
            ("ledger_size", Value::Uint(self.ledger_size)),
            ("participants", Value::Array(participants)),
            ("authorities", Value::Array(authorities)),
            (
                "certificates",
                Value::Array(
                    self.certificates
                        .iter()
                        .map(|c| {
                            let (state, replaced_by) = match &c.state {
                                BundleState::Void {
                                    replaced_by: Some(n),
                                } => ("void", Value::text(n.as_str())),
                                BundleState::Void { replaced_by: None } => ("void", Value::Null),
                                BundleState::Imported => ("imported", Value::Null),
                            };
                            Value::Array(vec![
                                Value::text(c.number.as_str()),
                                Value::text(state),
                                Value::text(c.on.to_string()),
                                Value::text(&c.authority_id),
                                Value::Uint(c.entry_index),
                                replaced_by,
                            ])
                        })
                        .collect(),
                ),
            ),
        ]);
        with_context(BUNDLE_CONTEXT, body)
    }

    /// The JSON file served and read: the signed bytes, the root signature and its key id.
    pub fn to_signed_json(&self, root: &SigningKey) -> String {
        let bytes = self.encode();
        serde_json::json!({
            "format": BUNDLE_CONTEXT,
            "root_key_id": root.public_key().key_id().to_string(),
            "bundle": base64(&bytes),
            "signature": base64(&root.sign(&bytes)),
        })
        .to_string()
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
                .and_then(from_base64)
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

    /// Decodes the signed bytes.
    pub fn decode(bytes: &[u8]) -> Result<TrustBundle, BundleError> {
        let v = Value::decode(bytes).map_err(FormatError::from)?;
        let body = Fields::exact(
            "the bundle",
            unwrap_context(&v, BUNDLE_CONTEXT)?,
            &[
                "issued_at",
                "next_update",
                "ledger",
                "ledger_size",
                "participants",
                "authorities",
                "certificates",
            ],
        )?;
        let ledger = Fields::exact("ledger", body.get("ledger"), &["origin", "verifier_key"])?;
        let participants = body
            .list("participants")?
            .iter()
            .map(|p| {
                let f = Fields::exact("a participant", p, &["code", "name", "kind", "standing"])?;
                Ok(BundleParticipant {
                    code: f.parsed("code", CountryCode::participant)?,
                    name: f.text("name")?.to_owned(),
                    kind: f.parsed("kind", ParticipantKind::parse)?,
                    standing: super::standing::history_from(f.get("standing"))?,
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()?;
        if !participants.windows(2).all(|w| w[0].code < w[1].code) {
            return Err(err("participants must be sorted by code, each listed once"));
        }
        for p in &participants {
            let h = &p.standing;
            let own = h.changes.iter().all(|r| r.change.participant == p.code)
                && h.measures.iter().all(|r| r.measure.participant == p.code);
            let ordered = h.changes.windows(2).all(|w| {
                w[0].index < w[1].index && w[0].change.effective_on <= w[1].change.effective_on
            }) && h.measures.windows(2).all(|w| w[0].index < w[1].index);
            if !own || !ordered {
                return Err(err(format!(
                    "the standing of {} must hold only its own entries, in ledger order and in order of effect",
                    p.code
                )));
            }
        }
        let authorities = body
            .list("authorities")?
            .iter()
            .map(|a| {
                let f = Fields::exact("an authority key", a, &AUTHORITY_KEYS)?;
                let public_key = PublicKey::from_bytes(f.bytes("public_key")?)
                    .map_err(|e| shape(format!("public_key: {e}")))?;
                let key_id = f.parsed("key_id", KeyId::parse)?;
                if key_id != public_key.key_id() {
                    return Err(shape("a key id does not match its public key"));
                }
                Ok(BundleKey {
                    authority_id: f.text("authority_id")?.to_owned(),
                    participant: f.parsed("participant", CountryCode::participant)?,
                    name: f.text("name")?.to_owned(),
                    key: KeyWindow {
                        public_key,
                        key_id,
                        valid_from_ms: f.uint("valid_from")?,
                        valid_until_ms: match f.get("valid_until") {
                            Value::Null => None,
                            _ => Some(f.uint("valid_until")?),
                        },
                        revoked: match f.get("revoked") {
                            Value::Null => None,
                            r => {
                                let r = Fields::exact("revoked", r, &["from", "reason"])?;
                                Some(Revocation {
                                    from_ms: r.uint("from")?,
                                    reason: r.text("reason")?.to_owned(),
                                })
                            }
                        },
                    },
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()?;
        if !authorities.windows(2).all(|w| w[0].order() < w[1].order()) {
            return Err(err(
                "authority keys must be sorted by authority id, then start of validity, then key id",
            ));
        }
        let certificates = body
            .list("certificates")?
            .iter()
            .map(|c| {
                let bad = || shape("a certificate of the bundle is not [number, state, on, authority_id, entry_index, replaced_by]");
                let [number, state, on, authority, index, replaced_by] = c
                    .as_array()
                    .and_then(|a| <&[Value; 6]>::try_from(a).ok())
                    .ok_or_else(bad)?;
                fn text<'a>(v: &'a Value<'_>) -> Result<&'a str, FormatError> {
                    v.as_text().ok_or_else(|| shape("a certificate's field is not text"))
                }
                let number_of =
                    |v: &Value| text(v).and_then(|t| CertificateNumber::parse(t).ok_or_else(bad));
                let state = match (text(state)?, replaced_by) {
                    ("void", Value::Null) => BundleState::Void { replaced_by: None },
                    ("void", n) => BundleState::Void {
                        replaced_by: Some(number_of(n)?),
                    },
                    ("imported", Value::Null) => BundleState::Imported,
                    _ => return Err(bad()),
                };
                Ok(BundleCertificate {
                    number: number_of(number)?,
                    state,
                    on: Date::parse(text(on)?).ok_or_else(bad)?,
                    authority_id: text(authority)?.to_owned(),
                    entry_index: index.as_u64().ok_or_else(bad)?,
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()?;
        if !certificates.windows(2).all(|w| w[0].number < w[1].number) {
            return Err(err(
                "certificates must be sorted by number, each listed once",
            ));
        }
        Ok(TrustBundle {
            issued_at_ms: body.uint("issued_at")?,
            next_update_ms: body.uint("next_update")?,
            ledger_origin: ledger.text("origin")?.to_owned(),
            ledger_verifier_key: ledger.text("verifier_key")?.to_owned(),
            ledger_size: body.uint("ledger_size")?,
            participants,
            authorities,
            certificates,
        })
    }
}

impl BundleKey {
    /// Authority id, then start of validity, then key id: two keys of one authority may start
    /// in the same millisecond (entries may share a time), and the order stays total.
    fn order(&self) -> (&str, u64, [u8; 8]) {
        (
            &self.authority_id,
            self.key.valid_from_ms,
            self.key.key_id.0,
        )
    }
}

/// The root key's printable form: 64 hex digits of the ed25519 public key.
pub fn root_key_text(key: &PublicKey) -> String {
    hex(&key.to_bytes())
}
