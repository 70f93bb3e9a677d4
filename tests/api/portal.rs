//! The public portal in headless Chromium: every page in every language renders (no script),
//! screenshots at phone and desktop sizes land in `target/portal-screenshots/` with the page
//! weights, the DOM holds the right verdict and figures, and the Arabic pages are laid out right
//! to left (checked on the pixels of the screenshot, not only on the `dir` attribute).

use std::path::{Path, PathBuf};

use kpcert::portal::i18n::Lang;
use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on, TestApp};

/// Heaviest page allowed, in bytes of HTML (everything a page needs is inline: CSS and SVG).
const PAGE_BUDGET: usize = 64 * 1024;

fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok()
        })
        .expect("chromium is not installed: run `bash tests/run.sh`, which installs it")
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("portal-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url` with `args` (a fresh profile each time).
async fn run_chromium(url: String, args: Vec<String>) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--ignore-certificate-errors",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(&args)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    })
    .await
    .unwrap()
}

async fn dom(url: String) -> String {
    String::from_utf8(run_chromium(url, vec!["--dump-dom".into()]).await).unwrap()
}

/// A screenshot of `url` at `width` x `height`, saved as `name`; its bytes.
async fn screenshot(url: String, name: &str, width: u32, height: u32) -> Vec<u8> {
    let path = out_dir().join(name);
    let _ = std::fs::remove_file(&path);
    run_chromium(
        url,
        vec![
            format!("--window-size={width},{height}"),
            format!("--screenshot={}", path.display()),
        ],
    )
    .await;
    std::fs::read(&path).unwrap_or_else(|e| panic!("no screenshot {}: {e}", path.display()))
}

/// Mean x of the near-white pixels in the header's first text line (white on dark blue), as
/// a fraction of the width.
fn title_position(png: &[u8]) -> f64 {
    let (w, h, grey) = kpcert::qr::png_to_grey(png).unwrap();
    let (mut sum, mut n) = (0usize, 0usize);
    for y in 6..34.min(h) {
        for x in 0..w {
            if grey[y * w + x] > 200 {
                sum += x;
                n += 1;
            }
        }
    }
    assert!(n > 50, "no title text found in the header");
    sum as f64 / n as f64 / w as f64
}

async fn setup() -> (TestApp, String, std::sync::Arc<kpcert::clock::ManualClock>) {
    let (app, clock) = spawn_app_on("2026-07-10");
    let resp = app.issue(&example_request()).await;
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    let qr = issued["qr"].as_str().unwrap().to_owned();
    let seal = qr[qr.find("/S/").unwrap() + 3..].to_owned();
    let resp = app
        .client
        .post(app.url("/v1/participants/BW/production"))
        .bearer_auth(&app.bw.1)
        .json(&json!({"year": 2026, "half": 1, "carats": "11250000.50", "value_usd": "1680000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    (app, seal, clock)
}

#[tokio::test]
async fn every_page_renders_in_every_language_light_and_without_script() {
    let (app, seal, _clock) = setup().await;
    let pages = [
        ("home", "/".to_owned()),
        ("participants", "/participants".to_owned()),
        ("participant", "/participants/BW".to_owned()),
        ("statistics", "/statistics?year=2026".to_owned()),
        ("statistics-bw", "/statistics?participant=BW".to_owned()),
        ("ledger", "/ledger".to_owned()),
        ("verify", "/verify".to_owned()),
        ("verify-number", "/verify?number=BW-2026-000001".to_owned()),
        ("seal", format!("/S/{seal}")),
        ("documents", "/documents".to_owned()),
    ];
    let mut weights = String::from("page\tlanguage\tbytes\n");
    for (name, path) in &pages {
        for lang in Lang::ALL {
            let sep = if path.contains('?') { '&' } else { '?' };
            let resp = app.get(&format!("{path}{sep}lang={}", lang.code())).await;
            assert_eq!(resp.status(), 200, "{path} {}", lang.code());
            assert_eq!(
                resp.headers()["content-language"].to_str().unwrap(),
                lang.code()
            );
            let html = resp.text().await.unwrap();
            assert!(!html.contains("<script"), "{path}");
            assert!(
                html.contains(&format!(
                    "<html lang=\"{}\" dir=\"{}\">",
                    lang.code(),
                    lang.dir()
                )),
                "{path}"
            );
            assert!(
                html.contains(lang.texts().site_title),
                "{path} {}",
                lang.code()
            );
            assert!(html.len() < PAGE_BUDGET, "{path}: {} bytes", html.len());
            weights.push_str(&format!("{name}\t{}\t{}\n", lang.code(), html.len()));
        }
    }
    std::fs::write(out_dir().join("page-weights.tsv"), weights).unwrap();
    // The verification form may be sent (review finding: the content security policy said
    // `form-action 'none'`, so browsers refused to submit it), to this site only.
    let resp = app.get("/verify?lang=en").await;
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<form method=\"get\" action=\"/verify\">"),
        "{html}"
    );
    // Without ?lang, Accept-Language decides.
    let resp = app
        .client
        .get(app.url("/"))
        .header("Accept-Language", "pt-BR,pt;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-language"], "pt");
    // Everything is escaped: a hostile query cannot inject markup.
    let html = app
        .get("/verify?number=%3Cscript%3Ealert(1)%3C/script%3E&lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("<SCRIPT>"),
        "{html}"
    );
}

#[tokio::test]
async fn chromium_shows_the_verdict_and_figures_and_lays_arabic_out_right_to_left() {
    let (app, seal, clock) = setup().await;
    // The phone page of a scanned seal, in French: the verdict in the DOM, in French.
    let dom_fr = dom(app.url(&format!("/S/{seal}?lang=fr"))).await;
    assert!(dom_fr.contains("data-verdict=\"valid\""), "{dom_fr}");
    assert!(dom_fr.contains(Lang::Fr.texts().verdict_valid), "{dom_fr}");
    assert!(dom_fr.contains("Okavango Diamond Company"), "{dom_fr}");
    // A number typed: the verdict, without the trade data.
    let dom_ru = dom(app.url("/verify?number=BW-2026-000001&lang=ru")).await;
    assert!(dom_ru.contains("data-verdict=\"valid\""), "{dom_ru}");
    assert!(!dom_ru.contains("Okavango"), "{dom_ru}");
    let dom_unknown = dom(app.url("/verify?number=BW-2026-009999&lang=zh")).await;
    assert!(
        dom_unknown.contains("data-verdict=\"unknown\""),
        "{dom_unknown}"
    );

    // The statistics page holds the API's figures, once 2026 is published (after its cut-off,
    // March 31, 2027).
    let before = dom(app.url("/statistics?year=2026&lang=en")).await;
    assert!(before.contains("id=\"no-data\""), "{before}");
    clock.advance_days(266);
    let stats: Value = app
        .get("/v1/statistics?year=2026")
        .await
        .json()
        .await
        .unwrap();
    let carats = stats["rows"][0]["carats"].as_str().unwrap().to_owned();
    let dom_stats = dom(app.url("/statistics?year=2026&lang=en")).await;
    let row = &dom_stats[dom_stats.find("<tr data-key=\"BW\">").expect("a BW row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(&format!("data-raw=\"{carats}\"")), "{row}");
    assert!(
        row.contains("data-raw=\"11250000.50\""),
        "production: {row}"
    );
    assert!(row.contains("11,250,000.50"), "grouped for reading: {row}");
    assert!(dom_stats.contains("<svg"), "a chart");
    let dom_stats_fr = dom(app.url("/statistics?year=2026&lang=fr")).await;
    assert!(
        dom_stats_fr.contains("11\u{202f}250\u{202f}000,50"),
        "French grouping"
    );

    // Screenshots at phone and desktop sizes, and the Arabic layout on the pixels.
    for (name, path) in [
        ("home", "/"),
        ("statistics", "/statistics?year=2026"),
        ("participants", "/participants"),
        ("ledger", "/ledger"),
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let langs: &[Lang] = if matches!(name, "home" | "statistics") {
            &Lang::ALL
        } else {
            &[Lang::En, Lang::Ar]
        };
        for &lang in langs {
            let url = app.url(&format!("{path}{sep}lang={}", lang.code()));
            screenshot(
                url.clone(),
                &format!("{name}-{}-phone.png", lang.code()),
                390,
                844,
            )
            .await;
            let desktop = screenshot(
                url,
                &format!("{name}-{}-desktop.png", lang.code()),
                1280,
                900,
            )
            .await;
            if name == "home" {
                let x = title_position(&desktop);
                if lang == Lang::Ar {
                    assert!(
                        x > 0.6,
                        "Arabic title at {x:.2} of the width: not right to left"
                    );
                } else {
                    assert!(x < 0.4, "{} title at {x:.2} of the width", lang.code());
                }
            }
        }
    }
    let seal_url = app.url(&format!("/S/{seal}?lang=ar"));
    screenshot(seal_url.clone(), "seal-ar-phone.png", 390, 844).await;
    let dom_ar = dom(seal_url).await;
    assert!(
        dom_ar.contains("<html lang=\"ar\" dir=\"rtl\">"),
        "{dom_ar}"
    );
    assert!(dom_ar.contains(Lang::Ar.texts().verdict_expired));
}

#[tokio::test]
async fn the_reconciliation_page_is_for_oversight_only() {
    let (app, _seal, _clock) = setup().await;
    // A browser is asked for the token (HTTP Basic, the token as the password).
    let resp = app.get("/reconciliation").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic realm="));
    let resp = app
        .client
        .get(app.url("/reconciliation?period=2026&lang=fr"))
        .basic_auth("officer", Some(&app.monitor))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .get(app.url("/reconciliation"))
        .basic_auth("officer", Some("kpat_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .client
        .get(app.url("/reconciliation?period=2026"))
        .bearer_auth(&app.bw.1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = app
        .client
        .get(app.url("/reconciliation?period=2026&lang=en"))
        .bearer_auth(&app.monitor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<table id=\"mirror\">") && html.contains("BW → AE"),
        "{html}"
    );
}
