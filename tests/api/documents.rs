//! Documents of the institutional memory against the real server: the Secretariat and a
//! monitoring team upload files with what they are; public ones are listed, downloaded and
//! proven to be the ones recorded by anyone; `kp_only` ones exist only for KP tokens; bad
//! metadata names each problem and writes nothing; a file altered on disk is never served.

use serde_json::Value;

use crate::helpers::{spawn_app_on, TestApp};

async fn upload(app: &TestApp, token: &str, query: &str, body: &[u8]) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/v1/documents?{query}")))
        .bearer_auth(token)
        .header("Content-Type", "application/pdf")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn documents_are_recorded_by_hash_served_checked_and_proven() {
    let (app, _clock) = spawn_app_on("2026-06-01");
    let decision = b"%PDF-1.4 Administrative decision on the Central African Republic".to_vec();
    let visit = b"%PDF-1.4 Report of the review visit, confidential".to_vec();
    let size = app.ledger_size();
    // Bad metadata: every problem named, nothing written; authorities may not upload.
    let (s, v) = upload(
        &app,
        &app.secretariat,
        "kind=memo&dated=2027-01-01&participants=XX",
        &decision,
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in ["title", "kind", "participants"] {
        assert!(fields.contains(&f), "{f}: {v}");
    }
    let (s, _) = upload(
        &app,
        &app.bw.1,
        "title=x&kind=report&dated=2026-05-01",
        &decision,
    )
    .await;
    assert_eq!(s, 403);
    let (s, v) = upload(
        &app,
        &app.secretariat,
        "title=Future&kind=report&dated=2026-07-01&confidentiality=public",
        &decision,
    )
    .await;
    assert_eq!(s, 422, "a document dated after today: {v}");
    assert_eq!(app.ledger_size(), size);

    // The Secretariat records a public decision; the monitoring team a kp_only visit report.
    let (s, d1) = upload(
        &app,
        &app.secretariat,
        "title=Administrative%20decision%20AD%202015%2F1&kind=decision&dated=2015-07-01&participants=CF&confidentiality=public",
        &decision,
    )
    .await;
    assert_eq!(s, 201, "{d1}");
    assert_eq!(d1["recorded_by"], "secretariat");
    let h1 = d1["document"]["hash"].as_str().unwrap().to_owned();
    assert_eq!(
        h1,
        kpcert::codec::text::hex(&kpcert::crypto::sha256(&decision))
    );
    let (s, d2) = upload(
        &app,
        &app.monitor,
        "title=Review%20visit&kind=visit_report&dated=2026-05-20&participants=CF",
        &visit,
    )
    .await;
    assert_eq!(s, 201, "{d2}");
    assert_eq!(d2["recorded_by"], "monitor:Monitoring team");
    assert_eq!(d2["document"]["confidentiality"], "kp_only");
    let h2 = d2["document"]["hash"].as_str().unwrap().to_owned();
    // A file is recorded once.
    let (s, v) = upload(
        &app,
        &app.secretariat,
        "title=Again&kind=decision&dated=2015-07-01",
        &decision,
    )
    .await;
    assert_eq!(s, 422, "{v}");

    // The public sees the public document only; a KP token sees both.
    let public: Value = app.get("/v1/documents").await.json().await.unwrap();
    assert_eq!(public["documents"].as_array().unwrap().len(), 1, "{public}");
    let kp: Value = app
        .get_as("/v1/documents", &app.bw.1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kp["documents"].as_array().unwrap().len(), 2, "{kp}");
    assert_eq!(app.get(&format!("/v1/documents/{h2}")).await.status(), 404);
    let resp = app.get_as(&format!("/v1/documents/{h2}"), &app.ae.1).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), visit);

    // Anyone downloads the public one and proves it is the one recorded: its SHA-256 is the
    // hash in the entry, and the entry is in the tree the signed checkpoint commits to.
    let resp = app.get(&format!("/v1/documents/{h1}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert_eq!(bytes, decision);
    let record: Value = app
        .get(&format!("/v1/documents/{h1}/record"))
        .await
        .json()
        .await
        .unwrap();
    let entry_bytes =
        kpcert::codec::text::from_base64(record["ledger"]["entry"].as_str().unwrap()).unwrap();
    let entry = kpcert::codec::decode_entry(&entry_bytes).unwrap();
    match entry.event {
        kpcert::domain::Event::DocumentRecorded(d) => {
            assert_eq!(d.hash, kpcert::crypto::sha256(&bytes))
        }
        other => panic!("{other:?}"),
    }
    let proof: Vec<kpcert::crypto::Hash> = record["ledger"]["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            kpcert::codec::text::from_base64(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let checkpoint = app
        .app
        .ledger_verifier()
        .open(record["ledger"]["checkpoint"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        checkpoint.size,
        record["ledger"]["tree_size"].as_u64().unwrap()
    );
    kpcert::tlog::merkle::verify_inclusion(
        &kpcert::tlog::merkle::leaf_hash(&entry_bytes),
        entry.index,
        checkpoint.size,
        &proof,
        &checkpoint.root,
    )
    .expect("the proof leads to the signed checkpoint's root");

    // A file altered on disk is never served.
    let path = app
        .keys_dir
        .parent()
        .unwrap()
        .join("data/documents")
        .join(&h1);
    std::fs::write(&path, b"%PDF-1.4 a forged decision").unwrap();
    let resp = app.get(&format!("/v1/documents/{h1}")).await;
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("altered"), "{v}");
    // Uploading the recorded bytes again repairs the stored copy; nothing new is recorded.
    let size = app.ledger_size();
    let (s, v) = upload(
        &app,
        &app.secretariat,
        "title=Again&kind=decision&dated=2015-07-01",
        &decision,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["repaired"], true, "{v}");
    assert_eq!(app.ledger_size(), size);
    let resp = app.get(&format!("/v1/documents/{h1}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), decision);
    app.stop().await;
}
