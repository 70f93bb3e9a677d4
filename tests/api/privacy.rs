//! Records and privacy through the running server: a certificate's commercial fields (names,
//! addresses, carats, value, destination) answer only its parties (the issuing authority, the
//! destination's authorities, the Secretariat and monitors); the public ledger, the public
//! export and a verification by number alone carry none of them, yet audit; the full export is
//! for the Secretariat and monitors, and its audit checks every record.

use kpcert::codec::export::Level;
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app};

/// Strings of the example request that only its parties may read.
const COMMERCIAL: &[&str] = &[
    "Okavango",
    "Desert Rough",
    "Gaborone",
    "Almas Tower",
    "1520.35",
    "845000",
];

fn leaks(bytes: &[u8]) -> Vec<&'static str> {
    let text = String::from_utf8_lossy(bytes);
    COMMERCIAL
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

#[tokio::test]
async fn commercial_fields_answer_only_the_parties_and_the_public_ledger_still_audits() {
    let app = spawn_app();
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    let number = issued["number"].as_str().unwrap().to_owned();
    let qr = issued["qr"].as_str().unwrap().to_owned();

    // The record and its QR images: 401 without a token, 403 for a non-party (EU), 200 for the
    // issuer (BW), the destination (AE), the Secretariat and a monitor.
    for path in [
        format!("/v1/certificates/{number}"),
        format!("/v1/certificates/{number}/qr.png"),
        format!("/v1/certificates/{number}/qr.svg"),
    ] {
        assert_eq!(app.get(&path).await.status(), 401, "{path}");
        assert_eq!(app.get_as(&path, &app.eu.1).await.status(), 403, "{path}");
        for token in [&app.bw.1, &app.ae.1, &app.secretariat, &app.monitor] {
            let resp = app.get_as(&path, token).await;
            assert_eq!(resp.status(), 200, "{path}");
            let cache = resp.headers()["cache-control"].to_str().unwrap();
            assert!(cache.contains("private"), "{path}: {cache}");
        }
    }
    let full: Value = app
        .get_as(&format!("/v1/certificates/{number}"), &app.ae.1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        full["certificate"]["importer"]["address"],
        "Almas Tower, Dubai, UAE"
    );

    // Verification by number: existence and state for anyone, the fields for a party only.
    let by_number = |token: Option<String>| {
        let mut req = app
            .client
            .post(app.url("/v1/verify"))
            .json(&json!({ "number": number }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for token in [None, Some(app.eu.1.clone())] {
        let resp = by_number(token).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.bytes().await.unwrap();
        assert_eq!(leaks(&body), Vec::<&str>::new());
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["verdict"], "valid");
        assert!(v["certificate"].is_null(), "{v}");
        assert_eq!(v["withheld"]["number"], number.as_str());
        assert_eq!(v["withheld"]["authority_id"], "BW-A1");
    }
    let v: Value = by_number(Some(app.ae.1.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["certificate"]["exporter"]["name"],
        "Okavango Diamond Company"
    );
    assert!(v.get("withheld").is_none(), "{v}");
    // A scanned seal shows what the paper shows, to anyone.
    let v: Value = app
        .client
        .post(app.url("/v1/verify"))
        .json(&json!({ "qr": qr }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["certificate"]["exporter"]["name"],
        "Okavango Diamond Company"
    );

    // The public ledger: entries and export carry commitments, no commercial field.
    let page = app
        .get("/v1/ledger/entries?start=0&limit=1000")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&page).contains(&number));
    assert_eq!(leaks(&page), Vec::<&str>::new());
    let resp = app.get("/v1/ledger/export").await;
    assert_eq!(resp.status(), 200);
    let public = resp.bytes().await.unwrap();
    assert_eq!(leaks(&public), Vec::<&str>::new());
    let report = app.audit(&public);
    assert_eq!(report.level, Level::Public);
    assert_eq!(report.records, 0);

    // The full export: the Secretariat and monitors only; its audit checks the record.
    assert_eq!(app.get("/v1/ledger/export/full").await.status(), 401);
    for token in [&app.bw.1, &app.ae.1] {
        assert_eq!(
            app.get_as("/v1/ledger/export/full", token).await.status(),
            403
        );
    }
    for token in [&app.secretariat, &app.monitor] {
        let resp = app.get_as("/v1/ledger/export/full", token).await;
        assert_eq!(resp.status(), 200);
        let full = resp.bytes().await.unwrap();
        assert!(leaks(&full).contains(&"Okavango"));
        let report = app.audit(&full);
        assert_eq!(report.level, Level::Full);
        assert_eq!(report.records, 1);
    }
    app.stop().await;
}
