//! The attacks a reviewer found on participant standing (2026-12-03), each now refused: an
//! own-key authority spending an approval of a small shipment on a large one, an approval of a
//! former team serving under new terms, a monitoring team writing a case it has no mandate for,
//! and a same-day readmission erasing a suspension.

use kpcert::codec::text::hex;
use kpcert::crypto::{sha256, SigningKey};
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on, TestApp};
use crate::own_key::{body_of, next, register_za, submit, za_request};

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn change(status: &str, effective_on: &str, reference: &str) -> Value {
    json!({"status": status, "effective_on": effective_on,
           "decision": {"reference": reference, "body": "plenary", "decided_on": effective_on}})
}

#[tokio::test]
async fn an_approval_binds_the_shipment_whatever_the_route() {
    let (app, _clock) = spawn_app_on("2026-06-01");
    let key = SigningKey::generate();
    let za = register_za(&app, &key).await;
    let mut partial = change("partially_suspended", "2026-06-01", "AD 2026/6");
    partial["terms"] = json!({"zones": [{"id": "Z1", "name": "Bangui"}], "prior_approval": true, "team": "Monitoring team"});
    let (s, v) = post(
        &app,
        "/v1/admin/participants/ZA/status",
        &app.secretariat,
        &partial,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    // The team sees and approves a small shipment: 1 parcel, 1 carat, to AE.
    let mut small = za_request();
    small["origin_zone"] = json!("Z1");
    small["parcels"] = json!(1);
    small["items"] = json!([{"hs_code": "7102.10", "carats": "1.00", "value_usd": "10.00"}]);
    let hash = sha256(&serde_json::to_vec(&small).unwrap());
    let (s, v) = post(
        &app,
        "/v1/participants/ZA/approvals",
        &app.monitor,
        &json!({"request_hash": hex(&hash), "zone": "Z1", "destination": "AE", "parcels": 1, "carats": "1.00"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    // The authority signs 50 parcels of 99,999 carats citing that approval: refused.
    let sign = |request: &Value| {
        let (input, _) = kpcert::http::parse_issue_request(request).unwrap();
        (input, key.clone())
    };
    let mut big = small.clone();
    big["parcels"] = json!(50);
    big["items"] =
        json!([{"hs_code": "7102.10", "carats": "99999.00", "value_usd": "99000000.00"}]);
    let n = next(&app, &za).await;
    let (input, key2) = sign(&big);
    let mut certificate = n
        .parse()
        .unwrap()
        .certificate(&input, kpcert::crypto::random_bytes())
        .unwrap();
    certificate.content.approval = Some(hash);
    let signed = kpcert::codec::record::issue(certificate, |m| key2.sign(m));
    let size = app.ledger_size();
    let (s, v) = submit(&app, &za, &body_of(&signed)).await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("approval"), "{v}");
    assert_eq!(app.ledger_size(), size);
    // The very shipment approved is accepted.
    let (input, key2) = sign(&small);
    let mut certificate = n
        .parse()
        .unwrap()
        .certificate(&input, kpcert::crypto::random_bytes())
        .unwrap();
    certificate.content.approval = Some(hash);
    let signed = kpcert::codec::record::issue(certificate, |m| key2.sign(m));
    let (s, v) = submit(&app, &za, &body_of(&signed)).await;
    assert_eq!(s, 201, "{v}");
}

#[tokio::test]
async fn an_approval_serves_only_under_the_terms_it_was_given_under() {
    let (app, clock) = spawn_app_on("2026-06-01");
    let status = "/v1/admin/participants/EU/status";
    let mut p1 = change("partially_suspended", "2026-06-01", "AD 1");
    p1["terms"] = json!({"zones": [{"id": "Z1", "name": "Bangui"}], "prior_approval": true, "team": "Monitoring team"});
    let (s, v) = post(&app, status, &app.secretariat, &p1).await;
    assert_eq!(s, 201, "{v}");
    let mut from_eu = example_request();
    from_eu["origin"] = json!({"countries": ["BW"]});
    from_eu["origin_zone"] = json!("Z1");
    let body = serde_json::to_vec(&from_eu).unwrap();
    let (s, v) = post(
        &app,
        "/v1/participants/EU/approvals",
        &app.monitor,
        &json!({"request_hash": hex(&sha256(&body)), "zone": "Z1", "destination": "AE", "parcels": 3, "carats": "1520.35"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    clock.advance_days(1);
    let (s, v) = post(
        &app,
        status,
        &app.secretariat,
        &change("suspended", "2026-06-02", "AD 2"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    clock.advance_days(30);
    let mut p2 = change("partially_suspended", "2026-07-02", "AD 3");
    p2["terms"] = json!({"zones": [{"id": "Z1", "name": "Bangui"}], "prior_approval": true, "team": "Other team"});
    let (s, v) = post(&app, status, &app.secretariat, &p2).await;
    assert_eq!(s, 201, "{v}");
    let resp = app
        .client
        .post(app.url("/v1/certificates"))
        .bearer_auth(&app.eu.1)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        422,
        "the former team's approval no longer serves"
    );
}

#[tokio::test]
async fn only_the_mandated_team_or_the_secretariat_writes_a_case() {
    let (app, _clock) = spawn_app_on("2026-06-01");
    let mut terms = change("partially_suspended", "2026-06-01", "AD 1");
    terms["terms"] = json!({"zones": [{"id": "Z1", "name": "Bangui"}], "prior_approval": true, "team": "Monitoring team"});
    let (s, v) = post(
        &app,
        "/v1/admin/participants/AE/status",
        &app.secretariat,
        &terms,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let stranger = app
        .app
        .mint_token(kpcert::tokens::Role::Monitor, "Unrelated team", 30)
        .unwrap();
    let step = json!({"kind": "note", "from": "2026-06-01", "team": "x", "findings": "done", "ends_stage": "review_mission"});
    let (s, v) = post(&app, "/v1/participants/AE/case/steps", &stranger, &step).await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("not the one mandated"), "{v}");
    let (s, v) = post(&app, "/v1/participants/AE/case/steps", &app.monitor, &step).await;
    assert_eq!(s, 201, "{v}");
    // Evidence must concern the participant.
    let resp = app
        .client
        .post(app.url("/v1/documents?title=x&kind=other&dated=2026-06-01&participants=BW"))
        .bearer_auth(&app.monitor)
        .header("Content-Type", "text/plain")
        .body("about BW")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (s, v) = post(
        &app,
        "/v1/participants/AE/case/benchmarks",
        &app.monitor,
        &json!({"id": "B1", "text": "register", "status": "met", "evidence": [hex(&sha256(b"about BW"))]}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("does not concern AE"), "{v}");
}

#[tokio::test]
async fn a_change_on_the_day_of_the_last_one_is_refused() {
    let (app, clock) = spawn_app_on("2026-06-01");
    clock.advance_days(2);
    let (s, v) = post(
        &app,
        "/v1/admin/participants/BW/status",
        &app.secretariat,
        &change("suspended", "2026-06-01", "AD 1"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &app,
        "/v1/admin/participants/BW/status",
        &app.secretariat,
        &change("active", "2026-06-01", "AD 2"),
    )
    .await;
    assert_eq!(
        s, 422,
        "a readmission on the suspension's own day would erase it: {v}"
    );
    let at: Value = app
        .get("/v1/participants/BW?at=2026-06-02")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(at["status"], "suspended");
}
