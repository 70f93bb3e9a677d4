//! Participant standing against the real server: the Secretariat records a suspension
//! published after the fact, a readmission, a removal with an order to refuse certificates, an
//! embargo, national sanctions and a partial suspension; issuance is refused while the issuer
//! may not trade (403 naming the decision) and to a destination that may not (422); the verdict
//! `issuer_suspended` is the same online and offline; standing is answered at a date and as a
//! proven history; bad requests name each problem and write nothing.

use kpcert::codec::trust::TrustBundle;
use kpcert::verify::verify_qr;
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on, TestApp};

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

async fn get(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

fn change(status: &str, effective_on: &str, reference: &str, decided_on: &str) -> Value {
    json!({"status": status, "effective_on": effective_on,
           "decision": {"reference": reference, "body": "plenary", "decided_on": decided_on}})
}

async fn issue(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    post(app, "/v1/certificates", token, body).await
}

fn fields(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn standing_is_recorded_enforced_and_judged_at_a_date() {
    let (app, clock) = spawn_app_on("2026-06-01");
    let (bw, ae, sec) = (app.bw.1.clone(), app.ae.1.clone(), app.secretariat.clone());
    let status = |code: &str| format!("/v1/admin/participants/{code}/status");

    // Everyone starts active.
    let list = get(&app, "/v1/participants").await;
    let bw_row = list["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "BW")
        .unwrap()
        .clone();
    assert_eq!(bw_row["status"], "active");
    assert_eq!(bw_row["in_good_standing"], true);

    // Day 1: BW issues two certificates.
    let (s, c1) = issue(&app, &bw, &example_request()).await;
    assert_eq!(s, 201, "{c1}");
    let (s, c2) = issue(&app, &bw, &example_request()).await;
    assert_eq!(s, 201, "{c2}");
    clock.advance_days(1);

    // Bad requests name every problem and write nothing; only the Secretariat may record.
    let size = app.ledger_size();
    let cases = [
        (
            change("suspended", "2026-05-20", "AD 2026/1", "2026-06-01"),
            "effective_on",
        ),
        (
            change("suspended", "2026-06-05", "AD 2026/1", "2026-06-05"),
            "decision.decided_on",
        ),
        (
            change(
                "partially_suspended",
                "2026-06-01",
                "AD 2026/1",
                "2026-06-01",
            ),
            "terms",
        ),
        (
            change("dormant", "2026-06-01", "AD 2026/1", "2026-06-01"),
            "status",
        ),
        (json!({"status": "suspended"}), "decision"),
    ];
    for (body, field) in cases {
        let (s, v) = post(&app, &status("BW"), &sec, &body).await;
        assert_eq!(s, 422, "{field}: {v}");
        assert!(fields(&v).contains(&field.to_owned()), "{field}: {v}");
    }
    let (s, v) = post(
        &app,
        &status("BW"),
        &bw,
        &change("suspended", "2026-06-01", "X", "2026-06-01"),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, _) = post(
        &app,
        &status("KE"),
        &sec,
        &change("suspended", "2026-06-01", "X", "2026-06-01"),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(app.ledger_size(), size);

    // Day 2: the Plenary's suspension of BW, decided and in effect on day 1, published today.
    let (s, v) = post(
        &app,
        &status("BW"),
        &sec,
        &change("suspended", "2026-06-01", "AD 2026/1", "2026-06-01"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "suspended");
    assert_eq!(v["changes"][0]["decision"]["reference"], "AD 2026/1");
    let index = v["changes"][0]["ledger"]["index"].as_u64().unwrap();
    assert_eq!(index, app.ledger_size() - 1);
    assert!(v["changes"][0]["ledger"]["tlog_proof"]
        .as_str()
        .unwrap()
        .starts_with("c2sp.org/tlog-proof@v1"));

    // BW may not issue; nobody may send to BW.
    let (s, v) = issue(&app, &bw, &example_request()).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("AD 2026/1"), "{v}");
    let mut to_bw = example_request();
    to_bw["destination"] = json!("BW");
    to_bw["origin"] = json!({"countries": ["AE"]});
    let (s, v) = issue(&app, &ae, &to_bw).await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"destination".to_owned()), "{v}");

    // The certificates issued on day 1 were issued while suspended: online and offline.
    let bundle =
        TrustBundle::open_signed_json(&app.app.trust_bundle(), &app.app.root_public_key()).unwrap();
    let today = app.app.today();
    for c in [&c1, &c2] {
        let qr = c["qr"].as_str().unwrap();
        let online = app.app.verify_qr(qr).unwrap();
        assert_eq!(
            online.verdict.as_str(),
            "issuer_suspended",
            "{:?}",
            online.reasons
        );
        assert!(
            online.reasons[0].contains("AD 2026/1"),
            "{:?}",
            online.reasons
        );
        let Ok(offline) = verify_qr(&bundle, qr, today);
        assert_eq!(
            offline.verdict.as_str(),
            "issuer_suspended",
            "{:?}",
            offline.reasons
        );
    }
    let v: Value = app
        .client
        .post(app.url("/v1/verify"))
        .json(&json!({"qr": c1["qr"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["verdict"], "issuer_suspended", "{v}");

    // Standing at a date.
    let before = get(&app, "/v1/participants/BW?at=2026-05-31").await;
    assert_eq!(
        (
            before["status"].as_str(),
            before["in_good_standing"].as_bool()
        ),
        (Some("active"), Some(true))
    );
    let during = get(&app, "/v1/participants/BW?at=2026-06-01").await;
    assert_eq!(during["status"], "suspended", "{during}");
    assert_eq!(
        during["change"]["change"]["decision"]["reference"],
        "AD 2026/1"
    );
    assert!(during["reason"].as_str().unwrap().contains("AD 2026/1"));

    // Day 3: readmission. BW issues again; what it issued while suspended stays refused.
    clock.advance_days(1);
    let (s, v) = post(
        &app,
        &status("BW"),
        &sec,
        &change("active", "2026-06-03", "AD 2026/2", "2026-06-03"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, c3) = issue(&app, &bw, &example_request()).await;
    assert_eq!(s, 201, "{c3}");
    assert_eq!(
        app.app
            .verify_qr(c3["qr"].as_str().unwrap())
            .unwrap()
            .verdict
            .as_str(),
        "valid"
    );
    assert_eq!(
        app.app
            .verify_qr(c1["qr"].as_str().unwrap())
            .unwrap()
            .verdict
            .as_str(),
        "issuer_suspended"
    );
    // A change may not take effect before the last one.
    let (s, v) = post(
        &app,
        &status("BW"),
        &sec,
        &change("suspended", "2026-06-02", "AD 2026/3", "2026-06-02"),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"effective_on".to_owned()), "{v}");

    // AE issues to BW; then AE is removed and participants are to refuse its certificates
    // from day 4 (the Republic of Congo, 2004): a genuine, earlier certificate is refused while
    // the order stands, and valid again after readmission.
    let (s, c4) = issue(&app, &ae, &to_bw).await;
    assert_eq!(s, 201, "{c4}");
    clock.advance_days(1);
    let mut removal = change("removed", "2026-06-04", "AD 2026/4", "2026-06-04");
    removal["refuse_from"] = json!("2026-06-04");
    let (s, v) = post(&app, &status("AE"), &sec, &removal).await;
    assert_eq!(s, 201, "{v}");
    let v4 = app.app.verify_qr(c4["qr"].as_str().unwrap()).unwrap();
    assert_eq!(v4.verdict.as_str(), "issuer_suspended", "{:?}", v4.reasons);
    assert!(v4.reasons[0].contains("refuse"), "{:?}", v4.reasons);
    // Offline too, from a bundle that carries the order.
    let bundle =
        TrustBundle::open_signed_json(&app.app.trust_bundle(), &app.app.root_public_key()).unwrap();
    let Ok(offline) = verify_qr(&bundle, c4["qr"].as_str().unwrap(), app.app.today());
    assert_eq!(
        offline.verdict.as_str(),
        "issuer_suspended",
        "{:?}",
        offline.reasons
    );
    assert!(
        offline.reasons[0].contains("AD 2026/4"),
        "{:?}",
        offline.reasons
    );
    clock.advance_days(1);
    let (s, v) = post(
        &app,
        &status("AE"),
        &sec,
        &change("active", "2026-06-05", "AD 2026/5", "2026-06-05"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        app.app
            .verify_qr(c4["qr"].as_str().unwrap())
            .unwrap()
            .verdict
            .as_str(),
        "valid"
    );

    // An embargo stops AE's exports while its KP status stays active; national sanctions on BW
    // change nothing (they are not KP validity).
    let (s, v) = post(
        &app,
        "/v1/admin/participants/AE/measures",
        &sec,
        &json!({"kind": "embargo", "reference": "UNSC resolution 9999 (2026)",
                "imposed_by": "UN Security Council", "from": "2026-06-05"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "active");
    assert_eq!(v["in_good_standing"], false);
    let (s, v) = issue(&app, &ae, &to_bw).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("UNSC resolution 9999"),
        "{v}"
    );
    let (s, v) = post(
        &app,
        "/v1/admin/participants/BW/measures",
        &sec,
        &json!({"kind": "national_sanctions", "reference": "Regulation 1/2026",
                "imposed_by": "Some importers", "from": "2026-06-05"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = issue(&app, &bw, &example_request()).await;
    assert_eq!(s, 201, "{v}");

    // The embargo is lifted by recording it again with its last day; from the next day AE
    // exports again.
    let (s, v) = post(
        &app,
        "/v1/admin/participants/AE/measures",
        &sec,
        &json!({"kind": "embargo", "reference": "UNSC resolution 9999 (2026)",
                "imposed_by": "UN Security Council", "from": "2026-06-05", "until": "2026-06-05"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = issue(&app, &ae, &to_bw).await;
    assert_eq!(s, 403, "in force through its last day: {v}");
    clock.advance_days(1);
    let (s, v) = issue(&app, &ae, &to_bw).await;
    assert_eq!(s, 201, "{v}");
    let at = get(&app, "/v1/participants/AE?at=2026-06-05").await;
    assert_eq!(at["in_good_standing"], false, "{at}");

    // A partial suspension (the Central African Republic, 2015-2024): exports only from the
    // approved zones, each with the mandated monitoring team's prior approval of that very
    // request, which the certificate cites.
    let mut partial = change(
        "partially_suspended",
        "2026-06-05",
        "AD 2026/6",
        "2026-06-05",
    );
    partial["terms"] = json!({"zones": [{"id": "Z2", "name": "Berbérati"}, {"id": "Z1", "name": "Bangui"}],
                              "prior_approval": true});
    let (s, v) = post(&app, &status("EU"), &sec, &partial).await;
    assert_eq!(s, 422, "a team is required with prior approval: {v}");
    assert!(fields(&v).contains(&"terms.team".to_owned()), "{v}");
    partial["terms"]["team"] = json!("Monitoring team");
    let (s, v) = post(&app, &status("EU"), &sec, &partial).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["changes"][0]["terms"]["zones"][0]["id"], "Z1", "{v}");
    let eu = app.eu.1.clone();
    let mut from_eu = example_request();
    from_eu["origin"] = json!({"countries": ["BW"]});
    // No zone: refused, naming the approved zones.
    let (s, v) = issue(&app, &eu, &from_eu).await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"origin_zone".to_owned()), "{v}");
    assert!(v.to_string().contains("Z1 Bangui"), "{v}");
    from_eu["origin_zone"] = json!("Z9");
    let (s, v) = issue(&app, &eu, &from_eu).await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("Z9 is not an approved zone"), "{v}");
    // An approved zone without the approval: refused, with the request's hash to approve.
    from_eu["origin_zone"] = json!("Z1");
    let body = serde_json::to_vec(&from_eu).unwrap();
    let hash = kpcert::codec::text::hex(&kpcert::crypto::sha256(&body));
    let send = |body: Vec<u8>| {
        app.client
            .post(app.url("/v1/certificates"))
            .bearer_auth(&eu)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let resp = send(body.clone()).await.unwrap();
    assert_eq!(resp.status(), 422);
    let v: Value = resp.json().await.unwrap();
    assert!(fields(&v).contains(&"approval".to_owned()), "{v}");
    assert!(
        v.to_string().contains(&hash),
        "the answer names the hash to approve: {v}"
    );
    // The evidence the terms require (photographs of each parcel) is a recorded document,
    // cited by its hash; an unrecorded one is refused.
    let photos = b"photographs of each parcel".to_vec();
    let resp =
        app.client
            .post(app.url(
                "/v1/documents?title=Photographs&kind=evidence&dated=2026-06-05&participants=EU",
            ))
            .bearer_auth(&app.monitor)
            .header("Content-Type", "image/jpeg")
            .body(photos.clone())
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 201);
    let photos_hash = kpcert::codec::text::hex(&kpcert::crypto::sha256(&photos));
    let (s, v) = post(
        &app,
        "/v1/participants/EU/approvals",
        &app.monitor,
        &json!({"request_hash": hash, "zone": "Z1", "destination": "AE", "parcels": 3, "carats": "1520.35", "documents": ["ab".repeat(32)]}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"documents".to_owned()), "{v}");
    // Only the mandated team approves, only approved zones, once per request.
    let approval = |zone: &str| {
        json!({"request_hash": hash, "zone": zone, "destination": "AE", "parcels": 3, "carats": "1520.35",
                                       "conditions": "photographs of each parcel", "documents": [photos_hash]})
    };
    let approvals = "/v1/participants/EU/approvals";
    let size = app.ledger_size();
    let other_team = app
        .app
        .mint_token(kpcert::tokens::Role::Monitor, "Another team", 30)
        .unwrap();
    let (s, v) = post(&app, approvals, &other_team, &approval("Z1")).await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"team".to_owned()), "{v}");
    let (s, v) = post(&app, approvals, &app.monitor, &approval("Z9")).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(&app, approvals, &eu, &approval("Z1")).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(app.ledger_size(), size);
    let (s, v) = post(&app, approvals, &app.monitor, &approval("Z1")).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["approval"]["team"], "Monitoring team");
    assert_eq!(v["approval"]["documents"][0], photos_hash.as_str());
    let (s, v) = post(&app, approvals, &app.monitor, &approval("Z1")).await;
    assert_eq!(s, 422, "approved once: {v}");
    // The very request approved is issued, citing the approval; the approval serves once.
    let resp = send(body.clone()).await.unwrap();
    assert_eq!(resp.status(), 201);
    let c5: Value = resp.json().await.unwrap();
    assert_eq!(c5["certificate"]["origin_zone"], "Z1", "{c5}");
    assert_eq!(c5["certificate"]["approval"], hash.as_str(), "{c5}");
    let resp = send(body).await.unwrap();
    assert_eq!(resp.status(), 422, "an approval serves one certificate");
    // A later decision withdraws zone Z2 and adds Z3 (and drops prior approval): from then on
    // Z2 is refused and Z3 allowed.
    clock.advance_days(1);
    let mut amended = change(
        "partially_suspended",
        "2026-06-07",
        "AD 2026/7",
        "2026-06-07",
    );
    amended["terms"] = json!({"zones": [{"id": "Z1", "name": "Bangui"}, {"id": "Z3", "name": "Nola"}],
                              "prior_approval": false});
    let (s, v) = post(&app, &status("EU"), &sec, &amended).await;
    assert_eq!(s, 201, "{v}");
    from_eu["origin_zone"] = json!("Z2");
    let (s, v) = issue(&app, &eu, &from_eu).await;
    assert_eq!(s, 422, "a withdrawn zone: {v}");
    assert!(v.to_string().contains("Z2 is not an approved zone"), "{v}");
    from_eu["origin_zone"] = json!("Z3");
    let (s, v) = issue(&app, &eu, &from_eu).await;
    assert_eq!(s, 201, "an added zone, no approval needed any more: {v}");

    let history = get(&app, "/v1/participants/BW").await;
    let refs: Vec<&str> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["decision"]["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["AD 2026/1", "AD 2026/2"]);
    assert_eq!(history["measures"][0]["kind"], "national_sanctions");

    // The offline bundle agrees with the online verdicts, and the audit replays every rule.
    let bundle =
        TrustBundle::open_signed_json(&app.app.trust_bundle(), &app.app.root_public_key()).unwrap();
    let today = app.app.today();
    for c in [&c1, &c2, &c3, &c4, &c5] {
        let qr = c["qr"].as_str().unwrap();
        let online = app.app.verify_qr(qr).unwrap();
        let Ok(offline) = verify_qr(&bundle, qr, today);
        assert_eq!(
            online.verdict, offline.verdict,
            "{:?} / {:?}",
            online.reasons, offline.reasons
        );
    }
    let report = app.audit(&app.full_export());
    assert_eq!(report.entries, app.ledger_size());

    // A forged status entry in an export (the decision's reference changed) is found by the
    // audit: a Secretariat entry carries no signature of its own, so the break shows where the
    // next entry's prev no longer matches it (the checkpoint's root would, for the last one).
    let export = app.full_export();
    let (head, frames) = crate::lifecycle::split_full(&export);
    let at = frames
        .iter()
        .position(|(e, _)| e.windows(9).any(|w| w == b"AD 2026/1"))
        .expect("the suspension's entry");
    let mut forged = frames.clone();
    crate::lifecycle::flip_in(&mut forged[at].0, b"AD 2026/1");
    let failure = kpcert::audit::audit_export(
        crate::lifecycle::join_full(&head, &forged).as_slice(),
        app.app.ledger_verifier(),
        None,
        Default::default(),
        |_, _| {},
    )
    .expect_err("a forged status entry");
    assert_eq!(failure.index, Some(at as u64 + 1), "{}", failure.reason);
    assert!(
        failure.reason.contains("previous entry"),
        "{}",
        failure.reason
    );
    app.stop().await;
}
