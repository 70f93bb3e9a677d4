//! Hostile clients on loopback: idle connections, slow bodies, exports nobody reads, compressed
//! bodies, HEAD requests; every answer carries the security headers. Deadlines are shortened
//! through `http::Timeouts` so that the tests wait a second, not the production deadlines.

use std::io::Read;
use std::time::Duration;

use kpcert::http::{Options, Timeouts};
use tokio::io::AsyncReadExt;

use crate::helpers::{example_request, spawn_app_with, TestApp};

fn short() -> Options {
    Options {
        public_rate_limit: 0.0,
        timeouts: Timeouts {
            request_head: Duration::from_millis(800),
            tls_handshake: Duration::from_millis(800),
            body: Duration::from_millis(800),
            stalled_export: Duration::from_millis(800),
        },
        ..Default::default()
    }
}

fn port(app: &TestApp) -> u16 {
    app.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn idle_connections_are_cut_and_do_not_block_a_fresh_client() {
    // The handshake deadline alone (the per-address cap, which would refuse most of these
    // from one address at once, has its own test).
    let app = spawn_app_with(Options {
        max_connections_per_address: 0,
        ..short()
    });
    // Connections that never start a TLS handshake.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port(&app)))
                .await
                .unwrap(),
        );
    }
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200, "a fresh client is served");
    // After the handshake deadline the server has closed them: a read ends.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut closed = 0;
    for mut conn in idle {
        let mut buf = [0u8; 16];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(500), conn.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 200,
        "every idle connection was closed by the server"
    );
}

#[tokio::test]
async fn one_address_cannot_hold_more_connections_than_its_cap() {
    let app = spawn_app_with(Options {
        max_connections_per_address: 8,
        timeouts: Timeouts {
            // Longer than the test: the idle sockets stay open until it closes them.
            tls_handshake: Duration::from_secs(60),
            request_head: Duration::from_secs(60),
            ..short().timeouts
        },
        ..short()
    });
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", port(&app)).parse().unwrap();
    let from = |ip: &str| {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        socket.connect(addr)
    };
    let client_from = |ip: &str| app.client_from(ip);
    // 127.0.0.2 opens nine idle sockets (no TLS handshake): the server keeps eight, its cap,
    // and closes one at once (whichever it accepted last).
    let mut idle = Vec::new();
    for _ in 0..9 {
        idle.push(from("127.0.0.2").await.unwrap());
    }
    let reads = idle.iter_mut().map(|conn| {
        Box::pin(async move {
            let mut buf = [0u8; 1];
            conn.read(&mut buf).await
        })
    });
    let (closed, _, _) = futures_util::future::select_all(reads).await;
    assert_eq!(closed.unwrap(), 0, "the server closed one of the nine");
    // A tenth connection from it is closed at once, before any TLS: the request fails.
    let refused = client_from("127.0.0.2")
        .get(app.url("/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
    // Another address is served.
    let resp = client_from("127.0.0.3")
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Closing the idle sockets frees the slots (the server sees each close as it happens).
    drop(idle);
    let again = client_from("127.0.0.2");
    let mut served = false;
    for _ in 0..50 {
        if let Ok(resp) = again.get(app.url("/healthz")).send().await {
            served = resp.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "slots are freed when connections close");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kpcert_connections_refused_total "))
        .expect("the metric is published")
        .trim()
        .parse()
        .unwrap();
    assert!(refused >= 2, "{metrics}");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408_and_writes_nothing() {
    let app = spawn_app_with(short());
    let size = app.ledger_size();
    let pem = std::fs::read(&app.cert_path).unwrap();
    let config = std::sync::Arc::new(kpcert::tls::client_trusting(&pem).unwrap());
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port(&app))).unwrap();
    let conn = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let head = format!(
        "POST /v1/certificates HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"exporter\":",
        app.bw.1
    );
    let answer = tokio::task::spawn_blocking(move || {
        std::io::Write::write_all(&mut tls, head.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = tls.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.ledger_size(), size);
}

#[tokio::test]
async fn exports_are_bounded_and_a_reader_that_stalls_is_dropped() {
    // A stall deadline long enough that no held export is dropped while the next requests are
    // made on a loaded machine (at 800 ms a slow CI run freed a slot early and got 200).
    let app = spawn_app_with(Options {
        timeouts: Timeouts {
            stalled_export: Duration::from_secs(4),
            ..short().timeouts
        },
        ..short()
    });
    // A ledger whose export (about 18 MB) is bigger than what the channel and the socket buffer
    // (loopback buffers auto-tune to several MB: at 8 MB a held export sometimes finished and
    // freed its slot).
    let authority = app.app.active_authority(&app.bw.0).unwrap();
    let input = std::sync::Arc::new(crate::helpers::example_input());
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..16000 {
        let content = app.app.validate(&authority, &input, None, None).unwrap();
        let tx = tx.clone();
        app.app
            .issue(authority.clone(), input.clone(), content, None, move |r| {
                tx.send(r.is_ok()).unwrap()
            });
    }
    drop(tx);
    assert!(rx.iter().all(|ok| ok));
    // Public exports whose client never reads, each from its own address: the first ones
    // stream, the next is refused at once; an address gets one public export at a time.
    let from = |ip: &str| app.client_from(ip);
    let export = app.url("/v1/ledger/export");
    let mut held = Vec::new();
    for i in 0..kpcert::http::MAX_CONCURRENT_EXPORTS {
        let resp = from(&format!("127.0.0.{}", i + 2))
            .get(&export)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        held.push(resp);
    }
    let resp = from("127.0.0.2").get(&export).send().await.unwrap();
    assert_eq!(
        resp.status(),
        429,
        "one public export at a time per address"
    );
    let resp = from("127.0.0.20").get(&export).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    // Anonymous clients holding every public slot do not hold the full export: the
    // Secretariat's and monitors' exports have slots of their own.
    let resp = app.get_as("/v1/ledger/export/full", &app.monitor).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().starts_with(b"KPCERT-EXPORT-V2"));
    // The stalled exports are given up after their deadline, and their places freed.
    drop(held);
    tokio::time::sleep(Duration::from_millis(5000)).await;
    let resp = from("127.0.0.2").get(&export).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().starts_with(b"KPCERT-EXPORT-V2"));
}

#[tokio::test]
async fn compressed_bodies_are_refused_head_is_answered_and_pages_carry_security_headers() {
    let app = spawn_app_with(short());
    let size = app.ledger_size();
    let resp = app
        .client
        .post(app.url("/v1/certificates"))
        .bearer_auth(&app.bw.1)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(serde_json::to_vec(&example_request()).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(app.ledger_size(), size);

    let head = app.client.head(app.url("/healthz")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let head = app
        .client
        .head(app.url("/v1/ledger/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);

    let page = app.get("/S/NOTASEAL").await;
    let headers = page.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    // Entry pages are bounded too: the limit is stated, and what is over it is refused.
    let resp = app.get("/v1/ledger/entries?limit=1001").await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn metrics_count_what_happened_for_loopback_clients() {
    let app = spawn_app_with(short());
    assert_eq!(app.issue(&example_request()).await.status(), 201);
    let _ = app
        .client
        .post(app.url("/v1/verify"))
        .json(&serde_json::json!({"qr": "hello"}))
        .send()
        .await
        .unwrap();
    let text = app.get("/metrics").await.text().await.unwrap();
    // The counters are process-wide (other tests run in this process): check shapes and floors.
    let value = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
    assert!(value("kpcert_ledger_commits_total ") >= 1);
    assert!(value("kpcert_verdicts_total{verdict=\"malformed\"}") >= 1);
    assert!(value("kpcert_certificates ") >= 1);
    assert!(text.contains("kpcert_http_requests_total{route=\"/v1/certificates\",status=\"2xx\"}"));
    assert!(text.contains("# TYPE kpcert_ledger_queue_depth gauge"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit() {
    let clock = kpcert::clock::ManualClock::at_date("2026-06-01");
    let app = crate::helpers::spawn_app_at(
        Options {
            public_rate_limit: 1.0,
            trusted_proxies: vec![kpcert::http::limit::Cidr::parse("127.0.0.1").unwrap()],
            ..short()
        },
        clock,
    );
    let get = |client: &'static str| {
        app.client
            .get(app.url("/v1/ledger/checkpoint"))
            .header("x-forwarded-for", format!("198.51.100.7, {client}"))
            .send()
    };
    // A burst of 2 each: the third request of one client is refused, the other still served.
    for _ in 0..2 {
        assert_eq!(get("203.0.113.1").await.unwrap().status(), 200);
    }
    assert_eq!(get("203.0.113.1").await.unwrap().status(), 429);
    assert_eq!(get("203.0.113.2").await.unwrap().status(), 200);
}

#[tokio::test]
async fn head_of_an_export_reads_nothing_and_holds_no_slot() {
    let app = spawn_app_with(short());
    for _ in 0..5 {
        let resp = app
            .client
            .head(app.url("/v1/ledger/export"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    }
    // No export is running for this address: a GET streams at once.
    let resp = app.get("/v1/ledger/export").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().starts_with(b"KPCERT-EXPORT-V2"));
}
