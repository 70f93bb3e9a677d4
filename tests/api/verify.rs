//! Border verification: `POST /v1/verify` verdicts for valid, tampered, foreign-key,
//! unrecorded, altered, expired, garbage and oversized inputs, and the phone page at the QR URL
//! (also rendered by headless Chromium where installed).

use kpcert::codec::seal::{open, qr_text, seal, seal_from_qr_text};
use kpcert::codec::text::base32;
use kpcert::crypto::SigningKey;
use kpcert::keys::KeyDir;
use kpcert::tlog::merkle;
use kpcert::verify::Verdict;
use serde_json::{json, Value};

use crate::helpers::{b64, example_request, spawn_app, TestApp};

async fn verify(app: &TestApp, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/v1/verify"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn issue_qr(app: &TestApp) -> (Value, String) {
    let issued: Value = app.issue(&example_request()).await.json().await.unwrap();
    let qr = issued["qr"].as_str().unwrap().to_owned();
    (issued, qr)
}

/// The BW authority's signing key, read from the test server's keys folder.
fn bw_key(app: &TestApp) -> SigningKey {
    let a = app
        .app
        .authorities()
        .into_iter()
        .find(|a| a.id == app.bw.0)
        .unwrap();
    KeyDir::open(&app.keys_dir)
        .unwrap()
        .load(&format!("authority-{}", a.key_id()))
        .unwrap()
}

#[tokio::test]
async fn a_genuine_seal_is_valid_with_its_fields_events_and_proof() {
    let app = spawn_app();
    let (issued, qr) = issue_qr(&app).await;
    let (status, v) = verify(&app, json!({"qr": qr})).await;
    assert_eq!(status, 200);
    assert_eq!(v["verdict"], "valid", "{v}");
    let c = &v["certificate"];
    assert_eq!(c["number"], issued["number"]);
    assert_eq!(c["hash"], issued["hash"]);
    assert_eq!(c["exporter"]["name"], "Okavango Diamond Company");
    assert!(
        c["exporter"].get("address").is_none(),
        "nothing beyond what the seal shows"
    );
    // Where the certificate is in the ledger; the entry and its proof only when asked for (a
    // scanned seal is judged from the ledger's state, which keeps the recorded seal's hash).
    let index = issued["ledger"]["index"].as_u64().unwrap();
    assert_eq!(v["ledger"]["index"], index, "{v}");
    assert!(v["ledger"]["tree_size"].as_u64().unwrap() > index, "{v}");
    for absent in ["events", "entry", "inclusion_proof", "checkpoint"] {
        assert!(v["ledger"].get(absent).is_none(), "{absent}: {v}");
    }
    let (status, v) = verify(&app, json!({"qr": qr, "proof": true})).await;
    assert_eq!(status, 200);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["ledger"]["index"], index, "{v}");
    assert_eq!(v["ledger"]["events"][0]["kind"], "certificate.issued");
    // The inclusion proof verifies against the signed checkpoint it comes with.
    let verifier =
        kpcert::tlog::NoteVerifier::parse(v["ledger_verifier_key"].as_str().unwrap()).unwrap();
    let cp = verifier
        .open(v["ledger"]["checkpoint"].as_str().unwrap())
        .unwrap();
    let proof: Vec<[u8; 32]> = v["ledger"]["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()).try_into().unwrap())
        .collect();
    let leaf = merkle::leaf_hash(&b64(v["ledger"]["entry"].as_str().unwrap()));
    merkle::verify_inclusion(
        &leaf,
        v["ledger"]["index"].as_u64().unwrap(),
        cp.size,
        &proof,
        &cp.root,
    )
    .unwrap();

    // A lower-cased scan (some phones do that) is still the same seal.
    let (_, v) = verify(&app, json!({"qr": qr.to_lowercase()})).await;
    assert_eq!(v["verdict"], "valid");

    // By number: from the ledger alone.
    let (_, v) = verify(&app, json!({"number": issued["number"]})).await;
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["ledger"]["index"], index, "{v}");
    assert!(v["ledger"].get("entry").is_none(), "{v}");
    let (_, v) = verify(&app, json!({"number": issued["number"], "proof": true})).await;
    assert!(v["ledger"]["inclusion_proof"].is_array(), "{v}");
    // `proof` is a boolean.
    let (status, v) = verify(&app, json!({"qr": qr, "proof": "yes"})).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["problems"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["problems"][0]["field"], "proof", "{v}");
    let (_, v) = verify(&app, json!({"number": "BW-2026-999999"})).await;
    assert_eq!(v["verdict"], "unknown");
}

#[tokio::test]
async fn tampered_foreign_unrecorded_and_altered_seals_are_caught() {
    let app = spawn_app();
    let (_, qr) = issue_qr(&app).await;
    let bytes = seal_from_qr_text(&qr).unwrap();
    // Checked once, so that its signature is remembered: no change below may ride on it.
    assert_eq!(verify(&app, json!({"qr": qr})).await.1["verdict"], "valid");

    // Every single-byte change of the seal: forged or malformed, never valid.
    for i in (0..bytes.len()).step_by(7) {
        let mut changed = bytes.clone();
        changed[i] ^= 0x20;
        let (status, v) = verify(
            &app,
            json!({"qr": qr_text("https://localhost:8443", &changed)}),
        )
        .await;
        assert_eq!(status, 200);
        let verdict = v["verdict"].as_str().unwrap();
        assert!(
            verdict == "forged" || verdict == "malformed",
            "byte {i}: {verdict}"
        );
    }

    let claims = open(&bytes).unwrap().claims;
    // Signed by a key no authority registered.
    let stranger = SigningKey::from_seed(&[42; 32]);
    let foreign = seal(&claims, &stranger.public_key().key_id(), |tbs| {
        stranger.sign(tbs)
    });
    let (_, v) = verify(&app, json!({"qr": qr_text("https://x.example", &foreign)})).await;
    assert_eq!(v["verdict"], "forged", "{v}");

    // Signed with the authority's real key, for a number the ledger never recorded.
    let key = bw_key(&app);
    let mut unrecorded = claims.clone();
    unrecorded.serial = 999_999;
    let bytes2 = seal(&unrecorded, &key.public_key().key_id(), |tbs| key.sign(tbs));
    let (_, v) = verify(&app, json!({"qr": qr_text("https://x.example", &bytes2)})).await;
    assert_eq!(v["verdict"], "not_in_ledger", "{v}");

    // Signed with the real key, but the hash (or a field) differs from the ledger record.
    let mut altered = claims.clone();
    altered.certificate_hash[0] ^= 1;
    let bytes3 = seal(&altered, &key.public_key().key_id(), |tbs| key.sign(tbs));
    let (_, v) = verify(&app, json!({"qr": qr_text("https://x.example", &bytes3)})).await;
    assert_eq!(v["verdict"], "forged", "{v}");
    let mut heavier = claims.clone();
    heavier.parcels += 1;
    let bytes4 = seal(&heavier, &key.public_key().key_id(), |tbs| key.sign(tbs));
    let (_, v) = verify(&app, json!({"qr": qr_text("https://x.example", &bytes4)})).await;
    assert_eq!(v["verdict"], "forged", "{v}");

    // Garbage is malformed; bad requests are 4xx.
    for garbage in [
        "",
        "hello",
        "HTTPS://LOCALHOST/S/",
        "HTTPS://LOCALHOST/S/1!1",
        &"A".repeat(500),
    ] {
        let (status, v) = verify(&app, json!({"qr": garbage})).await;
        assert_eq!(
            (status, v["verdict"].as_str()),
            (200, Some("malformed")),
            "{garbage:?}"
        );
    }
    let url = app.url("/v1/verify");
    let empty = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
    let (status, _) = verify(&app, json!({})).await;
    assert_eq!(status, 422);
    let (status, _) = verify(&app, json!({"qr": qr, "extra": 1})).await;
    assert_eq!(status, 422);
    let huge = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(format!("{{\"qr\":\"{}\"}}", "A".repeat(1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
}

#[tokio::test]
async fn a_genuine_seal_expires_the_day_after_its_date_of_expiry() {
    let (app, clock) = crate::helpers::spawn_app_on("2026-06-01");
    let (issued, qr) = issue_qr(&app).await;
    assert_eq!(issued["certificate"]["issued_on"], "2026-06-01");
    assert_eq!(issued["certificate"]["expires_on"], "2026-07-31");
    clock.advance_days(60);
    let (_, v) = verify(&app, json!({"qr": qr})).await;
    assert_eq!(v["verdict"], "valid", "the day of expiry is included: {v}");
    clock.advance_days(1);
    let (_, v) = verify(&app, json!({"qr": qr})).await;
    assert_eq!(v["verdict"], "expired", "{v}");
    assert_eq!(
        app.app.verify_qr(&qr).unwrap().verdict,
        Verdict::Expired,
        "the service judges by the same clock"
    );
    let (_, v) = verify(&app, json!({"number": issued["number"]})).await;
    assert_eq!(v["verdict"], "expired", "{v}");
}

#[tokio::test]
async fn verification_is_rate_limited_per_client() {
    // The clock stands still, so the bucket never refills: the burst (twice the rate) passes,
    // then every request is refused.
    let app = crate::helpers::spawn_app_at(
        kpcert::http::Options {
            public_rate_limit: 2.0,
            ..Default::default()
        },
        kpcert::clock::ManualClock::at_date("2026-06-01"),
    );
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(verify(&app, json!({"number": "BW-2026-000001"})).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429]);
}

#[tokio::test]
async fn the_rate_limit_holds_however_the_path_is_spelled() {
    // The router decodes percent-encoded letters before it matches ("/v1/%76erify" is
    // /v1/verify); the limiter must judge the path the router matched, or each spelling would
    // be a fresh allowance (finding: 12 of 12 requests to /v1/%76erify answered 200 with a
    // limit of 5 a second).
    let app = crate::helpers::spawn_app_at(
        kpcert::http::Options {
            public_rate_limit: 2.0,
            ..Default::default()
        },
        kpcert::clock::ManualClock::at_date("2026-06-01"),
    );
    let mut statuses = Vec::new();
    for path in [
        "/v1/%76erify",
        "/v1/ver%69fy",
        "/%761/verify",
        "/v1/%76erify",
        "/v1/%76erify",
        "/v1/verify",
        "/v1/ver%69fy",
    ] {
        let resp = app
            .client
            .post(app.url(path))
            .json(&json!({"number": "BW-2026-000001"}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if status == 200 {
            let v: Value = resp.json().await.unwrap();
            assert!(v["verdict"].is_string(), "{path} reached the verifier: {v}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429]);
    // The same for a public read.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.get("/v1/p%61rticipants").await.status().as_u16());
    }
    assert_eq!(
        statuses, [429; 5],
        "the verifications spent this client's allowance"
    );
}

/// The phone page: the verdict in words and colour, no script.
async fn page(app: &TestApp, qr: &str) -> String {
    let path = &qr[qr.find("/S/").unwrap()..];
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    resp.text().await.unwrap()
}

#[tokio::test]
async fn the_page_at_the_qr_url_shows_the_verdict_without_javascript() {
    let app = spawn_app();
    let (_, qr) = issue_qr(&app).await;
    let mut tampered = seal_from_qr_text(&qr).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let tampered = format!("HTTPS://LOCALHOST:8443/S/{}", base32(&tampered));
    let malformed = "HTTPS://LOCALHOST:8443/S/NOTASEAL";
    for (text, verdict, words) in [
        (qr.as_str(), "valid", "VALID"),
        (tampered.as_str(), "forged", "FORGED"),
        (malformed, "malformed", "NOT A KP SEAL"),
    ] {
        let html = page(&app, text).await;
        assert!(
            html.contains(&format!("data-verdict=\"{verdict}\"")),
            "{verdict}: {html}"
        );
        assert!(html.contains(words));
        assert!(!html.contains("<script"));
        if verdict == "valid" {
            assert!(
                html.contains("Okavango Diamond Company")
                    && html.contains("Checked against the ledger at")
            );
        }
    }

    // Headless Chromium renders the same verdicts (tests/run.sh installs it).
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("chromium is not installed: run `bash tests/run.sh`, which installs it");
    let profile = tempfile::tempdir().unwrap();
    for (text, verdict) in [
        (qr.as_str(), "valid"),
        (tampered.as_str(), "forged"),
        (malformed, "malformed"),
    ] {
        let url = format!("{}{}", app.base, &text[text.find("/S/").unwrap()..]);
        let (chromium, profile_dir) = (chromium.to_owned(), profile.path().to_owned());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(chromium)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--ignore-certificate-errors",
                ])
                .arg(format!("--user-data-dir={}", profile_dir.display()))
                .args(["--dump-dom", &url])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            dom.contains(&format!("data-verdict=\"{verdict}\"")),
            "chromium, {verdict}: {dom}"
        );
    }
}

/// The service remembers a seal's verified signature (issue 14), never its verdict: a seal
/// checked valid, then voided or confirmed as imported, is judged from the ledger at once.
#[tokio::test]
async fn a_remembered_seal_signature_never_keeps_an_old_verdict() {
    let (app, clock) = crate::helpers::spawn_app_on("2026-06-01");
    let (first, first_qr) = issue_qr(&app).await;
    let (second, second_qr) = issue_qr(&app).await;
    for qr in [&first_qr, &second_qr, &first_qr, &second_qr] {
        let (_, v) = verify(&app, json!({"qr": qr})).await;
        assert_eq!(v["verdict"], "valid", "{v}");
    }
    // Per seal: the first check verifies the scanned seal (and reads no record: the state keeps
    // the recorded seal's hash); the second check finds the scanned seal remembered.
    assert_eq!(
        app.app.seal_signatures_remembered(),
        2,
        "one verify_strict per seal, every later check remembered"
    );
    let post = |path: String, token: &str, body: Value| {
        app.client
            .post(app.url(&path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let resp = post(
        format!(
            "/v1/certificates/{}/void",
            first["number"].as_str().unwrap()
        ),
        &app.bw.1,
        json!({"reason": "issued in error"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    clock.advance(86_400_000);
    let resp = post(
        format!(
            "/v1/certificates/{}/import-confirmation",
            second["number"].as_str().unwrap()
        ),
        &app.ae.1,
        json!({"received_on": "2026-06-02", "parcels": 3,
               "items": [{"hs_code": "7102.10", "carats": "1520.35"}]}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let (_, v) = verify(&app, json!({"qr": first_qr})).await;
    assert_eq!(v["verdict"], "void", "{v}");
    let (_, v) = verify(&app, json!({"qr": second_qr})).await;
    assert_eq!(v["verdict"], "imported", "{v}");
    // The record is read again (the ledger grew), with the history: all remembered.
    let remembered = app.app.seal_signatures_remembered();
    assert!(remembered > 4, "{remembered}");
    // A forged signature is never remembered: it is verified (and refused) every time.
    let mut bytes = seal_from_qr_text(&first_qr).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let forged = qr_text("https://localhost:8443", &bytes);
    for _ in 0..2 {
        let (_, v) = verify(&app, json!({"qr": forged})).await;
        assert_eq!(v["verdict"], "forged", "{v}");
    }
    assert_eq!(app.app.seal_signatures_remembered(), remembered);
}
