//! The ledger state's snapshot: `["kpcert/state-snapshot/v8", {...}]`, deterministic CBOR.
//!
//! Internal, not a public format: the ledger keeps a snapshot of its [`State`] every few
//! thousand entries so that start-up replays only the entries after it. A snapshot is derived
//! data: it is never signed and a ledger is always judged by replaying its entries.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value};
use crate::crypto::{Hash, PublicKey};
use crate::domain::state::{CertificateLife, Confirmed, ShipmentFacts, Voided};
use crate::domain::{
    Authority, AuthorityRecord, CertificateNumber, Citation, CountryCode, Date, HsCode, Hundredths,
    KeyWindow, Participant, ParticipantKind, ParticipantRecord, Revocation, Shipment, State,
    StateParts,
};

/// Context string of the snapshot encoding.
pub const SNAPSHOT_CONTEXT: &str = "kpcert/state-snapshot/v8";

fn opt(v: Option<u64>) -> Value<'static> {
    v.map(Value::Uint).unwrap_or(Value::Null)
}

/// The snapshot bytes of `state`, whose last entry hashes to `head` (checked on restore: a
/// snapshot belongs to exactly one ledger prefix).
pub fn encode_state(state: &State, head: &Hash) -> Vec<u8> {
    encode_parts(&state.to_parts(), head)
}

/// The encoding of a state's parts (tests also encode parts no state has, to see them refused).
fn encode_parts(parts: &StateParts, head: &Hash) -> Vec<u8> {
    let participants = parts
        .participants
        .iter()
        .map(|p| {
            Value::Array(vec![
                Value::text(p.participant.code.as_str()),
                Value::text(&p.participant.name),
                Value::text(&p.participant.region),
                Value::text(p.participant.kind.as_str()),
                super::standing::history_value(&p.standing),
                Value::Uint(p.registered_index),
                Value::Array(vec![
                    Value::Array(
                        p.case
                            .steps
                            .iter()
                            .map(|r| recorded_value(r, super::case::step_value(&r.what)))
                            .collect(),
                    ),
                    Value::Array(
                        p.case
                            .benchmarks
                            .iter()
                            .map(|r| recorded_value(r, super::case::benchmark_value(&r.what)))
                            .collect(),
                    ),
                ]),
                Value::Array(
                    p.approvals
                        .iter()
                        .map(|a| {
                            Value::Array(vec![
                                Value::Uint(a.index),
                                super::standing::approval_value(&a.approval),
                                a.used_by
                                    .as_ref()
                                    .map_or(Value::Null, |n| Value::text(n.as_str())),
                            ])
                        })
                        .collect(),
                ),
                Value::Array(
                    p.production
                        .iter()
                        .map(|r| {
                            Value::Array(vec![
                                Value::Uint(r.index),
                                Value::Uint(r.time_ms),
                                Value::text(&r.actor),
                                super::stats::production_value(&r.report),
                            ])
                        })
                        .collect(),
                ),
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
                Value::bytes(a.public_key.to_bytes().to_vec()),
                Value::Uint(a.default_validity_days as u64),
                Value::Uint(a.max_validity_days as u64),
                Value::Uint(r.registered_index),
                Value::Array(
                    r.keys
                        .iter()
                        .map(|k| {
                            Value::Array(vec![
                                Value::bytes(k.public_key.to_bytes().to_vec()),
                                Value::Uint(k.valid_from_ms),
                                opt(k.valid_until_ms),
                                match &k.revoked {
                                    Some(r) => Value::Array(vec![
                                        Value::Uint(r.from_ms),
                                        Value::text(&r.reason),
                                    ]),
                                    None => Value::Null,
                                },
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
    let lives = parts.lives.iter().map(|(n, l)| life_value(n, l)).collect();
    let documents = parts
        .documents
        .iter()
        .map(|d| {
            Value::Array(vec![
                Value::Uint(d.index),
                Value::Uint(d.time_ms),
                Value::text(&d.actor),
                super::document::document_value(&d.document),
            ])
        })
        .collect();
    with_context(
        SNAPSHOT_CONTEXT,
        Value::map([
            ("lives", Value::Array(lives)),
            ("documents", Value::Array(documents)),
            ("size", Value::Uint(parts.size)),
            ("last_time", Value::Uint(parts.last_time_ms)),
            ("participants", Value::Array(participants)),
            ("authorities", Value::Array(authorities)),
            ("serials", Value::Array(serials)),
            ("head", Value::bytes(&head[..])),
            (
                "last_audit",
                match &parts.last_audit {
                    Some(a) => Value::Array(vec![
                        Value::Uint(a.index),
                        Value::Uint(a.time_ms),
                        Value::text(&a.actor),
                        super::stats::audit_value(&a.audit),
                    ]),
                    None => Value::Null,
                },
            ),
        ]),
    )
}

fn number_or_null(n: &Option<CertificateNumber>) -> Value<'_> {
    n.as_ref()
        .map(|n| Value::text(n.as_str()))
        .unwrap_or(Value::Null)
}

fn life_value<'a>(n: &'a CertificateNumber, l: &'a CertificateLife) -> Value<'a> {
    Value::Array(vec![
        Value::text(n.as_str()),
        Value::Uint(l.issued_index),
        match &l.seal_hash {
            Some(h) => Value::bytes(&h[..]),
            None => Value::Null,
        },
        Value::text(l.issued_on.to_string()),
        Value::text(l.expires_on.to_string()),
        match &l.facts {
            Some(f) => Value::Array(vec![
                Value::text(f.destination.as_str()),
                Value::Uint(f.shipment.parcels as u64),
                Value::Array(
                    f.shipment
                        .lines
                        .iter()
                        .map(|(hs, ct)| {
                            Value::Array(vec![
                                Value::text(hs.as_str()),
                                Value::Uint(ct.hundredths()),
                            ])
                        })
                        .collect(),
                ),
                number_or_null(&f.replaces),
                Value::Array(
                    f.derived_from
                        .iter()
                        .map(|c| {
                            Value::Array(vec![
                                Value::text(c.number.as_str()),
                                Value::Uint(c.carats.hundredths()),
                            ])
                        })
                        .collect(),
                ),
                Value::Array(
                    f.values
                        .iter()
                        .map(|v| Value::Uint(v.hundredths()))
                        .collect(),
                ),
                Value::Bool(f.reexport),
            ]),
            None => Value::Null,
        },
        match &l.confirmed {
            Some(c) => Value::Array(vec![
                Value::Uint(c.index),
                Value::Uint(c.time_ms),
                Value::text(&c.authority_id),
                Value::text(c.received_on.to_string()),
                opt(c.carats.map(|c| c.hundredths())),
                opt(c.parcels.map(u64::from)),
                lines_value(&c.lines),
            ]),
            None => Value::Null,
        },
        match &l.voided {
            Some(v) => Value::Array(vec![
                Value::Uint(v.index),
                Value::Uint(v.time_ms),
                Value::text(&v.authority_id),
                Value::text(&v.reason),
                number_or_null(&v.replaced_by),
            ]),
            None => Value::Null,
        },
        Value::Uint(l.drawn.hundredths()),
    ])
}

fn lines_value(lines: &[(HsCode, Hundredths)]) -> Value<'_> {
    Value::Array(
        lines
            .iter()
            .map(|(hs, ct)| {
                Value::Array(vec![Value::text(hs.as_str()), Value::Uint(ct.hundredths())])
            })
            .collect(),
    )
}

fn lines_from(v: &Value) -> Result<Vec<(HsCode, Hundredths)>, FormatError> {
    v.as_array()
        .ok_or_else(|| shape("lines"))?
        .iter()
        .map(|l| {
            let [hs, ct] = items::<2>(l, "a line")?;
            Ok((
                HsCode::parse(text(hs)?).ok_or_else(|| shape("hs code"))?,
                carats(ct)?,
            ))
        })
        .collect()
}

fn number(v: &Value) -> Result<CertificateNumber, FormatError> {
    CertificateNumber::parse(text(v)?).ok_or_else(|| shape("expected a certificate number"))
}

fn opt_number(v: &Value) -> Result<Option<CertificateNumber>, FormatError> {
    match v {
        Value::Null => Ok(None),
        other => number(other).map(Some),
    }
}

fn date(v: &Value) -> Result<Date, FormatError> {
    Date::parse(text(v)?).ok_or_else(|| shape("expected a date"))
}

fn carats(v: &Value) -> Result<Hundredths, FormatError> {
    Hundredths::from_hundredths(uint(v)?).ok_or_else(|| shape("carats out of range"))
}

fn life_from(v: &Value) -> Result<(CertificateNumber, CertificateLife), FormatError> {
    let [n, issued_index, seal_hash, issued_on, expires_on, facts, confirmed, voided, drawn] =
        items::<9>(v, "a certificate life")?;
    let facts = match facts {
        Value::Null => None,
        other => {
            let [destination, parcels, lines, replaces, cited, values, reexport] =
                items::<7>(other, "shipment facts")?;
            Some(ShipmentFacts {
                destination: code(destination)?,
                shipment: Shipment {
                    parcels: u32::try_from(uint(parcels)?).map_err(|_| shape("parcels"))?,
                    lines: lines_from(lines)?,
                },
                values: values
                    .as_array()
                    .ok_or_else(|| shape("values"))?
                    .iter()
                    .map(carats)
                    .collect::<Result<_, FormatError>>()?,
                reexport: match reexport {
                    Value::Bool(b) => *b,
                    _ => return Err(shape("reexport")),
                },
                replaces: opt_number(replaces)?,
                derived_from: cited
                    .as_array()
                    .ok_or_else(|| shape("derived_from"))?
                    .iter()
                    .map(|c| {
                        let [n, ct] = items::<2>(c, "a citation")?;
                        Ok(Citation {
                            number: number(n)?,
                            carats: carats(ct)?,
                        })
                    })
                    .collect::<Result<_, FormatError>>()?,
            })
        }
    };
    let confirmed = match confirmed {
        Value::Null => None,
        other => {
            let [index, time, authority, received_on, ct, parcels, lines] =
                items::<7>(other, "a confirmation")?;
            Some(Confirmed {
                index: uint(index)?,
                time_ms: uint(time)?,
                authority_id: text(authority)?.to_owned(),
                received_on: date(received_on)?,
                carats: match ct {
                    Value::Null => None,
                    other => Some(carats(other)?),
                },
                parcels: match parcels {
                    Value::Null => None,
                    other => Some(u32::try_from(uint(other)?).map_err(|_| shape("parcels"))?),
                },
                lines: lines_from(lines)?,
            })
        }
    };
    let voided = match voided {
        Value::Null => None,
        other => {
            let [index, time, authority, reason, replaced_by] = items::<5>(other, "a void")?;
            Some(Voided {
                index: uint(index)?,
                time_ms: uint(time)?,
                authority_id: text(authority)?.to_owned(),
                reason: text(reason)?.to_owned(),
                replaced_by: opt_number(replaced_by)?,
            })
        }
    };
    Ok((
        number(n)?,
        CertificateLife {
            issued_index: uint(issued_index)?,
            seal_hash: match seal_hash {
                Value::Null => None,
                other => Some(
                    other
                        .as_bytes()
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| shape("seal_hash"))?,
                ),
            },
            issued_on: date(issued_on)?,
            expires_on: date(expires_on)?,
            facts,
            confirmed,
            voided,
            drawn: carats(drawn)?,
        },
    ))
}

fn items<'a, 'v, const N: usize>(
    v: &'a Value<'v>,
    what: &str,
) -> Result<&'a [Value<'v>; N], FormatError> {
    v.as_array()
        .and_then(|a| a.try_into().ok())
        .ok_or_else(|| shape(format!("{what} is not an array of {N}")))
}

fn text<'a>(v: &'a Value<'_>) -> Result<&'a str, FormatError> {
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

fn recorded_value<'a, T>(r: &'a crate::domain::case::Recorded<T>, payload: Value<'a>) -> Value<'a> {
    Value::Array(vec![
        Value::Uint(r.index),
        Value::Uint(r.time_ms),
        Value::text(&r.actor),
        payload,
    ])
}

fn recorded_list<T>(
    v: &Value,
    decode: fn(&Value) -> Result<T, FormatError>,
) -> Result<Vec<crate::domain::case::Recorded<T>>, FormatError> {
    v.as_array()
        .ok_or_else(|| shape("a case list"))?
        .iter()
        .map(|r| {
            let [index, time, actor, payload] = items::<4>(r, "a case entry")?;
            Ok(crate::domain::case::Recorded {
                index: uint(index)?,
                time_ms: uint(time)?,
                actor: text(actor)?.to_owned(),
                what: decode(payload)?,
            })
        })
        .collect()
}

/// Whether `bytes` are a snapshot of this version (a snapshot of another version is not
/// corrupt, only of no use: the state is replayed from entry 0 instead).
pub fn is_current(bytes: &[u8]) -> bool {
    Value::decode(bytes).is_ok_and(|v| {
        v.as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_text)
            .is_some_and(|c| c == SNAPSHOT_CONTEXT)
    })
}

/// Decodes snapshot bytes: the state and the hash of its last entry.
pub fn decode_state(bytes: &[u8]) -> Result<(State, Hash), FormatError> {
    let value = Value::decode(bytes)?;
    let f = Fields::exact(
        "snapshot",
        unwrap_context(&value, SNAPSHOT_CONTEXT)?,
        &[
            "lives",
            "documents",
            "size",
            "last_time",
            "participants",
            "authorities",
            "serials",
            "head",
            "last_audit",
        ],
    )?;
    let participants = f
        .list("participants")?
        .iter()
        .map(|v| {
            let [c, name, region, kind, standing, index, case, approvals, production] =
                items::<9>(v, "a participant")?;
            let [steps, benchmarks] = items::<2>(case, "a case")?;
            Ok(ParticipantRecord {
                participant: Participant {
                    code: code(c)?,
                    name: text(name)?.to_owned(),
                    region: text(region)?.to_owned(),
                    kind: ParticipantKind::parse(text(kind)?)
                        .ok_or_else(|| shape("participant kind"))?,
                },
                standing: super::standing::history_from(standing)?,
                case: crate::domain::case::CaseFile {
                    steps: recorded_list(steps, super::case::step_from)?,
                    benchmarks: recorded_list(benchmarks, super::case::benchmark_from)?,
                },
                approvals: approvals
                    .as_array()
                    .ok_or_else(|| shape("approvals"))?
                    .iter()
                    .map(|a| {
                        let [index, approval, used_by] = items::<3>(a, "an approval")?;
                        Ok(crate::domain::ApprovalRecord {
                            index: uint(index)?,
                            approval: super::standing::approval_from(approval)?,
                            used_by: match used_by {
                                Value::Null => None,
                                n => Some(
                                    CertificateNumber::parse(text(n)?)
                                        .ok_or_else(|| shape("approval used_by"))?,
                                ),
                            },
                        })
                    })
                    .collect::<Result<Vec<_>, FormatError>>()?,
                production: production
                    .as_array()
                    .ok_or_else(|| shape("production"))?
                    .iter()
                    .map(|r| {
                        let [index, time, actor, report] = items::<4>(r, "a production report")?;
                        Ok(crate::domain::ProductionRecord {
                            index: uint(index)?,
                            time_ms: uint(time)?,
                            actor: text(actor)?.to_owned(),
                            report: super::stats::production_from(report)?,
                        })
                    })
                    .collect::<Result<Vec<_>, FormatError>>()?,
                registered_index: uint(index)?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    let authorities = f
        .list("authorities")?
        .iter()
        .map(|v| {
            let [id, participant, name, public_key, default, max, index, keys] =
                items::<8>(v, "an authority")?;
            let keys = keys
                .as_array()
                .ok_or_else(|| shape("keys"))?
                .iter()
                .map(|k| {
                    let [public_key, from, until, revoked] = items::<4>(k, "a key")?;
                    let public_key = key(public_key)?;
                    Ok(KeyWindow {
                        key_id: public_key.key_id(),
                        public_key,
                        valid_from_ms: uint(from)?,
                        valid_until_ms: match until {
                            Value::Null => None,
                            other => Some(uint(other)?),
                        },
                        revoked: match revoked {
                            Value::Null => None,
                            other => {
                                let [from, reason] = items::<2>(other, "a revocation")?;
                                Some(Revocation {
                                    from_ms: uint(from)?,
                                    reason: text(reason)?.to_owned(),
                                })
                            }
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
    let last_audit = match f.get("last_audit") {
        Value::Null => None,
        v => {
            let [index, time, actor, audit] = items::<4>(v, "an audit")?;
            Some(crate::domain::AuditRecord {
                index: uint(index)?,
                time_ms: uint(time)?,
                actor: text(actor)?.to_owned(),
                audit: super::stats::audit_from(audit)?,
            })
        }
    };
    let state = State::from_parts(StateParts {
        last_audit,
        size: f.uint("size")?,
        last_time_ms: f.uint("last_time")?,
        participants,
        authorities,
        serials,
        lives: f
            .list("lives")?
            .iter()
            .map(life_from)
            .collect::<Result<_, FormatError>>()?,
        documents: f
            .list("documents")?
            .iter()
            .map(|v| {
                let [index, time, actor, payload] = items::<4>(v, "a document")?;
                Ok(crate::domain::DocumentEntry {
                    index: uint(index)?,
                    time_ms: uint(time)?,
                    actor: text(actor)?.to_owned(),
                    document: super::document::document_from(payload)?,
                })
            })
            .collect::<Result<_, FormatError>>()?,
    })
    .map_err(|v| shape(v.0))?;
    Ok((state, f.array("head")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::domain::{
        Certificate, CertificateContent, Entry, Event, Issuer, Item, Origin, Party, SECRETARIAT,
    };

    /// A state with participants, an authority, its key window and serials in two years.
    fn state() -> State {
        let code = |s: &str| CountryCode::participant(s).unwrap();
        let key = SigningKey::from_seed(&[3; 32]);
        let authority = Authority {
            id: "BW-A1".into(),
            participant: code("BW"),
            name: "Ministry".into(),
            public_key: key.public_key(),
            default_validity_days: 60,
            max_validity_days: 90,
        };
        let mut events = vec![];
        for c in ["BW", "AE"] {
            events.push((
                0,
                SECRETARIAT.to_owned(),
                Event::ParticipantRegistered(Participant {
                    code: code(c),
                    name: c.into(),
                    region: "R".into(),
                    kind: ParticipantKind::Participant,
                }),
            ));
        }
        events.push((
            0,
            SECRETARIAT.into(),
            Event::AuthorityRegistered(authority.clone()),
        ));
        for (serial, day) in [(1, "2026-12-31"), (2, "2026-12-31"), (1, "2027-01-01")] {
            let issued_on = Date::parse(day).unwrap();
            let certificate = Certificate {
                number: CertificateNumber::new(code("BW"), issued_on.year(), serial),
                issuer: Issuer {
                    participant: code("BW"),
                    authority_id: "BW-A1".into(),
                    authority_name: "Ministry".into(),
                    key_id: authority.key_id(),
                },
                content: CertificateContent {
                    exporter: Party {
                        name: "E".into(),
                        address: "A".into(),
                    },
                    importer: Party {
                        name: "I".into(),
                        address: "A".into(),
                    },
                    destination: code("AE"),
                    origin: Origin::Single(code("BW")),
                    parcels: 1,
                    items: vec![Item {
                        hs_code: HsCode::Unsorted,
                        carats: Hundredths::from_hundredths(1).unwrap(),
                        value_usd: Hundredths::from_hundredths(1).unwrap(),
                    }],
                    issued_on,
                    expires_on: issued_on.plus_days(30).unwrap(),
                    replaces: None,
                    derived_from: vec![],
                    origin_zone: None,
                    approval: None,
                },
                salt: [7; 16],
            };
            events.push((
                issued_on.start_ms() + 1000,
                "BW-A1".into(),
                Event::CertificateIssued(crate::codec::record::issue(certificate, |b| key.sign(b))),
            ));
        }
        let mut state = State::new();
        for (i, (time_ms, actor, event)) in events.into_iter().enumerate() {
            let key_id = (actor != SECRETARIAT).then(|| authority.key_id());
            state
                .apply(&Entry {
                    index: i as u64,
                    time_ms,
                    actor,
                    key_id,
                    prev: [0; 32],
                    event,
                })
                .unwrap();
        }
        state
    }

    #[test]
    fn a_snapshot_restores_the_whole_state() {
        let state = state();
        assert_eq!(state.certificates(), 3);
        let bytes = encode_state(&state, &[9; 32]);
        let (restored, head) = decode_state(&bytes).unwrap();
        assert_eq!(restored, state);
        assert_eq!(head, [9; 32]);
        assert_eq!(encode_state(&restored, &head), bytes, "one encoding");
        let bw = CountryCode::participant("BW").unwrap();
        assert_eq!(restored.next_serial(bw, 2026), 3);
        assert_eq!(restored.next_serial(bw, 2027), 2);
        assert_eq!(restored.authority("BW-A1").unwrap().keys.len(), 1);
    }

    #[test]
    fn a_snapshot_whose_lives_do_not_fill_its_serials_is_refused() {
        let state = state();
        // A life missing (a gap before serial 2), a life repeated, a last serial that disagrees.
        let mut gap = state.to_parts();
        gap.lives.retain(|(n, _)| n.as_str() != "BW-2026-000001");
        let mut repeated = state.to_parts();
        repeated.lives.push(repeated.lives[0].clone());
        let mut serials = state.to_parts();
        serials.serials[0].2 += 1;
        for (what, parts) in [("gap", gap), ("repeat", repeated), ("serials", serials)] {
            let bytes = encode_parts(&parts, &[9; 32]);
            let e = decode_state(&bytes).expect_err(what);
            assert!(e.to_string().contains("serial"), "{what}: {e}");
        }
    }
}
