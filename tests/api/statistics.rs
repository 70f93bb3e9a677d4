//! Statistics, production, reconciliation and recorded audits against the real server. A year
//! of generated traffic (`kpcert demo populate --year`) is served; its statistics and flags are
//! compared with figures this test computes on its own from the full export, the planted
//! anomalies are flagged with exactly their certificates, and `kpcert audit --stats` recomputes
//! the statistics byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use kpcert::clock::ManualClock;
use kpcert::codec::export::ExportReader;
use kpcert::domain::{Date, Event, HsCode, Hundredths};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_in, spawn_app_on, TestApp};

/// Certificates in the generated year: enough for every planted anomaly to clear its
/// thresholds, small enough for CI.
const YEAR_CERTIFICATES: &str = "1500";

/// An arrival: when, how many parcels, carats by HS code.
type Arrival = (Date, u32, Vec<(HsCode, u64)>);

/// What the test itself knows of a certificate, read from the full export.
#[derive(Clone, Debug)]
struct Cert {
    issuer: String,
    destination: String,
    issued_on: Date,
    expires_on: Date,
    parcels: u32,
    items: Vec<(HsCode, u64, u64)>,
    cited: u64,
    reexport: bool,
    void: bool,
    arrival: Option<Arrival>,
}

impl Cert {
    fn carats(&self) -> u64 {
        self.items.iter().map(|i| i.1).sum()
    }
    fn value(&self) -> u64 {
        self.items.iter().map(|i| i.2).sum()
    }
}

/// Every certificate of the ledger, by number, from a full export.
fn read_certificates(export: &[u8]) -> BTreeMap<String, Cert> {
    let reader = ExportReader::open(export).unwrap();
    let mut certs: BTreeMap<String, Cert> = BTreeMap::new();
    for frame in reader {
        let frame = frame.unwrap();
        let entry = kpcert::codec::decode_entry(&frame.entry).unwrap();
        match &entry.event {
            Event::CertificateIssued(_) => {
                let record = kpcert::codec::decode_record(&frame.record).unwrap();
                let c = &record.certificate;
                let (_, origin) = c.content.origin.mixed_and_countries();
                certs.insert(
                    c.number.as_str().to_owned(),
                    Cert {
                        issuer: c.number.participant().as_str().to_owned(),
                        destination: c.content.destination.as_str().to_owned(),
                        issued_on: c.content.issued_on,
                        expires_on: c.content.expires_on,
                        parcels: c.content.parcels,
                        items: c
                            .content
                            .items
                            .iter()
                            .map(|i| (i.hs_code, i.carats.hundredths(), i.value_usd.hundredths()))
                            .collect(),
                        cited: c
                            .content
                            .derived_from
                            .iter()
                            .map(|d| d.carats.hundredths())
                            .sum(),
                        reexport: !c.content.derived_from.is_empty()
                            || !origin.contains(&c.number.participant()),
                        void: false,
                        arrival: None,
                    },
                );
            }
            Event::ImportConfirmed(_) => {
                let record =
                    kpcert::codec::lifecycle::decode_arrival_record(&frame.record).unwrap();
                let a = &record.arrival;
                certs.get_mut(a.number.as_str()).unwrap().arrival = Some((
                    a.received_on,
                    a.parcels,
                    a.items
                        .iter()
                        .map(|l| (l.hs_code, l.carats.hundredths()))
                        .collect(),
                ));
            }
            Event::CertificateVoided(v) => {
                certs.get_mut(v.void.number.as_str()).unwrap().void = true;
            }
            _ => {}
        }
    }
    certs
}

fn money(h: u64) -> String {
    Hundredths::from_hundredths(h).unwrap().to_string()
}

fn day(s: &str) -> Date {
    Date::parse(s).unwrap()
}

async fn json_as(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn flagged(recon: &Value, kind: &str) -> Vec<Value> {
    recon["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .cloned()
        .collect()
}

fn numbers(flags: &[Value]) -> BTreeSet<String> {
    flags
        .iter()
        .flat_map(|f| f["certificates"].as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_generated_year_gives_the_statistics_and_flags_computed_independently() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kpcert"))
        .args(["demo", "populate", "--year", "2025", "--certificates"])
        .arg(YEAR_CERTIFICATES)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--keys-dir")
        .arg(dir.path().join("keys"))
        .env("KPCERT_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data_dir = dir.path().join("data");
    let keys_dir = dir.path().join("keys");
    let app = spawn_app_in(dir, ManualClock::at_date("2026-04-02"));
    let today = day("2026-04-02");
    let certs = read_certificates(&app.full_export());
    let year: Vec<(&String, &Cert)> = certs
        .iter()
        .filter(|(_, c)| c.issued_on.year() == 2025)
        .collect();
    assert!(year.len() > 1400, "{} certificates", year.len());

    // Annual totals, as the public reads them, against the test's own sums.
    let mut expected: BTreeMap<(String, &str), (u64, u64, u64)> = BTreeMap::new();
    for (_, c) in &year {
        if !c.void {
            let e = expected.entry((c.issuer.clone(), "export")).or_default();
            *e = (e.0 + c.carats(), e.1 + c.value(), e.2 + 1);
        }
    }
    for c in certs.values() {
        if let Some((received, _, lines)) = &c.arrival {
            if received.year() == 2025 {
                let value: u64 = lines
                    .iter()
                    .map(|(hs, _)| c.items.iter().find(|i| i.0 == *hs).map_or(0, |i| i.2))
                    .sum();
                let e = expected
                    .entry((c.destination.clone(), "import"))
                    .or_default();
                *e = (
                    e.0 + lines.iter().map(|l| l.1).sum::<u64>(),
                    e.1 + value,
                    e.2 + 1,
                );
            }
        }
    }
    let (status, stats) = json_as(&app, "/v1/statistics?year=2025", None).await;
    assert_eq!(status, 200, "{stats}");
    let got: BTreeMap<(String, &str), (String, String, u64)> = stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["hs_code"].is_null() && r["partner"].is_null(), "{r}");
            (
                (
                    r["participant"].as_str().unwrap().to_owned(),
                    if r["flow"] == "export" {
                        "export"
                    } else {
                        "import"
                    },
                ),
                (
                    r["carats"].as_str().unwrap().to_owned(),
                    r["value_usd"].as_str().unwrap().to_owned(),
                    r["certificates"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let want: BTreeMap<_, _> = expected
        .iter()
        .map(|(k, (c, v, n))| (k.clone(), (money(*c), money(*v), *n)))
        .collect();
    assert_eq!(got, want);

    // The open-data table says the same, with the declared production.
    let csv = app
        .get("/v1/statistics/open-data?year=2025")
        .await
        .text()
        .await
        .unwrap();
    let bw = csv.lines().find(|l| l.starts_with("BW,")).unwrap();
    let (c, v, n) = expected[&("BW".to_owned(), "export")];
    assert!(
        bw.contains(&format!(",{},{},{n},", money(c), money(v))),
        "{bw}"
    );

    // Reconciliation: each planted anomaly is flagged with exactly its certificates.
    let (status, recon) = json_as(
        &app,
        "/v1/reconciliation?period=2025",
        Some(&app.secretariat),
    )
    .await;
    assert_eq!(status, 200, "{recon}");
    let supply = flagged(&recon, "exports_beyond_supply");
    assert_eq!(supply.len(), 1, "only the Congo: {supply:?}");
    assert_eq!(supply[0]["participant"], "CG");
    let cg: BTreeSet<String> = year
        .iter()
        .filter(|(_, c)| c.issuer == "CG" && !c.void)
        .map(|(n, _)| (*n).clone())
        .collect();
    assert_eq!(numbers(&supply), cg);

    let pattern = flagged(&recon, "pattern_change");
    let sl = pattern
        .iter()
        .find(|f| f["participant"] == "SL" && f["period"] == "2025-Q4")
        .unwrap_or_else(|| panic!("Sierra Leone's fourth quarter: {pattern:?}"));
    assert!(
        sl["reason"]
            .as_str()
            .unwrap()
            .contains("value per carat fell"),
        "{sl}"
    );
    let sl_q4: BTreeSet<String> = year
        .iter()
        .filter(|(_, c)| c.issuer == "SL" && !c.void && c.issued_on >= day("2025-10-01"))
        .map(|(n, _)| (*n).clone())
        .collect();
    assert_eq!(numbers(std::slice::from_ref(sl)), sl_q4);

    let beyond: BTreeSet<String> = year
        .iter()
        .filter(|(_, c)| !c.void && c.reexport && c.carats() > c.cited)
        .map(|(n, _)| (*n).clone())
        .collect();
    let reexports = flagged(&recon, "reexport_beyond_imports");
    assert!(!beyond.is_empty() && beyond.iter().all(|n| n.starts_with("IL-")));
    assert_eq!(numbers(&reexports), beyond);

    let expired: BTreeSet<String> = year
        .iter()
        .filter(|(_, c)| !c.void && c.arrival.is_none() && c.expires_on < today)
        .map(|(n, _)| (*n).clone())
        .collect();
    assert!(!expired.is_empty());
    assert_eq!(numbers(&flagged(&recon, "expired_unconfirmed")), expired);

    let differ: BTreeSet<String> = year
        .iter()
        .filter(|(_, c)| {
            !c.void
                && c.arrival.as_ref().is_some_and(|(_, parcels, lines)| {
                    *parcels != c.parcels || lines.iter().map(|l| l.1).sum::<u64>() != c.carats()
                })
        })
        .map(|(n, _)| (*n).clone())
        .collect();
    assert!(!differ.is_empty());
    assert_eq!(numbers(&flagged(&recon, "arrival_differs")), differ);

    // The mirror: certificates issued against those confirmed, per exporter and destination.
    let issued: u64 = recon["mirror"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["issued"]["certificates"].as_u64().unwrap())
        .sum();
    assert_eq!(issued, year.iter().filter(|(_, c)| !c.void).count() as u64);
    let confirmed: u64 = recon["mirror"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["confirmed"]["certificates"].as_u64().unwrap())
        .sum();
    assert_eq!(
        confirmed,
        year.iter()
            .filter(|(_, c)| !c.void && c.arrival.is_some())
            .count() as u64
    );

    // `kpcert audit --stats` recomputes from a full export (and from the data folder) what
    // the service kept incrementally, byte for byte.
    let export = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(export.path(), app.full_export()).unwrap();
    let mut recomputed = Vec::new();
    for source in [
        vec!["--file".into(), export.path().display().to_string()],
        vec!["--data-dir".into(), data_dir.display().to_string()],
    ] {
        let stats_file = tempfile::NamedTempFile::new().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kpcert"))
            .arg("audit")
            .args(&source)
            .arg("--keys-dir")
            .arg(&keys_dir)
            .arg("--stats")
            .arg(stats_file.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{source:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        recomputed.push(std::fs::read(stats_file.path()).unwrap());
    }
    let served = app
        .client
        .get(app.url("/v1/statistics?period=quarter&detail=true"))
        .bearer_auth(&app.secretariat)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    for r in &recomputed {
        assert!(r.len() > 10_000);
        assert!(served == r, "the served statistics differ from the audit's");
    }
    // A public export holds no records: no statistics can be recomputed from it.
    let public = app.get("/v1/ledger/export").await.bytes().await.unwrap();
    std::fs::write(export.path(), &public).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kpcert"))
        .arg("audit")
        .arg("--file")
        .arg(export.path())
        .arg("--keys-dir")
        .arg(&keys_dir)
        .arg("--stats")
        .arg(tempfile::NamedTempFile::new().unwrap().path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("need every certificate's record"));

    // A restart restores the same statistics from the snapshot.
    let state = app.app.state();
    let snapshot = kpcert::codec::snapshot::encode_state(&state, &[7; 32]);
    let (restored, _) = kpcert::codec::snapshot::decode_state(&snapshot).unwrap();
    assert_eq!(restored.stats(), state.stats());
    assert!(restored.stats().cells().count() > 100);
}

#[tokio::test]
async fn who_reads_which_statistics() {
    let (app, clock) = spawn_app_on("2026-07-10");
    let resp = app.issue(&crate::helpers::example_request()).await;
    assert_eq!(resp.status(), 201);
    let number = resp.json::<Value>().await.unwrap()["certificate"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    // The public reads no live totals (review finding: a live total moved by exactly one
    // certificate's carats and value at each entry, so anyone could read each shipment by
    // subtraction): the year is published after its cut-off, March 31 of the next year.
    let (status, body) = json_as(&app, "/v1/statistics", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([]), "{body}");
    let (status, body) = json_as(&app, "/v1/statistics?year=2026", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("2027-04-01"),
        "{body}"
    );
    let (status, _) = json_as(&app, "/v1/statistics/open-data?year=2026", None).await;
    assert_eq!(status, 404);
    // Others' annual totals for an authority are the public ones, too.
    let (_, body) = json_as(&app, "/v1/statistics", Some(&app.ae.1)).await;
    assert_eq!(body["rows"], json!([]), "{body}");
    for path in [
        "/v1/statistics?detail=true",
        "/v1/statistics?period=quarter",
    ] {
        let (status, body) = json_as(&app, path, None).await;
        assert_eq!(status, 401, "{path}: {body}");
    }
    // An authority: its own detail, not another's.
    let (status, body) = json_as(
        &app,
        "/v1/statistics?detail=true&period=quarter",
        Some(&app.bw.1),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["participant"], "BW");
    assert_eq!(body["rows"][0]["partner"], "AE");
    let (status, _) = json_as(
        &app,
        "/v1/statistics?detail=true&participant=BW",
        Some(&app.ae.1),
    )
    .await;
    assert_eq!(status, 403);
    // Oversight: everything, also as CSV.
    let resp = app
        .client
        .get(app.url("/v1/statistics?detail=true&period=half&format=csv"))
        .bearer_auth(&app.monitor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    assert!(csv
        .starts_with("participant,period,flow,hs_code,partner,carats,value_usd,certificates\r\n"));
    assert!(
        csv.contains("BW,2026-H2,export,7102.10,AE,1520.35,845000.00,1\r\n"),
        "{csv}"
    );
    // Bad queries name the problem.
    for (path, field) in [
        ("/v1/statistics?year=1999", "year"),
        ("/v1/statistics?year=+2025", "year"),
        ("/v1/statistics?period=month", "period"),
        ("/v1/statistics?flow=transit", "flow"),
        ("/v1/statistics?participant=XX", "participant"),
        ("/v1/reconciliation?period=2025-Q5", "period"),
    ] {
        let (status, body) = json_as(&app, path, Some(&app.secretariat)).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["problems"][0]["field"], field, "{path}: {body}");
    }
    let (status, _) = json_as(&app, "/v1/reconciliation", Some(&app.bw.1)).await;
    assert_eq!(status, 403);

    // After the cut-off the public reads 2026, frozen: a later void changes the live figures
    // the Secretariat reads, not the published ones.
    clock.advance_days(266);
    let (status, body) = json_as(&app, "/v1/statistics?year=2026", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0]["participant"], "BW");
    assert_eq!(body["rows"][0]["carats"], "1520.35");
    // (tokens minted again: the first ones expired meanwhile)
    let bw = app.app.new_token(&app.bw.0).unwrap();
    let secretariat = app
        .app
        .mint_token(kpcert::tokens::Role::Secretariat, "later", 30)
        .unwrap();
    let resp = app
        .client
        .post(app.url(&format!("/v1/certificates/{number}/void")))
        .bearer_auth(&bw)
        .json(&json!({"reason": "entered twice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let (_, body) = json_as(&app, "/v1/statistics?year=2026", None).await;
    assert_eq!(
        body["rows"][0]["carats"], "1520.35",
        "published figures never move"
    );
    let (_, body) = json_as(&app, "/v1/statistics?year=2026", Some(&secretariat)).await;
    assert_eq!(
        body["rows"],
        json!([]),
        "the live figures drop the void certificate"
    );
}

#[tokio::test]
async fn amounts_at_the_limits_neither_stop_the_writer_nor_break_the_statistics() {
    // Review finding: each line may come close to 10^15 carats, and the statistics summed
    // them with a check that panicked above 10^15: one certificate stopped the ledger writer.
    let (app, _clock) = spawn_app_on("2026-07-10");
    let mut body = crate::helpers::example_request();
    body["items"] = json!([
        {"hs_code": "7102.10", "carats": "600000000000000", "value_usd": "900000000000000"},
        {"hs_code": "7102.31", "carats": "600000000000000", "value_usd": "900000000000000"}
    ]);
    let resp = app.issue(&body).await;
    assert_eq!(resp.status(), 201);
    let number = resp.json::<Value>().await.unwrap()["certificate"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .client
        .post(app.url(&format!("/v1/certificates/{number}/import-confirmation")))
        .bearer_auth(&app.ae.1)
        .json(
            &json!({"received_on": "2026-07-10", "parcels": 3, "items": [
            {"hs_code": "7102.10", "carats": "600000000000000"},
            {"hs_code": "7102.31", "carats": "600000000000000"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    for half in [1, 2] {
        let resp = app
            .client
            .post(app.url("/v1/participants/BW/production"))
            .bearer_auth(&app.bw.1)
            .json(&json!({"year": 2025, "half": half, "carats": "600000000000000", "value_usd": "900000000000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    // The far end of the calendar is refused with a message, not a panic.
    let resp = app
        .client
        .post(app.url("/v1/participants/BW/production"))
        .bearer_auth(&app.bw.1)
        .json(&json!({"year": 9999, "half": 2, "carats": "1", "value_usd": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // The writer still writes, and the sums are exact.
    assert_eq!(
        app.issue(&crate::helpers::example_request()).await.status(),
        201
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    let (status, body) = json_as(&app, "/v1/statistics?year=2026", Some(&app.secretariat)).await;
    assert_eq!(status, 200, "{body}");
    let export = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["participant"] == "BW" && r["flow"] == "export")
        .unwrap();
    assert_eq!(export["carats"], "1200000000001520.35");
    assert_eq!(export["value_usd"], "1800000000845000.00");
    let (_, body) = json_as(&app, "/v1/statistics?year=2025", Some(&app.secretariat)).await;
    assert_eq!(body["production"][0]["carats"], "1200000000000000.00");
    let (status, _) = json_as(&app, "/v1/reconciliation?period=2026", Some(&app.monitor)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_authority_reports_production_for_an_ended_half_and_nothing_else_is_written() {
    let (app, _clock) = spawn_app_on("2026-07-10");
    let post = |token: &str, code: &str, body: Value| {
        app.client
            .post(app.url(&format!("/v1/participants/{code}/production")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let before = app.ledger_size();
    for (body, field) in [
        (
            json!({"year": 2026, "half": 2, "carats": "10", "value_usd": "10"}),
            "half",
        ),
        (
            json!({"year": 2026, "half": 3, "carats": "10", "value_usd": "10"}),
            "half",
        ),
        (
            json!({"year": 2026, "half": 1, "carats": "-1", "value_usd": "10"}),
            "carats",
        ),
        (
            json!({"year": 2026, "half": 1, "value_usd": "10"}),
            "carats",
        ),
        (
            json!({"year": 2002, "half": 1, "carats": "1", "value_usd": "10"}),
            "year",
        ),
    ] {
        let resp = post(&app.bw.1, "BW", body.clone()).await.unwrap();
        assert_eq!(resp.status(), 422, "{body}");
        let problems: Value = resp.json().await.unwrap();
        assert!(
            problems["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field"] == field),
            "{body}: {problems}"
        );
    }
    let resp = post(
        &app.ae.1,
        "BW",
        json!({"year": 2026, "half": 1, "carats": "1", "value_usd": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(app.ledger_size(), before, "refused reports write nothing");

    let report = json!({"year": 2026, "half": 1, "carats": "11250000.50", "value_usd": "1680000000", "stock_carats": "350000"});
    let resp = post(&app.bw.1, "BW", report).await.unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["report"]["period"], "2026-H1");
    // A correction replaces the figure in force; both stay in the ledger.
    let resp = post(
        &app.bw.1,
        "BW",
        json!({"year": 2026, "half": 1, "carats": "11300000", "value_usd": "1690000000"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(app.ledger_size(), before + 2);
    let (_, stats) = json_as(&app, "/v1/statistics?year=2026", Some(&app.monitor)).await;
    assert_eq!(stats["production"][0]["participant"], "BW");
    assert_eq!(stats["production"][0]["carats"], "11300000.00");
    assert_eq!(stats["production"][0]["halves"], 1);
    let report = app.audit(&app.full_export());
    assert_eq!(report.entries, app.ledger_size());
}

#[tokio::test]
async fn an_audit_is_recorded_only_with_the_ledgers_own_root_and_shown_on_the_ledger_page() {
    let (app, _clock) = spawn_app_on("2026-07-10");
    let note = app.get("/v1/ledger/checkpoint").await.text().await.unwrap();
    let lines: Vec<&str> = note.lines().collect();
    let (size, root) = (lines[1].parse::<u64>().unwrap(), lines[2].to_owned());
    let post = |token: &str, body: Value| {
        app.client
            .post(app.url("/v1/ledger/audits"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let other_root = kpcert::codec::text::base64(&[9u8; 32]);
    for (body, field) in [
        (
            json!({"size": size, "root": other_root, "level": "full"}),
            "root",
        ),
        (
            json!({"size": size + 5, "root": root, "level": "full"}),
            "size",
        ),
        (json!({"size": size, "root": "x", "level": "full"}), "root"),
        (
            json!({"size": size, "root": root, "level": "partial"}),
            "level",
        ),
    ] {
        let resp = post(&app.monitor, body.clone()).await.unwrap();
        assert_eq!(resp.status(), 422, "{body}");
        let problems: Value = resp.json().await.unwrap();
        assert_eq!(
            problems["problems"][0]["field"], field,
            "{body}: {problems}"
        );
    }
    assert_eq!(app.ledger_size(), size);
    let resp = post(&app.bw.1, json!({"size": size, "root": root}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let page = app.get("/ledger?lang=en").await.text().await.unwrap();
    assert!(page.contains("No audit has been recorded yet."));

    let resp = post(
        &app.monitor,
        json!({"size": size, "root": root, "level": "full"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let page = app.get("/ledger?lang=en").await.text().await.unwrap();
    assert!(page.contains("monitor:Monitoring team"), "{page}");
    assert!(page.contains("(full, with every record)"), "{page}");
    // The audit entry itself passes the next audit.
    let report = app.audit(&app.full_export());
    assert_eq!(report.entries, size + 1);
}

#[tokio::test]
async fn the_cli_reads_statistics_and_records_a_passed_audit() {
    let (app, _clock) = spawn_app_on("2026-07-10");
    assert_eq!(
        app.issue(&crate::helpers::example_request()).await.status(),
        201
    );
    let dir = tempfile::tempdir().unwrap();
    let cacert = app.cert_path.to_str().unwrap().to_owned();
    let base = app.base.clone();
    let bin = |args: Vec<String>| async move {
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kpcert"));
            cmd.args(&args).env_remove("KPCERT_TOKEN");
            crate::cli::run(cmd)
        })
        .await
        .unwrap()
    };
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (code, out, err) = bin(s(&[
        "stats",
        "--url",
        &base,
        "--cacert",
        &cacert,
        "--year",
        "2026",
        "--csv",
        "--token",
        &app.secretariat,
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("BW,2026,export,all,,1520.35,845000.00,1\r\n"),
        "{out}"
    );
    let (code, _, err) = bin(s(&[
        "stats", "--url", &base, "--cacert", &cacert, "--detail",
    ]))
    .await;
    assert_ne!(code, 0, "the public reads no detail");
    assert!(err.contains("401"), "{err}");
    let (code, out, err) = bin(s(&[
        "stats",
        "--url",
        &base,
        "--cacert",
        &cacert,
        "--open-data",
        "--year",
        "2025",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("participant,name,production_carats"),
        "{out}"
    );

    // A monitoring team audits the full export and records it; the ledger page shows it.
    let size = app.ledger_size();
    let key = app.app.ledger_verifier().to_string();
    let (code, out, err) = bin(s(&[
        "audit",
        "--url",
        &base,
        "--cacert",
        &cacert,
        "--full",
        "--token",
        &app.monitor,
        "--ledger-key",
        &key,
        "--record",
    ]))
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("recorded in the ledger"), "{err}");
    assert_eq!(app.ledger_size(), size + 1);
    let page = app.get("/ledger?lang=en").await.text().await.unwrap();
    assert!(
        page.contains("monitor:Monitoring team") && page.contains("(full, with every record)"),
        "{page}"
    );
    drop(dir);
}
