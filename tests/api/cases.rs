//! A rehabilitation case against the real server, along the KP's path for a suspended
//! participant: review mission, action plan with benchmarks decided on recorded evidence,
//! monitored partial resumption, readmission. Stages end in order, readmission only once the
//! participant is active again; the case shows where it stands and what remains, to anyone.

use serde_json::{json, Value};

use crate::helpers::{spawn_app_on, TestApp};

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

async fn document(app: &TestApp, title: &str, body: &[u8]) -> String {
    let resp = app
        .client
        .post(app.url(&format!(
            "/v1/documents?title={title}&kind=visit_report&dated=2026-05-20&participants=CF"
        )))
        .bearer_auth(&app.monitor)
        .header("Content-Type", "text/plain")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    v["document"]["hash"].as_str().unwrap().to_owned()
}

fn status(status: &str, effective: &str, reference: &str) -> Value {
    json!({"status": status, "effective_on": effective,
           "decision": {"reference": reference, "body": "plenary", "decided_on": effective}})
}

#[tokio::test]
async fn a_case_follows_the_path_back_to_readmission() {
    let (app, clock) = spawn_app_on("2026-06-01");
    let sec = app.secretariat.clone();
    let steps = "/v1/participants/CF/case/steps";
    let benchmarks = "/v1/participants/CF/case/benchmarks";
    let step = |kind: &str, from: &str, ends: Option<&str>, docs: &[&str]| {
        json!({"kind": kind, "from": from, "team": "Monitoring team", "findings": "Findings of the team.",
               "documents": docs, "ends_stage": ends})
    };

    // No case for a participant never suspended.
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step("review_visit", "2026-05-20", None, &[]),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        &app,
        "/v1/admin/participants/CF/status",
        &sec,
        &status("suspended", "2026-05-01", "AD 2026/10"),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // The review mission: its report recorded first, then cited; stages end in order.
    let report = document(&app, "Review%20mission%20report", b"review mission report").await;
    let size = app.ledger_size();
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step(
            "review_mission",
            "2026-05-20",
            Some("action_plan"),
            &[&report],
        ),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("stages end in order"), "{v}");
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step(
            "review_mission",
            "2026-05-20",
            Some("review_mission"),
            &["00".repeat(32).as_str()],
        ),
    )
    .await;
    assert_eq!(s, 422, "an unrecorded document: {v}");
    let (s, v) = post(
        &app,
        steps,
        &app.bw.1,
        &step(
            "review_mission",
            "2026-05-20",
            Some("review_mission"),
            &[&report],
        ),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(app.ledger_size(), size);
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step(
            "review_mission",
            "2026-05-20",
            Some("review_mission"),
            &[&report],
        ),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["stage"], "action_plan", "{v}");

    // The action plan's benchmarks: decided only on recorded evidence.
    for (id, text) in [
        ("B1", "A national register of licensed diggers"),
        ("B2", "Export through one office only"),
    ] {
        let (s, v) = post(&app, benchmarks, &sec, &json!({"id": id, "text": text})).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = post(
        &app,
        benchmarks,
        &sec,
        &json!({"id": "B1", "text": "A national register of licensed diggers", "status": "met"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("evidence"), "{v}");
    let evidence = document(&app, "Register%20audit", b"audit of the register").await;
    let (s, v) = post(&app, benchmarks, &sec, &json!({"id": "B1", "text": "A national register of licensed diggers", "status": "met", "evidence": [evidence]})).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["remaining"]["benchmarks"], json!(["B2"]), "{v}");
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step("decision", "2026-06-01", Some("action_plan"), &[]),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    // Monitored partial resumption, then readmission once the participant is active again.
    clock.advance_days(1);
    let mut partial = status("partially_suspended", "2026-06-02", "AD 2026/11");
    partial["terms"] = json!({"zones": [{"id": "Z1", "name": "Bangui"}], "prior_approval": false});
    let (s, v) = post(&app, "/v1/admin/participants/CF/status", &sec, &partial).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step("decision", "2026-06-02", Some("monitored_resumption"), &[]),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step("decision", "2026-06-02", Some("readmission"), &[]),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("active again"), "{v}");
    clock.advance_days(1);
    let (s, v) = post(
        &app,
        "/v1/admin/participants/CF/status",
        &sec,
        &status("active", "2026-06-03", "AD 2026/12"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &app,
        steps,
        &sec,
        &step("decision", "2026-06-03", Some("readmission"), &[]),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["stage"], "closed", "{v}");

    // Anyone reads the case (it is made of public entries; what must stay within the KP is in
    // kp_only documents, cited by hash); a participant never suspended has none.
    assert_eq!(app.get("/v1/participants/BW/case").await.status(), 404);
    let v: Value = app
        .get("/v1/participants/CF/case")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["stage"], "closed");
    assert_eq!(v["status"], "active");
    assert_eq!(v["steps"].as_array().unwrap().len(), 4, "{v}");
    assert_eq!(v["stages"][0]["ended"]["by"], "secretariat", "{v}");
    assert_eq!(
        v["benchmarks"][0]["history"].as_array().unwrap().len(),
        2,
        "{v}"
    );
    assert_eq!(v["documents"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["remaining"]["stages"], json!([]), "{v}");
    // The case page: where the participant stands, what remains, every step with its
    // documents, all text escaped.
    let resp = app.get("/cases/CF").await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("<strong id=\"stage\">closed (readmitted)</strong>"),
        "{page}"
    );
    assert!(page.contains("Benchmarks not met: B2."), "{page}");
    assert!(page.contains("Review mission report</a>"), "{page}");
    assert!(!page.contains("<script"), "{page}");

    let report = app.audit(&app.full_export());
    assert_eq!(report.entries, app.ledger_size());

    // The annual report, written by the binary from the data folder the server holds (read
    // only, audited first): the status changes with their decisions, the rehabilitation, the
    // documents (KP-only ones counted, not listed), in Markdown and in escaped HTML.
    let home = app.keys_dir.parent().unwrap().to_path_buf();
    let out = home.join("reports");
    let (code, _, err) = crate::cli::run(crate::cli::kpcert(
        &home,
        &[
            "report",
            "annual",
            "--year",
            "2026",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let md = std::fs::read_to_string(out.join("annual-report-2026.md")).unwrap();
    for words in [
        "suspended from 2026-05-01 by decision AD 2026/10 of the Plenary",
        "active from 2026-06-03 by decision AD 2026/12",
        "review mission by Monitoring team",
        "(ends the stage readmission)",
        "benchmark B1",
        "2 KP-only document(s)",
        "Central African Republic (CF)",
    ] {
        assert!(md.contains(words), "{words:?} missing from:\n{md}");
    }
    let html = std::fs::read_to_string(out.join("annual-report-2026.html")).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("AD 2026/10"));
    // A year the ledger says nothing about.
    let (code, _, err) = crate::cli::run(crate::cli::kpcert(
        &home,
        &[
            "report",
            "annual",
            "--year",
            "2019",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let empty = std::fs::read_to_string(out.join("annual-report-2019.md")).unwrap();
    assert!(empty.contains("No status changed this year."), "{empty}");
    app.stop().await;
}
