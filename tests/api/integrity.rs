//! Nothing read from disk is answered, sealed or judged before it is checked against what the
//! ledger commits to; the state the service restarts with comes from a snapshot and the entries
//! after it; a request that crosses midnight UTC is judged for the day it is recorded on.

use std::sync::Arc;

use kpcert::clock::ManualClock;
use serde_json::Value;

use crate::helpers::{example_input, open_app, TEST_SNAPSHOT_EVERY};

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
            let content = app.validate(&authority, &input, None).unwrap();
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
    let content = app.validate(&authority, &input, None).unwrap();
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
    let content = app.validate(&authority, &late, None).unwrap();
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
async fn a_changed_entry_behind_the_snapshot_is_never_answered_sealed_or_called_valid() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_date("2026-06-01");
    let app = open_app(dir.path(), clock.clone());
    let numbers = issue(&app, 120);
    let target = app.certificate(&numbers[5]).unwrap().unwrap();
    let qr = kpcert::codec::seal::qr_text("https://kp.example.org", &app.seal(&target).unwrap());
    let index = target.entry_index;
    // The importer's name, in the middle of the entry.
    let at = target
        .entry
        .windows(b"Desert Rough DMCC".len())
        .position(|w| w == b"Desert Rough DMCC")
        .unwrap();
    app.close();
    drop(app);
    flip(dir.path(), index, 4 + at);

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
    let client = reqwest::Client::new();
    let get = |path: String| client.get(format!("{base}{path}")).send();
    assert_eq!(get("/healthz".into()).await.unwrap().status(), 200);
    let resp = get(format!("/v1/certificates/{}", numbers[5]))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        503,
        "no record, no fresh seal over altered bytes"
    );
    for body in [
        serde_json::json!({"qr": qr}),
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
    server.stop().await;
}
