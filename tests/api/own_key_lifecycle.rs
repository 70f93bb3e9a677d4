//! The lifecycle of authorities that keep their own key, through the running server: ZA (own
//! key) issues to AE, whose own-key authority confirms what arrived with a confirmation it
//! signed itself; ZA voids and replaces with voids and certificates it signed itself. Each
//! forged or mismatched submission is refused with the field named and nothing written; the
//! same signed bytes sent again answer the recorded event; verdicts and the audit see the
//! events as they see the service's own.

use kpcert::codec::lifecycle::{confirm, void};
use kpcert::codec::text::{base64, hex};
use kpcert::crypto::SigningKey;
use kpcert::domain::{
    Arrival, ArrivalLine, CertificateNumber, Date, HsCode, Hundredths, SignedConfirmation, Void,
};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_on, TestApp};
use crate::own_key::{body_of, fields, next, register_za, sign, submit, za_request};

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value, bool) {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let replayed = resp.headers().contains_key("idempotent-replayed");
    (status, resp.json().await.unwrap_or(Value::Null), replayed)
}

/// Registers an AE authority with its own key; returns (id, token).
async fn register_ae(app: &TestApp, key: &SigningKey) -> (String, String) {
    let resp = app
        .client
        .post(app.url("/v1/admin/authorities"))
        .bearer_auth(&app.secretariat)
        .json(
            &json!({"participant": "AE", "name": "Dubai Kimberley Process Office",
                      "public_key": hex(&key.public_key().to_bytes())}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    (
        v["authority"]["authority_id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

fn arrival_of(number: &str, received_on: &str, parcels: u32, salt: [u8; 16]) -> Arrival {
    Arrival {
        number: CertificateNumber::parse(number).unwrap(),
        received_on: Date::parse(received_on).unwrap(),
        parcels,
        items: vec![ArrivalLine {
            hs_code: HsCode::Unsorted,
            carats: Hundredths::parse("1520.35").unwrap(),
        }],
        remarks: String::new(),
        salt,
    }
}

fn confirmation_body(c: &SignedConfirmation) -> Value {
    json!({
        "arrival": base64(&c.record.as_ref().unwrap().canonical),
        "confirmation": base64(&c.signed),
        "signature": base64(&c.signature),
    })
}

fn void_body(key: &SigningKey, v: Void) -> Value {
    let signed = void(v, |m| key.sign(m));
    json!({"void": base64(&signed.signed), "signature": base64(&signed.signature)})
}

#[tokio::test]
async fn own_key_authorities_confirm_void_and_replace_with_what_they_signed() {
    let (app, clock) = spawn_app_on("2026-06-01");
    let za_key = SigningKey::generate();
    let za = register_za(&app, &za_key).await;
    let ae_key = SigningKey::generate();
    let (ae_id, ae) = register_ae(&app, &ae_key).await;
    let ae_key_id = ae_key.public_key().key_id();
    let za_key_id = za_key.public_key().key_id();

    // ZA issues three certificates to AE, each signed on its side.
    let za_id = next(&app, &za).await.issuer.authority_id.clone();
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let n = next(&app, &za).await;
        let (s, v) = submit(&app, &za, &body_of(&sign(&n, &za_request(), &za_key))).await;
        assert_eq!(s, 201, "{v}");
        numbers.push(v["number"].as_str().unwrap().to_owned());
    }
    let [c1, c2, c3] = numbers.try_into().unwrap();
    clock.advance_days(1);
    let path = |n: &str, what: &str| format!("/v1/certificates/{n}/{what}");

    // The server cannot sign for AE: it holds no key of it.
    let (s, v, _) = post(
        &app,
        &path(&c1, "import-confirmation"),
        &ae,
        &json!({"received_on": "2026-06-02", "parcels": 3,
                "items": [{"hs_code": "7102.10", "carats": "1520.35"}]}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("no_signing_key")),
        "{v}"
    );

    // AE confirms C1 with what it signed: two parcels instead of three, recorded as found.
    let good = confirm(
        arrival_of(&c1, "2026-06-02", 2, kpcert::crypto::random_bytes()),
        &ae_id,
        ae_key_id,
        Vec::new(),
        |m| ae_key.sign(m),
    );
    // Each forged or mismatched confirmation is refused, the field named, nothing written.
    let size = app.ledger_size();
    let other = SigningKey::generate();
    let forged = confirm(
        arrival_of(&c1, "2026-06-02", 2, kpcert::crypto::random_bytes()),
        &ae_id,
        ae_key_id,
        Vec::new(),
        |m| other.sign(m),
    );
    let as_za = confirm(
        arrival_of(&c1, "2026-06-02", 2, kpcert::crypto::random_bytes()),
        &za_id,
        ae_key_id,
        Vec::new(),
        |m| ae_key.sign(m),
    );
    let constant_salt = confirm(
        arrival_of(&c1, "2026-06-02", 2, [7; 16]),
        &ae_id,
        ae_key_id,
        Vec::new(),
        |m| ae_key.sign(m),
    );
    let future = confirm(
        arrival_of(&c1, "2026-06-09", 2, kpcert::crypto::random_bytes()),
        &ae_id,
        ae_key_id,
        Vec::new(),
        |m| ae_key.sign(m),
    );
    let about_c2 = confirm(
        arrival_of(&c2, "2026-06-02", 2, kpcert::crypto::random_bytes()),
        &ae_id,
        ae_key_id,
        Vec::new(),
        |m| ae_key.sign(m),
    );
    let mut swapped = confirmation_body(&good);
    swapped["arrival"] = confirmation_body(&forged)["arrival"].clone();
    let cases: Vec<(Value, &str, &str)> = vec![
        (confirmation_body(&forged), "signature", "does not verify"),
        (
            confirmation_body(&as_za),
            "confirmation",
            "authority_id is ZA-",
        ),
        (confirmation_body(&constant_salt), "arrival", "salt"),
        (confirmation_body(&future), "arrival", "after today"),
        (confirmation_body(&about_c2), "arrival", "is about"),
        (swapped, "confirmation", "arrival_hash"),
        (
            json!({"arrival": "AA==", "confirmation": "n*pe", "signature": "AA=="}),
            "confirmation",
            "base64",
        ),
    ];
    for (body, field, says) in cases {
        let (s, v, _) = post(&app, &path(&c1, "import-confirmation/signed"), &ae, &body).await;
        assert_eq!(s, 422, "{field}: {v}");
        assert!(fields(&v).contains(&field.to_owned()), "{field}: {v}");
        assert!(v.to_string().contains(says), "{says}: {v}");
    }
    // ZA may not confirm a certificate sent to AE, even with a well-formed signed body.
    let (s, v, _) = post(
        &app,
        &path(&c1, "import-confirmation/signed"),
        &za,
        &confirmation_body(&good),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(
        app.ledger_size(),
        size,
        "a refused submission wrote something"
    );

    let (s, v, replayed) = post(
        &app,
        &path(&c1, "import-confirmation/signed"),
        &ae,
        &confirmation_body(&good),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert!(!replayed);
    assert_eq!(v["state"], "imported", "{v}");
    assert_eq!(v["event"]["actor"], ae_id.as_str(), "{v}");
    assert_eq!(
        v["event"]["arrival"]["discrepancies"][0]["kind"], "parcels",
        "{v}"
    );
    let after = app.ledger_size();
    // The same signed confirmation again is the recorded one; a new one is a second: 409.
    let (s, v, replayed) = post(
        &app,
        &path(&c1, "import-confirmation/signed"),
        &ae,
        &confirmation_body(&good),
    )
    .await;
    assert_eq!((s, replayed), (201, true), "{v}");
    let again = confirm(
        arrival_of(&c1, "2026-06-02", 3, kpcert::crypto::random_bytes()),
        &ae_id,
        ae_key_id,
        Vec::new(),
        |m| ae_key.sign(m),
    );
    let (s, v, _) = post(
        &app,
        &path(&c1, "import-confirmation/signed"),
        &ae,
        &confirmation_body(&again),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(app.ledger_size(), after);

    // ZA voids C2 with a void it signed; a void of a confirmed certificate is 409, a void that
    // names a replacement outside a replacement is 422.
    let void_of = |number: &str, replaced_by: Option<&str>| Void {
        number: CertificateNumber::parse(number).unwrap(),
        authority_id: za_id.clone(),
        key_id: za_key_id,
        reason: "the exporter's address was wrong".into(),
        replaced_by: replaced_by.map(|n| CertificateNumber::parse(n).unwrap()),
    };
    let (s, v, _) = post(
        &app,
        &path(&c1, "void/signed"),
        &za,
        &void_body(&za_key, void_of(&c1, None)),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let (s, v, _) = post(
        &app,
        &path(&c2, "void/signed"),
        &za,
        &void_body(&za_key, void_of(&c2, Some(&c3))),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("replaced_by"), "{v}");
    let (s, v, _) = post(
        &app,
        &path(&c2, "void/signed"),
        &za,
        &void_body(&other, void_of(&c2, None)),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"signature".to_owned()), "{v}");
    let (s, v, _) = post(
        &app,
        &path(&c2, "void/signed"),
        &ae,
        &void_body(&za_key, void_of(&c2, None)),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(app.ledger_size(), after);
    let good_void = void_body(&za_key, void_of(&c2, None));
    let (s, v, _) = post(&app, &path(&c2, "void/signed"), &za, &good_void).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "void", "{v}");
    let (s, _, replayed) = post(&app, &path(&c2, "void/signed"), &za, &good_void).await;
    assert_eq!((s, replayed), (201, true));

    // A replacement whose certificate the writer refuses (signed yesterday: a certificate is
    // dated the day it is recorded) names the problem under `certificate.`; one whose
    // certificate fails its signature is not also told its void names the wrong number.
    let stale = next(&app, &za).await;
    let stale_certificate = {
        let (input, _) = kpcert::http::parse_issue_request(&za_request()).unwrap();
        let mut c = stale
            .parse()
            .unwrap()
            .certificate(&input, kpcert::crypto::random_bytes())
            .unwrap();
        c.content.replaces = CertificateNumber::parse(&c3);
        kpcert::codec::record::issue(c, |m| za_key.sign(m))
    };
    clock.advance_days(1);
    let mut late = void_body(&za_key, void_of(&c3, Some(&stale.number)));
    late["certificate"] = body_of(&stale_certificate);
    let (s, v, _) = post(&app, &path(&c3, "replace/signed"), &za, &late).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        fields(&v).contains(&"certificate.canonical".to_owned()),
        "{v}"
    );
    let mut forged = late.clone();
    forged["certificate"]["signature"] = json!(base64(&other.sign(b"x")));
    let (s, v, _) = post(&app, &path(&c3, "replace/signed"), &za, &forged).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        fields(&v).contains(&"certificate.signature".to_owned()),
        "{v}"
    );
    assert!(!v.to_string().contains("replaced_by"), "{v}");

    // ZA replaces C3: the next certificate, stating what it replaces, and the void naming it.
    let n = next(&app, &za).await;
    let new_number = n.number.clone();
    let mut request = za_request();
    request["parcels"] = json!(4);
    let certificate = {
        let (input, _) = kpcert::http::parse_issue_request(&request).unwrap();
        let mut c = n
            .parse()
            .unwrap()
            .certificate(&input, kpcert::crypto::random_bytes())
            .unwrap();
        c.content.replaces = CertificateNumber::parse(&c3);
        kpcert::codec::record::issue(c, |m| za_key.sign(m))
    };
    let unstated = sign(&n, &request, &za_key);
    let mut bad = void_body(&za_key, void_of(&c3, Some(&new_number)));
    bad["certificate"] = body_of(&unstated);
    let (s, v, _) = post(&app, &path(&c3, "replace/signed"), &za, &bad).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        fields(&v).contains(&"certificate.canonical".to_owned()),
        "{v}"
    );
    let mut missing = void_body(&za_key, void_of(&c3, Some(&new_number)));
    let (s, v, _) = post(&app, &path(&c3, "replace/signed"), &za, &missing).await;
    assert_eq!(s, 422, "{v}");
    assert!(fields(&v).contains(&"certificate".to_owned()), "{v}");
    missing["certificate"] = body_of(&certificate);
    let mut unnamed = missing.clone();
    unnamed["void"] = void_body(&za_key, void_of(&c3, None))["void"].clone();
    unnamed["signature"] = void_body(&za_key, void_of(&c3, None))["signature"].clone();
    let (s, v, _) = post(&app, &path(&c3, "replace/signed"), &za, &unnamed).await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("replaced_by"), "{v}");
    let size = app.ledger_size();
    let (s, v, _) = post(&app, &path(&c3, "replace/signed"), &za, &missing).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(app.ledger_size(), size + 2);
    assert_eq!(v["state"], "void", "{v}");
    assert_eq!(v["replacement"]["number"], new_number.as_str(), "{v}");
    let (s, v) = {
        let resp = app.get_as(&format!("/v1/certificates/{c3}"), &za).await;
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    assert_eq!(s, 200);
    assert!(
        v.to_string()
            .contains(&format!("\"replaced_by\":\"{new_number}\"")),
        "{v}"
    );
    let (s, v, replayed) = post(&app, &path(&c3, "replace/signed"), &za, &missing).await;
    assert_eq!((s, replayed), (201, true));
    assert_eq!(v["replacement"]["number"], new_number.as_str(), "{v}");

    // The verdicts at a border, and the audit of every signature against the registered keys.
    for (number, verdict) in [
        (&c1, "imported"),
        (&c2, "void"),
        (&c3, "void"),
        (&new_number, "valid"),
    ] {
        let v: Value = app
            .get_as(&format!("/v1/certificates/{number}"), &za)
            .await
            .json()
            .await
            .unwrap();
        let qr = v["qr"].as_str().unwrap();
        let online = app.app.verify_qr(qr).unwrap();
        assert_eq!(online.verdict.as_str(), verdict, "{number}");
    }
    // (app.audit panics unless the audit passes.)
    let report = app.audit(&app.full_export());
    assert_eq!(report.entries, app.ledger_size(), "{report:?}");
    assert!(report.records >= 5, "{report:?}");
    app.stop().await;
}
