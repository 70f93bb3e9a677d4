//! The published certificate test vectors (api/vectors/certificates.json): the canonical bytes,
//! hash and signature under the RFC 8032 test key are reproduced exactly. Run with
//! `KPCERT_BLESS=1` to rewrite the file after a deliberate, versioned format change.

use std::path::Path;

use kpcert::crypto::{from_hex, hex, sha256, SigningKey};
use kpcert::domain::{
    Certificate, CertificateContent, CertificateNumber, CountryCode, Date, IssuePolicy, Issuer,
};
use kpcert::encoding::{decode_certificate, encode_certificate};
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
    }
}

fn inputs() -> Vec<Value> {
    vec![
        json!({
            "name": "unmixed origin, one item, default expiry (the README example)",
            "issuer": {"participant": "BW", "authority_id": "BW-A1", "authority_name": "Ministry of Minerals, Botswana"},
            "number": "BW-2026-000001",
            "issued_on": "2026-11-26",
            "request": crate::helpers::example_request(),
        }),
        json!({
            "name": "mixed origin, all three HS codes, Namibia, EU issuer, explicit expiry",
            "issuer": {"participant": "EU", "authority_id": "EU-A1", "authority_name": "Antwerp Diamond Office"},
            "number": "EU-2026-000042",
            "issued_on": "2026-11-26",
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
            v["canonical_hex"] = json!(hex(&bytes));
            v["hash"] = json!(hex(&sha256(&bytes)));
            v["signature_hex"] = json!(hex(&key.sign(&bytes)));
            v
        })
        .collect();
    let document = json!({
        "description": "kpcert certificate encoding v1 test vectors; see api/certificate.md",
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
        let sig = from_hex(v["signature_hex"].as_str().unwrap()).unwrap();
        assert!(key.public_key().verify_strict(&bytes, &sig));
        assert_eq!(v["hash"].as_str().unwrap(), hex(&sha256(&bytes)));
    }
}
