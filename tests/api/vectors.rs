//! The published certificate test vectors (api/vectors/certificates.json): the canonical bytes,
//! hash and signature under the RFC 8032 test key are reproduced exactly. Run with
//! `KPCERT_BLESS=1` to rewrite the file after a deliberate, versioned format change.

use std::path::Path;

use kpcert::codec::record::issue;
use kpcert::codec::{
    decode_certificate, decode_issuance, decode_record, encode_certificate, encode_record,
};
use kpcert::crypto::{from_hex, hex, sha256, SigningKey};
use kpcert::domain::{
    Certificate, CertificateContent, CertificateNumber, CountryCode, Date, IssuePolicy, Issuer,
};
use serde_json::{json, Value};

const TEST_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn test_key() -> SigningKey {
    SigningKey::from_seed(&from_hex(TEST_SEED).unwrap().try_into().unwrap())
}

/// Builds the certificate a vector describes, through the same parsing and validation as the API.
fn certificate(v: &Value) -> Certificate {
    let issuer = CountryCode::participant(v["issuer"]["participant"].as_str().unwrap()).unwrap();
    let issued_on = Date::parse(v["issued_on"].as_str().unwrap()).unwrap();
    let (input, _) = kpcert::http::parse_issue_request(&v["request"]).unwrap();
    let is_participant = |_c: CountryCode| true;
    let policy = IssuePolicy {
        issuer,
        issued_on,
        default_validity_days: 60,
        max_validity_days: 90,
        is_participant: &is_participant,
    };
    let content = CertificateContent::validate(&input, &policy).unwrap();
    Certificate {
        number: CertificateNumber::parse(v["number"].as_str().unwrap()).unwrap(),
        issuer: Issuer {
            participant: issuer,
            authority_id: v["issuer"]["authority_id"].as_str().unwrap().to_owned(),
            authority_name: v["issuer"]["authority_name"].as_str().unwrap().to_owned(),
            key_id: test_key().public_key().key_id(),
        },
        content,
        salt: from_hex(v["salt_hex"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    }
}

fn inputs() -> Vec<Value> {
    vec![
        json!({
            "name": "unmixed origin, one item, default expiry (the README example)",
            "issuer": {"participant": "BW", "authority_id": "BW-A1", "authority_name": "Ministry of Minerals, Botswana"},
            "number": "BW-2026-000001",
            "issued_on": "2026-11-26",
            "salt_hex": "000102030405060708090a0b0c0d0e0f",
            "request": crate::helpers::example_request(),
        }),
        json!({
            "name": "mixed origin, all three HS codes, Namibia, EU issuer, explicit expiry",
            "issuer": {"participant": "EU", "authority_id": "EU-A1", "authority_name": "Antwerp Diamond Office"},
            "number": "EU-2026-000042",
            "issued_on": "2026-11-26",
            "salt_hex": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
            "request": {
                "exporter": {"name": "Antwerp Rough Trading NV — Hoveniersstraat Diamond Exchange", "address": "Hoveniersstraat 2, 2018 Antwerpen, Belgium"},
                "importer": {"name": "Namib Polishing Works (Pty) Ltd", "address": "Nelson Mandela Ave 7, Windhoek, Namibia"},
                "destination": "NA",
                "origin": {"mixed": true, "countries": ["ZA", "BW", "NA"]},
                "parcels": 12,
                "items": [
                    {"hs_code": "7102.31", "carats": "250.5", "value_usd": "1250000"},
                    {"hs_code": "7102.10", "carats": "0.01", "value_usd": "0.00"},
                    {"hs_code": "7102.21", "carats": "10000.99", "value_usd": "34567.89"}
                ],
                "expires_on": "2027-02-24"
            },
        }),
    ]
}

#[test]
fn certificate_vectors_are_reproduced_byte_for_byte() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api/vectors/certificates.json");
    let key = test_key();
    let computed: Vec<Value> = inputs()
        .into_iter()
        .map(|mut v| {
            let cert = certificate(&v);
            let bytes = encode_certificate(&cert);
            assert_eq!(
                decode_certificate(&bytes).unwrap(),
                cert,
                "decode inverts encode"
            );
            let signed = issue(cert, |b| key.sign(b));
            assert_eq!(signed.record.as_ref().unwrap().canonical, bytes);
            assert_eq!(decode_issuance(&signed.signed).unwrap(), signed.issuance);
            let record = encode_record(signed.record.as_ref().unwrap());
            assert_eq!(
                decode_record(&record).as_ref(),
                Ok(signed.record.as_deref().unwrap())
            );
            v["canonical_hex"] = json!(hex(&bytes));
            v["hash"] = json!(hex(&sha256(&bytes)));
            v["issuance_hex"] = json!(hex(&signed.signed));
            v["signature_hex"] = json!(hex(&signed.signature));
            v["record_hex"] = json!(hex(&record));
            v
        })
        .collect();
    let document = json!({
        "description": "kpcert certificate v2, issuance v2 and record v2 test vectors; see api/certificate.md",
        "test_key": {
            "seed_hex": TEST_SEED,
            "public_key_hex": hex(&key.public_key().to_bytes()),
            "key_id": key.public_key().key_id().to_string(),
        },
        "vectors": computed,
    });
    if std::env::var_os("KPCERT_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&document).unwrap() + "\n",
        )
        .unwrap();
    }
    let published: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(published, document);
    for v in published["vectors"].as_array().unwrap() {
        let bytes = from_hex(v["canonical_hex"].as_str().unwrap()).unwrap();
        let issuance = from_hex(v["issuance_hex"].as_str().unwrap()).unwrap();
        let sig = from_hex(v["signature_hex"].as_str().unwrap()).unwrap();
        assert!(key.public_key().verify_strict(&issuance, &sig));
        assert_eq!(v["hash"].as_str().unwrap(), hex(&sha256(&bytes)));
        assert_eq!(
            decode_issuance(&issuance).unwrap().certificate_hash,
            sha256(&bytes)
        );
    }
}

/// The ledger entry vectors (api/vectors/entries.json): a four-entry ledger (two participants, an
/// authority with the RFC 8032 test key, the first certificate vector) with fixed times, its
/// Merkle root and its checkpoint signed by the same test key as ledger key. The vector is a
/// ledger kpcert could have written: it passes the audit.
#[test]
fn entry_vectors_are_reproduced_byte_for_byte() {
    use kpcert::codec::export::{write_export, Frame, Level};
    use kpcert::codec::{decode_entry, encode_entry, entry_hash};
    use kpcert::domain::{Authority, Entry, Event, Participant, ParticipantKind};
    use kpcert::tlog::merkle::{leaf_hash, MemoryTree};
    use kpcert::tlog::{Checkpoint, NoteSigner};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api/vectors/entries.json");
    let key = test_key();
    let bw = CountryCode::participant("BW").unwrap();
    let first = inputs().remove(0);
    let cert = certificate(&first);
    let participant = |code: &str, name: &str, region: &str| {
        Event::ParticipantRegistered(Participant {
            code: CountryCode::participant(code).unwrap(),
            name: name.into(),
            region: region.into(),
            kind: ParticipantKind::Participant,
        })
    };
    let events = vec![
        ("secretariat", participant("BW", "Botswana", "Africa")),
        (
            "secretariat",
            participant("AE", "United Arab Emirates", "Asia"),
        ),
        (
            "secretariat",
            Event::AuthorityRegistered(Authority {
                id: "BW-A1".into(),
                participant: bw,
                name: "Ministry of Minerals, Botswana".into(),
                public_key: key.public_key(),
                default_validity_days: 60,
                max_validity_days: 90,
            }),
        ),
        (
            "BW-A1",
            Event::CertificateIssued(issue(cert, |b| key.sign(b))),
        ),
    ];
    let mut tree = MemoryTree::default();
    let mut prev = [0u8; 32];
    let mut entries = Vec::new();
    for (i, (actor, event)) in events.into_iter().enumerate() {
        let entry = Entry {
            index: i as u64,
            time_ms: 1_795_651_200_000 + i as u64 * 1000,
            actor: actor.into(),
            key_id: (actor != "secretariat").then(|| key.public_key().key_id()),
            prev,
            event,
        };
        let bytes = encode_entry(&entry);
        let mut public = entry.clone();
        let record = match &mut public.event {
            Event::CertificateIssued(s) => s.record.take().map(|r| encode_record(&r)),
            _ => None,
        };
        assert_eq!(
            decode_entry(&bytes).unwrap(),
            public,
            "decode inverts encode (the record is not part of the entry)"
        );
        tree.push_data(&bytes);
        let mut vector = json!({
            "index": i,
            "kind": entry.event.kind().as_str(),
            "canonical_hex": hex(&bytes),
            "leaf_hash_hex": hex(&leaf_hash(&bytes)),
            "entry_hash_hex": hex(&entry_hash(&bytes)),
        });
        if let Some(record) = record {
            vector["record_hex"] = json!(hex(&record));
        }
        entries.push(vector);
        prev = entry_hash(&bytes);
    }
    let signer = NoteSigner::new("kpcert.example/ledger", key.clone());
    let checkpoint = signer.sign(&Checkpoint {
        origin: "kpcert.example/ledger".into(),
        size: tree.size(),
        root: tree.root(),
    });
    let document = json!({
        "description": "kpcert ledger entry v2 test vectors (entries and the full record kept beside the certificate entry); see api/ledger.md",
        "ledger_key": {
            "seed_hex": TEST_SEED,
            "verifier_key": signer.verifier().to_string(),
        },
        "entries": entries,
        "root_hex": hex(&tree.root()),
        "checkpoint": checkpoint,
    });
    if std::env::var_os("KPCERT_BLESS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&document).unwrap() + "\n",
        )
        .unwrap();
    }
    let published: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(published, document);

    // The published ledger audits clean, public (entries only) and full (with the record).
    for level in [Level::Public, Level::Full] {
        let mut export = Vec::new();
        write_export(
            &mut export,
            level,
            &checkpoint,
            tree.size(),
            published["entries"].as_array().unwrap().iter().map(|e| {
                Ok(Frame {
                    entry: from_hex(e["canonical_hex"].as_str().unwrap()).unwrap(),
                    record: e["record_hex"]
                        .as_str()
                        .map(|r| from_hex(r).unwrap())
                        .unwrap_or_default(),
                })
            }),
        )
        .unwrap();
        let report = kpcert::audit::audit_export(
            export.as_slice(),
            &signer.verifier(),
            None,
            kpcert::audit::Options::default(),
            |_, _| {},
        )
        .unwrap();
        assert_eq!(
            (report.entries, report.certificates, report.level),
            (4, 1, level)
        );
        assert_eq!(report.records, (level == Level::Full) as u64);
    }
}

/// The seal vectors (api/vectors/seals.json): for each certificate vector, the COSE_Sign1 seal
/// under the RFC 8032 test key, the Sig_structure it signs, and the QR text for the base URL
/// `https://kp.example.org`.
#[test]
fn seal_vectors_are_reproduced_byte_for_byte() {
    use kpcert::codec::seal::{open, qr_text, seal, SealClaims};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api/vectors/seals.json");
    let key = test_key();
    let vectors: Vec<Value> = inputs()
        .into_iter()
        .map(|v| {
            let cert = certificate(&v);
            let hash = sha256(&encode_certificate(&cert));
            let claims = SealClaims::of(&cert, &hash);
            let mut signed = Vec::new();
            let bytes = seal(&claims, &key.public_key().key_id(), |tbs| {
                signed = tbs.to_vec();
                key.sign(tbs)
            });
            let opened = open(&bytes).unwrap();
            assert!(opened.verify(&key.public_key()));
            assert_eq!(opened.claims, claims);
            json!({
                "name": v["name"],
                "certificate_number": cert.number.as_str(),
                "certificate_hash": hex(&hash),
                "to_be_signed_hex": hex(&signed),
                "seal_hex": hex(&bytes),
                "qr_text": qr_text("https://kp.example.org", &bytes),
            })
        })
        .collect();
    let document = json!({
        "description": "kpcert seal v2 test vectors (COSE_Sign1, EdDSA); see api/seal.md",
        "test_key": {
            "seed_hex": TEST_SEED,
            "public_key_hex": hex(&key.public_key().to_bytes()),
            "key_id": key.public_key().key_id().to_string(),
        },
        "public_base_url": "https://kp.example.org",
        "vectors": vectors,
    });
    if std::env::var_os("KPCERT_BLESS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&document).unwrap() + "\n",
        )
        .unwrap();
    }
    let published: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(published, document);
}

/// The lifecycle vectors (api/vectors/lifecycle.json, api/lifecycle.md): an arrival with its
/// discrepancies, the confirmation committing to it, the arrival record, a void and a void with
/// its replacement, and a re-export certificate that cites two import certificates and replaces
/// another: each byte string and signature under the RFC 8032 test key, reproduced exactly.
#[test]
fn lifecycle_vectors_are_reproduced_byte_for_byte() {
    use kpcert::codec::lifecycle::{confirm, encode_arrival_record, void};
    use kpcert::domain::{
        lifecycle, Arrival, ArrivalLine, Citation, HsCode, Hundredths, Shipment, Void,
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api/vectors/lifecycle.json");
    let key = test_key();
    let key_id = key.public_key().key_id();
    let n = |s: &str| CertificateNumber::parse(s).unwrap();
    let ct = |s: &str| Hundredths::parse(s).unwrap();
    let d = |s: &str| Date::parse(s).unwrap();
    let arrival = Arrival {
        number: n("BW-2026-000001"),
        received_on: d("2027-01-26"),
        parcels: 2,
        items: vec![ArrivalLine {
            hs_code: HsCode::Unsorted,
            carats: ct("1500.00"),
        }],
        remarks: "one parcel missing on arrival".into(),
        salt: core::array::from_fn(|i| 0xa0 + i as u8),
    };
    let shipment = Shipment {
        parcels: 3,
        lines: vec![(HsCode::Unsorted, ct("1520.35"))],
    };
    let found = lifecycle::discrepancies(&shipment, d("2027-01-25"), &arrival);
    let confirmed = confirm(arrival, "AE-A1", key_id, found, |b| key.sign(b));
    let record = confirmed.record.as_deref().unwrap();
    let plain = void(
        Void {
            number: n("BW-2026-000002"),
            authority_id: "BW-A1".into(),
            key_id,
            reason: "Exporter cancelled the sale".into(),
            replaced_by: None,
        },
        |b| key.sign(b),
    );
    let replaced = void(
        Void {
            number: n("BW-2026-000003"),
            authority_id: "BW-A1".into(),
            key_id,
            reason: "Typing error in the importer's address".into(),
            replaced_by: Some(n("BW-2026-000004")),
        },
        |b| key.sign(b),
    );
    let mut reexport = certificate(&inputs()[0]);
    reexport.content.derived_from = vec![
        Citation {
            number: n("CA-2026-000007"),
            carats: ct("20.00"),
        },
        Citation {
            number: n("ZA-2026-000012"),
            carats: ct("1000.50"),
        },
    ];
    reexport.content.replaces = Some(n("BW-2025-000099"));
    // A partially suspended issuer's zone and the approval it was issued under.
    reexport.content.origin_zone = Some("Z1".into());
    reexport.content.approval = Some(sha256(b"the exact request body"));
    let canonical = encode_certificate(&reexport);
    assert_eq!(decode_certificate(&canonical).unwrap(), reexport);
    let document = json!({
        "format": "kpcert lifecycle vectors (api/lifecycle.md)",
        "key": {
            "seed_hex": TEST_SEED,
            "public_key_hex": hex(&key.public_key().to_bytes()),
            "key_id": key_id.to_string(),
        },
        "confirmation": {
            "certified": {"parcels": 3, "items": [{"hs_code": "7102.10", "carats": "1520.35"}], "expires_on": "2027-01-25"},
            "discrepancies": record.discrepancies.iter().map(|x| json!({"kind": x.kind(), "message": x.to_string()})).collect::<Vec<_>>(),
            "arrival_hex": hex(&record.canonical),
            "arrival_hash": hex(&sha256(&record.canonical)),
            "confirmation_hex": hex(&confirmed.signed),
            "signature_hex": hex(&confirmed.signature),
            "record_hex": hex(&encode_arrival_record(record)),
        },
        "voids": [
            {"void_hex": hex(&plain.signed), "signature_hex": hex(&plain.signature)},
            {"void_hex": hex(&replaced.signed), "signature_hex": hex(&replaced.signature)},
        ],
        "certificate_v4_with_provenance_replaces_zone_and_approval": {"canonical_hex": hex(&canonical), "hash": hex(&sha256(&canonical))},
    });
    if std::env::var_os("KPCERT_BLESS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&document).unwrap() + "\n",
        )
        .unwrap();
    }
    let published: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(published, document);
    let pk = key.public_key();
    let sig = |v: &Value, bytes: &str| {
        pk.verify_strict(
            &from_hex(v[bytes].as_str().unwrap()).unwrap(),
            &from_hex(v["signature_hex"].as_str().unwrap()).unwrap(),
        )
    };
    assert!(sig(&published["confirmation"], "confirmation_hex"));
    for v in published["voids"].as_array().unwrap() {
        assert!(sig(v, "void_hex"));
    }
    assert_eq!(
        published["confirmation"]["discrepancies"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "parcels, carats and a late arrival"
    );
}

/// The entries of participant standing, documents and rehabilitation cases (api/standing.md,
/// api/documents.md, api/cases.md): one canonical `kpcert/entry/v2` entry of each kind, built
/// by the encoder, decoded back to the same event, and published in api/vectors/standing.json.
#[test]
fn standing_document_and_case_vectors_are_reproduced_byte_for_byte() {
    use kpcert::codec::{decode_entry, encode_entry, entry_hash};
    use kpcert::domain::case::{Benchmark, BenchmarkStatus, CaseStep, Stage, StepKind};
    use kpcert::domain::{
        Confidentiality, CountryCode, Decision, DecisionBody, Document, DocumentKind, Entry, Event,
        MeasureKind, PartialTerms, ShipmentApproval, Status, StatusChange, TradeMeasure, Zone,
        SECRETARIAT,
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("api/vectors/standing.json");
    let d = |s: &str| Date::parse(s).unwrap();
    let cf = CountryCode::participant("CF").unwrap();
    let report = sha256(b"review mission report");
    let events: Vec<(&str, Event)> = vec![
        (
            SECRETARIAT,
            Event::StatusChanged(StatusChange {
                participant: cf,
                status: Status::PartiallySuspended,
                effective_on: d("2015-07-01"),
                decision: Decision {
                    reference: "AD 2015/1".into(),
                    body: DecisionBody::Plenary,
                    decided_on: d("2015-06-30"),
                },
                terms: Some(PartialTerms {
                    zones: vec![
                        Zone {
                            id: "Z1".into(),
                            name: "Berberati".into(),
                        },
                        Zone {
                            id: "Z2".into(),
                            name: "Carnot".into(),
                        },
                    ],
                    prior_approval: true,
                    team: Some("CAR Monitoring Team".into()),
                }),
                refuse_from: None,
                note: "operational framework".into(),
            }),
        ),
        (
            SECRETARIAT,
            Event::TradeMeasureRecorded(TradeMeasure {
                participant: CountryCode::participant("CI").unwrap(),
                kind: MeasureKind::Embargo,
                reference: "UNSC resolution 1643 (2005)".into(),
                imposed_by: "UN Security Council".into(),
                from: d("2005-12-15"),
                until: Some(d("2014-04-29")),
                note: String::new(),
            }),
        ),
        (
            SECRETARIAT,
            Event::DocumentRecorded(Document {
                hash: report,
                size: 21,
                media_type: "application/pdf".into(),
                title: "Review mission report".into(),
                kind: DocumentKind::VisitReport,
                dated: d("2015-05-20"),
                participants: vec![cf],
                confidentiality: Confidentiality::Public,
            }),
        ),
        (
            "monitor:CAR Monitoring Team",
            Event::ShipmentApproved(ShipmentApproval {
                participant: cf,
                team: "CAR Monitoring Team".into(),
                request_hash: sha256(b"the exact request body"),
                zone: "Z1".into(),
                destination: CountryCode::participant("AE").unwrap(),
                parcels: 3,
                carats: kpcert::domain::Hundredths::parse("1520.35").unwrap(),
                conditions: "photographs of each parcel".into(),
                documents: vec![report],
            }),
        ),
        (
            "monitor:CAR Monitoring Team",
            Event::CaseStepRecorded(CaseStep {
                participant: cf,
                kind: StepKind::ReviewMission,
                from: d("2015-05-18"),
                until: Some(d("2015-05-22")),
                team: "CAR Monitoring Team".into(),
                findings: "Compliant zones identified".into(),
                documents: vec![report],
                ends_stage: Some(Stage::ReviewMission),
            }),
        ),
        (
            SECRETARIAT,
            Event::BenchmarkSet(Benchmark {
                participant: cf,
                id: "B1".into(),
                text: "A register of licensed diggers".into(),
                status: BenchmarkStatus::Met,
                evidence: vec![report],
                note: String::new(),
            }),
        ),
    ];
    let mut prev = [0u8; 32];
    let mut out = Vec::new();
    for (i, (actor, event)) in events.into_iter().enumerate() {
        let entry = Entry {
            index: 100 + i as u64,
            time_ms: 1_795_651_200_000 + i as u64 * 1000,
            actor: actor.into(),
            key_id: None,
            prev,
            event,
        };
        let bytes = encode_entry(&entry);
        assert_eq!(
            decode_entry(&bytes).unwrap(),
            entry,
            "decodes to what was encoded"
        );
        prev = entry_hash(&bytes);
        out.push(json!({
            "kind": entry.event.kind().as_str(),
            "canonical_hex": hex(&bytes),
            "entry_hash_hex": hex(&prev),
        }));
    }
    let document = json!({
        "format": "kpcert standing, document and case entry vectors (api/standing.md, api/documents.md, api/cases.md); each entry's prev is the previous one's hash, the first's is zero",
        "entries": out,
    });
    if std::env::var_os("KPCERT_BLESS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&document).unwrap() + "\n",
        )
        .unwrap();
    }
    let published: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(published, document);
}
