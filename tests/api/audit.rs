//! Auditors: the export (HTTP and CLI) replays from entry 0 against the pinned ledger key, and
//! every tampering of an export file or of the data folder is found with its index and reason;
//! a re-signed fork is caught against the checkpoint a previous audit kept.

use std::path::Path;
use std::process::Command;

use kpcert::codec::export::Level;
use serde_json::Value;

use crate::helpers::{example_request, spawn_app};

fn audit(file: &Path, key: &str, state: Option<&Path>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kpcert"));
    cmd.args(["audit", "--json", "--ledger-key", key, "--file"])
        .arg(file);
    if let Some(s) = state {
        cmd.arg("--state").arg(s);
    }
    let out = cmd.output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

/// Splits a public export file into its checkpoint note and entries (api/export.md).
fn split(bytes: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    assert_eq!(&bytes[..16], b"KPCERT-EXPORT-V2");
    assert_eq!(bytes[16], 0, "a public export");
    let note_len = u32::from_be_bytes(bytes[17..21].try_into().unwrap()) as usize;
    let note = bytes[21..21 + note_len].to_vec();
    let mut at = 21 + note_len;
    let count = u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
    at += 8;
    let mut entries = Vec::new();
    for _ in 0..count {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        entries.push(bytes[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
        assert_eq!(
            &bytes[at..at + 4],
            &[0, 0, 0, 0],
            "no record in a public export"
        );
        at += 4;
    }
    assert_eq!(at, bytes.len());
    (note, entries)
}

fn join(note: &[u8], entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"KPCERT-EXPORT-V2\0".to_vec();
    out.extend_from_slice(&(note.len() as u32).to_be_bytes());
    out.extend_from_slice(note);
    out.extend_from_slice(&(entries.len() as u64).to_be_bytes());
    for e in entries {
        out.extend_from_slice(&(e.len() as u32).to_be_bytes());
        out.extend_from_slice(e);
        out.extend_from_slice(&0u32.to_be_bytes());
    }
    out
}

#[tokio::test]
async fn an_export_audits_clean_and_every_tampering_is_found_with_its_index() {
    let app = spawn_app();
    let mut hashes = Vec::new();
    for _ in 0..5 {
        let resp = app.issue(&example_request()).await;
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        hashes.push(kpcert::codec::text::from_hex(body["hash"].as_str().unwrap()).unwrap());
    }
    let key = app.app.ledger_verifier().to_string();
    let size = app.ledger_size();
    let export = app
        .get("/v1/ledger/export")
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let clean = write("clean.export", &export);
    let state = dir.path().join("audit.state");
    let (code, v) = audit(&clean, &key, Some(&state));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["entries"], size);
    assert_eq!(v["certificates"], 5);
    assert_eq!(v["authorities"], 3);
    assert_eq!(v["participants"], 61);
    assert!(state.exists(), "the verified checkpoint is kept");

    let (note, entries) = split(&export);
    let k = entries.len() - 3; // a certificate entry
    let check = |name: &str, bytes: Vec<u8>, index: Option<u64>, words: &str| {
        let (code, v) = audit(&write(name, &bytes), &key, None);
        assert_eq!(code, 1, "{name}: {v}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["index"].as_u64(), index, "{name}: {v}");
        assert!(v["reason"].as_str().unwrap().contains(words), "{name}: {v}");
    };
    // One flipped byte inside a stored entry (the commitment to the certificate, in the signed
    // issuance).
    let mut flipped = entries.clone();
    let mid = flipped[k]
        .windows(32)
        .position(|w| w == hashes[2].as_slice())
        .expect("the entry embeds the certificate hash")
        + 10;
    flipped[k][mid] ^= 1;
    check(
        "flipped",
        join(&note, &flipped),
        Some(k as u64),
        "signature does not verify",
    );
    // The same flip with the file cut short inside a later entry: the flip is still the first
    // failure named.
    let mut cut = join(&note, &flipped);
    cut.truncate(cut.len() - 30);
    check(
        "flipped-and-cut",
        cut,
        Some(k as u64),
        "signature does not verify",
    );
    // A deleted entry, two swapped entries.
    let mut deleted = entries.clone();
    deleted.remove(k);
    check("deleted", join(&note, &deleted), Some(k as u64), "index");
    let mut swapped = entries.clone();
    swapped.swap(k, k + 1);
    check("swapped", join(&note, &swapped), Some(k as u64), "index");
    // A truncated tail under the original checkpoint.
    check(
        "truncated",
        join(&note, &entries[..entries.len() - 2]),
        None,
        "replayed",
    );
    // A checkpoint not signed by the ledger key.
    let mut bad_note = note.clone();
    let n = bad_note.len() - 5;
    bad_note[n] ^= 1;
    check(
        "badnote",
        join(&bad_note, &entries),
        None,
        "does not verify with the pinned ledger key",
    );

    // A fork re-signed with the real ledger key: same keys, another history.
    let fork_dir = tempfile::tempdir().unwrap();
    let copy = Command::new("cp")
        .args(["-a"])
        .arg(&app.keys_dir)
        .arg(fork_dir.path().join("keys"))
        .status()
        .unwrap();
    assert!(copy.success());
    let fork = kpcert::app::App::open(&kpcert::app::Config {
        data_dir: fork_dir.path().join("data"),
        keys_dir: fork_dir.path().join("keys"),
        origin: None,
        clock: kpcert::clock::system(),
        snapshot_every: kpcert::ledger::SNAPSHOT_EVERY,
    })
    .unwrap();
    for name in [
        "Fork one",
        "Fork two",
        "Fork three",
        "Fork four",
        "Fork five",
        "Fork six",
        "Fork seven",
        "Fork eight",
    ] {
        fork.add_authority("BW", name, 90).unwrap();
    }
    let mut fork_export = Vec::new();
    fork.export(Level::Full, &mut fork_export).unwrap();
    fork.close();
    let forked = write("fork.export", &fork_export);
    let (code, v) = audit(&forked, &key, None);
    assert_eq!(code, 0, "alone, the fork is a well-formed ledger: {v}");
    let (code, v) = audit(&forked, &key, Some(&state));
    assert_eq!(code, 1, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("does not extend"),
        "{v}"
    );

    // The honest ledger, grown, still extends the kept checkpoint.
    assert_eq!(app.issue(&example_request()).await.status(), 201);
    let grown = write(
        "grown.export",
        &app.get("/v1/ledger/export").await.bytes().await.unwrap(),
    );
    let (code, v) = audit(&grown, &key, Some(&state));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["extends_previous"], size);
}

#[tokio::test]
async fn a_byte_flipped_in_the_data_folder_is_found_by_the_audit_and_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = kpcert::app::Config {
        data_dir: dir.path().join("data"),
        keys_dir: dir.path().join("keys"),
        origin: None,
        clock: kpcert::clock::system(),
        snapshot_every: kpcert::ledger::SNAPSHOT_EVERY,
    };
    let app = kpcert::app::App::open(&config).unwrap();
    app.add_authority("BW", "One", 90).unwrap();
    let authority = app.active_authority("BW-A1").unwrap();
    let input = std::sync::Arc::new(crate::helpers::example_input());
    for _ in 0..3 {
        let content = app.validate(&authority, &input, None, None).unwrap();
        app.issue_blocking(authority.clone(), input.clone(), content)
            .unwrap();
    }
    let size = app.ledger().size();
    app.close();
    drop(app);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kpcert"))
            .args(args)
            .env("KPCERT_DATA_DIR", dir.path().join("data"))
            .env("KPCERT_KEYS_DIR", dir.path().join("keys"))
            .output()
            .unwrap()
    };
    let flip = |index: u64, delta: usize| {
        let offsets = std::fs::read(dir.path().join("data/offsets.dat")).unwrap();
        let i = index as usize;
        let at = u64::from_be_bytes(offsets[i * 8..i * 8 + 8].try_into().unwrap()) as usize + delta;
        let mut entries = std::fs::read(dir.path().join("data/entries.dat")).unwrap();
        entries[at] ^= 0x01;
        std::fs::write(dir.path().join("data/entries.dat"), entries).unwrap();
    };
    let keys = run(&["keys", "show", "--json"]);
    let keys: Value = serde_json::from_slice(&keys.stdout).unwrap();
    let key = keys["ledger"]["verifier_key"].as_str().unwrap().to_owned();

    // A certificate entry changed behind kpcert's back: the export carries it, the audit finds it.
    let target = size - 2;
    flip(target, 200);
    let out_file = dir.path().join("ledger.export");
    let out = run(&["export", "--out", out_file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, v) = audit(&out_file, &key, None);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["index"], target, "{v}");

    // The service replays its ledger state at start: it refuses to open, naming the entry.
    let out = run(&["authority", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("entry {target}")), "{stderr}");

    // An earlier registry entry changed too: the first bad entry is the one named.
    flip(30, 20);
    let out = run(&["export", "--out", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "export reads without judging");
    let (code, v) = audit(&out_file, &key, None);
    assert_eq!((code, v["index"].as_u64()), (1, Some(30)), "{v}");
    let out = run(&["authority", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("entry 30"));
}

#[tokio::test]
async fn a_live_data_folder_is_audited_read_only_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let token = crate::cli::add_authority(dir.path(), "BW")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = crate::cli::start_server(dir.path(), &["--public-rate-limit", "0"]);
    let client = crate::helpers::client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    for _ in 0..3 {
        let resp = crate::helpers::post_example(&client, &base, &token).await;
        assert_eq!(resp.status(), 201);
    }
    let key = client
        .get(format!("{base}/v1/ledger/verifier-key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let state = dir.path().join("audit.state");
    let out = Command::new(env!("CARGO_BIN_EXE_kpcert"))
        .args(["audit", "--json", "--ledger-key", key.trim(), "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{v}");
    assert_eq!(v["certificates"], 3);
    assert!(state.exists());
    // The server was not disturbed.
    let resp = crate::helpers::post_example(&client, &base, &token).await;
    assert_eq!(resp.status(), 201);

    // The same ledger audited through the server's streamed export; it extends the state.
    let cacert = dir.path().join("keys/tls-self-signed.crt");
    let out = tokio::task::spawn_blocking({
        let (base, key, cacert, state) = (
            base.clone(),
            key.trim().to_owned(),
            cacert.clone(),
            state.clone(),
        );
        move || {
            Command::new(env!("CARGO_BIN_EXE_kpcert"))
                .args([
                    "audit",
                    "--json",
                    "--ledger-key",
                    &key,
                    "--url",
                    &base,
                    "--cacert",
                ])
                .arg(&cacert)
                .arg("--state")
                .arg(&state)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success(),
        "{v} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["certificates"], 4);
    assert!(v["extends_previous"].as_u64().is_some(), "{v}");
    drop(server);
}

#[tokio::test]
async fn audits_of_a_live_folder_under_write_load_keep_the_checkpoint_they_verified() {
    let dir = tempfile::tempdir().unwrap();
    let token = crate::cli::add_authority(dir.path(), "BW")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = crate::cli::start_server(dir.path(), &["--public-rate-limit", "0"]);
    let client = crate::helpers::client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (client, base, token, stop) =
            (client.clone(), base.clone(), token.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let resp = crate::helpers::post_example(&client, &base, &token).await;
                assert_eq!(resp.status(), 201);
            }
        })
    };
    let state = dir.path().join("audit.state");
    let mut sizes = Vec::new();
    for _ in 0..4 {
        let data = dir.path().join("data");
        let keys = dir.path().join("keys");
        let state_path = state.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_kpcert"))
                .args(["audit", "--json", "--data-dir"])
                .arg(&data)
                .arg("--keys-dir")
                .arg(&keys)
                .arg("--state")
                .arg(&state_path)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert!(out.status.success(), "{v}");
        // The state holds exactly the checkpoint this audit verified.
        let kept = std::fs::read_to_string(&state).expect("the state was saved");
        assert_eq!(
            kept.lines().nth(1).unwrap().parse::<u64>().unwrap(),
            v["checkpoint"]["size"].as_u64().unwrap()
        );
        sizes.push(v["checkpoint"]["size"].as_u64().unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.unwrap();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    assert!(
        sizes.last() > sizes.first(),
        "the ledger grew between audits: {sizes:?}"
    );
    drop(server);
}
