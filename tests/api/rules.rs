//! Every issuance rule, each with a failing request: the right status, a JSON body naming each
//! problem, and nothing written (no entry, no number consumed).

use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app, TestApp};

/// Sends `body` with `token` and checks the status and the exact set of problem fields.
async fn expect_rejected(app: &TestApp, token: &str, body: &Value, status: u16, fields: &[&str]) {
    let before = app.ledger_size();
    let resp = app.issue_with(token, body).await;
    assert_eq!(resp.status(), status, "{body}");
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["error"].is_string() && err["message"].is_string(),
        "{err}"
    );
    let mut got: Vec<String> = err["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{err}");
    assert_eq!(
        app.ledger_size(),
        before,
        "a rejected request writes nothing"
    );
}

fn with(path: &[&str], value: Value) -> Value {
    let mut body = example_request();
    let mut at = &mut body;
    for key in &path[..path.len() - 1] {
        at = match key.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[*key],
        };
    }
    let last = path[path.len() - 1];
    if value.is_null() {
        at.as_object_mut().unwrap().remove(last);
    } else {
        at[last] = value;
    }
    body
}

#[tokio::test]
async fn invalid_requests_are_422_with_every_problem_and_consume_no_number() {
    let app = spawn_app();
    let bw = app.bw.1.clone();
    let item =
        |hs: &str, ct: &str, usd: &str| json!({"hs_code": hs, "carats": ct, "value_usd": usd});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        // destination: a KP participant other than the issuer
        (with(&["destination"], json!("KE")), vec!["destination"]),
        (with(&["destination"], json!("BW")), vec!["destination"]),
        (with(&["destination"], json!("ae")), vec!["destination"]),
        (with(&["destination"], Value::Null), vec!["destination"]),
        // origin: valid ISO 3166-1 alpha-2 codes; one country unless mixed
        (
            with(&["origin"], json!({"countries": ["XX"]})),
            vec!["origin.countries[0]"],
        ),
        (
            with(&["origin"], json!({"countries": ["EU"]})),
            vec!["origin.countries[0]"],
        ),
        (
            with(&["origin"], json!({"countries": ["BW", "ZA"]})),
            vec!["origin.countries"],
        ),
        (
            with(
                &["origin"],
                json!({"mixed": true, "countries": ["ZA", "ZA"]}),
            ),
            vec!["origin.countries[1]"],
        ),
        (
            with(&["origin"], json!({"mixed": "yes", "countries": []})),
            vec!["origin.mixed"],
        ),
        // HS codes: only the three, each at most once, at least one item
        (
            with(&["items"], json!([item("7102.99", "1.00", "1.00")])),
            vec!["items[0].hs_code"],
        ),
        (
            with(
                &["items"],
                json!([
                    item("7102.10", "1.00", "1.00"),
                    item("7102.10", "2.00", "2.00")
                ]),
            ),
            vec!["items[1].hs_code"],
        ),
        (with(&["items"], json!([])), vec!["items"]),
        // carats > 0 with at most 2 decimals; value_usd >= 0 with at most 2 decimals
        (
            with(&["items"], json!([item("7102.10", "0", "1.00")])),
            vec!["items[0].carats"],
        ),
        (
            with(&["items"], json!([item("7102.10", "0.001", "1.00")])),
            vec!["items[0].carats"],
        ),
        (
            with(&["items"], json!([item("7102.10", "1.00", "-1.00")])),
            vec!["items[0].value_usd"],
        ),
        (
            with(&["items"], json!([item("7102.10", "1.00", "1.005")])),
            vec!["items[0].value_usd"],
        ),
        (
            with(
                &["items"],
                json!([{"hs_code": "7102.10", "carats": 1.5, "value_usd": "1.00"}]),
            ),
            vec!["items[0].carats"],
        ),
        // parcels >= 1
        (with(&["parcels"], json!(0)), vec!["parcels"]),
        (with(&["parcels"], json!(-3)), vec!["parcels"]),
        (with(&["parcels"], json!(2.5)), vec!["parcels"]),
        (with(&["parcels"], json!("3")), vec!["parcels"]),
        // expiry after the issue date and within the authority's maximum validity (90 days)
        (
            with(&["expires_on"], json!("2020-01-01")),
            vec!["expires_on"],
        ),
        (
            with(&["expires_on"], json!("2099-01-01")),
            vec!["expires_on"],
        ),
        (
            with(&["expires_on"], json!("2027-02-30")),
            vec!["expires_on"],
        ),
        // names and addresses non-empty and bounded
        (
            with(&["exporter", "name"], json!("")),
            vec!["exporter.name"],
        ),
        (
            with(&["importer", "address"], json!("x".repeat(301))),
            vec!["importer.address"],
        ),
        (
            with(&["exporter", "name"], json!(" Padded")),
            vec!["exporter.name"],
        ),
        (with(&["importer"], Value::Null), vec!["importer"]),
        // unknown fields rejected at every level
        (with(&["colour"], json!("D")), vec!["colour"]),
        (
            with(&["exporter", "phone"], json!("+267")),
            vec!["exporter.phone"],
        ),
        (
            with(&["items", "0", "clarity"], json!("VS1")),
            vec!["items[0].clarity"],
        ),
        // several problems at once are all reported
        (
            json!({"destination": "BW", "parcels": 0, "items": [], "unknown": 1}),
            vec![
                "exporter",
                "importer",
                "destination",
                "origin",
                "parcels",
                "items",
                "unknown",
            ],
        ),
    ];
    for (body, fields) in &cases {
        expect_rejected(&app, &bw, body, 422, fields).await;
    }
    // No number was consumed by any of them.
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["number"].as_str().unwrap().ends_with("-000001"),
        "{body}"
    );
}

#[tokio::test]
async fn namibia_is_a_country_not_a_missing_value() {
    let app = spawn_app();
    let body = with(&["destination"], json!("NA"));
    let body = {
        let mut b = body;
        b["origin"] = json!({"countries": ["NA"]});
        b
    };
    let resp = app.issue(&body).await;
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    assert_eq!(issued["certificate"]["destination"], "NA");
    assert_eq!(issued["certificate"]["origin"]["countries"], json!(["NA"]));
    let mut mixed = example_request();
    mixed["origin"] = json!({"mixed": true, "countries": []});
    assert_eq!(
        app.issue(&mixed).await.status(),
        201,
        "mixed origin with no known country"
    );
}

#[tokio::test]
async fn an_authority_issues_only_for_its_own_participant() {
    let app = spawn_app();
    let bw = app.bw.1.clone();
    let mut body = example_request();
    body["issuer"] = json!("ZA");
    expect_rejected(&app, &bw, &body, 403, &[]).await;
    body["issuer"] = json!("BW");
    assert_eq!(app.issue(&body).await.status(), 201);
    // The AE authority's certificates carry AE, whatever the shipment says.
    let mut to_bw = example_request();
    to_bw["destination"] = json!("BW");
    to_bw["issuer"] = json!("BW");
    expect_rejected(&app, &app.ae.1.clone(), &to_bw, 403, &[]).await;
}

#[tokio::test]
async fn authentication_media_type_size_and_syntax_errors() {
    let app = spawn_app();
    let mut before = app.ledger_size();
    let url = app.url("/v1/certificates");

    let resp = app
        .client
        .post(&url)
        .json(&example_request())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "no token");
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "unauthorized");

    for bad in ["kpat_wrong", "", &app.bw.1[..app.bw.1.len() - 1]] {
        let resp = app.issue_with(bad, &example_request()).await;
        assert_eq!(resp.status(), 401, "token {bad:?}");
    }
    let resp = app
        .client
        .post(&url)
        .header("authorization", format!("Basic {}", app.bw.1))
        .json(&example_request())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "wrong scheme");

    let resp = app
        .client
        .post(&url)
        .bearer_auth(&app.bw.1)
        .header("content-type", "text/plain")
        .body(example_request().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "unsupported_media_type"
    );
    // JSON is UTF-8 (RFC 8259): a body labelled with another charset is refused, not read as
    // UTF-8 anyway; UTF-8 itself may be named, in any case, quoted or not.
    let size = app.ledger_size();
    for (content_type, status) in [
        ("application/json; charset=latin1", 415),
        ("application/json;charset=\"iso-8859-1\"", 415),
        ("application/json; charset=UTF-16", 415),
        ("application/json; charset=utf-8", 201),
        ("application/json; charset=\"UTF-8\"", 201),
    ] {
        let resp = app
            .client
            .post(&url)
            .bearer_auth(&app.bw.1)
            .header("content-type", content_type)
            .body(example_request().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{content_type}");
        if status == 415 {
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["error"], "unsupported_media_type", "{v}");
            assert!(v["message"].as_str().unwrap().contains("UTF-8"), "{v}");
        }
    }
    assert_eq!(
        app.ledger_size(),
        size + 2,
        "only the UTF-8 bodies were recorded"
    );
    before += 2;

    let mut huge = example_request();
    huge["exporter"]["name"] = json!("x".repeat(100 * 1024));
    let resp = app.issue(&huge).await;
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );

    let duplicated = example_request().to_string().replacen(
        "\"destination\":\"AE\"",
        "\"destination\":\"AE\",\"destination\":\"KE\"",
        1,
    );
    assert!(duplicated.contains("\"KE\""));
    for raw in ["{not json", "[1,2]", "\"text\"", "", duplicated.as_str()] {
        let resp = app
            .client
            .post(&url)
            .bearer_auth(&app.bw.1)
            .header("content-type", "application/json")
            .body(raw.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{raw:?}");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "bad_request");
    }
    assert_eq!(app.ledger_size(), before, "nothing was written");
}

#[tokio::test]
async fn public_reads_are_rate_limited_per_client() {
    let app = crate::helpers::spawn_app_with(kpcert::http::Options {
        public_rate_limit: 2.0,
        ..Default::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(app.get("/v1/ledger/checkpoint").await.status().as_u16());
    }
    assert!(statuses.iter().take(4).all(|s| *s == 200), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let resp = app.get("/v1/ledger/checkpoint").await;
    if resp.status() == 429 {
        assert_eq!(resp.headers()["retry-after"], "1");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"], "rate_limited");
    }
}
