//! The ledger endpoints: checkpoint, entries, inclusion and consistency proofs, bad parameters.

use kpcert::codec::{decode_entry, entry_hash};
use kpcert::domain::Event;
use kpcert::tlog::merkle;
use kpcert::tlog::NoteVerifier;
use serde_json::Value;

use crate::helpers::{b64, example_request, spawn_app, TestApp};

async fn checkpoint(app: &TestApp) -> kpcert::tlog::Checkpoint {
    let key = app
        .get("/v1/ledger/verifier-key")
        .await
        .text()
        .await
        .unwrap();
    let verifier = NoteVerifier::parse(key.trim()).unwrap();
    let resp = app.get("/v1/ledger/checkpoint").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    verifier.open(&resp.text().await.unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()).try_into().unwrap())
        .collect()
}

#[tokio::test]
async fn the_ledger_replays_from_entry_zero_and_proves_what_it_holds() {
    let app = spawn_app();
    let first = checkpoint(&app).await;
    for _ in 0..5 {
        assert_eq!(app.issue(&example_request()).await.status(), 201);
    }
    let cp = checkpoint(&app).await;
    assert_eq!(cp.size, first.size + 5);
    assert_eq!(cp.origin, "test.kpcert.local/ledger");

    // Page through every entry: contiguous indexes, the hash chain and the root all hold.
    let mut tree = merkle::MemoryTree::default();
    let mut prev = [0u8; 32];
    let mut start = 0;
    let mut kinds = Vec::new();
    loop {
        let page: Value = app
            .get(&format!("/v1/ledger/entries?start={start}&limit=7"))
            .await
            .json()
            .await
            .unwrap();
        for e in page["entries"].as_array().unwrap() {
            let bytes = b64(e["canonical"].as_str().unwrap());
            let entry = decode_entry(&bytes).unwrap();
            assert_eq!(entry.index, tree.size());
            assert_eq!(e["index"], entry.index);
            assert_eq!(entry.prev, prev);
            assert_eq!(e["entry"]["kind"], entry.event.kind().as_str());
            prev = entry_hash(&bytes);
            tree.push_data(&bytes);
            kinds.push(entry.event.kind().as_str().to_owned());
            if let Event::AuthorityRegistered(a) = &entry.event {
                assert_eq!(e["entry"]["payload"]["key_id"], a.key_id().to_string());
            }
        }
        match page["next"].as_u64() {
            Some(n) => start = n,
            None => break,
        }
    }
    assert_eq!(tree.size(), cp.size);
    assert_eq!(tree.root(), cp.root);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "participant.registered")
            .count(),
        61
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "authority.registered")
            .count(),
        3
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "certificate.issued").count(),
        5
    );

    // Inclusion proofs for every entry, in the latest and in an older tree.
    for (index, size) in [
        (0, cp.size),
        (cp.size - 1, cp.size),
        (3, first.size),
        (first.size - 1, first.size),
    ] {
        let body: Value = app
            .get(&format!(
                "/v1/ledger/proof/inclusion?index={index}&size={size}"
            ))
            .await
            .json()
            .await
            .unwrap();
        let leaf: [u8; 32] = b64(body["leaf_hash"].as_str().unwrap()).try_into().unwrap();
        let root = merkle::root(&tree, size).unwrap();
        merkle::verify_inclusion(&leaf, index, size, &hashes(&body["proof"]), &root).unwrap();
    }

    // The new checkpoint extends the first one.
    let body: Value = app
        .get(&format!(
            "/v1/ledger/proof/consistency?from={}&to={}",
            first.size, cp.size
        ))
        .await
        .json()
        .await
        .unwrap();
    merkle::verify_consistency(
        first.size,
        cp.size,
        &hashes(&body["proof"]),
        &first.root,
        &cp.root,
    )
    .unwrap();
}

#[tokio::test]
async fn bad_ledger_parameters_are_400_never_a_panic() {
    let app = spawn_app();
    let size = app.ledger_size();
    let cases = [
        "/v1/ledger/entries?start=abc".to_owned(),
        "/v1/ledger/entries?limit=0".to_owned(),
        "/v1/ledger/entries?limit=100000000".to_owned(),
        "/v1/ledger/entries?start=-1".to_owned(),
        format!("/v1/ledger/entries?start={}", size + 1),
        "/v1/ledger/entries?start=99999999999999999999999".to_owned(),
        "/v1/ledger/proof/inclusion".to_owned(),
        format!("/v1/ledger/proof/inclusion?index={size}"),
        format!("/v1/ledger/proof/inclusion?index=0&size={}", size + 1),
        "/v1/ledger/proof/inclusion?index=1&size=1".to_owned(),
        "/v1/ledger/proof/inclusion?index=+1".to_owned(),
        "/v1/ledger/proof/consistency?from=0&to=5".to_owned(),
        "/v1/ledger/proof/consistency?from=6&to=5".to_owned(),
        format!("/v1/ledger/proof/consistency?from=1&to={}", size + 1),
        "/v1/ledger/proof/consistency?from=x".to_owned(),
    ];
    for path in &cases {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 400, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "bad_request", "{path}");
    }
    // Edge cases that are fine: the end of the ledger, equal sizes.
    let resp = app.get(&format!("/v1/ledger/entries?start={size}")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["entries"].as_array().unwrap().len(), 0);
    let resp = app
        .get(&format!(
            "/v1/ledger/proof/consistency?from={size}&to={size}"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["proof"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app();
    let resp = app.get("/v1/nothing-here").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "not_found");
    let resp = app
        .client
        .delete(app.url("/v1/certificates/BW-2026-000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let resp = app.get("/v1/certificates").await;
    assert_eq!(resp.status(), 405);
}

#[test]
fn participants_come_from_the_ledger_and_a_newer_registry_is_recorded_first() {
    use kpcert::app::{App, Config, DEFAULT_ORIGIN};
    use kpcert::domain::{CountryCode, Participant, ParticipantKind};
    use kpcert::keys::{KeyDir, LEDGER_KEY};
    use kpcert::ledger::{Ledger, NewEntry};
    use kpcert::tlog::NoteSigner;

    // A ledger whose genesis knew only Botswana (an older registry).
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyDir::open(&dir.path().join("keys")).unwrap();
    let key = keys.generate(LEDGER_KEY).unwrap();
    keys.store_origin(DEFAULT_ORIGIN).unwrap();
    let bw = Participant {
        code: CountryCode::participant("BW").unwrap(),
        name: "Botswana".into(),
        region: "Africa".into(),
        kind: ParticipantKind::Participant,
    };
    let old = Ledger::open(
        &dir.path().join("data"),
        NoteSigner::new(DEFAULT_ORIGIN, key),
        kpcert::clock::system(),
        vec![NewEntry {
            actor: "secretariat".into(),
            key_id: None,
            event: Event::ParticipantRegistered(bw),
        }],
    )
    .unwrap();
    old.close();
    drop(old);
    let open = || {
        App::open(&Config {
            data_dir: dir.path().join("data"),
            keys_dir: dir.path().join("keys"),
            origin: None,
            clock: kpcert::clock::system(),
            snapshot_every: kpcert::ledger::SNAPSHOT_EVERY,
        })
        .unwrap()
    };

    let app = open();
    // The 60 rows the old ledger did not know were recorded as entries 1..=60.
    assert_eq!(app.ledger().size(), 61);
    for code in ["BW", "AE", "NA", "EU", "TW"] {
        assert!(
            app.state()
                .is_participant(CountryCode::participant(code).unwrap()),
            "{code}"
        );
    }
    let kinds: Vec<String> = app
        .ledger()
        .entries(0, 61)
        .map(|r| {
            decode_entry(&r.unwrap().1)
                .unwrap()
                .event
                .kind()
                .as_str()
                .to_owned()
        })
        .collect();
    assert!(kinds.iter().all(|k| k == "participant.registered"));
    app.close();
    drop(app);

    // Opening again records nothing new.
    let app = open();
    assert_eq!(app.ledger().size(), 61);
}
