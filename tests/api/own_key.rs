//! Authorities that keep their own key, through the running server: the Secretariat registers
//! ZA with only its public key, ZA asks for its next number, signs on its own side with the
//! same producer as the service (`codec::record::issue`), and sends the result. A good
//! certificate is recorded and verifies; a bad signature, a changed seal, another key, a wrong
//! number and a reused number are each refused with a clear 4xx and nothing written.

use kpcert::codec::record::issue;
use kpcert::codec::text::{base64, hex};
use kpcert::crypto::SigningKey;
use kpcert::domain::SignedCertificate;
use kpcert::views::NextNumberView;
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on, TestApp};

/// ZA's request (ZA rough goods to AE).
pub(crate) fn za_request() -> Value {
    let mut body = example_request();
    body["origin"] = json!({"countries": ["ZA"]});
    body
}

/// Registers ZA with its own key; returns its token.
pub(crate) async fn register_za(app: &TestApp, key: &SigningKey) -> String {
    let resp = app
        .client
        .post(app.url("/v1/admin/authorities"))
        .bearer_auth(&app.secretariat)
        .json(
            &json!({"participant": "ZA", "name": "South African Diamond Regulator",
                      "public_key": hex(&key.public_key().to_bytes())}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn next(app: &TestApp, token: &str) -> NextNumberView {
    let resp = app.get_as("/v1/certificates/next", token).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Signs `request` with `key` for `next` on the authority's side.
pub(crate) fn sign(next: &NextNumberView, request: &Value, key: &SigningKey) -> SignedCertificate {
    sign_with_salt(next, request, key, kpcert::crypto::random_bytes())
}

fn sign_with_salt(
    next: &NextNumberView,
    request: &Value,
    key: &SigningKey,
    salt: [u8; 16],
) -> SignedCertificate {
    let (input, _) = kpcert::http::parse_issue_request(request).unwrap();
    let certificate = next.parse().unwrap().certificate(&input, salt).unwrap();
    issue(certificate, |m| key.sign(m))
}

pub(crate) fn body_of(signed: &SignedCertificate) -> Value {
    let record = signed.record.as_ref().unwrap();
    json!({
        "canonical": base64(&record.canonical),
        "issuance": base64(&signed.signed),
        "signature": base64(&signed.signature),
        "seal": base64(&record.seal),
    })
}

pub(crate) async fn submit(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/v1/certificates/signed"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

pub(crate) fn fields(answer: &Value) -> Vec<String> {
    answer["problems"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_authority_signs_with_its_own_key_and_every_bad_submission_is_refused() {
    let (app, _clock) = spawn_app_on("2026-06-01");
    let key = SigningKey::generate();
    let za = register_za(&app, &key).await;

    // It cannot ask the service to sign: the service does not hold its key.
    let resp = app.issue_with(&za, &za_request()).await;
    assert_eq!(resp.status(), 409);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "no_signing_key", "{v}");
    assert!(v["message"].as_str().unwrap().contains("kpcert sign"));

    // The next number and the issuer block it signs with.
    let n = next(&app, &za).await;
    assert_eq!(n.number, "ZA-2026-000001");
    assert_eq!(n.issued_on, "2026-06-01");
    assert_eq!(n.issuer.authority_id, "ZA-A1");
    assert_eq!(n.issuer.key_id, key.public_key().key_id().to_string());
    assert!(n.participants.iter().any(|p| p == "AE"));
    // Only an authority may ask.
    for token in [&app.secretariat, &app.monitor] {
        assert_eq!(
            app.get_as("/v1/certificates/next", token).await.status(),
            403
        );
    }
    assert_eq!(app.get("/v1/certificates/next").await.status(), 401);

    // Refusals, each with nothing written.
    let good = sign(&n, &za_request(), &key);
    let size = app.ledger_size();
    let mut bad_signature = body_of(&good);
    let mut sig = good.signature;
    sig[5] ^= 1;
    bad_signature["signature"] = json!(base64(&sig));
    let mut bad_seal = body_of(&good);
    let mut seal = good.record.as_ref().unwrap().seal.clone();
    let last = seal.len() - 1;
    seal[last] ^= 1;
    bad_seal["seal"] = json!(base64(&seal));
    let other_key = sign(&n, &za_request(), &SigningKey::generate());
    let mut gap = n.clone();
    gap.number = "ZA-2026-000002".into();
    let skipped = sign(&gap, &za_request(), &key);
    let mut yesterday = n.clone();
    yesterday.issued_on = "2026-05-31".into();
    let mut over_limit = za_request();
    over_limit["expires_on"] = json!("2026-12-31");
    let over_limit = {
        // Signed locally without the local check, as a careless client would.
        let mut v = n.clone();
        v.max_validity_days = 365;
        sign(&v, &over_limit, &key)
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("bad signature", bad_signature, 422, "signature"),
        ("changed seal", bad_seal, 422, "seal"),
        (
            "signed with a key that is not ZA's",
            body_of(&other_key),
            422,
            "signature",
        ),
        (
            "a constant salt, which would let the public hash confirm a guess",
            body_of(&sign_with_salt(&n, &za_request(), &key, [0; 16])),
            422,
            "canonical",
        ),
        (
            "a number that skips one",
            body_of(&skipped),
            422,
            "canonical",
        ),
        (
            "over the authority's longest validity",
            body_of(&over_limit),
            422,
            "expires_on",
        ),
        (
            "not base64",
            json!({"canonical": "@@", "issuance": "AA==", "signature": "AA==", "seal": "AA=="}),
            422,
            "canonical",
        ),
        (
            "an unknown field",
            {
                let mut b = body_of(&good);
                b["certificate"] = json!("x");
                b
            },
            422,
            "certificate",
        ),
    ];
    for (what, body, status, field) in cases {
        let (got, answer) = submit(&app, &za, &body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(
            fields(&answer).iter().any(|f| f.contains(field)),
            "{what}: {answer}"
        );
        assert_eq!(app.ledger_size(), size, "{what}: nothing written");
    }
    // Another authority cannot send ZA's certificate.
    let (got, answer) = submit(&app, &app.bw.1, &body_of(&good)).await;
    assert_eq!(got, 422, "{answer}");
    assert_eq!(app.ledger_size(), size);
    // A date of issue other than the day it is recorded.
    let stale = sign(&yesterday, &za_request(), &key);
    let (got, answer) = submit(&app, &za, &body_of(&stale)).await;
    assert_eq!(got, 422, "{answer}");
    assert!(
        answer.to_string().contains("the day it is recorded"),
        "{answer}"
    );
    assert_eq!(app.ledger_size(), size);

    // A bad `proof` in the query is refused before anything is checked or written.
    let resp = app
        .client
        .post(app.url("/v1/certificates/signed?proof=maybe"))
        .bearer_auth(&za)
        .json(&body_of(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(app.ledger_size(), size);

    // The good one is recorded (answered lean), and answered again (not twice recorded) when
    // retried, with its entry's proof when asked.
    let (got, answer) = submit(&app, &za, &body_of(&good)).await;
    assert_eq!(got, 201, "{answer}");
    assert_eq!(answer["number"], "ZA-2026-000001");
    assert_eq!(
        crate::helpers::keys(&answer["ledger"]),
        crate::helpers::LEAN
    );
    assert_eq!(app.ledger_size(), size + 1);
    let resp = app
        .client
        .post(app.url("/v1/certificates/signed?proof=true"))
        .bearer_auth(&za)
        .json(&body_of(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    let again: Value = resp.json().await.unwrap();
    assert_eq!(
        crate::helpers::keys(&again["ledger"]),
        crate::helpers::PROVEN
    );
    assert_eq!(again["ledger"]["index"], answer["ledger"]["index"]);
    assert_eq!(app.ledger_size(), size + 1);

    // A reused number: another certificate signed for the same (now taken) number.
    let reused = sign(&n, &za_request(), &key);
    let (got, answer) = submit(&app, &za, &body_of(&reused)).await;
    assert_eq!(got, 409, "{answer}");
    assert_eq!(answer["error"], "number_taken");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("ZA-2026-000002"));
    assert_eq!(app.ledger_size(), size + 1);

    // The recorded certificate verifies online, by its QR seal and for its parties.
    let verdict: Value = app
        .client
        .post(app.url("/v1/verify"))
        .json(&json!({"qr": answer_qr(&app, &za).await}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["verdict"], "valid", "{verdict}");
    assert_eq!(
        verdict["certificate"]["issuer"]["authority_id"], "ZA-A1",
        "{verdict}"
    );

    // The next number moved on, and the audit of the ledger passes with the certificate's
    // signatures checked against ZA's registered key.
    assert_eq!(next(&app, &za).await.number, "ZA-2026-000002");
    let report = app.audit(&app.full_export());
    assert_eq!(report.records, 1, "{report:?}");
    app.stop().await;
}

/// The QR text of ZA-2026-000001, read by its issuer.
async fn answer_qr(app: &TestApp, token: &str) -> String {
    let v: Value = app
        .get_as("/v1/certificates/ZA-2026-000001", token)
        .await
        .json()
        .await
        .unwrap();
    v["qr"].as_str().unwrap().to_owned()
}
