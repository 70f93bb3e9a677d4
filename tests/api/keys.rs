//! Key rotation and compromise through the running server: the Secretariat rotates BW-A1's key
//! while it issues, records the new key as compromised from a point in time, and every
//! certificate gets the verdict its ledger entry time calls for, online and (from the trust
//! bundle) offline. The audit replays the key entries by the same rules.

use kpcert::clock::Clock;
use kpcert::codec::trust::TrustBundle;
use kpcert::domain::date::format_unix_ms;
use kpcert::domain::Date;
use kpcert::verify::{verify_qr, Verdict};
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on};

async fn verdict(app: &crate::helpers::TestApp, qr: &str) -> Value {
    let resp = app
        .client
        .post(app.url("/v1/verify"))
        .json(&json!({ "qr": qr }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn issue(app: &crate::helpers::TestApp) -> Value {
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn rotation_keeps_old_certificates_valid_and_a_compromise_revokes_from_its_time() {
    let (app, clock) = spawn_app_on("2026-06-01");
    let admin = |path: String, body: Value| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&app.secretariat)
            .json(&body)
            .send()
    };
    let first = issue(&app).await;
    let old_key = first["key_id"].as_str().unwrap().to_owned();

    // Rotation: a new generated key signs from now on.
    clock.advance(3_600_000);
    let resp = admin("/v1/admin/authorities/BW-A1/keys".into(), json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let rotated: Value = resp.json().await.unwrap();
    let new_key = rotated["current_key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(rotated["keys"].as_array().unwrap().len(), 2);
    assert!(rotated["keys"][0]["valid_until"].is_string());
    let second = issue(&app).await;
    assert_eq!(second["key_id"], new_key.as_str());
    for c in [&first, &second] {
        assert_eq!(
            verdict(&app, c["qr"].as_str().unwrap()).await["verdict"],
            "valid"
        );
    }
    // The old certificate's record and seal are still served, signed by its own key.
    let again: Value = app
        .get_as(
            &format!("/v1/certificates/{}", first["number"].as_str().unwrap()),
            &app.monitor,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["qr"], first["qr"]);

    // Next day: the new key is stolen at 08:00; a certificate is issued at 09:00 and the
    // compromise is recorded at 10:00.
    let day2 = Date::parse("2026-06-02").unwrap().start_ms();
    clock.set(day2 + 8 * 3_600_000);
    let compromised_from = format_unix_ms(clock.now_ms());
    clock.set(day2 + 9 * 3_600_000);
    let third = issue(&app).await;
    // Checked valid before the compromise is recorded: its signature is remembered, and the
    // revocation must still change its verdict (issue 14's seal cache keeps no verdicts).
    assert_eq!(
        verdict(&app, third["qr"].as_str().unwrap()).await["verdict"],
        "valid"
    );
    clock.set(day2 + 10 * 3_600_000);
    let size = app.ledger_size();
    // Refusals say why and write nothing.
    for (path, body) in [
        (
            format!("/v1/admin/authorities/BW-A1/keys/{new_key}/revoke"),
            json!({"compromised_from": "2026-06-03T00:00:00Z", "reason": "future"}),
        ),
        (
            format!("/v1/admin/authorities/BW-A1/keys/{new_key}/revoke"),
            json!({"compromised_from": "yesterday", "reason": "bad time"}),
        ),
        (
            format!("/v1/admin/authorities/BW-A1/keys/{new_key}/revoke"),
            json!({"compromised_from": compromised_from, "reason": ""}),
        ),
        (
            "/v1/admin/authorities/BW-A1/keys/0000000000000000/revoke".to_string(),
            json!({"compromised_from": compromised_from, "reason": "no such key"}),
        ),
    ] {
        let resp = admin(path.clone(), body).await.unwrap();
        assert_eq!(resp.status(), 422, "{path}");
        let problem: Value = resp.json().await.unwrap();
        assert!(!problem["problems"][0]["message"]
            .as_str()
            .unwrap()
            .is_empty());
    }
    let resp = admin("/v1/admin/authorities/XX-A9/keys".into(), json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(app.ledger_size(), size, "nothing written");

    let resp = admin(
        format!("/v1/admin/authorities/BW-A1/keys/{new_key}/revoke"),
        json!({"compromised_from": compromised_from, "reason": "signing server stolen"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let revoked: Value = resp.json().await.unwrap();
    assert!(revoked["current_key_id"].is_null());
    assert_eq!(
        revoked["keys"][1]["revoked"]["reason"],
        "signing server stolen"
    );

    // Online: the entry times decide.
    let want = [
        (&first, "valid"),
        (&second, "valid"),
        (&third, "key_revoked"),
    ];
    for (c, verdict_wanted) in want {
        let v = verdict(&app, c["qr"].as_str().unwrap()).await;
        assert_eq!(v["verdict"], verdict_wanted, "{v}");
        let by_number = app
            .client
            .post(app.url("/v1/verify"))
            .json(&json!({"number": c["number"]}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(by_number["verdict"], verdict_wanted, "{by_number}");
    }
    // The authority cannot issue until it has a new key, and says so.
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );

    // Offline, from the bundle: the day before the compromise is clear; the day it began can
    // only be judged online, and the bundle says so.
    let bundle = app.get("/v1/trust-bundle").await.text().await.unwrap();
    let bundle = TrustBundle::open_signed_json(&bundle, &app.app.root_public_key()).unwrap();
    let today = Date::parse("2026-06-02").unwrap();
    let offline = |c: &Value| {
        let Ok(v) = verify_qr(&bundle, c["qr"].as_str().unwrap(), today);
        v
    };
    assert_eq!(offline(&first).verdict, Verdict::Valid);
    assert_eq!(offline(&second).verdict, Verdict::Valid);
    let third_offline = offline(&third);
    assert_eq!(third_offline.verdict, Verdict::Unknown);
    assert!(third_offline.reasons[0].contains("check online"));

    // A new key again: issuance resumes; the audit of the live folder replays every key entry.
    let resp = admin("/v1/admin/authorities/BW-A1/keys".into(), json!({}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let fourth = issue(&app).await;
    assert_eq!(
        verdict(&app, fourth["qr"].as_str().unwrap()).await["verdict"],
        "valid"
    );
    let export = app.get("/v1/ledger/export").await.bytes().await.unwrap();
    let report = app.audit(&export);
    assert_eq!(report.entries, app.ledger_size());
}

#[tokio::test]
async fn keys_added_in_the_same_millisecond_still_give_a_readable_trust_bundle() {
    // The clock stands still: registration and two rotations share one entry time.
    let (app, _clock) = spawn_app_on("2026-06-01");
    for _ in 0..2 {
        let resp = app
            .client
            .post(app.url("/v1/admin/authorities/BW-A1/keys"))
            .bearer_auth(&app.secretariat)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let bundle = app.get("/v1/trust-bundle").await.text().await.unwrap();
    let bundle = TrustBundle::open_signed_json(&bundle, &app.app.root_public_key())
        .expect("kpcert reads the bundle it made");
    let bw: Vec<_> = bundle
        .authorities
        .iter()
        .filter(|k| k.authority_id == "BW-A1")
        .collect();
    assert_eq!(bw.len(), 3);
    // And the newest key issues, verifiable offline from that bundle.
    let issued = issue(&app).await;
    let Ok(verdict) = verify_qr(
        &bundle,
        issued["qr"].as_str().unwrap(),
        Date::parse("2026-06-01").unwrap(),
    );
    assert_eq!(verdict.verdict, Verdict::Valid, "{:?}", verdict.reasons);
}
