//! One verdict engine: the same facts give the same verdict online (the ledger state and its
//! records) and offline (a trust bundle made from the same state), over a table of cases. Only
//! what a bundle cannot know (whether the certificate was recorded, and as what) may differ, and
//! the table says how.

use std::collections::HashMap;

use kpcert::codec::seal::{qr_text, seal, SealClaims};
use kpcert::codec::text::base32;
use kpcert::codec::trust::TrustBundle;
use kpcert::codec::{encode_certificate, entry_hash};
use kpcert::crypto::{sha256, SigningKey};
use kpcert::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Date, Entry, Event,
    HsCode, Hundredths, Issuer, Item, Origin, Participant, ParticipantKind, Party,
    SignedCertificate, State, SECRETARIAT,
};
use kpcert::verify::{verify_qr, LedgerTrust, Verdict};

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
        },
    }
}

fn claims(cert: &Certificate) -> SealClaims {
    SealClaims::of(cert, &sha256(&encode_certificate(cert)))
}

/// The QR text of `claims` signed by `signer`.
fn qr(claims: &SealClaims, signer: &SigningKey) -> String {
    qr_text(
        "https://kp.example.org",
        &seal(claims, &signer.public_key().key_id(), |tbs| {
            signer.sign(tbs)
        }),
    )
}

/// The facts: BW and AE, BW-A1 registered at T0, certificate BW-2026-000001 recorded at T0 + 1 s.
fn ledger() -> (State, HashMap<String, SealClaims>) {
    let mut state = State::new();
    let mut prev = [0u8; 32];
    let mut records = HashMap::new();
    let cert = certificate(1, "2026-11-26");
    let canonical = encode_certificate(&cert);
    records.insert(cert.number.to_string(), claims(&cert));
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
            Event::CertificateIssued(SignedCertificate {
                signature: key().sign(&canonical),
                canonical,
                certificate: cert,
            }),
        ),
    ];
    for (i, (time_ms, actor, event)) in events.into_iter().enumerate() {
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
    let canonical = encode_certificate(&second);
    registration = Entry {
        index: state.size(),
        time_ms: later + 1000,
        actor: "BW-A2".into(),
        key_id: Some(bw2.public_key().key_id()),
        prev: [0; 32],
        event: Event::CertificateIssued(SignedCertificate {
            signature: bw2.sign(&canonical),
            canonical,
            certificate: second.clone(),
        }),
    };
    state.apply(&registration).unwrap();
    let mut records = records;
    records.insert(second.number.to_string(), claims(&second));
    let newer_key = qr(&claims(&second), &bw2);
    let lookup =
        |n: &CertificateNumber| -> Result<Option<(SealClaims, ())>, std::convert::Infallible> {
            Ok(records.get(n.as_str()).map(|c| (c.clone(), ())))
        };
    let online = LedgerTrust {
        state: &state,
        lookup: &lookup,
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
    for (case, text, today, want_online, want_offline) in table {
        let Ok(on) = verify_qr(&online, text, day(today));
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
