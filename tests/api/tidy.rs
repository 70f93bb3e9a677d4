//! Rules kept by tests, not by memory: module docs everywhere, and the OpenAPI description in
//! step with the routes the server really has.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        if root.join(dir).exists() {
            rust_files(&root.join(dir), &mut files);
        }
    }
    assert!(files.len() > 10);
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! module doc: {missing:?}"
    );
}

/// (method, path) pairs of api/openapi.yaml, read from its `paths:` block.
fn openapi_routes() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("api/openapi.yaml"))
            .unwrap();
    let mut routes = Vec::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("paths:") {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.trim().is_empty() {
            break;
        }
        if !in_paths {
            continue;
        }
        if let Some(path) = line.strip_prefix("  /") {
            current = Some(format!("/{}", path.trim_end_matches(':')));
        } else if let (Some(path), Some(method)) = (&current, line.strip_prefix("    ")) {
            let method = method.trim_end_matches(':');
            if ["get", "post", "put", "delete", "patch"].contains(&method) {
                routes.push((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn openapi_describes_exactly_the_routes_the_server_has() {
    let mut described = openapi_routes();
    described.sort();
    let mut served: Vec<(String, String)> = kpcert::http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(described, served);
}

#[tokio::test]
async fn every_listed_route_is_really_served() {
    let app = crate::helpers::spawn_app();
    for (method, path) in kpcert::http::ROUTES {
        let concrete = path.replace("{number}", "BW-2026-000001");
        let req = match *method {
            "get" => app.client.get(app.url(&concrete)),
            "post" => app.client.post(app.url(&concrete)),
            other => panic!("unexpected method {other}"),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!(
            !(status == 404 && body.contains("no such route")) && status != 405,
            "{method} {path}: {status} {body}"
        );
    }
}
