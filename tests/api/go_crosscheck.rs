//! Independent cross-check: the Go program in tests/go (golang.org/x/mod/sumdb/note and tlog,
//! the Go team's implementations) verifies a checkpoint from a running test server, rebuilds the
//! tree from the entries, and checks inclusion and consistency proofs. `tests/run.sh` builds it
//! and sets `KPCERT_GO_VERIFIER`; without that variable this test builds it with
//! `tests/go/build.sh`, and fails if Go is not installed (it never passes without running).

use std::process::Command;

use crate::helpers::{example_request, spawn_app_with};

#[tokio::test]
async fn the_go_sumdb_packages_verify_our_checkpoints_and_proofs() {
    let verifier = match std::env::var_os("KPCERT_GO_VERIFIER") {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = root.join("target/kpverify");
            let built = Command::new("bash")
                .arg(root.join("tests/go/build.sh"))
                .arg(&out)
                .output()
                .unwrap();
            assert!(
                built.status.success(),
                "the Go cross-check could not be built (run `bash tests/run.sh`, which installs Go): {}",
                String::from_utf8_lossy(&built.stderr)
            );
            out
        }
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
    let program = verifier.clone();
    let run = move |key: String| {
        Command::new(&program)
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
    let other = kpcert::tlog::NoteSigner::new(
        "test.kpcert.local/ledger",
        kpcert::crypto::SigningKey::from_seed(&[1; 32]),
    )
    .verifier()
    .to_string();
    let base = app.base.clone();
    let cacert = app.cert_path.clone();
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
