//! A certificate's life after issuance, scripted against the real server: import confirmations
//! with and without discrepancies, a void, a replacement, re-exports with provenance and an
//! over-drawn one; the verdicts online and offline (from the trust bundle) against one table;
//! every refusal writes nothing; and tampering with any new entry of a full export is found by
//! the audit with its index.

use kpcert::codec::trust::TrustBundle;
use kpcert::verify::{verify_qr, Verdict};
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on, TestApp};

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    post_keyed(app, path, token, body, None).await
}

async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = app.client.post(app.url(path)).bearer_auth(token).json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn issue(app: &TestApp, token: &str, body: &Value) -> (String, String) {
    let (status, v) = post(app, "/v1/certificates", token, body).await;
    assert_eq!(status, 201, "{v}");
    (
        v["number"].as_str().unwrap().to_owned(),
        v["qr"].as_str().unwrap().to_owned(),
    )
}

/// Whether an error answer names `code` as a word in its message or problems.
fn names(answer: &Value, code: &str) -> bool {
    let mut text = answer["message"].as_str().unwrap_or_default().to_owned();
    for p in answer["problems"].as_array().into_iter().flatten() {
        text.push(' ');
        text.push_str(p["message"].as_str().unwrap_or_default());
    }
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word == code)
}

fn arrival(received_on: &str, parcels: u32, carats: &str) -> Value {
    json!({"received_on": received_on, "parcels": parcels,
           "items": [{"hs_code": "7102.10", "carats": carats}]})
}

/// An export's frames: each entry with its record.
pub(crate) type Frames = Vec<(Vec<u8>, Vec<u8>)>;

/// Splits a full export into its head (magic, level, note, count) and its frames.
pub(crate) fn split_full(bytes: &[u8]) -> (Vec<u8>, Frames) {
    assert_eq!(&bytes[..16], b"KPCERT-EXPORT-V2");
    assert_eq!(bytes[16], 1, "a full export");
    let note_len = u32::from_be_bytes(bytes[17..21].try_into().unwrap()) as usize;
    let mut at = 21 + note_len;
    let count = u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
    at += 8;
    let head = bytes[..at].to_vec();
    let mut frames = Vec::new();
    for _ in 0..count {
        let mut part = || {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let p = bytes[at + 4..at + 4 + len].to_vec();
            at += 4 + len;
            p
        };
        let entry = part();
        let record = part();
        frames.push((entry, record));
    }
    (head, frames)
}

pub(crate) fn join_full(head: &[u8], frames: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = head.to_vec();
    for (e, r) in frames {
        kpcert::codec::export::Frame::write_into(e, r, &mut out);
    }
    out
}

/// Flips the last byte of the first occurrence of `needle` in `bytes`.
pub(crate) fn flip_in(bytes: &mut [u8], needle: &[u8]) {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the text is there");
    bytes[at + needle.len() - 1] ^= 0x01;
}

#[tokio::test]
async fn a_scripted_history_gives_the_same_verdicts_online_and_offline_and_audits() {
    let (app, clock) = spawn_app_on("2026-12-01");
    let (bw, ae, eu) = (app.bw.1.clone(), app.ae.1.clone(), app.eu.1.clone());
    let bundle_before = app.app.trust_bundle();

    // BW issues five certificates to AE.
    let mut certs = Vec::new();
    for _ in 0..5 {
        certs.push(issue(&app, &bw, &example_request()).await);
    }
    let [c1, c2, c3, c4, c5] = certs.try_into().unwrap();
    clock.advance_days(1);

    // C1 arrives exactly as certified: no discrepancy.
    let path = |n: &str, what: &str| format!("/v1/certificates/{n}/{what}");
    let (s, v) = post(
        &app,
        &path(&c1.0, "import-confirmation"),
        &ae,
        &arrival("2026-12-02", 3, "1520.35"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "imported");
    assert_eq!(v["event"]["arrival"]["discrepancies"], json!([]));
    // C2 arrives short: parcels and carats differ, recorded not refused.
    let (s, v) = post(
        &app,
        &path(&c2.0, "import-confirmation"),
        &ae,
        &arrival("2026-12-02", 2, "1500.00"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let kinds: Vec<&str> = v["event"]["arrival"]["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["parcels", "carats"], "{v}");

    // Refusals write nothing.
    let size = app.ledger_size();
    let (s, v) = post(
        &app,
        &path(&c1.0, "import-confirmation"),
        &ae,
        &arrival("2026-12-02", 3, "1520.35"),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (409, Some("conflict")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("already imported on 2026-12-02"),
        "{v}"
    );
    let (s, v) = post(
        &app,
        &path(&c3.0, "import-confirmation"),
        &bw,
        &arrival("2026-12-02", 3, "1.00"),
    )
    .await;
    assert_eq!(s, 403, "the issuer is not the destination: {v}");
    let (s, v) = post(
        &app,
        &path(&c3.0, "import-confirmation"),
        &eu,
        &arrival("2026-12-02", 3, "1.00"),
    )
    .await;
    assert_eq!(s, 403, "another participant");
    // The refusal does not tell a non-party where the certificate goes (its public entry does
    // not: lifecycle.md section 3), whatever the body.
    assert!(!names(&v, "AE"), "the destination leaks: {v}");
    let (s, v) = post(&app, &path(&c3.0, "import-confirmation"), &eu, &json!({})).await;
    assert_eq!(s, 403, "{v}");
    assert!(!names(&v, "AE"), "the destination leaks: {v}");
    // Nor does citing it in a re-export of another participant.
    let mut cites = example_request();
    cites["destination"] = "BW".into();
    cites["derived_from"] = json!([{"number": c3.0, "carats": "1.00"}]);
    let resp = app.issue_with(&eu, &cites).await;
    let (s, v) = (resp.status().as_u16(), resp.json::<Value>().await.unwrap());
    assert_eq!(s, 422, "{v}");
    assert!(!names(&v, "AE"), "the destination leaks: {v}");
    let (s, v) = post(
        &app,
        &path(&c3.0, "import-confirmation"),
        &ae,
        &json!({"parcels": "3", "items": [], "colour": 1}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for f in ["colour", "parcels", "received_on", "items"] {
        assert!(fields.contains(&f), "{f} in {v}");
    }
    let (s, v) = post(
        &app,
        &path(&c3.0, "import-confirmation"),
        &ae,
        &arrival("2026-11-30", 3, "1.00"),
    )
    .await;
    assert_eq!(s, 422, "arrival before issue: {v}");
    let (s, _) = post(
        &app,
        &path(&c1.0, "void"),
        &bw,
        &json!({"reason": "mistake"}),
    )
    .await;
    assert_eq!(s, 409, "no void after import");
    let (s, _) = post(
        &app,
        &path(&c3.0, "void"),
        &ae,
        &json!({"reason": "mistake"}),
    )
    .await;
    assert_eq!(s, 403, "only the issuing participant voids");
    let (s, _) = post(&app, &path(&c3.0, "void"), &bw, &json!({})).await;
    assert_eq!(s, 422, "a void needs a reason");
    let (s, _) = post(
        &app,
        &path("BW-2026-999999", "void"),
        &bw,
        &json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &path(&c3.0, "void"),
        &app.secretariat,
        &json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 403, "the Secretariat does not void");
    assert_eq!(app.ledger_size(), size, "no refusal wrote anything");

    // C3 is voided (with an idempotency key: the retry replays); then void again, confirm: 409.
    let (s, v) = post_keyed(
        &app,
        &path(&c3.0, "void"),
        &bw,
        &json!({"reason": "Exporter cancelled the sale"}),
        Some("void-c3"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let void_index = v["event"]["index"].as_u64().unwrap();
    let (s, again) = post_keyed(
        &app,
        &path(&c3.0, "void"),
        &bw,
        &json!({"reason": "Exporter cancelled the sale"}),
        Some("void-c3"),
    )
    .await;
    assert_eq!(
        (s, again["event"]["index"].as_u64()),
        (201, Some(void_index))
    );
    let (s, _) = post(&app, &path(&c3.0, "void"), &bw, &json!({"reason": "again"})).await;
    assert_eq!(s, 409);
    let (s, _) = post(
        &app,
        &path(&c3.0, "import-confirmation"),
        &ae,
        &arrival("2026-12-02", 3, "1520.35"),
    )
    .await;
    assert_eq!(s, 409, "a void certificate is not confirmed");

    // C4 is replaced: one atomic batch, links both ways.
    let mut corrected = example_request();
    corrected["importer"]["address"] = "Almas Tower, Floor 12, Dubai, UAE".into();
    let (s, v) = post(
        &app,
        &path(&c4.0, "replace"),
        &bw,
        &json!({"certificate": corrected, "reason": "Typing error in the importer's address"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let c6 = v["replacement"]["number"].as_str().unwrap().to_owned();
    let c6_qr = v["replacement"]["qr"].as_str().unwrap().to_owned();
    assert_eq!(v["state"], "void");
    assert_eq!(v["event"]["replaced_by"], c6.as_str());
    assert_eq!(
        v["history"]["events"][1]["index"].as_u64().unwrap(),
        v["replacement"]["ledger"]["index"].as_u64().unwrap() + 1
    );

    // AE re-exports to the EU from C1 and C2; the mass balance holds per cited certificate.
    let reexport = |cites: Value| {
        let mut r = example_request();
        r["destination"] = "EU".into();
        r["origin"] = json!({"mixed": true, "countries": ["BW"]});
        r["items"] = json!([{"hs_code": "7102.10", "carats": "1200.00", "value_usd": "700000.00"}]);
        r["derived_from"] = cites;
        r
    };
    let (_c7, c7_qr) = issue(
        &app,
        &ae,
        &reexport(
            json!([{"number": c1.0, "carats": "1000.00"}, {"number": c2.0, "carats": "200.00"}]),
        ),
    )
    .await;
    let size = app.ledger_size();
    let (s, v) = post(
        &app,
        "/v1/certificates",
        &ae,
        &reexport(json!([{"number": c1.0, "carats": "600.00"}])),
    )
    .await;
    assert_eq!(s, 422, "over-drawn: {v}");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("remaining balance is 520.35 carats"),
        "{v}"
    );
    let (s, v) = post(
        &app,
        "/v1/certificates",
        &ae,
        &reexport(json!([{"number": c3.0, "carats": "1.00"}])),
    )
    .await;
    assert_eq!(
        s, 422,
        "a void, unconfirmed certificate cannot be cited: {v}"
    );
    let (s, v) = post(
        &app,
        "/v1/certificates",
        &eu,
        &reexport(json!([{"number": c5.0, "carats": "1.00"}])),
    )
    .await;
    assert_eq!(s, 422, "the EU did not receive C5: {v}");
    assert_eq!(app.ledger_size(), size);
    // What remains can still be drawn; a void gives a re-export's draws back.
    let (c8, _) = issue(
        &app,
        &ae,
        &reexport(json!([{"number": c1.0, "carats": "520.35"}])),
    )
    .await;
    let (s, _) = post(
        &app,
        "/v1/certificates",
        &ae,
        &reexport(json!([{"number": c1.0, "carats": "0.01"}])),
    )
    .await;
    assert_eq!(s, 422, "C1 is fully drawn");
    let (s, v) = post(
        &app,
        &path(&c8, "void"),
        &ae,
        &json!({"reason": "Sale to Antwerp cancelled"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let _ = issue(
        &app,
        &ae,
        &reexport(json!([{"number": c1.0, "carats": "520.35"}])),
    )
    .await;

    // The verdict table: online (ledger) and offline (a bundle made now) agree.
    let bundle_json = app.app.trust_bundle();
    let bundle = TrustBundle::open_signed_json(&bundle_json, &app.app.root_public_key()).unwrap();
    let old = TrustBundle::open_signed_json(&bundle_before, &app.app.root_public_key()).unwrap();
    let today = app.app.today();
    let table = [
        ("confirmed exactly", &c1.1, Verdict::Imported),
        ("confirmed with discrepancies", &c2.1, Verdict::Imported),
        ("voided", &c3.1, Verdict::Void),
        ("replaced", &c4.1, Verdict::Void),
        ("untouched", &c5.1, Verdict::Valid),
        ("the replacement", &c6_qr, Verdict::Valid),
        ("the re-export", &c7_qr, Verdict::Valid),
    ];
    for (case, qr, want) in table {
        let online = app.app.verify_qr(qr).unwrap();
        let Ok(offline) = verify_qr(&bundle, qr, today);
        assert_eq!(
            (online.verdict, offline.verdict),
            (want, want),
            "{case}: {:?} / {:?}",
            online.reasons,
            offline.reasons
        );
        // A bundle older than the change does not know it, and says so.
        let Ok(stale) = verify_qr(&old, qr, today);
        if want != Verdict::Valid {
            assert_eq!(
                stale.verdict,
                Verdict::Valid,
                "{case}: the old bundle cannot know"
            );
        }
        if stale.verdict == Verdict::Valid {
            assert!(
                stale
                    .reasons
                    .iter()
                    .any(|r| r.contains("older than this certificate's last possible change")),
                "{case}: {:?}",
                stale.reasons
            );
        }
    }
    let online = app.app.verify_qr(&c1.1).unwrap();
    assert!(
        online.reasons[0].starts_with(
            "already imported on 2026-12-02 by AE-A1, do not accept a new shipment on it"
        ),
        "{:?}",
        online.reasons
    );
    let online = app.app.verify_qr(&c4.1).unwrap();
    assert!(
        online.reasons[0].contains(&format!("replaced by certificate {c6}")),
        "{:?}",
        online.reasons
    );

    // Over HTTP: the answer lists the history and proves the newest entry; the page alarms.
    let resp = app
        .client
        .post(app.url("/v1/verify"))
        .json(&json!({"qr": c2.1}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["verdict"], "imported");
    assert_eq!(v["history"]["events"].as_array().unwrap().len(), 2, "{v}");
    assert!(
        v["history"]["events"][1].get("arrival").is_none(),
        "what arrived is not public: {v}"
    );
    assert_eq!(
        v["history"]["newest"]["index"],
        v["history"]["events"][1]["index"]
    );
    let seal = c1.1.rsplit('/').next().unwrap();
    let page = app.get(&format!("/S/{seal}")).await.text().await.unwrap();
    assert!(page.contains("data-verdict=\"imported\""), "{page}");
    assert!(
        page.contains("do not accept a new shipment on it"),
        "{page}"
    );
    let seal = c4.1.rsplit('/').next().unwrap();
    let page = app.get(&format!("/S/{seal}")).await.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "id=\"replaced-by\" href=\"/verify?number={c6}&#38;lang=en\""
        )),
        "{page}"
    );
    // A look-up by number answers the parties with state and history, arrival included.
    let v: Value = app
        .get_as(&format!("/v1/certificates/{}", c2.0), &ae)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["history"]["state"], "imported");
    assert_eq!(v["history"]["events"][1]["arrival"]["parcels"], 2, "{v}");

    // The audit replays every rule; tampering with any new entry is found with its index.
    let export = app.full_export();
    let report = app.audit(&export);
    assert_eq!(report.entries, app.ledger_size());
    let (head, frames) = split_full(&export);
    let kind_at = |kind: &str| -> Vec<usize> {
        frames
            .iter()
            .enumerate()
            .filter(|(_, (e, _))| {
                kpcert::codec::decode_entry(e)
                    .unwrap()
                    .event
                    .kind()
                    .as_str()
                    == kind
            })
            .map(|(i, _)| i)
            .collect()
    };
    let confirmations = kind_at("certificate.import_confirmed");
    let voids = kind_at("certificate.voided");
    assert_eq!((confirmations.len(), voids.len()), (2, 3));
    let check = |frames: Frames, index: usize, what: &str| {
        let failure = kpcert::audit::audit_export(
            join_full(&head, &frames).as_slice(),
            app.app.ledger_verifier(),
            None,
            Default::default(),
            |_, _| {},
        )
        .expect_err(what);
        assert_eq!(
            failure.index,
            Some(index as u64),
            "{what}: {}",
            failure.reason
        );
    };
    // The arrival record (commercial content) changed: not what the entry commits to.
    let mut t = frames.clone();
    let record = &mut t[confirmations[1]].1;
    let salt = record.windows(5).position(|w| w == b"salt\x50").unwrap();
    record[salt + 5] ^= 0x01;
    check(t, confirmations[1], "a changed arrival");
    // A void's reason changed: the authority's signature fails.
    let mut t = frames.clone();
    flip_in(&mut t[voids[0]].0, b"Exporter cancelled");
    check(t, voids[0], "a changed void");
    // The confirmation's date changed: the authority's signature fails.
    let mut t = frames.clone();
    flip_in(&mut t[confirmations[0]].0, b"2026-12-02");
    check(t, confirmations[0], "a changed confirmation");
}

/// The bundle's certificates section, sized: at 300 certificates a day and 60-day validity, up
/// to 18,000 certificates inside their validity can be void or imported at once (every one, at
/// worst). Each costs a fixed-shape array; the test prints the bytes per certificate and the
/// whole section, and holds each under 64 bytes of CBOR so that the worst case stays near 1 MB.
#[test]
fn the_bundle_section_stays_small_at_a_year_of_realistic_traffic() {
    use kpcert::codec::trust::{BundleCertificate, BundleState};
    use kpcert::domain::{CertificateNumber, CountryCode, Date};
    let empty = |certificates| TrustBundle {
        issued_at_ms: 1_800_000_000_000,
        next_update_ms: 1_800_604_800_000,
        ledger_origin: "kpcert.example/ledger".into(),
        ledger_verifier_key: "kpcert.example/ledger+01234567+AAAA".into(),
        ledger_size: 110_000,
        participants: vec![],
        authorities: vec![],
        certificates,
    };
    let base = empty(vec![]).encode().len();
    let codes = ["AE", "BW", "CA", "IN", "ZA", "EU", "RU", "AO", "NA", "CD"];
    let window = 300 * 60;
    let certificates: Vec<BundleCertificate> = (0..window)
        .map(|i| {
            let participant = CountryCode::participant(codes[i % codes.len()]).unwrap();
            BundleCertificate {
                number: CertificateNumber::new(participant, 2027, 10_000 + i as u64),
                state: if i % 20 == 0 {
                    BundleState::Void {
                        replaced_by: (i % 40 == 0)
                            .then(|| CertificateNumber::new(participant, 2027, 90_000 + i as u64)),
                    }
                } else {
                    BundleState::Imported
                },
                on: Date::parse("2027-03-01").unwrap(),
                authority_id: format!("{}-A1", participant.as_str()),
                entry_index: 100_000 + i as u64,
            }
        })
        .collect();
    let mut sorted = certificates;
    sorted.sort_by(|a, b| a.number.cmp(&b.number));
    let bundle = empty(sorted);
    let bytes = bundle.encode();
    let per = (bytes.len() - base) as f64 / window as f64;
    println!(
        "trust bundle certificates section: {window} certificates, {} bytes of CBOR ({per:.1} bytes each), {} bytes as the served JSON (base64)",
        bytes.len() - base,
        (bytes.len() - base) * 4 / 3
    );
    assert!(per < 64.0, "{per} bytes per certificate");
    assert_eq!(TrustBundle::decode(&bytes).unwrap(), bundle);
}
