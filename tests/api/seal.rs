//! The QR seal: rendered codes decode (rqrr, and zbar where installed) to the issuance answer's
//! `qr` text; the seal inside verifies with the authority's key and states the certificate;
//! every single-byte change is caught; a realistic certificate fits QR version 18 at ECC Q.

use kpcert::codec::seal::{open, qr_text, seal, seal_from_qr_text, SealClaims};
use kpcert::crypto::{hex, SigningKey};
use kpcert::domain::{
    Certificate, CertificateContent, CertificateNumber, CountryCode, Date, IssuePolicy, Issuer,
};
use kpcert::qr::{png_to_grey, Symbol};
use serde_json::Value;

use crate::helpers::{example_request, spawn_app};

fn decode_png(png: &[u8]) -> String {
    let (w, h, grey) = png_to_grey(png).unwrap();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| grey[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

const ALPHANUMERIC: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[tokio::test]
async fn the_rendered_qr_code_decodes_to_a_seal_that_verifies_and_states_the_certificate() {
    let app = spawn_app();
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    let qr = issued["qr"].as_str().unwrap().to_owned();
    assert!(qr.starts_with("HTTPS://LOCALHOST:8443/S/"), "{qr}");
    assert!(
        qr.chars().all(|c| ALPHANUMERIC.contains(c)),
        "alphanumeric mode only: {qr}"
    );

    let number = issued["number"].as_str().unwrap();
    let resp = app
        .get_as(&format!("/v1/certificates/{number}/qr.png"), &app.bw.1)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let png = resp.bytes().await.unwrap();
    assert_eq!(decode_png(&png), qr, "rqrr reads the same text");

    // An independent decoder (tests/run.sh installs zbar-tools; without it this test fails).
    let path = std::env::temp_dir().join(format!("kpcert-qr-{}.png", std::process::id()));
    std::fs::write(&path, &png).unwrap();
    match std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&path)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "zbarimg failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim_end(),
                qr,
                "zbar reads the same text"
            );
        }
        Err(e) => panic!(
            "zbarimg could not run ({e}): run `bash tests/run.sh`, which installs zbar-tools"
        ),
    }
    let _ = std::fs::remove_file(&path);

    let resp = app
        .get_as(&format!("/v1/certificates/{number}/qr.svg"), &app.bw.1)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().starts_with("<svg"));

    // The seal verifies with the issuing authority's key and states what was issued.
    let sealed = open(&seal_from_qr_text(&qr).unwrap()).unwrap();
    let authority = app
        .app
        .authorities()
        .into_iter()
        .find(|a| a.id == app.bw.0)
        .unwrap();
    assert_eq!(sealed.key_id, authority.key_id());
    assert!(sealed.verify(&authority.public_key));
    let other = app
        .app
        .authorities()
        .into_iter()
        .find(|a| a.id == app.ae.0)
        .unwrap();
    assert!(!sealed.verify(&other.public_key));
    let c = &sealed.claims;
    assert_eq!(c.number().as_str(), number);
    assert_eq!(hex(&c.certificate_hash), issued["hash"].as_str().unwrap());
    assert_eq!(c.exporter_name, "Okavango Diamond Company");
    assert_eq!(c.destination.as_str(), "AE");
    assert_eq!(c.items[0].carats.to_string(), "1520.35");

    // The look-up gives the same QR text, and unknown numbers are 404.
    let read: Value = app
        .get_as(&format!("/v1/certificates/{number}"), &app.bw.1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["qr"], issued["qr"]);
    assert_eq!(
        app.get_as("/v1/certificates/BW-2026-999999/qr.png", &app.bw.1)
            .await
            .status(),
        404
    );
}

fn realistic_certificate() -> (Certificate, [u8; 32]) {
    let body = serde_json::json!({
        "exporter": {"name": "Okavango Diamond Company Proprietary Limited Gaborone Bots", "address": "Plot 123, Gaborone"},
        "importer": {"name": "Desert Rough Diamond Trading DMCC Almas Tower Dubai JLT UAE", "address": "Almas Tower, Dubai"},
        "destination": "AE",
        "origin": {"mixed": true, "countries": ["BW", "NA", "ZA"]},
        "parcels": 1250,
        "items": [
            {"hs_code": "7102.10", "carats": "152035.75", "value_usd": "84500000.00"},
            {"hs_code": "7102.21", "carats": "98765.43", "value_usd": "1234567.89"},
            {"hs_code": "7102.31", "carats": "45678.90", "value_usd": "98765432.10"}
        ]
    });
    let (input, _) = kpcert::http::parse_issue_request(&body).unwrap();
    let bw = CountryCode::participant("BW").unwrap();
    let is_participant = |_c: CountryCode| true;
    let policy = IssuePolicy {
        issuer: bw,
        issued_on: Date::parse("2026-11-26").unwrap(),
        default_validity_days: 60,
        max_validity_days: 90,
        is_participant: &is_participant,
    };
    let content = CertificateContent::validate(&input, &policy).unwrap();
    let cert = Certificate {
        number: CertificateNumber::new(bw, 2026, 123_456),
        issuer: Issuer {
            participant: bw,
            authority_id: "BW-A12".into(),
            authority_name: "Ministry of Minerals, Botswana".into(),
            key_id: SigningKey::from_seed(&[7; 32]).public_key().key_id(),
        },
        content,
        salt: [0x5a; 16],
    };
    (cert, [0xab; 32])
}

#[test]
fn a_realistic_certificate_fits_qr_version_18_at_ecc_q() {
    let (cert, hash) = realistic_certificate();
    assert!(cert.content.exporter.name.chars().count() >= 55);
    let key = SigningKey::from_seed(&[7; 32]);
    let claims = SealClaims::of(&cert, &hash);
    let bytes = seal(&claims, &key.public_key().key_id(), |tbs| key.sign(tbs));
    let text = qr_text("https://kp.example.org", &bytes);
    let symbol = Symbol::encode(&text).unwrap();
    eprintln!(
        "seal {} bytes, QR text {} characters, version {}",
        bytes.len(),
        text.len(),
        symbol.version
    );
    assert!(symbol.version <= 18, "version {}", symbol.version);
    assert_eq!(decode_png(&symbol.png(4)), text);
}

#[test]
fn every_single_byte_change_of_a_seal_is_caught() {
    let (cert, hash) = realistic_certificate();
    let key = SigningKey::from_seed(&[7; 32]);
    let bytes = seal(
        &SealClaims::of(&cert, &hash),
        &key.public_key().key_id(),
        |tbs| key.sign(tbs),
    );
    assert!(open(&bytes).unwrap().verify(&key.public_key()));
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            if let Ok(opened) = open(&changed) {
                assert!(
                    !opened.verify(&key.public_key()),
                    "byte {i} ^ {flip:#x} still verifies"
                );
            }
        }
    }
    // Garbage and truncation are malformed, never a panic.
    for garbage in [&b""[..], b"\x00", &bytes[..bytes.len() - 1], &bytes[1..]] {
        assert!(open(garbage).is_err());
    }
    for text in [
        "",
        "hello",
        "HTTPS://X/S/",
        "HTTPS://X/S/1!",
        "HTTPS://X/T/MZXW6",
    ] {
        assert!(
            seal_from_qr_text(text).and_then(|b| open(&b)).is_err(),
            "{text:?}"
        );
    }
}
