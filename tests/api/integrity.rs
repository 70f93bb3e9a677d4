//! Nothing read from disk is answered, sealed or judged before it is checked against what the
//! ledger commits to; the state the service restarts with comes from a snapshot and the entries
//! after it; a request that crosses midnight UTC is judged for the day it is recorded on.

use std::sync::Arc;

use kpcert::clock::ManualClock;
use serde_json::Value;

use crate::helpers::{example_input, open_app, try_open_app, TEST_SNAPSHOT_EVERY};

/// Issues `n` certificates as a fresh BW authority on `app`.
fn issue(app: &kpcert::app::App, n: usize) -> Vec<String> {
    let authority = match app.active_authority("BW-A1") {
        Some(a) => a,
        None => {
            app.add_authority("BW", "Ministry of Minerals, Botswana", 90)
                .unwrap();
            app.active_authority("BW-A1").unwrap()
        }
    };
    let input = Arc::new(example_input());
    (0..n)
        .map(|_| {
            let content = app.validate(&authority, &input, None, None).unwrap();
            app.issue_blocking(authority.clone(), input.clone(), content)
                .unwrap()
                .certificate
                .number
                .to_string()
        })
        .collect()
}

#[test]
fn a_restart_restores_the_state_from_its_snapshot_plus_a_bounded_replay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    let numbers = issue(&app, 130);
    let state = app.state();
    app.close();
    drop(app);
    let app = open_app(dir.path(), clock);
    let size = app.ledger().size();
    let from = app.ledger().restored_from_snapshot();
    assert!(from > 0, "a snapshot was taken");
    assert!(
        size - from < TEST_SNAPSHOT_EVERY + 2,
        "replayed {} of {size} entries",
        size - from
    );
    assert_eq!(*app.state(), *state, "the same state as before the restart");
    // Numbering goes on where it stopped.
    let next = issue(&app, 1);
    assert_eq!(next[0], "BW-2026-000131");
    assert_eq!(numbers.len(), 130);
}

#[test]
fn a_request_validated_before_midnight_and_recorded_after_is_judged_for_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(
        kpcert::domain::Date::parse("2026-12-31")
            .unwrap()
            .start_ms(),
    );
    let app = open_app(dir.path(), clock.clone());
    issue(&app, 1);
    let authority = app.active_authority("BW-A1").unwrap();
    let input = Arc::new(example_input());
    clock.set(
        kpcert::domain::Date::parse("2027-01-01")
            .unwrap()
            .start_ms()
            - 1,
    );
    let content = app.validate(&authority, &input, None, None).unwrap();
    assert_eq!(content.issued_on.to_string(), "2026-12-31");
    clock.advance(2); // midnight passes between validation and the ledger writer
    let issued = app
        .issue_blocking(authority.clone(), input.clone(), content)
        .unwrap();
    assert_eq!(issued.certificate.number.as_str(), "BW-2027-000001");
    assert_eq!(
        issued.certificate.content.issued_on.to_string(),
        "2027-01-01"
    );
    assert_eq!(
        issued.certificate.content.expires_on.to_string(),
        "2027-03-02",
        "the default validity counts from the new day"
    );
    // An explicit expiry that the new day makes invalid: refused, nothing written.
    let mut body = crate::helpers::example_request();
    body["expires_on"] = "2027-01-02".into();
    let (late, _) = kpcert::http::parse_issue_request(&body).unwrap();
    let late = Arc::new(late);
    clock.set(
        kpcert::domain::Date::parse("2027-01-02")
            .unwrap()
            .start_ms()
            - 1,
    );
    let content = app.validate(&authority, &late, None, None).unwrap();
    clock.advance(2);
    let size = app.ledger().size();
    match app.issue_blocking(authority, late, content) {
        Err(kpcert::ledger::LedgerError::Invalid(problems)) => {
            assert_eq!(problems[0].field, "expires_on", "{problems:?}")
        }
        other => panic!(
            "expected the request to be refused: {:?}",
            other.map(|i| i.entry_index)
        ),
    }
    assert_eq!(app.ledger().size(), size);
}

/// Flips a byte of entry `index` in the stopped ledger's entries.dat, `delta` bytes into it.
fn flip(dir: &std::path::Path, index: u64, delta: usize) {
    let offsets = std::fs::read(dir.join("data/offsets.dat")).unwrap();
    let i = index as usize;
    let at = u64::from_be_bytes(offsets[i * 8..i * 8 + 8].try_into().unwrap()) as usize + delta;
    let path = dir.join("data/entries.dat");
    let mut entries = std::fs::read(&path).unwrap();
    entries[at] ^= 0x01;
    std::fs::write(&path, entries).unwrap();
}

#[tokio::test]
async fn a_changed_entry_or_record_behind_the_snapshot_is_never_answered_sealed_or_judged_from() {
    // (what is changed, where: the commitment inside the public entry, or the importer's name
    // in the full record kept beside it)
    for in_record in [false, true] {
        changed_bytes_are_caught(in_record).await;
    }
}

async fn changed_bytes_are_caught(in_record: bool) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    let numbers = issue(&app, 120);
    let monitor = app
        .mint_token(kpcert::tokens::Role::Monitor, "integrity test", 30)
        .unwrap();
    let target = app.certificate(&numbers[5]).unwrap().unwrap();
    let qr = kpcert::codec::seal::qr_text("https://kp.example.org", &app.seal(&target));
    let index = target.entry_index;
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap()
    };
    let delta = if in_record {
        let frame = app.ledger().frame(index).unwrap().unwrap();
        4 + frame.entry.len() + 4 + find(&frame.record, b"Desert Rough DMCC")
    } else {
        4 + find(&target.entry, &target.hash)
    };
    app.close();
    drop(app);
    flip(dir.path(), index, delta);

    // The entry is behind the snapshot: start-up does not replay it, and starts.
    let app = Arc::new(open_app(dir.path(), clock.clone()));
    assert!(app.ledger().restored_from_snapshot() > index);
    let server = kpcert::startup::spawn(
        app.clone(),
        "127.0.0.1:0".parse().unwrap(),
        None,
        &kpcert::http::Options::default(),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    // A connection for each request: this test ends streams and answers 503 on purpose, and a
    // request sent on a pooled connection the server is closing at that moment fails before
    // it reaches the server (seen once under load: IncompleteMessage on the GET after the cut
    // off full export).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&monitor)
            .send()
    };
    assert_eq!(get("/healthz".into()).await.unwrap().status(), 200);
    let resp = get(format!("/v1/certificates/{}", numbers[5]))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        503,
        "in_record {in_record}: no record, no seal over altered bytes"
    );
    // A scanned seal whose bytes are the recorded seal's is judged from the state, which was
    // built from these entries and records when they were intact (the seal's hash, kept from
    // the record): no byte of the changed entry or record is read, shown or vouched for.
    let resp = client
        .post(format!("{base}/v1/verify"))
        .json(&serde_json::json!({"qr": qr}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["ledger"]["index"], index, "{v}");
    assert!(v["ledger"].get("entry").is_none(), "{v}");
    // Whatever reads the changed bytes finds them changed.
    for body in [
        serde_json::json!({"qr": qr, "proof": true}),
        serde_json::json!({"number": numbers[5]}),
    ] {
        let resp = client
            .post(format!("{base}/v1/verify"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 503, "{body}");
    }
    let health = get("/healthz".into()).await.unwrap();
    assert_eq!(health.status(), 503);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "corrupt");
    assert!(
        health["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("entry {index}")),
        "{health}"
    );
    // Other certificates are still answered.
    let resp = get(format!("/v1/certificates/{}", numbers[100]))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The full export refuses to vouch for the changed record; the public export, which holds
    // no records, still streams (and a public audit of it passes: the entries are intact).
    let full = get("/v1/ledger/export/full".into()).await.unwrap();
    let full_body = full.bytes().await;
    let public = get("/v1/ledger/export".into()).await.unwrap().bytes().await;
    if in_record {
        assert!(
            full_body.is_err(),
            "the full export stops at the changed record"
        );
        let public = public.expect("the public export holds no record and streams");
        let public_audit = kpcert::audit::audit_export(
            &public[..],
            app.ledger_verifier(),
            None,
            Default::default(),
            |_, _| {},
        );
        assert!(public_audit.is_ok(), "{public_audit:?}");
    } else {
        // A changed entry: both exports stop at it rather than stream what the tree does not
        // commit to.
        assert!(
            full_body.is_err(),
            "the full export stops at the changed entry"
        );
        assert!(
            public.is_err(),
            "the public export stops at the changed entry"
        );
    }
    server.stop().await;
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_older_index_restored_over_newer_files_is_refused_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    issue(&app, 10);
    app.close();
    drop(app);
    copy_dir(
        &dir.path().join("data/index"),
        &dir.path().join("old-index"),
    );
    let app = open_app(dir.path(), clock.clone());
    let later = issue(&app, 50);
    app.close();
    drop(app);
    let entries_len = std::fs::metadata(dir.path().join("data/entries.dat"))
        .unwrap()
        .len();
    std::fs::remove_dir_all(dir.path().join("data/index")).unwrap();
    copy_dir(
        &dir.path().join("old-index"),
        &dir.path().join("data/index"),
    );
    let refused = kpcert::app::App::open(&kpcert::app::Config {
        data_dir: dir.path().join("data"),
        keys_dir: dir.path().join("keys"),
        origin: None,
        clock: clock.clone(),
        snapshot_every: crate::helpers::TEST_SNAPSHOT_EVERY,
    });
    let message = match refused {
        Ok(_) => panic!("an index 50 certificates behind the signed checkpoint was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("older"), "{message}");
    assert_eq!(
        std::fs::metadata(dir.path().join("data/entries.dat"))
            .unwrap()
            .len(),
        entries_len,
        "nothing was cut"
    );
    assert_eq!(later.len(), 50);
}

/// Audits the stopped folder with the real binary: (exit code, JSON report).
fn audit_folder(dir: &std::path::Path) -> (i32, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kpcert"))
        .args(["audit", "--json", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--keys-dir")
        .arg(dir.join("keys"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

/// Serves the folder's app over plain HTTP on loopback; returns (server, base URL).
fn serve(app: &Arc<kpcert::app::App>) -> (kpcert::http::Running, String) {
    let server = kpcert::startup::spawn(
        app.clone(),
        "127.0.0.1:0".parse().unwrap(),
        None,
        &kpcert::http::Options::default(),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    (server, base)
}

#[tokio::test]
async fn changed_offsets_or_nodes_are_caught_where_they_are_read_and_by_the_folder_audit() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    let numbers = issue(&app, 120);
    let (a, b) = (
        app.certificate(&numbers[5]).unwrap().unwrap().entry_index,
        app.certificate(&numbers[6]).unwrap().unwrap().entry_index,
    );
    app.close();
    drop(app);
    let (code, report) = audit_folder(dir.path());
    assert_eq!(code, 0, "the untouched folder passes: {report}");

    // offsets.dat with two entries swapped: a look-up by number would return the other
    // certificate.
    let offsets_path = dir.path().join("data/offsets.dat");
    let original = std::fs::read(&offsets_path).unwrap();
    let mut swapped = original.clone();
    let (a8, b8) = (a as usize * 8, b as usize * 8);
    let tmp: Vec<u8> = swapped[a8..a8 + 8].to_vec();
    swapped.copy_within(b8..b8 + 8, a8);
    swapped[b8..b8 + 8].copy_from_slice(&tmp);
    std::fs::write(&offsets_path, &swapped).unwrap();
    let (code, report) = audit_folder(dir.path());
    assert_eq!((code, report["index"].as_u64()), (1, Some(a)), "{report}");
    assert!(
        report["reason"].as_str().unwrap().contains("offsets.dat"),
        "{report}"
    );
    let app = Arc::new(open_app(dir.path(), clock.clone()));
    assert!(
        app.ledger().restored_from_snapshot() > b,
        "behind the snapshot"
    );
    let (server, base) = serve(&app);
    let monitor = app
        .mint_token(kpcert::tokens::Role::Monitor, "integrity test", 30)
        .unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{base}/v1/certificates/{}", numbers[5]))
        .bearer_auth(&monitor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let page = reqwest::get(format!("{base}/v1/ledger/entries?start={a}&limit=2"))
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    server.stop().await;
    app.close();
    drop(app);
    std::fs::write(&offsets_path, &original).unwrap();

    // A Merkle node of nodes.dat changed: the leaf of entry a, which entry a^1's proof uses.
    let nodes_path = dir.path().join("data/nodes.dat");
    let mut nodes = std::fs::read(&nodes_path).unwrap();
    let at = kpcert::tlog::merkle::stored_hash_index(0, a) as usize * 32;
    nodes[at] ^= 1;
    std::fs::write(&nodes_path, &nodes).unwrap();
    let (code, report) = audit_folder(dir.path());
    assert_eq!((code, report["index"].as_u64()), (1, Some(a)), "{report}");
    assert!(
        report["reason"].as_str().unwrap().contains("nodes.dat"),
        "{report}"
    );
    let app = Arc::new(open_app(dir.path(), clock));
    let (server, base) = serve(&app);
    let neighbour = a ^ 1;
    let resp = reqwest::get(format!(
        "{base}/v1/ledger/proof/inclusion?index={neighbour}"
    ))
    .await
    .unwrap();
    assert_eq!(
        resp.status(),
        503,
        "a proof that does not lead to the signed root"
    );
    let health: Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "corrupt", "{health}");
    server.stop().await;
}

#[test]
fn restore_verifies_every_seal_it_writes_even_if_the_file_changed_after_its_audit() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    issue(&app, 3);
    let mut export = Vec::new();
    app.export(kpcert::codec::export::Level::Full, &mut export)
        .unwrap();
    let verifier = app.ledger_verifier().clone();
    app.close();
    drop(app);
    let reader = kpcert::codec::export::ExportReader::open(&export[..]).unwrap();
    let note = reader.note.clone();
    let checkpoint = verifier.open(&note).unwrap();
    // A seal changed in its record (the seal is not covered by the certificate hash): as if
    // the file were changed between `restore`'s audit and its write.
    let mut frames: Vec<kpcert::codec::export::Frame> = reader.map(|f| f.unwrap()).collect();
    let last = frames
        .iter_mut()
        .rev()
        .find(|f| !f.record.is_empty())
        .unwrap();
    let record = kpcert::codec::decode_record(&last.record).unwrap();
    let at = last
        .record
        .windows(record.seal.len())
        .position(|w| w == record.seal.as_slice())
        .unwrap();
    last.record[at + record.seal.len() - 1] ^= 1;
    let target = dir.path().join("restored");
    let result = kpcert::ledger::restore(
        &target,
        &checkpoint,
        &note,
        frames.into_iter().map(Ok),
        kpcert::clock::Clock::now_ms(&*clock),
    );
    let err = result.expect_err("a seal that does not verify is not restored");
    assert!(err.to_string().contains("seal"), "{err}");
}

/// The state keeps each recorded seal's hash, and a scanned seal with that hash is judged without
/// reading the record: so a record replayed at start-up must still hold a seal that states its
/// certificate (a seal changed on disk after its entry was written is refused, by its entry).
#[test]
fn a_recorded_seal_changed_on_disk_after_the_snapshot_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    let numbers = issue(&app, 3);
    let target = app.certificate(&numbers[1]).unwrap().unwrap();
    let index = target.entry_index;
    let frame = app.ledger().frame(index).unwrap().unwrap();
    // The record is {seal, certificate} in that order: the first importer name is the seal's.
    let seal_at = frame
        .record
        .windows(target.seal.len())
        .position(|w| w == target.seal.as_slice())
        .unwrap();
    let name_at = frame
        .record
        .windows(17)
        .position(|w| w == b"Desert Rough DMCC")
        .unwrap();
    assert!(name_at > seal_at && name_at < seal_at + target.seal.len());
    app.close();
    drop(app);
    flip(dir.path(), index, 4 + frame.entry.len() + 4 + name_at);
    let Err(e) = try_open_app(dir.path(), clock) else {
        panic!("a ledger whose record holds another seal opened");
    };
    let e = e.to_string();
    assert!(
        e.contains(&format!("the record of entry {index}")) && e.contains("seal"),
        "{e}"
    );
}
