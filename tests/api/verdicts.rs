//! One verdict engine: the same facts give the same verdict online (the ledger state and its
//! records) and offline (a trust bundle made from the same state), over a table of cases. Only
//! what a bundle cannot know (whether the certificate was recorded, and as what) may differ, and
//! the table says how.

use std::collections::HashMap;

use kpcert::codec::record::issue;
use kpcert::codec::seal::{qr_text, seal, SealClaims};
use kpcert::codec::text::base32;
use kpcert::codec::trust::TrustBundle;
use kpcert::codec::{encode_certificate, entry_hash};
use kpcert::crypto::{sha256, SigningKey};
use kpcert::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Date, Entry, Event,
    HsCode, Hundredths, Issuer, Item, KeyAdded, Origin, Participant, ParticipantKind, Party, State,
    SECRETARIAT,
};
use kpcert::verify::{
    verify_number, verify_qr, Issued, LedgerTrust, Lookup, Recorded, SealCache, Trust, Verdict,
};

/// 2026-11-26T10:00:00Z, when BW-A1's key was registered.
const T0: u64 = 1_795_651_200_000 + 10 * 3_600_000;

fn code(s: &str) -> CountryCode {
    CountryCode::participant(s).unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_seed(&[41; 32])
}

fn authority() -> Authority {
    Authority {
        id: "BW-A1".into(),
        participant: code("BW"),
        name: "Ministry of Minerals, Botswana".into(),
        public_key: key().public_key(),
        default_validity_days: 60,
        max_validity_days: 90,
    }
}

fn certificate(serial: u64, issued_on: &str) -> Certificate {
    let a = authority();
    let issued_on = Date::parse(issued_on).unwrap();
    Certificate {
        number: CertificateNumber::new(a.participant, issued_on.year(), serial),
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

fn claims(cert: &Certificate) -> SealClaims {
    SealClaims::of(cert, &sha256(&encode_certificate(cert)))
}

/// The seal of `claims` signed by `signer`.
fn sealed(claims: &SealClaims, signer: &SigningKey) -> Vec<u8> {
    seal(claims, &signer.public_key().key_id(), |tbs| {
        signer.sign(tbs)
    })
}

/// The QR text of `claims` signed by `signer`.
fn qr(claims: &SealClaims, signer: &SigningKey) -> String {
    qr_text("https://kp.example.org", &sealed(claims, signer))
}

/// A ledger trust whose state was built without the records: it keeps no seal hash, and a
/// scanned seal is compared with the record's (read) instead.
struct WithoutSealHashes<'a, T>(&'a T);

impl<T: Trust> Trust for WithoutSealHashes<'_, T> {
    type Record = T::Record;
    type Error = T::Error;

    fn keys_with_id(&self, id: &kpcert::crypto::KeyId) -> Vec<kpcert::verify::TrustedKey> {
        self.0.keys_with_id(id)
    }

    fn standing(&self, code: CountryCode) -> Option<&kpcert::domain::StandingHistory> {
        self.0.standing(code)
    }

    fn record(
        &self,
        number: &CertificateNumber,
    ) -> Result<Lookup<(Recorded, Self::Record)>, Self::Error> {
        self.0.record(number)
    }

    fn issued(&self, number: &CertificateNumber) -> Lookup<Issued> {
        match self.0.issued(number) {
            Lookup::Found(c) => Lookup::Found(Issued {
                seal_hash: None,
                ..c
            }),
            other => other,
        }
    }

    fn life(&self, number: &CertificateNumber) -> kpcert::verify::LifeFacts {
        self.0.life(number)
    }

    fn signed_by(
        &self,
        seal: &kpcert::codec::seal::OpenedSeal,
        key: &kpcert::crypto::PublicKey,
    ) -> bool {
        self.0.signed_by(seal, key)
    }
}

/// The facts: BW and AE, BW-A1 registered at T0, certificate BW-2026-000001 recorded at T0 + 1 s.
fn ledger() -> (State, HashMap<String, Recorded>) {
    ledger_with(true)
}

/// [`ledger`], its state built with the certificates' records or, as an audit of a public
/// export builds it, without.
fn ledger_with(with_records: bool) -> (State, HashMap<String, Recorded>) {
    let mut state = State::new();
    let mut prev = [0u8; 32];
    let mut records = HashMap::new();
    let cert = certificate(1, "2026-11-26");
    records.insert(
        cert.number.to_string(),
        Recorded {
            claims: claims(&cert),
            seal_hash: sha256(&sealed(&claims(&cert), &key())),
            entry_ms: T0 + 1000,
            key_id: key().public_key().key_id(),
            entry_index: 3,
        },
    );
    let participant = |c: &str| {
        Event::ParticipantRegistered(Participant {
            code: code(c),
            name: format!("Participant {c}"),
            region: "Test".into(),
            kind: ParticipantKind::Participant,
        })
    };
    let events = [
        (T0, SECRETARIAT, participant("BW")),
        (T0, SECRETARIAT, participant("AE")),
        (T0, SECRETARIAT, Event::AuthorityRegistered(authority())),
        (
            T0 + 1000,
            "BW-A1",
            Event::CertificateIssued(issue(cert, |b| key().sign(b))),
        ),
    ];
    for (i, (time_ms, actor, mut event)) in events.into_iter().enumerate() {
        if let (Event::CertificateIssued(signed), false) = (&mut event, with_records) {
            signed.record = None;
        }
        let entry = Entry {
            index: i as u64,
            time_ms,
            key_id: (actor != SECRETARIAT).then(|| key().public_key().key_id()),
            actor: actor.into(),
            prev,
            event,
        };
        state.apply(&entry).unwrap();
        prev = entry_hash(&kpcert::codec::encode_entry(&entry));
    }
    (state, records)
}

#[test]
fn online_and_offline_give_the_same_verdict_for_the_same_facts() {
    use Verdict::*;
    let (state, records) = ledger();
    // The bundle is made a day after BW-A1 was registered.
    let bundle = TrustBundle::of_state(
        &state,
        T0 + 86_400_000,
        7 * 86_400_000,
        "test/ledger",
        "key",
    );
    let day = |s: &str| Date::parse(s).unwrap();
    let recorded = claims(&certificate(1, "2026-11-26"));
    let genuine = qr(&recorded, &key());
    let tampered = {
        let mut bytes = kpcert::codec::seal::seal_from_qr_text(&genuine).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        format!("HTTPS://KP.EXAMPLE.ORG/S/{}", base32(&bytes))
    };
    let foreign = qr(&recorded, &SigningKey::from_seed(&[42; 32]));
    let other_authority = qr(
        &SealClaims {
            authority_id: "BW-A2".into(),
            ..recorded.clone()
        },
        &key(),
    );
    // Signed by BW-A1's key with a date of issue before the key was registered.
    let before_key = qr(&claims(&certificate(2, "2026-11-20")), &key());
    let unrecorded = qr(&claims(&certificate(3, "2026-11-26")), &key());
    let altered = qr(
        &SealClaims {
            parcels: 4,
            ..recorded.clone()
        },
        &key(),
    );
    // A second authority registered after the bundle (made at T0) was issued: the online state
    // knows its key, the bundle does not.
    let mut state = state;
    let bw2 = SigningKey::from_seed(&[43; 32]);
    let later = T0 + 86_400_000 + 1000;
    let mut registration = Entry {
        index: state.size(),
        time_ms: later,
        actor: SECRETARIAT.into(),
        key_id: None,
        prev: [0; 32],
        event: Event::AuthorityRegistered(Authority {
            id: "BW-A2".into(),
            public_key: bw2.public_key(),
            ..authority()
        }),
    };
    state.apply(&registration).unwrap();
    let mut second = certificate(2, "2026-11-27");
    second.issuer.authority_id = "BW-A2".into();
    second.issuer.key_id = bw2.public_key().key_id();
    registration = Entry {
        index: state.size(),
        time_ms: later + 1000,
        actor: "BW-A2".into(),
        key_id: Some(bw2.public_key().key_id()),
        prev: [0; 32],
        event: Event::CertificateIssued(issue(second.clone(), |b| bw2.sign(b))),
    };
    state.apply(&registration).unwrap();
    let mut records = records;
    records.insert(
        second.number.to_string(),
        Recorded {
            claims: claims(&second),
            seal_hash: sha256(&sealed(&claims(&second), &bw2)),
            entry_ms: later + 1000,
            key_id: bw2.public_key().key_id(),
            entry_index: state.size() - 1,
        },
    );
    let newer_key = qr(&claims(&second), &bw2);
    let lookup =
        |n: &CertificateNumber| -> Result<Option<(Recorded, ())>, std::convert::Infallible> {
            Ok(records.get(n.as_str()).map(|c| (c.clone(), ())))
        };
    // One cache for the whole table: the genuine seal's signature is remembered from its first
    // check on, and every later case (void, revoked, suspended, expired...) must still be
    // judged from the facts.
    let remembered = SealCache::default();
    let online = LedgerTrust {
        state: &state,
        lookup: &lookup,
        seals: &remembered,
    };
    // (case, QR text, today, online verdict, offline verdict)
    let table = [
        ("genuine", genuine.as_str(), "2026-11-26", Valid, Valid),
        (
            "genuine, on its expiry day",
            &genuine,
            "2027-01-25",
            Valid,
            Valid,
        ),
        (
            "genuine, the day after expiry",
            &genuine,
            "2027-01-26",
            Expired,
            Expired,
        ),
        (
            "genuine, checked two days before its issue",
            &genuine,
            "2026-11-24",
            Forged,
            Forged,
        ),
        (
            "a flipped signature bit",
            &tampered,
            "2026-11-26",
            Forged,
            Forged,
        ),
        (
            "a key no authority registered",
            &foreign,
            "2026-11-26",
            Forged,
            Forged,
        ),
        (
            "names another authority than its key's",
            &other_authority,
            "2026-11-26",
            Forged,
            Forged,
        ),
        (
            "issued before its key was valid",
            &before_key,
            "2026-11-26",
            Forged,
            Forged,
        ),
        (
            "not a seal",
            "HTTPS://KP.EXAMPLE.ORG/S/NOTASEAL",
            "2026-11-26",
            Malformed,
            Malformed,
        ),
        ("not a URL", "hello", "2026-11-26", Malformed, Malformed),
        // What only the ledger knows: offline, a genuine signature is all there is to judge.
        (
            "signed but never recorded",
            &unrecorded,
            "2026-11-26",
            NotInLedger,
            Valid,
        ),
        (
            "signed, but not what was recorded",
            &altered,
            "2026-11-26",
            Forged,
            Valid,
        ),
        // A key registered after the bundle was made: offline it cannot judge, online it can.
        (
            "by a key newer than the bundle",
            &newer_key,
            "2026-11-28",
            Valid,
            Unknown,
        ),
    ];
    let read = WithoutSealHashes(&online);
    for (case, text, today, want_online, want_offline) in table {
        let Ok(first) = verify_qr(&online, text, day(today));
        // Checked again, with its signature remembered if it verified: the same answer.
        let Ok(on) = verify_qr(&online, text, day(today));
        assert_eq!(
            (first.verdict, &first.reasons),
            (on.verdict, &on.reasons),
            "{case}: a remembered signature changes nothing"
        );
        // Judged from the record instead of the state's seal hash: the same answer.
        let Ok(from_record) = verify_qr(&read, text, day(today));
        assert_eq!(
            (from_record.verdict, &from_record.reasons),
            (on.verdict, &on.reasons),
            "{case}: the record read gives the same verdict as the state's seal hash"
        );
        let Ok(off) = verify_qr(&bundle, text, day(today));
        assert_eq!(
            (on.verdict, off.verdict),
            (want_online, want_offline),
            "{case}: online {:?}, offline {:?}",
            on.reasons,
            off.reasons
        );
        if want_online == want_offline && want_online != Valid {
            assert_eq!(on.reasons[0], off.reasons[0], "{case}: the same reason");
        }
        if off.verdict == Valid {
            assert!(
                off.reasons.iter().any(|r| r.contains("offline")),
                "{case}: an offline valid says the ledger was not consulted"
            );
        }
    }
}

/// Rotation and compromise, judged the same way online and offline: BW-A1's first key signs
/// until a rotation on 2026-11-28 10:00; the second key is recorded (on 2026-11-30 12:00) as
/// compromised from 2026-11-29 08:00. Online the ledger's entry time decides; offline only the
/// day of issue is known, so a certificate of the day the compromise began is `unknown` there
/// (check online), and every other case agrees.
#[test]
fn rotation_and_compromise_give_the_same_verdicts_online_and_offline() {
    use Verdict::*;
    let (mut state, mut records) = ledger();
    let hour = 3_600_000;
    let day0 = 1_795_651_200_000; // 2026-11-26T00:00:00Z
    let at = |d: u64, h: u64| day0 + d * 86_400_000 + h * hour;
    let key2 = SigningKey::from_seed(&[44; 32]);
    let compromised_from = at(3, 8);
    let apply = |state: &mut State, time_ms: u64, actor: &str, event: Event| {
        let entry = Entry {
            index: state.size(),
            time_ms,
            actor: actor.into(),
            key_id: None,
            prev: [0; 32],
            event,
        };
        state.apply(&entry)
    };
    apply(
        &mut state,
        at(2, 10),
        SECRETARIAT,
        Event::KeyAdded(KeyAdded {
            authority_id: "BW-A1".into(),
            public_key: key2.public_key(),
        }),
    )
    .unwrap();
    // Certificates by the second key: serial, day offset, hour, recorded?
    let mut seals = HashMap::new();
    for (serial, d, h) in [(2, 2, 11), (3, 3, 7), (4, 3, 9), (5, 4, 11)] {
        let mut cert = certificate(serial, &Date::from_unix_ms(at(d, h)).to_string());
        cert.issuer.key_id = key2.public_key().key_id();
        let entry = Entry {
            index: state.size(),
            time_ms: at(d, h),
            actor: "BW-A1".into(),
            key_id: Some(key2.public_key().key_id()),
            prev: [0; 32],
            event: Event::CertificateIssued(issue(cert.clone(), |b| key2.sign(b))),
        };
        state.apply(&entry).unwrap();
        records.insert(
            cert.number.to_string(),
            Recorded {
                claims: claims(&cert),
                seal_hash: sha256(&sealed(&claims(&cert), &key2)),
                entry_ms: at(d, h),
                key_id: key2.public_key().key_id(),
                entry_index: state.size() - 1,
            },
        );
        seals.insert(serial, qr(&claims(&cert), &key2));
    }
    // The first key may no longer sign.
    let mut late = certificate(6, "2026-11-29");
    late.issuer.key_id = key().public_key().key_id();
    let old_key_after_rotation = qr(&claims(&late), &key());
    let violation = apply(
        &mut state,
        at(4, 12),
        SECRETARIAT,
        Event::KeyRevoked(kpcert::domain::KeyRevoked {
            authority_id: "BW-A1".into(),
            public_key: key2.public_key(),
            compromised_from_ms: at(5, 0),
            reason: "in the future".into(),
        }),
    )
    .unwrap_err();
    assert!(violation.0.contains("at or before"), "{violation}");
    apply(
        &mut state,
        at(4, 12),
        SECRETARIAT,
        Event::KeyRevoked(kpcert::domain::KeyRevoked {
            authority_id: "BW-A1".into(),
            public_key: key2.public_key(),
            compromised_from_ms: compromised_from,
            reason: "signing server stolen".into(),
        }),
    )
    .unwrap();
    // A thief's seal after the revocation, never recorded.
    let mut stolen = certificate(6, "2026-12-01");
    stolen.issuer.key_id = key2.public_key().key_id();
    let thief = qr(&claims(&stolen), &key2);
    let bundle = TrustBundle::of_state(&state, at(5, 0), 7 * 86_400_000, "test/ledger", "key");
    // The bundle carries the windows and the revocation.
    let encoded = TrustBundle::decode(&bundle.encode()).unwrap();
    assert_eq!(encoded, bundle);
    assert!(encoded.authorities.iter().any(|k| k
        .key
        .revoked
        .as_ref()
        .is_some_and(|r| r.from_ms == compromised_from)));
    let lookup =
        |n: &CertificateNumber| -> Result<Option<(Recorded, ())>, std::convert::Infallible> {
            Ok(records.get(n.as_str()).map(|c| (c.clone(), ())))
        };
    // One cache for the whole table: the genuine seal's signature is remembered from its first
    // check on, and every later case (void, revoked, suspended, expired...) must still be
    // judged from the facts.
    let remembered = SealCache::default();
    let online = LedgerTrust {
        state: &state,
        lookup: &lookup,
        seals: &remembered,
    };
    let first = qr(&claims(&certificate(1, "2026-11-26")), &key());
    let today = Date::parse("2026-12-02").unwrap();
    let table = [
        (
            "the first key, before the rotation",
            first.as_str(),
            Valid,
            Valid,
        ),
        (
            "the second key, the day before the compromise",
            &seals[&2],
            Valid,
            Valid,
        ),
        (
            "the second key, an hour before the compromise",
            &seals[&3],
            Valid,
            Unknown,
        ),
        (
            "the second key, an hour after the compromise",
            &seals[&4],
            KeyRevoked,
            Unknown,
        ),
        (
            "the second key, the day after the compromise",
            &seals[&5],
            KeyRevoked,
            KeyRevoked,
        ),
        (
            "a thief's seal after the revocation",
            &thief,
            KeyRevoked,
            KeyRevoked,
        ),
        (
            "the first key after the rotation",
            &old_key_after_rotation,
            Forged,
            Forged,
        ),
    ];
    for (case, text, want_online, want_offline) in table {
        let Ok(first) = verify_qr(&online, text, today);
        let Ok(on) = verify_qr(&online, text, today);
        assert_eq!(
            (first.verdict, &first.reasons),
            (on.verdict, &on.reasons),
            "{case}: a remembered signature changes nothing"
        );
        let Ok(off) = verify_qr(&bundle, text, today);
        assert_eq!(
            (on.verdict, off.verdict),
            (want_online, want_offline),
            "{case}: online {:?}, offline {:?}",
            on.reasons,
            off.reasons
        );
        if off.verdict == Unknown {
            assert!(
                off.reasons[0].contains("check online"),
                "{case}: {:?}",
                off.reasons
            );
        }
        if on.verdict == KeyRevoked {
            assert!(
                on.reasons[0].contains("signing server stolen"),
                "{:?}",
                on.reasons
            );
        }
    }
    // By number (online), the entry time decides the same way.
    for (number, want) in [
        ("BW-2026-000003", Valid),
        ("BW-2026-000004", KeyRevoked),
        ("BW-2026-000005", KeyRevoked),
    ] {
        let Ok(v) = verify_number(&online, number, today);
        assert_eq!(v.verdict, want, "{number}: {:?}", v.reasons);
    }
}

/// The issuer's standing comes after forgery (a date of issue in the future) and before the
/// certificate's life and dates, online and offline alike.
#[test]
fn issuer_suspended_sits_between_forged_and_void() {
    use kpcert::domain::{Decision, DecisionBody, Status, StatusChange};
    let (mut state, _records) = ledger();
    let suspension = Entry {
        index: state.size(),
        time_ms: T0 + 2000,
        actor: SECRETARIAT.into(),
        key_id: None,
        prev: [0; 32],
        event: Event::StatusChanged(StatusChange {
            participant: code("BW"),
            status: Status::Suspended,
            effective_on: Date::parse("2026-11-26").unwrap(),
            decision: Decision {
                reference: "AD 2026/9".into(),
                body: DecisionBody::WrittenProcedure,
                decided_on: Date::parse("2026-11-26").unwrap(),
            },
            terms: None,
            refuse_from: None,
            note: String::new(),
        }),
    };
    state.apply(&suspension).unwrap();
    let bundle = TrustBundle::of_state(&state, T0 + 3000, 7 * 86_400_000, "test/ledger", "key");
    let today = Date::parse("2026-11-27").unwrap();
    let genuine = qr(&claims(&certificate(1, "2026-11-26")), &key());
    let Ok(v) = verify_qr(&bundle, &genuine, today);
    assert_eq!(v.verdict, Verdict::IssuerSuspended, "{:?}", v.reasons);
    assert!(
        v.reasons[0].contains("AD 2026/9 of written procedure"),
        "{:?}",
        v.reasons
    );
    let future = qr(&claims(&certificate(5, "2026-12-30")), &key());
    let Ok(v) = verify_qr(&bundle, &future, today);
    assert_eq!(v.verdict, Verdict::Forged, "{:?}", v.reasons);
}

/// The state keeps the SHA-256 of the seal kept in a certificate's record when it is built with
/// the records (the service's state), and none without them (an audit of a public export); the
/// public entry does not show it.
#[test]
fn the_state_keeps_the_recorded_seal_hash_only_when_it_has_the_record() {
    let cert = certificate(1, "2026-11-26");
    let seal_hash = sha256(&sealed(&claims(&cert), &key()));
    let (state, _) = ledger_with(true);
    assert_eq!(state.life(&cert.number).unwrap().seal_hash, Some(seal_hash));
    let (public, _) = ledger_with(false);
    assert_eq!(public.life(&cert.number).unwrap().seal_hash, None);
    let entry = kpcert::codec::encode_entry(&Entry {
        index: 3,
        time_ms: T0 + 1000,
        actor: "BW-A1".into(),
        key_id: Some(key().public_key().key_id()),
        prev: [0; 32],
        event: Event::CertificateIssued(issue(cert, |b| key().sign(b))),
    });
    assert!(
        !entry.windows(32).any(|w| w == seal_hash),
        "the public entry does not hold the seal's hash"
    );
}
