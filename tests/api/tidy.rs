//! Rules kept by tests, not by memory: module docs everywhere, the architecture's invariants
//! (who owns which outside crate, a pure domain, one clock, one producer of signed bytes, one
//! writer of the ledger files), a code map that matches the tree, and the OpenAPI description in
//! step with the routes the server really has.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

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

/// Every source file under `src/` with its path relative to the crate root and its text, without
/// its `#[cfg(test)]` tail (tests may use anything).
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            // Code without its test module (private, or shared with other modules' tests).
            let test_module = ["#[cfg(test)]\nmod ", "#[cfg(test)]\npub(crate) mod "]
                .iter()
                .filter_map(|m| text.find(m))
                .min();
            let code = match test_module {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            let rel = f
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, code)
        })
        .collect()
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        if root().join(dir).exists() {
            rust_files(&root().join(dir), &mut files);
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

/// Which files may name an outside crate (a path prefix list per crate; `src/x/` is a folder).
const OWNERS: &[(&str, &[&str])] = &[
    ("actix_web", &["src/http/"]),
    ("actix_server", &["src/http/"]),
    ("actix_service", &["src/http/"]),
    ("actix_http", &["src/http/"]),
    ("tokio", &["src/http/"]),
    ("futures_util", &["src/http/"]),
    ("rustls", &["src/tls.rs"]),
    ("rustls_pki_types", &["src/tls.rs"]),
    ("rustls_native_certs", &["src/tls.rs"]),
    ("rcgen", &["src/tls.rs"]),
    ("reqwest", &["src/client.rs"]),
    ("sled", &["src/ledger/index.rs"]),
    ("ed25519_dalek", &["src/crypto.rs"]),
    ("curve25519_dalek", &["src/crypto.rs"]),
    ("sha2", &["src/crypto.rs"]),
    ("getrandom", &["src/crypto.rs"]),
    ("data_encoding", &["src/codec/text.rs"]),
    ("unicode_normalization", &["src/domain/certificate.rs"]),
    ("imbl", &["src/domain/lives.rs", "src/domain/stats.rs"]),
    ("mimalloc", &["src/main.rs"]),
    ("askama", &["src/portal/"]),
    ("qrcode", &["src/qr.rs"]),
    ("png", &["src/qr.rs"]),
    ("rqrr", &["src/qr.rs"]),
    ("clap", &["src/cli/"]),
    ("anyhow", &["src/cli/"]),
    ("tracing_subscriber", &["src/cli/"]),
    (
        "serde_json",
        &[
            "src/http/",
            "src/cli/",
            "src/views.rs",
            "src/statistics.rs",
            "src/codec/trust.rs",
        ],
    ),
    (
        "serde",
        &["src/http/", "src/cli/", "src/views.rs", "src/statistics.rs"],
    ),
];

/// Whether `code` names crate `name` as a path (`name::` not preceded by an identifier
/// character or `::`).
fn names_crate(code: &str, name: &str) -> bool {
    let needle = format!("{name}::");
    code.match_indices(&needle).any(|(at, _)| {
        let before = &code[..at];
        !before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

#[test]
fn each_outside_crate_has_one_owner() {
    let mut wrong = Vec::new();
    for (path, code) in sources() {
        for (name, owners) in OWNERS {
            if names_crate(&code, name) && !owners.iter().any(|o| path.starts_with(o)) {
                wrong.push(format!("{path} uses {name} (owned by {owners:?})"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The table covers every dependency of Cargo.toml but the allowed-everywhere ones.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for line in deps.lines() {
        let Some((name, _)) = line.split_once(" = ") else {
            continue;
        };
        let name = name.trim().replace('-', "_");
        if ["thiserror", "tracing"].contains(&name.as_str()) {
            continue;
        }
        assert!(
            OWNERS.iter().any(|(n, _)| *n == name),
            "dependency {name} has no owner in the tidy table (and in ARCHITECTURE.md)"
        );
    }
}

#[test]
fn the_domain_is_pure() {
    let forbidden = [
        "std::fs",
        "std::io",
        "std::net",
        "std::thread",
        "std::time",
        "SystemTime",
        "Instant",
        "serde::",
        "serde_json",
        "crate::codec",
        "crate::ledger",
        "crate::http",
        "crate::app",
        "crate::clock",
        "tracing::",
    ];
    for (path, code) in sources() {
        if !path.starts_with("src/domain/") {
            continue;
        }
        for word in forbidden {
            assert!(!code.contains(word), "{path} uses {word}");
        }
    }
}

#[test]
fn one_clock_one_producer_of_signed_bytes_one_writer_of_the_ledger_files() {
    for (path, code) in sources() {
        if code.contains("SystemTime") {
            assert_eq!(path, "src/clock.rs", "{path} reads the system time");
        }
        // Deterministic CBOR is built only in the codec.
        if code.contains("Value::map(") || code.contains("Value::Map(") {
            assert!(path.starts_with("src/codec/"), "{path} builds CBOR");
        }
        // Keys sign only bytes the codec or tlog produced: certificates and seals (app.rs, and
        // cli/sign.rs for an authority's own key, both through codec::record::issue),
        // checkpoints (tlog/note.rs, asked by the ledger), trust bundles (codec/trust.rs).
        if code.contains(".sign(") {
            assert!(
                [
                    "src/app.rs",
                    "src/app/lifecycle.rs",
                    "src/cli/sign.rs",
                    "src/tlog/note.rs",
                    "src/codec/trust.rs",
                    "src/crypto.rs",
                    "src/ledger/mod.rs",
                    "src/ledger/writer.rs"
                ]
                .contains(&path.as_str()),
                "{path} signs"
            );
        }
        for file in ["\"entries.dat\"", "\"offsets.dat\"", "\"nodes.dat\""] {
            if code.contains(file) {
                assert!(path.starts_with("src/ledger/"), "{path} names {file}");
            }
        }
    }
}

#[test]
fn the_code_map_matches_the_tree() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for (path, _) in sources() {
        let p = Path::new(&path);
        let file = p.file_name().unwrap().to_string_lossy();
        let folder = p.parent().unwrap().to_string_lossy();
        let named = if folder == "src" {
            map.contains(&format!("`{path}`"))
        } else {
            map.contains(&format!("`{folder}/`"))
                && (file == "mod.rs" || map.contains(&format!("`{file}`")))
        };
        assert!(named, "ARCHITECTURE.md's code map does not name {path}");
    }
    // Every `src/...` path the map names exists.
    for word in map.split('`').skip(1).step_by(2) {
        if word.starts_with("src/") {
            assert!(
                root().join(word.trim_end_matches('/')).exists(),
                "ARCHITECTURE.md names {word}, which does not exist"
            );
        }
    }
}

/// (method, path, access) of api/openapi.yaml, read from its `paths:` block.
fn openapi_routes() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(root().join("api/openapi.yaml")).unwrap();
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
        } else if let Some(access) = line.strip_prefix("      x-kpcert-access: ") {
            let last: &mut (String, String, String) = routes.last_mut().expect("an operation");
            last.2 = access.trim().to_owned();
        } else if let (Some(path), Some(method)) = (&current, line.strip_prefix("    ")) {
            let method = method.trim_end_matches(':');
            if ["get", "post", "put", "delete", "patch"].contains(&method) {
                routes.push((method.to_owned(), path.clone(), String::new()));
            }
        }
    }
    routes
}

#[test]
fn openapi_describes_exactly_the_routes_the_server_has() {
    let mut described = openapi_routes();
    described.sort();
    let mut served: Vec<(String, String, String)> = kpcert::http::ROUTES
        .iter()
        .map(|(m, p, a)| (m.to_string(), p.to_string(), a.to_string()))
        .collect();
    served.sort();
    assert_eq!(described, served);
}

#[tokio::test]
async fn every_listed_route_is_really_served() {
    let app = crate::helpers::spawn_app();
    for (method, path, _) in kpcert::http::ROUTES {
        let concrete = path
            .replace("{number}", "BW-2026-000001")
            .replace("{seal}", "NOTASEAL")
            .replace("{prefix}", "kpat_none");
        let req = match *method {
            "get" => app.client.get(app.url(&concrete)),
            "post" => app.client.post(app.url(&concrete)),
            "delete" => app.client.delete(app.url(&concrete)),
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

/// Upper-case shell variables (`$NAME` or `${NAME`) a line uses, and those it sets (`NAME=`).
fn shell_variables(code: &str) -> (Vec<String>, Vec<String>) {
    let chars: Vec<char> = code.chars().collect();
    let name_at = |mut i: usize| {
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_uppercase() || chars[i].is_ascii_digit() || chars[i] == '_')
        {
            i += 1;
        }
        (chars[start..i].iter().collect::<String>(), i)
    };
    let (mut used, mut set) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            let from = if chars.get(i + 1) == Some(&'{') {
                i + 2
            } else {
                i + 1
            };
            let (name, end) = name_at(from);
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                used.push(name);
            }
            i = end.max(i + 1);
        } else if chars[i].is_ascii_uppercase()
            && (i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_'))
        {
            let (name, end) = name_at(i);
            if chars.get(end) == Some(&'=') {
                set.push(name);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    (used, set)
}

#[test]
fn every_variable_the_readme_commands_use_is_set_before() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut set = std::collections::HashSet::new();
    let mut unset = Vec::new();
    for block in readme.split("```sh\n").skip(1) {
        let block = block.split("```").next().unwrap();
        for line in block.lines() {
            // What a comment mentions is not run.
            let code = line.split(" #").next().unwrap();
            if code.trim_start().starts_with('#') {
                continue;
            }
            let (used, defined) = shell_variables(code);
            for name in used {
                if !set.contains(&name) && !defined.contains(&name) {
                    unset.push(format!("${name} in: {}", line.trim()));
                }
            }
            set.extend(defined);
        }
    }
    assert!(
        unset.is_empty(),
        "README commands use variables no earlier command sets:\n{}",
        unset.join("\n")
    );
}
