//! Administration while issuance runs under load: the Secretariat registers authorities, rotates
//! the keys of the authorities that are issuing, mints and revokes tokens, while BW and AE issue
//! from several concurrent clients. Nothing is lost or refused: every request gets its 201,
//! every acknowledged certificate is in the ledger under its number, verifies, and the full
//! audit replays it all (a rotation recorded between a request and its entry is honoured).

use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app, TestApp};

const CLIENTS_PER_AUTHORITY: usize = 3;
const CERTIFICATES_PER_CLIENT: usize = 25;

async fn issue_many(app: &TestApp, token: String, body: Value) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for _ in 0..CERTIFICATES_PER_CLIENT {
        let resp = app.issue_with(&token, &body).await;
        let status = resp.status().as_u16();
        out.push((status, resp.json().await.unwrap()));
    }
    out
}

async fn administer(app: &TestApp) -> usize {
    let post = |path: &str, body: Value| {
        app.client
            .post(app.url(path))
            .bearer_auth(&app.secretariat)
            .json(&body)
            .send()
    };
    let mut entries = 0;
    for (i, code) in ["NA", "ZA", "CA", "IN", "RU", "AO"].iter().enumerate() {
        let resp = post(
            "/v1/admin/authorities",
            json!({"participant": code, "name": format!("Authority of {code}")}),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 201);
        entries += 1;
        let who = if i % 2 == 0 { "BW-A1" } else { "AE-A1" };
        let resp = post(&format!("/v1/admin/authorities/{who}/keys"), json!({}))
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "rotating {who}");
        entries += 1;
        let resp = post(
            "/v1/admin/tokens",
            json!({"role": "monitor", "owner": format!("team {i}"), "days": 1}),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 201);
        let token: Value = resp.json().await.unwrap();
        let prefix = token["prefix"].as_str().unwrap().to_owned();
        let resp = app
            .client
            .delete(app.url(&format!("/v1/admin/tokens/{prefix}")))
            .bearer_auth(&app.secretariat)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "revoking {prefix}");
        let resp = app.get_as("/v1/admin/authorities", &app.secretariat).await;
        assert_eq!(resp.status(), 200);
        tokio::task::yield_now().await;
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_changes_while_issuance_runs_under_load_lose_nothing() {
    let app = spawn_app();
    let start_size = app.ledger_size();
    let mut ae_body = example_request();
    ae_body["destination"] = json!("BW");
    ae_body["origin"] = json!({"countries": ["AE"]});

    let mut issuers = Vec::new();
    for _ in 0..CLIENTS_PER_AUTHORITY {
        issuers.push(issue_many(&app, app.bw.1.clone(), example_request()));
        issuers.push(issue_many(&app, app.ae.1.clone(), ae_body.clone()));
    }
    let (results, admin_entries) =
        tokio::join!(futures_util::future::join_all(issuers), administer(&app));

    let answers: Vec<(u16, Value)> = results.into_iter().flatten().collect();
    let refused: Vec<&(u16, Value)> = answers.iter().filter(|(s, _)| *s != 201).collect();
    assert!(
        refused.is_empty(),
        "refused while administering: {refused:?}"
    );
    let total = answers.len() as u64;
    assert_eq!(
        total,
        (2 * CLIENTS_PER_AUTHORITY * CERTIFICATES_PER_CLIENT) as u64
    );
    assert_eq!(
        app.ledger_size(),
        start_size + total + admin_entries as u64,
        "every certificate and every admin entry, nothing else"
    );

    // Numbers run without gaps per participant, and each answers with what was acknowledged.
    let mut keys_used = std::collections::BTreeSet::new();
    for participant in ["BW", "AE"] {
        let mut serials: Vec<u64> = answers
            .iter()
            .filter(|(_, v)| v["number"].as_str().unwrap().starts_with(participant))
            .map(|(_, v)| v["number"].as_str().unwrap()[8..].parse::<u64>().unwrap())
            .collect();
        serials.sort();
        let expected: Vec<u64> = (1..=serials.len() as u64).collect();
        assert_eq!(serials, expected, "{participant}");
    }
    for (_, issued) in &answers {
        keys_used.insert(issued["key_id"].as_str().unwrap().to_owned());
        let number = issued["number"].as_str().unwrap();
        let stored: Value = app
            .get_as(&format!("/v1/certificates/{number}"), &app.monitor)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stored["canonical"], issued["canonical"], "{number}");
        // In-process: the public verification endpoint is rate limited per address.
        let verdict = app.app.verify_qr(issued["qr"].as_str().unwrap()).unwrap();
        assert_eq!(
            verdict.verdict,
            kpcert::verify::Verdict::Valid,
            "{number}: {:?}",
            verdict.reasons
        );
    }
    assert!(
        keys_used.len() > 2,
        "the rotations happened while certificates were issued ({} keys signed)",
        keys_used.len()
    );

    let report = app.audit(&app.full_export());
    assert_eq!(report.records, total);
    app.stop().await;
}
