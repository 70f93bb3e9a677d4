//! The audit judges by the rules of issuance. Ledgers built by hand, each one step away from a
//! ledger an honest kpcert writes, every one chained, in a correct Merkle tree and under a
//! correctly signed checkpoint: each must fail `kpcert audit` with the entry index and a reason.

use kpcert::audit::{audit_export, AuditFailure, AuditReport, Options};
use kpcert::codec::cbor::{with_context, Value};
use kpcert::codec::export::{write_export, Frame, Level};
use kpcert::codec::record::issue;
use kpcert::codec::{encode_entry, encode_record, entry_hash};
use kpcert::crypto::{Hash, KeyId, SigningKey};
use kpcert::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Date, Entry, Event,
    HsCode, Hundredths, Issuer, Item, Origin, Participant, ParticipantKind, Party, SECRETARIAT,
};
use kpcert::tlog::merkle::MemoryTree;
use kpcert::tlog::{Checkpoint, NoteSigner};

/// 2026-11-26T10:00:00Z.
const T0: u64 = 1_795_651_200_000 + 10 * 3_600_000;

fn code(s: &str) -> CountryCode {
    CountryCode::participant(s).unwrap()
}

fn authority_key() -> SigningKey {
    SigningKey::from_seed(&[21; 32])
}

fn ledger_signer() -> NoteSigner {
    NoteSigner::new("audit.test/ledger", SigningKey::from_seed(&[22; 32]))
}

#[allow(clippy::large_enum_variant)] // a handful of rows per test
/// One row of a hand-built ledger: an entry without its index and prev (the builder chains
/// them), or raw bytes made from (index, prev).
enum Row {
    Entry {
        time_ms: u64,
        actor: String,
        key_id: Option<KeyId>,
        event: Event,
    },
    Raw(Box<dyn Fn(u64, Hash) -> Vec<u8>>),
}

fn participant(c: &str) -> Row {
    Row::Entry {
        time_ms: T0,
        actor: SECRETARIAT.into(),
        key_id: None,
        event: Event::ParticipantRegistered(Participant {
            code: code(c),
            name: format!("Participant {c}"),
            region: "Test".into(),
            kind: ParticipantKind::Participant,
        }),
    }
}

fn bw_authority() -> Authority {
    Authority {
        id: "BW-A1".into(),
        participant: code("BW"),
        name: "Ministry of Minerals, Botswana".into(),
        public_key: authority_key().public_key(),
        default_validity_days: 60,
        max_validity_days: 90,
    }
}

fn registration(a: Authority) -> Row {
    Row::Entry {
        time_ms: T0 + 1000,
        actor: SECRETARIAT.into(),
        key_id: None,
        event: Event::AuthorityRegistered(a),
    }
}

/// The certificate an honest BW-A1 issues as serial `serial` on 2026-11-26.
fn certificate(serial: u64) -> Certificate {
    let a = bw_authority();
    let issued_on = Date::parse("2026-11-26").unwrap();
    Certificate {
        number: CertificateNumber::new(a.participant, 2026, serial),
        issuer: Issuer {
            participant: a.participant,
            authority_id: a.id.clone(),
            authority_name: a.name.clone(),
            key_id: a.key_id(),
        },
        content: CertificateContent {
            exporter: Party {
                name: "Okavango Diamond Company".into(),
                address: "Plot 123, Gaborone, Botswana".into(),
            },
            importer: Party {
                name: "Desert Rough DMCC".into(),
                address: "Almas Tower, Dubai, UAE".into(),
            },
            destination: code("AE"),
            origin: Origin::Single(code("BW")),
            parcels: 3,
            items: vec![Item {
                hs_code: HsCode::Unsorted,
                carats: Hundredths::parse("1520.35").unwrap(),
                value_usd: Hundredths::parse("845000.00").unwrap(),
            }],
            issued_on,
            expires_on: issued_on.plus_days(60).unwrap(),
            replaces: None,
            derived_from: vec![],
            origin_zone: None,
            approval: None,
        },
        salt: [serial as u8; 16],
    }
}

/// A certificate entry signed (honestly) by BW-A1's key, with its full record.
fn issued(cert: Certificate) -> Row {
    issued_with(cert, |signed| authority_key().sign(signed))
}

/// A certificate entry whose issuance signature is `sign(issuance bytes)` (its seal honest).
fn issued_with(cert: Certificate, sign: impl Fn(&[u8]) -> [u8; 64]) -> Row {
    let mut signed = issue(cert, |b| authority_key().sign(b));
    signed.signature = sign(&signed.signed);
    Row::Entry {
        time_ms: T0 + 2000,
        actor: "BW-A1".into(),
        key_id: Some(authority_key().public_key().key_id()),
        event: Event::CertificateIssued(signed),
    }
}

/// The honest ledger: BW (0), AE (1), authority BW-A1 (2), certificate BW-2026-000001 (3).
fn honest() -> Vec<Row> {
    vec![
        participant("BW"),
        participant("AE"),
        registration(bw_authority()),
        issued(certificate(1)),
    ]
}

/// Chains the rows, builds the tree, signs the checkpoint and audits the export.
fn audit(rows: Vec<Row>, options: Options) -> Result<AuditReport, AuditFailure> {
    let mut prev = [0u8; 32];
    let mut tree = MemoryTree::default();
    let mut entries = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let bytes = match row {
            Row::Entry {
                time_ms,
                actor,
                key_id,
                event,
            } => {
                let record = match &event {
                    Event::CertificateIssued(s) => s.record.as_deref().map(encode_record),
                    _ => None,
                };
                (
                    encode_entry(&Entry {
                        index: i as u64,
                        time_ms,
                        actor,
                        key_id,
                        prev,
                        event,
                    }),
                    record.unwrap_or_default(),
                )
            }
            Row::Raw(make) => (make(i as u64, prev), Vec::new()),
        };
        let (bytes, record) = bytes;
        prev = entry_hash(&bytes);
        tree.push_data(&bytes);
        entries.push(Frame {
            entry: bytes,
            record,
        });
    }
    let signer = ledger_signer();
    let note = signer.sign(&Checkpoint {
        origin: signer.name().to_owned(),
        size: tree.size(),
        root: tree.root(),
    });
    let mut export = Vec::new();
    write_export(
        &mut export,
        Level::Full,
        &note,
        tree.size(),
        entries.into_iter().map(Ok),
    )
    .unwrap();
    audit_export(
        export.as_slice(),
        &signer.verifier(),
        None,
        options,
        |_, _| {},
    )
}

/// The one check: `rows` fail the audit at `index` with a reason containing `words`, in batch
/// and in strict signature mode alike.
#[track_caller]
fn check(rows: impl Fn() -> Vec<Row>, index: u64, words: &str) {
    for strict in [false, true] {
        let options = Options {
            strict_signatures: strict,
            ..Options::default()
        };
        match audit(rows(), options) {
            Ok(report) => panic!(
                "passed the audit ({} entries), expected entry {index}: {words}",
                report.entries
            ),
            Err(failure) => {
                assert_eq!(failure.index, Some(index), "{failure}");
                assert!(
                    failure.reason.contains(words),
                    "expected {words:?} in: {failure}"
                );
            }
        }
    }
}

/// The honest ledger with its certificate changed by `change` (and signed again).
fn with_certificate(change: impl Fn(&mut Certificate)) -> impl Fn() -> Vec<Row> {
    move || {
        let mut rows = honest();
        let mut cert = certificate(1);
        change(&mut cert);
        rows[3] = issued(cert);
        rows
    }
}

#[test]
fn the_honest_ledger_passes_in_both_signature_modes() {
    for strict in [false, true] {
        let report = audit(
            honest(),
            Options {
                strict_signatures: strict,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(
            (
                report.entries,
                report.certificates,
                report.authorities,
                report.participants
            ),
            (4, 1, 1, 2)
        );
    }
}

#[test]
fn certificates_recorded_on_another_day_than_their_date_of_issue_fail() {
    // Back-dated: recorded three days after the date it states.
    check(
        with_certificate(|c| {
            c.content.issued_on = Date::parse("2026-11-23").unwrap();
            c.content.expires_on = Date::parse("2027-01-20").unwrap();
        }),
        3,
        "issued_on",
    );
    // Dated after its entry.
    check(
        with_certificate(|c| {
            c.content.issued_on = Date::parse("2026-11-27").unwrap();
            c.content.expires_on = Date::parse("2027-01-20").unwrap();
        }),
        3,
        "issued_on",
    );
}

#[test]
fn authority_ids_follow_their_participant_and_count_up_once() {
    let registered_as = |id: &'static str| {
        move || {
            let mut rows = honest();
            rows[2] = registration(Authority {
                id: id.into(),
                ..bw_authority()
            });
            rows
        }
    };
    check(registered_as("AE-A1"), 2, "not the next id");
    check(registered_as("BW-A2"), 2, "not the next id");
    check(registered_as("BW-A01"), 2, "not the next id");
    // The same authority registered twice (with another key).
    check(
        || {
            let mut rows = honest();
            rows.insert(
                3,
                registration(Authority {
                    public_key: SigningKey::from_seed(&[30; 32]).public_key(),
                    ..bw_authority()
                }),
            );
            rows
        },
        3,
        "not the next id",
    );
    // One key for two authorities.
    check(
        || {
            let mut rows = honest();
            rows.insert(
                3,
                registration(Authority {
                    id: "BW-A2".into(),
                    ..bw_authority()
                }),
            );
            rows
        },
        3,
        "already registered",
    );
    // For a participant no entry registered.
    check(
        || {
            let mut rows = honest();
            rows[2] = registration(Authority {
                id: "CN-A1".into(),
                participant: code("CN"),
                ..bw_authority()
            });
            rows
        },
        2,
        "not a registered participant",
    );
    // Fields issuance would refuse.
    check(
        || {
            let mut rows = honest();
            rows[2] = registration(Authority {
                max_validity_days: 400,
                ..bw_authority()
            });
            rows
        },
        2,
        "maximum validity",
    );
}

#[test]
fn the_issuer_block_must_be_the_registration() {
    check(
        with_certificate(|c| c.issuer.authority_name = "Another name".into()),
        3,
        "issuer block",
    );
    check(
        with_certificate(|c| {
            c.issuer.key_id = SigningKey::from_seed(&[31; 32]).public_key().key_id()
        }),
        3,
        "its key valid at the entry's time",
    );
    check(
        with_certificate(|c| c.issuer.participant = code("AE")),
        3,
        "issuer block",
    );
}

#[test]
fn values_issuance_would_refuse_fail() {
    let expiring = |date: &'static str| {
        with_certificate(move |c| c.content.expires_on = Date::parse(date).unwrap())
    };
    check(expiring("2026-11-26"), 3, "expires_on");
    check(expiring("2026-11-20"), 3, "expires_on");
    check(expiring("2027-02-25"), 3, "maximum validity of 90 days");
    check(with_certificate(|c| c.content.parcels = 0), 3, "parcels");
    check(
        with_certificate(|c| c.content.items[0].carats = Hundredths::from_hundredths(0).unwrap()),
        3,
        "carats: must be greater than 0",
    );
    check(
        with_certificate(|c| c.content.destination = code("CN")),
        3,
        "CN is not a Kimberley Process participant",
    );
    check(
        with_certificate(|c| c.content.destination = code("BW")),
        3,
        "must differ from the issuing participant",
    );
    check(
        with_certificate(|c| c.content.exporter.name = "Okavango\u{7}".into()),
        3,
        "exporter.name",
    );
    check(
        with_certificate(|c| c.content.importer.address = " padded".into()),
        3,
        "importer.address",
    );
    // A name reversed by a bidirectional override, and one not in Unicode form C.
    check(
        with_certificate(|c| c.content.exporter.name = "Okavango \u{202E}ynapmoC".into()),
        3,
        "U+202E",
    );
    check(
        with_certificate(|c| c.content.importer.name = "Desert Rough Cafe\u{301}".into()),
        3,
        "normalization form C",
    );
}

#[test]
fn numbers_follow_each_other_per_participant_and_year() {
    check(
        with_certificate(|c| c.number = CertificateNumber::new(code("BW"), 2026, 2)),
        3,
        "out of sequence",
    );
    check(
        with_certificate(|c| c.number = CertificateNumber::new(code("BW"), 2025, 1)),
        3,
        "year of issue",
    );
    check(
        with_certificate(|c| c.number = CertificateNumber::new(code("AE"), 2026, 1)),
        3,
        "issuing participant",
    );
    // A number used twice.
    check(
        || {
            let mut rows = honest();
            rows.push(issued(certificate(1)));
            rows
        },
        4,
        "out of sequence",
    );
}

/// A signature by BW-A1's key whose R is a point of small order: `verify_strict` refuses it, and
/// a batch equation could accept it.
fn small_order_r_signature(message: &[u8]) -> [u8; 64] {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest([21u8; 32]);
    let mut a: [u8; 32] = h[..32].try_into().unwrap();
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let r = EIGHT_TORSION[4].compress();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r.as_bytes())
            .chain_update(authority_key().public_key().to_bytes())
            .chain_update(message)
            .finalize()
            .into(),
    );
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r.as_bytes());
    sig[32..].copy_from_slice((k * a).as_bytes());
    sig
}

#[test]
fn signatures_are_judged_as_verify_strict_judges_them() {
    check(
        || {
            let mut rows = honest();
            rows[3] = issued_with(certificate(1), |signed| {
                let mut signature = authority_key().sign(signed);
                signature[40] ^= 1;
                signature
            });
            rows
        },
        3,
        "signature",
    );
    check(
        || {
            let mut rows = honest();
            rows[3] = issued_with(certificate(1), small_order_r_signature);
            rows
        },
        3,
        "signature",
    );
}

/// Several thousand signatures, so that batches are verified on other threads and on the
/// decoding thread alike (issue 14): a bad signature is found wherever its batch was verified,
/// and of two, the first is the one named.
#[test]
fn the_first_bad_signature_is_named_in_a_long_ledger() {
    const CERTIFICATES: u64 = 1_200;
    let long = |bad: &[u64]| {
        let bad = bad.to_vec();
        move || {
            let mut rows = honest();
            for serial in 2..=CERTIFICATES {
                rows.push(match bad.contains(&serial) {
                    true => issued_with(certificate(serial), |signed| {
                        let mut signature = authority_key().sign(signed);
                        signature[7] ^= 0x10;
                        signature
                    }),
                    false => issued(certificate(serial)),
                });
            }
            rows
        }
    };
    // Certificate n is entry n + 2; each carries two signatures (its seal and its issuance),
    // so a batch of 512 signatures holds 256 entries: 3-258, 259-514, 515-770, 771-1026, and
    // the partial rest is verified at the end. Verifier threads or none (every batch on the
    // decoding thread); one bad signature in the third batch, two in neighbouring batches
    // (both can have failed by the time the first failure is seen), one in a batch and one
    // in the partial rest.
    for threads in [None, Some(0), Some(1)] {
        for strict_signatures in [false, true] {
            let options = Options {
                strict_signatures,
                verifier_threads: threads,
            };
            let report = audit(long(&[])(), options).expect("the long honest ledger passes");
            assert_eq!(report.certificates, CERTIFICATES);
            for (bad, index) in [
                (&[600][..], 602),
                (&[100, 400][..], 102),
                (&[400, 1_100][..], 402),
            ] {
                let failure = audit(long(bad)(), options).expect_err("a bad signature");
                assert_eq!(failure.index, Some(index), "{threads:?}: {failure}");
                assert!(failure.reason.contains("signature"), "{failure}");
            }
        }
    }
}

#[test]
fn who_acts_and_when() {
    // A registry entry not by the secretariat.
    check(
        || {
            let mut rows = honest();
            if let Row::Entry { actor, .. } = &mut rows[1] {
                *actor = "BW-A1".into();
            }
            rows
        },
        1,
        "secretariat",
    );
    // A participant registered twice.
    check(
        || {
            let mut rows = honest();
            rows.insert(2, participant("BW"));
            rows
        },
        2,
        "registered twice",
    );
    // A certificate by an actor no entry registered.
    check(
        || {
            let mut rows = honest();
            if let Row::Entry { actor, .. } = &mut rows[3] {
                *actor = "BW-A2".into();
            }
            rows
        },
        3,
        "no earlier entry registered",
    );
    // The entry names another key than the authority's.
    check(
        || {
            let mut rows = honest();
            if let Row::Entry { key_id, .. } = &mut rows[3] {
                *key_id = Some(SigningKey::from_seed(&[32; 32]).public_key().key_id());
            }
            rows
        },
        3,
        "key id",
    );
    // Time going backwards.
    check(
        || {
            let mut rows = honest();
            if let Row::Entry { time_ms, .. } = &mut rows[3] {
                *time_ms = T0 + 500;
            }
            rows
        },
        3,
        "backwards",
    );
}

#[test]
fn an_unknown_kind_fails_with_its_index() {
    check(
        || {
            let mut rows = honest();
            rows.push(Row::Raw(Box::new(|index, prev| {
                with_context(
                    "kpcert/entry/v2",
                    Value::map([
                        ("index", Value::Uint(index)),
                        ("time", Value::Uint(T0 + 3000)),
                        ("kind", Value::text("certificate.suspended")),
                        ("actor", Value::text("BW-A1")),
                        ("key_id", Value::Null),
                        (
                            "payload",
                            Value::map([("number", Value::text("BW-2026-000001"))]),
                        ),
                        ("prev", Value::bytes(prev.to_vec())),
                    ]),
                )
            })));
            rows
        },
        4,
        "unknown kind",
    );
}

fn key_entry(time_ms: u64, actor: &str, event: Event) -> Row {
    Row::Entry {
        time_ms,
        actor: actor.into(),
        key_id: None,
        event,
    }
}

fn key_added(public_key: kpcert::crypto::PublicKey) -> Event {
    Event::KeyAdded(kpcert::domain::KeyAdded {
        authority_id: "BW-A1".into(),
        public_key,
    })
}

fn key_revoked(public_key: kpcert::crypto::PublicKey, from: u64) -> Event {
    Event::KeyRevoked(kpcert::domain::KeyRevoked {
        authority_id: "BW-A1".into(),
        public_key,
        compromised_from_ms: from,
        reason: "signing server stolen".into(),
    })
}

/// Key entries: only the Secretariat adds or revokes keys, a revocation names a key of that
/// authority and a compromise at or before its entry, and once a key is rotated out or revoked
/// nothing it signs may follow.
#[test]
fn key_entries_follow_the_rules() {
    let new_key = SigningKey::from_seed(&[23; 32]).public_key();
    let old_key = authority_key().public_key();
    // The honest rotation and revocation pass.
    let honest_keys = move || {
        let mut rows = honest();
        rows.push(key_entry(T0 + 3000, SECRETARIAT, key_added(new_key)));
        rows.push(key_entry(
            T0 + 4000,
            SECRETARIAT,
            key_revoked(old_key, T0 + 2500),
        ));
        rows
    };
    let report = audit(honest_keys(), Options::default()).unwrap();
    assert_eq!(report.entries, 6);
    // An authority cannot add a key to itself.
    check(
        move || {
            let mut rows = honest();
            rows.push(key_entry(T0 + 3000, "BW-A1", key_added(new_key)));
            rows
        },
        4,
        "secretariat",
    );
    // A key registered twice.
    check(
        move || {
            let mut rows = honest();
            rows.push(key_entry(T0 + 3000, SECRETARIAT, key_added(old_key)));
            rows
        },
        4,
        "already registered",
    );
    // A revocation of a key the authority never had, twice, or from the future.
    check(
        move || {
            let mut rows = honest();
            rows.push(key_entry(T0 + 3000, SECRETARIAT, key_revoked(new_key, T0)));
            rows
        },
        4,
        "not a key of authority BW-A1",
    );
    check(
        move || {
            let mut rows = honest_keys();
            rows.push(key_entry(T0 + 5000, SECRETARIAT, key_revoked(old_key, T0)));
            rows
        },
        6,
        "already revoked",
    );
    check(
        move || {
            let mut rows = honest();
            rows.push(key_entry(
                T0 + 3000,
                SECRETARIAT,
                key_revoked(old_key, T0 + 3001),
            ));
            rows
        },
        4,
        "at or before",
    );
    // The old key signs after the rotation, or after its revocation.
    for events in [
        vec![key_added(new_key)],
        vec![key_revoked(old_key, T0 + 1500)],
    ] {
        check(
            move || {
                let mut rows = honest();
                let cert = rows.pop().unwrap();
                for e in events.clone() {
                    rows.push(key_entry(T0 + 1500, SECRETARIAT, e));
                }
                rows.push(cert);
                rows
            },
            4,
            "valid at",
        );
    }
}

fn status_change(status: kpcert::domain::Status, effective: &str, decided: &str) -> Event {
    use kpcert::domain::{Decision, DecisionBody, StatusChange};
    Event::StatusChanged(StatusChange {
        participant: code("BW"),
        status,
        effective_on: Date::parse(effective).unwrap(),
        decision: Decision {
            reference: "AD 2026/7".into(),
            body: DecisionBody::Plenary,
            decided_on: Date::parse(decided).unwrap(),
        },
        terms: None,
        refuse_from: None,
        note: String::new(),
    })
}

fn secretariat_row(time_ms: u64, event: Event) -> Row {
    Row::Entry {
        time_ms,
        actor: SECRETARIAT.into(),
        key_id: None,
        event,
    }
}

#[test]
fn standing_entries_follow_the_rules() {
    use kpcert::domain::Status;
    // The honest ledger with a suspension recorded after its certificate passes, back-dated to
    // its decision (decisions are often published later).
    let later = || {
        let mut rows = honest();
        rows.push(secretariat_row(
            T0 + 86_400_000,
            status_change(Status::Suspended, "2026-11-20", "2026-11-20"),
        ));
        rows
    };
    assert!(audit(later(), Options::default()).is_ok());
    // A change that takes effect before its decision is back-dated beyond what it allows.
    check(
        || {
            let mut rows = honest();
            rows.push(secretariat_row(
                T0 + 3000,
                status_change(Status::Suspended, "2026-11-01", "2026-11-20"),
            ));
            rows
        },
        4,
        "effective_on",
    );
    // A decision dated after the day it is recorded.
    check(
        || {
            let mut rows = honest();
            rows.push(secretariat_row(
                T0 + 3000,
                status_change(Status::Suspended, "2026-11-30", "2026-11-30"),
            ));
            rows
        },
        4,
        "decided_on",
    );
    // Only the Secretariat records standing.
    check(
        || {
            let mut rows = honest();
            rows.push(Row::Entry {
                time_ms: T0 + 3000,
                actor: "BW-A1".into(),
                key_id: None,
                event: status_change(Status::Suspended, "2026-11-20", "2026-11-20"),
            });
            rows
        },
        4,
        "secretariat",
    );
    // A certificate issued while its participant is suspended.
    check(
        || {
            let mut rows = honest();
            rows.insert(
                3,
                secretariat_row(
                    T0 + 1500,
                    status_change(Status::Suspended, "2026-11-20", "2026-11-20"),
                ),
            );
            rows
        },
        4,
        "suspended",
    );
    // Changes of one participant take effect in order.
    check(
        || {
            let mut rows = later();
            rows.push(secretariat_row(
                T0 + 86_400_000,
                status_change(Status::Active, "2026-11-10", "2026-11-10"),
            ));
            rows
        },
        5,
        "last change",
    );
}

/// With many signature batches in flight (issue 14), bad signatures in two far-apart batches:
/// the audit names the first, in batch and strict mode alike; and the later one alone is named
/// too (its batch is joined after the earlier, honest ones).
#[test]
fn with_many_batches_in_flight_the_first_bad_signature_is_named() {
    const N: u64 = 4_000; // about eight batches of 512 (two signatures a certificate)
    let rows = |bad: &'static [u64]| {
        move || {
            let mut rows = vec![
                participant("BW"),
                participant("AE"),
                registration(bw_authority()),
            ];
            for s in 1..=N {
                rows.push(match bad.contains(&s) {
                    true => issued_with(certificate(s), |_| authority_key().sign(b"other bytes")),
                    false => issued(certificate(s)),
                });
            }
            rows
        }
    };
    check(
        rows(&[1_500, 3_900]),
        2 + 1_500,
        "signature does not verify",
    );
    check(rows(&[3_900]), 2 + 3_900, "signature does not verify");
}
