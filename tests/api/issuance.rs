//! Issuing and reading certificates over HTTPS.

use kpcert::codec::decode_certificate;
use kpcert::crypto::{hex, sha256};
use kpcert::tlog::merkle;
use kpcert::tlog::NoteVerifier;
use serde_json::Value;

use crate::helpers::{b64, example_request, keys, spawn_app, LEAN, PROVEN};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app();
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn issuing_returns_a_numbered_signed_certificate_that_can_be_read_back() {
    let app = spawn_app();
    let size_before = app.ledger_size();
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    let number = body["number"].as_str().unwrap();
    assert!(number.starts_with("BW-"), "{number}");
    assert!(number.ends_with("-000001"), "{number}");
    assert_eq!(location, format!("/v1/certificates/{number}"));

    // The hash is SHA-256 of exactly the canonical bytes, which decode to what was asked.
    let canonical = b64(body["canonical"].as_str().unwrap());
    assert_eq!(body["hash"].as_str().unwrap(), hex(&sha256(&canonical)));
    let cert = decode_certificate(&canonical).unwrap();
    assert_eq!(cert.number.as_str(), number);
    assert_eq!(cert.issuer.participant.as_str(), "BW");
    assert_eq!(cert.issuer.authority_id, app.bw.0);
    assert_eq!(cert.content.items[0].carats.to_string(), "1520.35");

    // The signature verifies with the authority's registered key, and only over those bytes.
    let authority = app
        .app
        .authorities()
        .into_iter()
        .find(|a| a.id == app.bw.0)
        .unwrap();
    let signature = b64(body["signature"].as_str().unwrap());
    assert_eq!(
        body["key_id"].as_str().unwrap(),
        authority.key_id().to_string()
    );
    // The signature is over the issuance, which commits to the canonical certificate.
    let issuance = b64(body["issuance"].as_str().unwrap());
    assert!(authority.public_key.verify_strict(&issuance, &signature));
    let decoded = kpcert::codec::decode_issuance(&issuance).unwrap();
    assert_eq!(decoded.certificate_hash, kpcert::crypto::sha256(&canonical));
    assert_eq!(decoded.number.as_str(), body["number"].as_str().unwrap());
    let mut tampered = issuance.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(!authority.public_key.verify_strict(&tampered, &signature));

    // Everything as issued, amounts as exact decimal strings.
    let c = &body["certificate"];
    assert_eq!(c["issuer"]["participant"], "BW");
    assert_eq!(
        c["issuer"]["authority_name"],
        "Ministry of Minerals, Botswana"
    );
    assert_eq!(c["destination"], "AE");
    assert_eq!(c["parcels"], 3);
    assert_eq!(c["items"][0]["value_usd"], "845000.00");
    assert_eq!(c["totals"]["carats"], "1520.35");
    assert_eq!(c["totals"]["value_usd"], "845000.00");
    assert_eq!(c["exporter"]["address"], "Plot 123, Gaborone, Botswana");
    let issued_on = c["issued_on"].as_str().unwrap();
    let expires_on = c["expires_on"].as_str().unwrap();
    let days = kpcert::domain::Date::parse(expires_on).unwrap().days()
        - kpcert::domain::Date::parse(issued_on).unwrap().days();
    assert_eq!(
        days, 60,
        "default validity is the authority's policy, 60 days"
    );

    // The answer says where the entry is: its index, time and the size of its commit's tree;
    // the entry and its proof only when asked for.
    assert_eq!(app.ledger_size(), size_before + 1);
    let ledger = &body["ledger"];
    let index = ledger["index"].as_u64().unwrap();
    assert_eq!(index, size_before);
    assert_eq!(keys(ledger), LEAN, "{ledger}");
    assert_eq!(
        ledger["tree_size"].as_u64().unwrap(),
        index + 1,
        "its commit's tree"
    );

    // Asked for (`?proof=true`): the entry under the signed checkpoint of its commit, with a
    // proof that verifies.
    let post_with = |query: &str| {
        app.client
            .post(app.url(&format!("/v1/certificates{query}")))
            .bearer_auth(&app.bw.1)
            .json(&example_request())
            .send()
    };
    let resp = post_with("?proof=true").await.unwrap();
    assert_eq!(resp.status(), 201);
    let body_proven: Value = resp.json().await.unwrap();
    let ledger = &body_proven["ledger"];
    assert_eq!(keys(ledger), PROVEN, "{ledger}");
    let index_proven = ledger["index"].as_u64().unwrap();
    assert_eq!(index_proven, index + 1);
    let verifier = NoteVerifier::parse(&app.app.ledger_verifier().to_string()).unwrap();
    let checkpoint = verifier
        .open(ledger["checkpoint"].as_str().unwrap())
        .unwrap();
    assert_eq!(checkpoint.size, ledger["tree_size"].as_u64().unwrap());
    assert!(checkpoint.size > index_proven);
    let entry_bytes = app.app.ledger().entry(index_proven).unwrap().unwrap();
    assert_eq!(b64(ledger["entry"].as_str().unwrap()), entry_bytes);
    let proof: Vec<[u8; 32]> = ledger["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()).try_into().unwrap())
        .collect();
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry_bytes),
        index_proven,
        checkpoint.size,
        &proof,
        &checkpoint.root,
    )
    .unwrap();
    assert!(ledger["tlog_proof"]
        .as_str()
        .unwrap()
        .starts_with(&format!("c2sp.org/tlog-proof@v1\nindex {index_proven}\n")));

    // `proof` is true or false, given once; anything else is refused before anything is
    // written.
    let size = app.ledger_size();
    for query in [
        "?proof=yes",
        "?proof=1",
        "?proof=",
        "?proof=true&proof=true",
        "?proof=false&proof=true",
    ] {
        let resp = post_with(query).await.unwrap();
        assert_eq!(resp.status(), 400, "{query}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"], "bad_request", "{query}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains("proof"),
            "{query}: {err}"
        );
        assert_eq!(app.ledger_size(), size, "{query}: nothing written");
    }
    let resp = post_with("?proof=false").await.unwrap();
    assert_eq!(resp.status(), 201);
    let lean: Value = resp.json().await.unwrap();
    assert_eq!(keys(&lean["ledger"]), LEAN, "{lean}");

    // Reading it back gives the same record.
    let resp = app
        .get_as(&format!("/v1/certificates/{number}"), &app.bw.1)
        .await;
    assert_eq!(resp.status(), 200);
    let read: Value = resp.json().await.unwrap();
    for field in [
        "number",
        "hash",
        "signature",
        "key_id",
        "canonical",
        "certificate",
    ] {
        assert_eq!(read[field], body[field], "{field}");
    }
    assert_eq!(read["ledger"]["index"], index);
    assert_eq!(read["ledger"]["time"], body["ledger"]["time"]);
    assert_eq!(keys(&read["ledger"]), PROVEN, "a look-up is proven: {read}");
}

#[tokio::test]
async fn unknown_numbers_are_404_with_a_json_body() {
    let app = spawn_app();
    for number in ["BW-2026-999999", "nonsense", &"X".repeat(200)] {
        let resp = app
            .get_as(&format!("/v1/certificates/{number}"), &app.bw.1)
            .await;
        assert_eq!(resp.status(), 404, "{number}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
    }
}

#[tokio::test]
async fn each_participant_numbers_its_own_certificates() {
    let app = spawn_app();
    let mut to_bw = example_request();
    to_bw["destination"] = "BW".into();
    to_bw["origin"] = serde_json::json!({"mixed": true, "countries": ["BW", "ZA", "NA"]});
    for (token, prefix) in [(&app.eu.1, "EU-"), (&app.ae.1, "AE-"), (&app.eu.1, "EU-")] {
        let resp = app.issue_with(token, &to_bw).await;
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        assert!(body["number"].as_str().unwrap().starts_with(prefix));
        assert_eq!(
            body["certificate"]["origin"]["countries"],
            serde_json::json!(["BW", "NA", "ZA"])
        );
    }
    let resp = app.issue(&example_request()).await;
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["number"].as_str().unwrap().ends_with("-000001"),
        "BW starts at 1"
    );
}

#[tokio::test]
async fn sixteen_concurrent_clients_get_distinct_numbers_and_every_201_is_stored() {
    let app = spawn_app();
    let before = app.ledger_size();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = app.client.clone();
        let url = app.url("/v1/certificates");
        let token = if i % 2 == 0 {
            app.bw.1.clone()
        } else {
            app.eu.1.clone()
        };
        let mut body = example_request();
        if i % 2 == 1 {
            body["destination"] = "IN".into();
        }
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            resp.json::<Value>().await.unwrap()
        }));
    }
    let mut numbers = std::collections::BTreeSet::new();
    let mut indexes = std::collections::BTreeSet::new();
    for t in tasks {
        let body = t.await.unwrap();
        numbers.insert(body["number"].as_str().unwrap().to_owned());
        indexes.insert(body["ledger"]["index"].as_u64().unwrap());
    }
    assert_eq!(numbers.len(), 16, "distinct numbers");
    assert_eq!(indexes.len(), 16, "distinct ledger entries");
    assert_eq!(app.ledger_size(), before + 16);
    for number in &numbers {
        let resp = app
            .get_as(&format!("/v1/certificates/{number}"), &app.monitor)
            .await;
        assert_eq!(resp.status(), 200, "{number} is stored");
    }
    app.stop().await;
}

async fn issue_with_key(
    app: &crate::helpers::TestApp,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/certificates"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_issues_once() {
    let app = spawn_app();
    let bw = app.bw.1.clone();
    let before = app.ledger_size();
    let first = issue_with_key(&app, &bw, "shipment-0042", &example_request()).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = issue_with_key(&app, &bw, "shipment-0042", &example_request()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["number"], first["number"]);
    assert_eq!(again["hash"], first["hash"]);
    assert_eq!(app.ledger_size(), before + 1, "the retry wrote nothing");
    // A retry answers as the request asks: lean, or with the entry's proof (read back from the
    // ledger and proven against the latest checkpoint).
    assert_eq!(keys(&first["ledger"]), LEAN);
    assert_eq!(keys(&again["ledger"]), LEAN);
    let proven: Value = app
        .client
        .post(app.url("/v1/certificates?proof=true"))
        .bearer_auth(&bw)
        .header("Idempotency-Key", "shipment-0042")
        .json(&example_request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(proven["number"], first["number"]);
    assert_eq!(keys(&proven["ledger"]), PROVEN, "{proven}");
    assert_eq!(proven["ledger"]["index"], first["ledger"]["index"]);
    assert_eq!(app.ledger_size(), before + 1, "the retry wrote nothing");

    // The same key with another body is refused and writes nothing.
    let mut other = example_request();
    other["parcels"] = 4.into();
    let resp = issue_with_key(&app, &bw, "shipment-0042", &other).await;
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"], "idempotency_key_reused");
    assert_eq!(err["problems"][0]["field"], "Idempotency-Key");
    assert_eq!(app.ledger_size(), before + 1);

    // Keys belong to one authority; a bad key is a 400.
    let mut to_bw = example_request();
    to_bw["destination"] = "BW".into();
    let resp = issue_with_key(&app, &app.eu.1.clone(), "shipment-0042", &to_bw).await;
    assert_eq!(resp.status(), 201);
    let resp = issue_with_key(&app, &bw, &"k".repeat(129), &example_request()).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(app.ledger_size(), before + 2);
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_create_one_certificate() {
    let app = spawn_app();
    let before = app.ledger_size();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/v1/certificates"),
            app.bw.1.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "same-shipment")
                .json(&example_request())
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }));
    }
    let mut numbers = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(status == 201 || status == 409, "{status} {body}");
        if status == 201 {
            numbers.insert(body["number"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    assert_eq!(app.ledger_size(), before + 1);
}

/// Certificates are numbered and signed on the requests' threads and the writer uses them only
/// while each is still the next serial: requests refused on the writer (here, idempotency keys
/// already claimed) leave holes in the reservations, never in the ledger. Whatever the
/// interleaving, the serials stay 1, 2, 3... and the ledger audits.
#[tokio::test]
async fn presigned_certificates_keep_serials_gap_free_when_some_are_refused_on_the_writer() {
    let app = spawn_app();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/v1/certificates"),
            app.bw.1.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut req = client.post(url).bearer_auth(token).json(&example_request());
            if i % 3 == 0 {
                // A third share four keys: all but the first of each are refused on the writer.
                req = req.header("Idempotency-Key", format!("shared-{}", i % 4));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }));
    }
    let mut serials = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(status == 201 || status == 409, "{status} {body}");
        if status == 201 && body["number"].is_string() {
            let number = body["number"].as_str().unwrap().to_owned();
            serials.push(number.rsplit('-').next().unwrap().parse::<u64>().unwrap());
        }
    }
    serials.sort_unstable();
    serials.dedup();
    let expected: Vec<u64> = (1..=serials.len() as u64).collect();
    assert_eq!(serials, expected, "serials are gap-free");
    assert!(
        serials.len() >= 32 + 4 - 1,
        "{} certificates",
        serials.len()
    );
    let report = app.audit(&app.full_export());
    assert_eq!(report.certificates, serials.len() as u64);
}

/// The fast path is taken: certificates issued one after the other are the ones signed on the
/// request's thread (a regression to "always signed on the writer" would pass every other test).
#[tokio::test]
async fn certificates_issued_one_by_one_are_the_ones_signed_before_the_writer() {
    let app = spawn_app();
    let presigned = || {
        let text = kpcert::metrics::global().render(0, 0);
        text.lines()
            .find_map(|l| l.strip_prefix("kpcert_issuance_presigned_total "))
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = presigned();
    for _ in 0..3 {
        assert_eq!(app.issue(&example_request()).await.status(), 201);
    }
    // The counter is the process's; other tests only add to it.
    assert!(presigned() >= before + 3, "{} -> {}", before, presigned());
}
