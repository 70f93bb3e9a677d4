//! The real `kpcert` binary: authority registration, keys, plain-HTTP refusal, and commands that
//! meet a data folder held by a running server.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{client_for, post_example};

pub fn kpcert(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kpcert"));
    cmd.args(args)
        .env("KPCERT_DATA_DIR", dir.join("data"))
        .env("KPCERT_KEYS_DIR", dir.join("keys"))
        .env_remove("KPCERT_LOG")
        .current_dir(dir);
    cmd
}

/// Runs to completion, failing the test if the command hangs (a guard, not a speed check).
pub fn run(mut cmd: Command) -> (i32, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("command hung: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn add_authority(dir: &Path, participant: &str) -> Value {
    let (code, out, err) = run(kpcert(
        dir,
        &[
            "authority",
            "add",
            "--participant",
            participant,
            "--name",
            "Ministry of Minerals",
            "--json",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

pub struct Server(pub Child, pub u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_server(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--tls-self-signed"];
    args.extend_from_slice(extra);
    let mut child = kpcert(dir, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(rest) = line.split("serving address=").nth(1) {
            let addr = rest.split_whitespace().next().unwrap();
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server(child, port)
}

#[test]
fn authority_add_prints_json_once_and_keeps_the_key_private() {
    let dir = tempfile::tempdir().unwrap();
    let out = add_authority(dir.path(), "BW");
    let id = out["authority_id"].as_str().unwrap();
    let key_id = out["key_id"].as_str().unwrap();
    let token = out["token"].as_str().unwrap();
    assert_eq!(id, "BW-A1");
    assert_eq!(key_id.len(), 16);
    assert!(token.len() > 40);

    let keys = dir.path().join("keys");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&keys.join(format!("authority-{key_id}.key"))), 0o600);
    assert_eq!(mode(&keys.join("ledger.key")), 0o600);
    // The data folder holds every certificate's record (names, carats, values): owner only.
    assert_eq!(mode(&dir.path().join("data")), 0o700);

    // Only a hash of the token is stored.
    for entry in walk(&dir.path().join("data")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "token found in {}",
            entry.display()
        );
    }

    let second = add_authority(dir.path(), "BW");
    assert_eq!(second["authority_id"], "BW-A2");
    let (code, _, err) = run(kpcert(
        dir.path(),
        &["authority", "add", "--participant", "KE", "--name", "Kenya"],
    ));
    assert_ne!(code, 0);
    assert!(err.contains("not a Kimberley Process participant"), "{err}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(kpcert(dir.path(), &["serve", "--listen", "0.0.0.0:0"]));
    assert_eq!(code, 2);
    assert!(err.contains("refusing plain HTTP"), "{err}");
    let (code, _, err) = run(kpcert(dir.path(), &["serve", "--tls-cert", "x.pem"]));
    assert_ne!(code, 0);
    assert!(err.contains("--tls-key"), "{err}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[tokio::test]
async fn the_binary_serves_https_and_cli_commands_say_why_they_cannot_share_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_authority(dir.path(), "BW")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = start_server(dir.path(), &[]);

    let client = client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    let resp = post_example(&client, &base, &token).await;
    assert_eq!(resp.status(), 201);

    // A command that needs the database fails at once with a clear reason, and corrupts nothing.
    let (code, _, err) = run(kpcert(
        dir.path(),
        &["authority", "add", "--participant", "AE", "--name", "UAE"],
    ));
    assert_ne!(code, 0);
    assert!(
        err.contains("a running kpcert server holds the data folder") && err.contains("--url"),
        "{err}"
    );
    assert!(!err.contains("stop it first"), "one way on, not two: {err}");

    // keys show reads only the keys folder and agrees with what the server publishes.
    let (code, out, err) = run(kpcert(dir.path(), &["keys", "show"]));
    assert_eq!(code, 0, "{err}");
    let published = client
        .get(format!("{base}/v1/ledger/verifier-key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(out.contains(published.trim()), "{out} vs {published}");

    // The server keeps working after the refused command.
    let resp = post_example(&client, &base, &token).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(body["number"].as_str().unwrap().ends_with("-000002"));
    drop(server);

    let (code, out, err) = run(kpcert(dir.path(), &["authority", "list"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("BW-A1"), "{out}");
}

#[test]
fn unsafe_or_foreign_key_folders_stop_the_start_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key_id = add_authority(dir.path(), "BW")["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = dir.path().join(format!("keys/authority-{key_id}.key"));

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, _, err) = run(kpcert(dir.path(), &["authority", "list"]));
    assert_ne!(code, 0);
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, out, err) = run(kpcert(dir.path(), &["authority", "list"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("BW-A1") && !out.contains("cannot issue"),
        "{out}"
    );

    // A missing key leaves the authority listed but unable to issue.
    std::fs::rename(&key, dir.path().join("moved.key")).unwrap();
    let (code, out, _) = run(kpcert(dir.path(), &["authority", "list"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("BW-A1") && out.contains("cannot issue"),
        "{out}"
    );

    // `authority list` with these folders fails; what it said.
    let refused = |folders: &[(&str, &str)]| {
        let mut cmd = kpcert(dir.path(), &["authority", "list"]);
        for (var, folder) in folders {
            cmd.env(var, dir.path().join(folder));
        }
        let (code, _, err) = run(cmd);
        assert_ne!(code, 0, "{folders:?}");
        err
    };
    // An existing ledger with an empty keys folder is refused before any key is generated.
    let err = refused(&[("KPCERT_KEYS_DIR", "other-keys")]);
    assert!(err.contains("has no ledger key"), "{err}");
    assert!(!dir.path().join("other-keys/ledger.key").exists());

    // A data or keys "folder" that is a file is named in the refusal, and no key is made.
    std::fs::write(dir.path().join("afile"), b"x").unwrap();
    let err = refused(&[("KPCERT_DATA_DIR", "afile"), ("KPCERT_KEYS_DIR", "k9")]);
    assert!(err.contains("afile"), "{err}");
    assert!(
        !dir.path().join("k9").exists(),
        "keys made before the refusal"
    );
    let err = refused(&[("KPCERT_KEYS_DIR", "afile")]);
    assert!(err.contains("afile"), "{err}");
}

#[test]
fn serve_checks_its_port_and_tls_files_before_it_creates_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(kpcert(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "missing.pem",
            "--tls-key",
            "missing.key",
        ],
    ));
    assert_eq!(code, 2);
    assert!(err.contains("missing.pem"), "{err}");
    assert!(!dir.path().join("data").exists(), "no ledger was created");
    assert!(!dir.path().join("keys").exists(), "no key was generated");

    // The demo on a busy port says so before it prints tokens or creates anything.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (code, out, err) = run(kpcert(
        dir.path(),
        &["demo", "--listen", &format!("127.0.0.1:{port}")],
    ));
    assert_eq!(code, 2);
    assert!(err.contains("--listen"), "{err}");
    assert!(!out.contains("token"), "{out}");
    assert!(!dir.path().join("data").exists());
}

#[tokio::test]
async fn a_token_whose_key_is_gone_is_told_so_and_two_authorization_headers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bw = add_authority(dir.path(), "BW");
    let ae = add_authority(dir.path(), "AE");
    let ae_key = dir.path().join(format!(
        "keys/authority-{}.key",
        ae["key_id"].as_str().unwrap()
    ));
    std::fs::rename(&ae_key, dir.path().join("moved.key")).unwrap();
    let server = start_server(dir.path(), &[]);
    let client = client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    let resp = post_example(&client, &base, ae["token"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("AE-A1"),
        "{body}"
    );
    let resp = client
        .post(format!("{base}/v1/certificates"))
        .header(
            "authorization",
            format!("Bearer {}", bw["token"].as_str().unwrap()),
        )
        .header(
            "authorization",
            format!("Bearer {}", ae["token"].as_str().unwrap()),
        )
        .json(&crate::helpers::example_request())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn sigint_lets_every_request_in_flight_finish_with_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_authority(dir.path(), "BW")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = start_server(dir.path(), &["--public-rate-limit", "0"]);
    let client = client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                match client
                    .post(format!("{base}/v1/certificates"))
                    .bearer_auth(&token)
                    .json(&crate::helpers::example_request())
                    .send()
                    .await
                {
                    Ok(resp) if resp.status() == 201 => {
                        acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
        }));
    }
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pid = server.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    for task in tasks {
        task.await.unwrap();
    }
    let mut server = server;
    let status = server.0.wait().unwrap();
    assert!(status.success(), "exits cleanly: {status:?}");
    // Every certificate the ledger recorded was answered 201.
    let (code, out, err) = run(kpcert(
        dir.path(),
        &["audit", "--data-dir", "data", "--json"],
    ));
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        report["certificates"].as_u64().unwrap(),
        acknowledged.load(std::sync::atomic::Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_acknowledged_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_authority(dir.path(), "BW")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = start_server(dir.path(), &["--public-rate-limit", "0"]);
    let client = client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    let mut numbers = Vec::new();
    for _ in 0..25 {
        let resp = post_example(&client, &base, &token).await;
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        numbers.push(body["number"].as_str().unwrap().to_owned());
    }
    // The backup: an export of the live folder (read-only), the keys folder, the tokens file.
    let backup = dir.path().join("backup");
    std::fs::create_dir(&backup).unwrap();
    let (code, _, err) = run(kpcert(
        dir.path(),
        &[
            "export",
            "--data-dir",
            "data",
            "--full",
            "--out",
            "backup/ledger.export",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(backup.join("ledger.export"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "a full export is private");
    }
    std::fs::copy(dir.path().join("data/tokens"), backup.join("tokens")).unwrap();
    // An output inside the ledger's or the keys' folder is refused before anything is written
    // (it replaced entries.dat under the running server), whatever the command and however
    // the path is spelled; the folder still audits.
    let held = |rel: &str| std::fs::read(dir.path().join(rel)).ok();
    let before: Vec<_> = ["data/entries.dat", "data/offsets.dat", "keys/ledger.origin"]
        .iter()
        .map(|f| held(f))
        .collect();
    for args in [
        &["export", "--data-dir", "data", "--out", "data/entries.dat"][..],
        &["export", "--out", "./data/../data/offsets.dat"],
        &["export", "--full", "--out", "keys/ledger.origin"],
        &["export", "--out", "keys/new.export"],
        &["audit", "--data-dir", "data", "--stats", "data/offsets.dat"],
        &[
            "audit",
            "--file",
            "backup/ledger.export",
            "--state",
            "data/checkpoint.txt",
        ],
        &[
            "report",
            "annual",
            "--year",
            "2026",
            "--out",
            "data/reports",
        ],
    ] {
        let (code, out, err) = run(kpcert(dir.path(), args));
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains("write it elsewhere"), "{args:?}: {err}");
    }
    let after: Vec<_> = ["data/entries.dat", "data/offsets.dat", "keys/ledger.origin"]
        .iter()
        .map(|f| held(f))
        .collect();
    assert!(before == after, "a refused command changed the folder");
    for stray in [
        "keys/new.export",
        "keys/ledger.partial",
        "data/reports",
        "data/entries.partial",
    ] {
        assert!(!dir.path().join(stray).exists(), "{stray}");
    }
    let (code, out, err) = run(kpcert(dir.path(), &["audit", "--data-dir", "data"]));
    assert_eq!(code, 0, "{out}{err}");
    // A folder that is no ledger at all cannot be audited (2), which is not a failed audit (1).
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    for folder in ["missing", "empty", "keys"] {
        let (code, out, err) = run(kpcert(dir.path(), &["audit", "--data-dir", folder]));
        assert_eq!(code, 2, "{folder}: {out}{err}");
        assert!(err.contains("not a kpcert data folder"), "{folder}: {err}");
        assert!(!out.contains("FAILED"), "{folder}: {out}");
    }
    // A ledger that lost its entries file is no "other folder": its audit fails (1).
    let gutted = dir.path().join("gutted");
    std::fs::create_dir(&gutted).unwrap();
    for f in ["checkpoint.txt", "offsets.dat", "nodes.dat"] {
        std::fs::copy(dir.path().join("data").join(f), gutted.join(f)).unwrap();
    }
    let (code, out, err) = run(kpcert(dir.path(), &["audit", "--data-dir", "gutted"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAILED"), "{out}");
    // A public export holds no records: it cannot restore a service, and says so.
    let (code, _, err) = run(kpcert(
        dir.path(),
        &["export", "--data-dir", "data", "--out", "public.export"],
    ));
    assert_eq!(code, 0, "{err}");
    // Asked for a full audit, a public export fails rather than pass unchecked records.
    let (code, out, _) = run(kpcert(
        dir.path(),
        &["audit", "--file", "public.export", "--full"],
    ));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a full audit was asked for"), "{out}");
    let (code, out, err) = run(kpcert(
        dir.path(),
        &["audit", "--file", "backup/ledger.export", "--full"],
    ));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("full audit"), "{out}");
    let (code, _, err) = run(kpcert(
        dir.path(),
        &[
            "restore",
            "--from",
            "public.export",
            "--data-dir",
            "nowhere",
        ],
    ));
    assert_ne!(code, 0);
    assert!(err.contains("--full"), "{err}");
    assert!(!dir.path().join("nowhere").exists());
    // Writing goes on after the backup.
    let resp = post_example(&client, &base, &token).await;
    assert_eq!(resp.status(), 201);
    drop(server);

    // Restore into an empty folder, with the keys folder the ledger belongs to.
    let restore_into = |folder: &str| {
        run(kpcert(
            dir.path(),
            &[
                "restore",
                "--from",
                "backup/ledger.export",
                "--data-dir",
                folder,
            ],
        ))
    };
    let restored = dir.path().join("restored");
    let (code, _, err) = restore_into(restored.to_str().unwrap());
    assert_eq!(code, 0, "{err}");
    std::fs::copy(backup.join("tokens"), restored.join("tokens")).unwrap();
    // Restoring over an existing ledger is refused.
    let (code, _, err) = restore_into("data");
    assert_eq!(code, 2);
    assert!(err.contains("empty folder"), "{err}");
    // So is restoring into any folder that holds files (the keys folder, a backup folder):
    // the ledger's files would mix with them; nothing is written there.
    for folder in ["keys", "backup"] {
        let listed = |d: &str| {
            let mut names: Vec<_> = std::fs::read_dir(dir.path().join(d))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            names
        };
        let before = listed(folder);
        let (code, _, err) = restore_into(folder);
        assert_eq!(code, 2, "{folder}: {err}");
        assert!(err.contains("empty folder"), "{folder}: {err}");
        assert_eq!(listed(folder), before, "{folder}");
    }

    let (code, out, err) = run(kpcert(
        dir.path(),
        &["audit", "--json", "--data-dir", restored.to_str().unwrap()],
    ));
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["certificates"], 25);

    // Serve the restored folder with the keys folder the ledger belongs to.
    let server = {
        let restored_dir = tempfile::tempdir().unwrap();
        std::fs::rename(&restored, restored_dir.path().join("data")).unwrap();
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(dir.path().join("keys"))
            .arg(restored_dir.path().join("keys"))
            .status()
            .unwrap();
        assert!(status.success());
        (start_server(restored_dir.path(), &[]), restored_dir)
    };
    let client = client_for(server.1.path());
    let base = format!("https://localhost:{}", server.0 .1);
    for number in &numbers {
        let resp = client
            .get(format!("{base}/v1/certificates/{number}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{number}");
    }
    // The restored service issues on, with the backed-up token, after the last restored serial.
    let resp = post_example(&client, &base, &token).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["number"].as_str().unwrap().ends_with("-000026"),
        "{body}"
    );
}

/// `kpcert authority add | list | rotate | revoke-key | token` while a server holds the folder:
/// with `--url` and a Secretariat token they go through the admin API and take effect at once;
/// without, they stop at once and say to use `--url`.
#[tokio::test]
async fn authority_commands_work_through_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(kpcert(
        dir.path(),
        &[
            "authority",
            "add",
            "--participant",
            "BW",
            "--name",
            "Ministry of Minerals",
            "--json",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let bw: Value = serde_json::from_str(out.trim()).unwrap();
    let secretariat = err
        .split("Secretariat token (shown once; keep it safe): ")
        .nth(1)
        .expect("the first run prints a Secretariat token")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let server = start_server(dir.path(), &[]);
    let url = format!("https://localhost:{}", server.1);
    let cacert = dir.path().join("keys/tls-self-signed.crt");
    let remote = |args: &[&str]| {
        let mut cmd = kpcert(dir.path(), args);
        cmd.env("KPCERT_URL", &url)
            .env("KPCERT_ADMIN_TOKEN", &secretariat)
            .env("KPCERT_CACERT", &cacert);
        run(cmd)
    };
    let (code, out, err) = remote(&[
        "authority",
        "add",
        "--participant",
        "AE",
        "--name",
        "UAE Kimberley Process Office",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let ae: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(ae["authority_id"], "AE-A1");
    // The new token works at once.
    let client = client_for(dir.path());
    let mut body = crate::helpers::example_request();
    body["destination"] = serde_json::json!("BW");
    body["origin"] = serde_json::json!({"countries": ["AE"]});
    let resp = client
        .post(format!("{url}/v1/certificates"))
        .bearer_auth(ae["token"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let (code, out, err) = remote(&["authority", "rotate", "--authority", "BW-A1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("BW-A1: signs with key"), "{out}");
    let (code, out, err) = remote(&["authority", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(out.trim()).unwrap();
    let bw_now = &list.as_array().unwrap()[1];
    assert_eq!(bw_now["authority_id"], "BW-A1");
    assert_eq!(bw_now["keys"].as_array().unwrap().len(), 2);
    assert_ne!(bw_now["current_key_id"], bw["key_id"]);
    // The old token still issues, now with the new key.
    let resp = post_example(&client, &url, bw["token"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 201);
    let issued: Value = resp.json().await.unwrap();
    assert_eq!(issued["key_id"], bw_now["current_key_id"]);

    let old_key = bw["key_id"].as_str().unwrap();
    let (code, out, err) = remote(&[
        "authority",
        "revoke-key",
        "--authority",
        "BW-A1",
        "--key-id",
        old_key,
        "--compromised-from",
        "2020-01-01T00:00:00Z",
        "--reason",
        "backup tape lost",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("revoked: compromised from 2020-01-01"),
        "{out}"
    );

    let (code, out, err) = remote(&[
        "authority",
        "token",
        "--authority",
        "BW-A1",
        "--revoke-others",
    ]);
    assert_eq!(code, 0, "{err}");
    let new_token = out.trim().to_owned();
    let resp = post_example(&client, &url, bw["token"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 401, "the old token stopped at once");
    let resp = post_example(&client, &url, &new_token).await;
    assert_eq!(resp.status(), 201);

    // Tokens of any role, through the server: a monitor token works at once, is listed
    // (never shown again), and stops at once when revoked.
    let (code, out, err) = remote(&[
        "token",
        "mint",
        "--role",
        "monitor",
        "--owner",
        "KP Monitoring Team",
        "--days",
        "7",
    ]);
    assert_eq!(code, 0, "{err}");
    let monitor = out.trim().to_owned();
    let resp = client
        .get(format!("{url}/v1/ledger/export/full"))
        .bearer_auth(&monitor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (code, out, err) = remote(&["token", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(out.trim()).unwrap();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["owner"] == "KP Monitoring Team")
        .expect("the new token is listed");
    assert_eq!(listed["role"], "monitor");
    assert!(!out.contains(&monitor), "a list never shows a token");
    let prefix = listed["prefix"].as_str().unwrap().to_owned();
    let (code, out, err) = remote(&["token", "revoke", "--prefix", &prefix]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked 1"), "{out}");
    let resp = client
        .get(format!("{url}/v1/ledger/export/full"))
        .bearer_auth(&monitor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "revoked at once");
    let (code, _, err) = remote(&["token", "mint", "--role", "king", "--owner", "x"]);
    assert_ne!(code, 0);
    assert!(err.contains("--role"), "{err}");

    // Without --url: refused at once, saying how; with a wrong token: the server's reason.
    let (code, _, err) = run(kpcert(dir.path(), &["authority", "list"]));
    assert_ne!(code, 0);
    assert!(err.contains("--url"), "{err}");
    let mut cmd = kpcert(dir.path(), &["authority", "list"]);
    cmd.env("KPCERT_URL", &url)
        .env("KPCERT_ADMIN_TOKEN", &new_token)
        .env("KPCERT_CACERT", &cacert);
    let (code, _, err) = run(cmd);
    assert_ne!(code, 0);
    assert!(err.contains("403"), "{err}");
}

#[tokio::test]
async fn an_authority_with_its_own_key_signs_with_the_binary_offline_and_online() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    // The authority's side: a key of its own, mode 0600, never overwritten.
    let key = home.path().join("za.key");
    let (code, out, err) = run(kpcert(
        dir.path(),
        &["keys", "new", "--out", key.to_str().unwrap()],
    ));
    assert_eq!(code, 0, "{err}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let public = out
        .split("public key:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (code, _, err) = run(kpcert(
        dir.path(),
        &["keys", "new", "--out", key.to_str().unwrap()],
    ));
    assert_ne!(code, 0, "an existing key is never overwritten");
    assert!(err.contains("never overwritten"), "{err}");

    // The Secretariat's side: ZA registered with its public key only.
    let (code, out, err) = run(kpcert(
        dir.path(),
        &[
            "authority",
            "add",
            "--participant",
            "ZA",
            "--name",
            "South African Diamond Regulator",
            "--public-key",
            &public,
            "--json",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let za: Value = serde_json::from_str(out.trim()).unwrap();
    let token = za["token"].as_str().unwrap().to_owned();
    let server = start_server(dir.path(), &[]);
    let url = format!("https://localhost:{}", server.1);
    let cacert = dir.path().join("keys/tls-self-signed.crt");
    let client = client_for(dir.path());
    let mut request = crate::helpers::example_request();
    request["origin"] = serde_json::json!({"countries": ["ZA"]});
    let request_path = home.path().join("request.json");
    std::fs::write(&request_path, request.to_string()).unwrap();

    // Offline: the next number saved to a file, signed on a machine without the server.
    let next = client
        .get(format!("{url}/v1/certificates/next"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let next_path = home.path().join("next.json");
    std::fs::write(&next_path, &next).unwrap();
    let signed_path = home.path().join("signed.json");
    // KPCERT_URL set in the environment (as the README exports it) does not get in the way.
    // `kpcert sign` with `key`, from the saved next number, on the authority's machine.
    let sign_offline = |key: &std::path::Path| {
        kpcert(
            home.path(),
            &[
                "sign",
                "--key",
                key.to_str().unwrap(),
                "--next",
                next_path.to_str().unwrap(),
                "--request",
                request_path.to_str().unwrap(),
            ],
        )
    };
    let mut offline = sign_offline(&key);
    offline
        .args(["--out", signed_path.to_str().unwrap()])
        .env("KPCERT_URL", "https://unreachable.invalid");
    let (code, _, err) = run(offline);
    assert_eq!(code, 0, "{err}");
    let signed: Value =
        serde_json::from_str(&std::fs::read_to_string(&signed_path).unwrap()).unwrap();
    let resp = client
        .post(format!("{url}/v1/certificates/signed"))
        .bearer_auth(&token)
        .json(&signed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first["number"], "ZA-2026-000001".replace("2026", &year()));

    // Online in one step: the next number fetched, signed and sent.
    let mut cmd = kpcert(
        home.path(),
        &[
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--request",
            request_path.to_str().unwrap(),
            "--submit",
        ],
    );
    cmd.env("KPCERT_URL", &url)
        .env("KPCERT_TOKEN", &token)
        .env("KPCERT_CACERT", &cacert);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    let second: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(second["number"], "ZA-2026-000002".replace("2026", &year()));

    // The same saved file again is the recorded certificate, not a new one; a request that
    // breaks a rule is refused before anything is signed, naming the field.
    let resp = client
        .post(format!("{url}/v1/certificates/signed"))
        .bearer_auth(&token)
        .json(&signed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["idempotent-replayed"], "true");
    request["parcels"] = serde_json::json!(0);
    std::fs::write(&request_path, request.to_string()).unwrap();
    let (code, _, err) = run(sign_offline(&key));
    assert_ne!(code, 0);
    assert!(err.contains("parcels"), "{err}");
    // Another key than the authority's current one is refused before signing.
    let other = home.path().join("other.key");
    let (code, _, _) = run(kpcert(
        home.path(),
        &["keys", "new", "--out", other.to_str().unwrap()],
    ));
    assert_eq!(code, 0);
    let (code, _, err) = run(sign_offline(&other));
    assert_ne!(code, 0);
    assert!(err.contains("current key"), "{err}");

    // `kpcert sign void` signs the void of the second certificate on the authority's side
    // and sends it; the certificate is void from then on.
    let second_number = second["number"].as_str().unwrap();
    let authority = second["certificate"]["issuer"]["authority_id"]
        .as_str()
        .unwrap();
    let mut cmd = kpcert(
        home.path(),
        &[
            "sign",
            "void",
            "--key",
            key.to_str().unwrap(),
            "--authority",
            authority,
            "--number",
            second_number,
            "--reason",
            "signed twice by mistake",
            "--submit",
        ],
    );
    cmd.env("KPCERT_URL", &url)
        .env("KPCERT_TOKEN", &token)
        .env("KPCERT_CACERT", &cacert);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    let voided: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(voided["state"], "void", "{voided}");
    // `kpcert sign confirm` checks what arrived before signing anything.
    let arrival_path = home.path().join("arrival.json");
    std::fs::write(
        &arrival_path,
        r#"{"received_on": "2026-13-01", "parcels": 0, "items": []}"#,
    )
    .unwrap();
    let (code, _, err) = run(kpcert(
        home.path(),
        &[
            "sign",
            "confirm",
            "--key",
            key.to_str().unwrap(),
            "--authority",
            authority,
            "--number",
            second_number,
            "--request",
            arrival_path.to_str().unwrap(),
        ],
    ));
    assert_ne!(code, 0);
    assert!(
        err.contains("received_on") && err.contains("parcels") && err.contains("items"),
        "{err}"
    );
}

/// This year (UTC), as the server numbers certificates.
fn year() -> String {
    kpcert::clock::system().today().year().to_string()
}

/// The demo records the KP's history of standing, so a newcomer sees standing judged at a date
/// at once: the Congo removed with an order to refuse its certificates, the Central African
/// Republic partially suspended with its zones, Côte d'Ivoire's embargo; a second start records
/// nothing twice.
#[tokio::test]
async fn the_demo_records_the_kp_history_of_standing() {
    let dir = tempfile::tempdir().unwrap();
    for start in 0..2 {
        let mut child = kpcert(dir.path(), &["demo", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port: u16 = loop {
            let line = lines
                .next()
                .expect("the demo exited before listening")
                .unwrap();
            if let Some(rest) = line.split("serving address=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.rsplit(':').next().unwrap().parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let server = Server(child, port);
        let client = client_for(dir.path());
        let get = |path: String| {
            let client = client.clone();
            async move {
                client
                    .get(format!("https://localhost:{port}{path}"))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let cg = get("/v1/participants/CG?at=2005-01-01".into()).await;
        assert_eq!(cg["status"], "removed", "{cg}");
        assert_eq!(cg["refusal_order"]["refuse_from"], "2004-07-09", "{cg}");
        let cg_now = get("/v1/participants/CG".into()).await;
        assert_eq!(cg_now["status"], "active", "{cg_now}");
        assert_eq!(
            cg_now["changes"].as_array().unwrap().len(),
            2,
            "start {start}: {cg_now}"
        );
        let cf = get("/v1/participants/CF?at=2016-01-01".into()).await;
        assert_eq!(cf["status"], "partially_suspended", "{cf}");
        assert_eq!(
            cf["change"]["change"]["terms"]["zones"][0]["name"],
            "Berbérati"
        );
        let ci = get("/v1/participants/CI?at=2010-06-01".into()).await;
        assert_eq!(
            (ci["status"].as_str(), ci["in_good_standing"].as_bool()),
            (Some("active"), Some(false)),
            "{ci}"
        );
        let ve = get("/v1/participants/VE?at=2012-01-01".into()).await;
        assert_eq!(ve["status"], "self_suspended", "{ve}");
        // The README tells a newcomer at which ledger index the demo's first certificate
        // lands: it is the demo ledger's size (the history is recorded once, not again).
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let stated: u64 = readme
            .split("is `BW-2026-000001` at\nledger index ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .expect("the README states the demo certificate's ledger index");
        let checkpoint = client
            .get(format!("https://localhost:{port}/v1/ledger/checkpoint"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            crate::helpers::note_size(&checkpoint),
            stated,
            "start {start}: the README's index of the first certificate"
        );
        drop(server);
    }
}
