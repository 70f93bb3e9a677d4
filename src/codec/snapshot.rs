//! The ledger state's snapshot: `["kpcert/state-snapshot/v1", {...}]`, deterministic CBOR.
//!
//! Internal, not a public format: the ledger keeps a snapshot of its [`State`] every few
//! thousand entries so that start-up replays only the entries after it. A snapshot is derived
//! data: it is never signed and a ledger is always judged by replaying its entries.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value};
use crate::crypto::PublicKey;
use crate::domain::{
    Authority, AuthorityRecord, CountryCode, KeyWindow, Participant, ParticipantKind,
    ParticipantRecord, State, StateParts, Status,
};

/// Context string of the snapshot encoding.
pub const SNAPSHOT_CONTEXT: &str = "kpcert/state-snapshot/v1";

fn opt(v: Option<u64>) -> Value {
    v.map(Value::Uint).unwrap_or(Value::Null)
}

/// The snapshot bytes of `state`.
pub fn encode_state(state: &State) -> Vec<u8> {
    let parts = state.to_parts();
    let participants = parts
        .participants
        .iter()
        .map(|p| {
            Value::Array(vec![
                Value::text(p.participant.code.as_str()),
                Value::text(&p.participant.name),
                Value::text(&p.participant.region),
                Value::text(p.participant.kind.as_str()),
                Value::text(p.status.as_str()),
                Value::Uint(p.registered_index),
            ])
        })
        .collect();
    let authorities = parts
        .authorities
        .iter()
        .map(|r| {
            let a = &r.authority;
            Value::Array(vec![
                Value::text(&a.id),
                Value::text(a.participant.as_str()),
                Value::text(&a.name),
                Value::Bytes(a.public_key.to_bytes().to_vec()),
                Value::Uint(a.default_validity_days as u64),
                Value::Uint(a.max_validity_days as u64),
                Value::Uint(r.registered_index),
                Value::Uint(r.registered_ms),
                Value::Array(
                    r.keys
                        .iter()
                        .map(|k| {
                            Value::Array(vec![
                                Value::Bytes(k.public_key.to_bytes().to_vec()),
                                Value::Uint(k.valid_from_ms),
                                opt(k.valid_until_ms),
                            ])
                        })
                        .collect(),
                ),
            ])
        })
        .collect();
    let serials = parts
        .serials
        .iter()
        .map(|(p, y, s)| {
            Value::Array(vec![
                Value::text(p.as_str()),
                Value::int(*y),
                Value::Uint(*s),
            ])
        })
        .collect();
    with_context(
        SNAPSHOT_CONTEXT,
        Value::map([
            ("size", Value::Uint(parts.size)),
            ("last_time", Value::Uint(parts.last_time_ms)),
            ("participants", Value::Array(participants)),
            ("authorities", Value::Array(authorities)),
            ("serials", Value::Array(serials)),
            ("certificates", Value::Uint(parts.certificates)),
        ]),
    )
}

fn items<'a, const N: usize>(v: &'a Value, what: &str) -> Result<&'a [Value; N], FormatError> {
    v.as_array()
        .and_then(|a| a.try_into().ok())
        .ok_or_else(|| shape(format!("{what} is not an array of {N}")))
}

fn text(v: &Value) -> Result<&str, FormatError> {
    v.as_text().ok_or_else(|| shape("expected text"))
}

fn uint(v: &Value) -> Result<u64, FormatError> {
    v.as_u64()
        .ok_or_else(|| shape("expected an unsigned integer"))
}

fn code(v: &Value) -> Result<CountryCode, FormatError> {
    CountryCode::participant(text(v)?).ok_or_else(|| shape("expected a participant code"))
}

fn key(v: &Value) -> Result<PublicKey, FormatError> {
    v.as_bytes()
        .and_then(|b| PublicKey::from_bytes(b).ok())
        .ok_or_else(|| shape("expected a public key"))
}

fn days(v: &Value) -> Result<u32, FormatError> {
    u32::try_from(uint(v)?).map_err(|_| shape("days out of range"))
}

/// Decodes snapshot bytes.
pub fn decode_state(bytes: &[u8]) -> Result<State, FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "snapshot",
        unwrap_context(&value, SNAPSHOT_CONTEXT)?,
        &[
            "size",
            "last_time",
            "participants",
            "authorities",
            "serials",
            "certificates",
        ],
    )?;
    let participants = f
        .list("participants")?
        .iter()
        .map(|v| {
            let [c, name, region, kind, status, index] = items::<6>(v, "a participant")?;
            Ok(ParticipantRecord {
                participant: Participant {
                    code: code(c)?,
                    name: text(name)?.to_owned(),
                    region: text(region)?.to_owned(),
                    kind: ParticipantKind::parse(text(kind)?)
                        .ok_or_else(|| shape("participant kind"))?,
                },
                status: Status::parse(text(status)?).ok_or_else(|| shape("status"))?,
                registered_index: uint(index)?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    let authorities = f
        .list("authorities")?
        .iter()
        .map(|v| {
            let [id, participant, name, public_key, default, max, index, ms, keys] =
                items::<9>(v, "an authority")?;
            let keys = keys
                .as_array()
                .ok_or_else(|| shape("keys"))?
                .iter()
                .map(|k| {
                    let [public_key, from, until] = items::<3>(k, "a key")?;
                    let public_key = key(public_key)?;
                    Ok(KeyWindow {
                        key_id: public_key.key_id(),
                        public_key,
                        valid_from_ms: uint(from)?,
                        valid_until_ms: match until {
                            Value::Null => None,
                            other => Some(uint(other)?),
                        },
                    })
                })
                .collect::<Result<Vec<_>, FormatError>>()?;
            Ok(AuthorityRecord {
                authority: Authority {
                    id: text(id)?.to_owned(),
                    participant: code(participant)?,
                    name: text(name)?.to_owned(),
                    public_key: key(public_key)?,
                    default_validity_days: days(default)?,
                    max_validity_days: days(max)?,
                },
                registered_index: uint(index)?,
                registered_ms: uint(ms)?,
                keys,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    let serials = f
        .list("serials")?
        .iter()
        .map(|v| {
            let [p, year, serial] = items::<3>(v, "a serial")?;
            let year = match year {
                Value::Uint(y) => i64::try_from(*y).map_err(|_| shape("year"))?,
                _ => return Err(shape("year")),
            };
            Ok((code(p)?, year, uint(serial)?))
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    Ok(State::from_parts(StateParts {
        size: f.uint("size")?,
        last_time_ms: f.uint("last_time")?,
        participants,
        authorities,
        serials,
        certificates: f.uint("certificates")?,
    }))
}
