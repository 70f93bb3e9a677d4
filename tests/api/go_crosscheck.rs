//! Independent cross-check: the Go program in tests/go (golang.org/x/mod/sumdb/note and tlog,
//! the Go team's implementations) verifies a checkpoint from a running test server, rebuilds the
//! tree from the entries, and checks inclusion and consistency proofs. `tests/run.sh` builds it
//! and sets `KPCERT_GO_VERIFIER`; without that variable this test says so and does nothing.

use std::process::Command;

use crate::helpers::{example_request, spawn_app_with};

#[tokio::test]
async fn the_go_sumdb_packages_verify_our_checkpoints_and_proofs() {
    let Some(verifier) = std::env::var_os("KPCERT_GO_VERIFIER") else {
        eprintln!(
            "go cross-check not run: KPCERT_GO_VERIFIER is not set (bash tests/run.sh sets it)"
        );
        return;
    };
    let app = spawn_app_with(kpcert::http::Options {
        public_rate_limit: 0.0,
        ..Default::default()
    });
    for i in 0..40 {
        let mut body = example_request();
        if i % 3 == 1 {
            body["destination"] = "IN".into();
        }
        assert_eq!(app.issue(&body).await.status(), 201);
    }
    let key = app.app.ledger_verifier().to_string();
    let (base, cacert) = (app.base.clone(), app.cert_path.clone());
    let run = move |key: String| {
        Command::new(&verifier)
            .args(["-q", "-base", &base, "-cacert"])
            .arg(&cacert)
            .args(["-key", &key])
            .output()
            .unwrap()
    };
    let ok_key = key.clone();
    let out = tokio::task::spawn_blocking(move || run(ok_key))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kpverify failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("kpverify: ok"), "{stdout}");
    assert!(
        stdout.contains(&format!("size={}", app.ledger_size())),
        "{stdout}"
    );

    // The same program rejects the checkpoint under a key that is not the ledger's.
    let other = kpcert::checkpoint::NoteSigner::new(
        "test.kpcert.local/ledger",
        kpcert::crypto::SigningKey::from_seed(&[1; 32]),
    )
    .verifier()
    .to_string();
    let base = app.base.clone();
    let cacert = app.cert_path.clone();
    let verifier = std::env::var_os("KPCERT_GO_VERIFIER").unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&verifier)
            .args(["-q", "-base", &base, "-cacert"])
            .arg(&cacert)
            .args(["-key", &other])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        !out.status.success(),
        "a foreign key must not verify our checkpoint"
    );
}
