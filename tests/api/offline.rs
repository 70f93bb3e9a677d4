//! The offline border check: `kpcert verify` with a trust bundle and a QR image or text, no
//! network, against the pinned root key; exit code 0 only for `valid`.

use std::process::Command;

use kpcert::codec::seal::seal_from_qr_text;
use kpcert::codec::text::base32;
use kpcert::codec::trust::{root_key_text, TrustBundle};
use serde_json::Value;

use crate::helpers::{example_request, spawn_app};

fn run_verify(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpcert"))
        .arg("verify")
        .args(args)
        .env_remove("KPCERT_KEYS_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_border_post_verifies_a_printed_code_offline() {
    let app = spawn_app();
    let issued: Value = app.issue(&example_request()).await.json().await.unwrap();
    let number = issued["number"].as_str().unwrap();
    let qr = issued["qr"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let bundle_path = dir.path().join("bundle.json");
    let png_path = dir.path().join("code.png");
    let bundle = app.get("/v1/trust-bundle").await.text().await.unwrap();
    std::fs::write(&bundle_path, &bundle).unwrap();
    let png = app
        .get_as(&format!("/v1/certificates/{number}/qr.png"), &app.bw.1)
        .await
        .bytes()
        .await
        .unwrap();
    std::fs::write(&png_path, &png).unwrap();
    app.stop().await; // from here on, no server

    let root = root_key_text(&app.app.root_public_key());
    let decoded = TrustBundle::open_signed_json(&bundle, &app.app.root_public_key()).unwrap();
    assert!(decoded
        .authorities
        .iter()
        .any(|a| a.authority_id == app.bw.0));
    assert!(decoded
        .participants
        .iter()
        .any(|p| p.code.as_str() == "NA" && p.standing.changes.is_empty()));
    assert_eq!(
        decoded.ledger_verifier_key,
        app.app.ledger_verifier().to_string()
    );
    assert!(decoded.next_update_ms > decoded.issued_at_ms);

    let (b, p) = (bundle_path.to_str().unwrap(), png_path.to_str().unwrap());
    let (code, v, err) =
        run_verify(&["--trust", b, "--qr-image", p, "--root-key", &root, "--json"]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["certificate"]["number"], number);
    assert_eq!(v["certificate"]["hash"], issued["hash"]);
    assert_eq!(v["bundle"]["stale"], false);

    // A tampered code is caught offline too; garbage is malformed.
    let mut bytes = seal_from_qr_text(&qr).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = format!("HTTPS://LOCALHOST:8443/S/{}", base32(&bytes));
    let (code, v, _) = run_verify(&[
        "--trust",
        b,
        "--qr-text",
        &tampered,
        "--root-key",
        &root,
        "--json",
    ]);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("forged")));
    let (code, v, _) = run_verify(&[
        "--trust",
        b,
        "--qr-text",
        "hello",
        "--root-key",
        &root,
        "--json",
    ]);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("malformed")));

    // A bundle past its next_update still works, with the warning an officer must see.
    let root_key = kpcert::keys::KeyDir::open(&app.keys_dir)
        .unwrap()
        .load("root")
        .unwrap();
    let mut old = decoded.clone();
    old.issued_at_ms -= 30 * 24 * 3600 * 1000;
    old.next_update_ms = old.issued_at_ms + 1000;
    let stale_path = dir.path().join("stale.json");
    std::fs::write(&stale_path, old.to_signed_json(&root_key)).unwrap();
    let (code, v, err) = run_verify(&[
        "--trust",
        stale_path.to_str().unwrap(),
        "--qr-image",
        p,
        "--root-key",
        &root,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["bundle"]["stale"], true);
    assert!(v["bundle"]["age_hours"].as_f64().unwrap() > 700.0);
    assert!(err.contains("past its next_update"), "{err}");

    // A bundle under another root key is refused before any verdict.
    let other = root_key_text(&kpcert::crypto::SigningKey::from_seed(&[9; 32]).public_key());
    let (code, _, err) = run_verify(&["--trust", b, "--qr-image", p, "--root-key", &other]);
    assert_eq!(code, 2);
    assert!(err.contains("pinned root key"), "{err}");
}
