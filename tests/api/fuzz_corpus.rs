//! The fuzz corpora (fuzz/corpus/<target>/) replayed through the fuzz targets' own bodies
//! (kpcert::fuzz) on every test run: the short, stable smoke run of the fuzzers. The long runs
//! use `cargo +nightly fuzz run <target>` (BENCHMARKS.md). `KPCERT_BLESS_CORPUS=1` (re)writes
//! the seed files made from the published vectors.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn vectors(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("api/vectors")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    kpcert::codec::text::from_hex(v.as_str().unwrap()).unwrap()
}

/// Seeds made from the published vectors: valid inputs for every target to start from.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let entries = vectors("entries.json");
    let mut entry_bytes = Vec::new();
    for e in entries["entries"].as_array().unwrap() {
        let bytes = hex(&e["canonical_hex"]);
        out.push(("entry", format!("entry-{}", e["index"]), bytes.clone()));
        out.push(("cbor", format!("entry-{}", e["index"]), bytes.clone()));
        entry_bytes.push(bytes);
    }
    let note = entries["checkpoint"].as_str().unwrap().to_owned();
    out.push(("note", "checkpoint".into(), note.clone().into_bytes()));
    let mut export = Vec::new();
    kpcert::codec::export::write_export(
        &mut export,
        kpcert::codec::export::Level::Public,
        &note,
        entry_bytes.len() as u64,
        entry_bytes.into_iter().map(|entry| {
            Ok(kpcert::codec::export::Frame {
                entry,
                record: Vec::new(),
            })
        }),
    )
    .unwrap();
    out.push(("export", "vector-ledger".into(), export));
    for (i, c) in vectors("certificates.json")["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        out.push((
            "entry",
            format!("certificate-{i}"),
            hex(&c["canonical_hex"]),
        ));
        out.push((
            "request",
            format!("request-{i}"),
            serde_json::to_vec(&c["request"]).unwrap(),
        ));
    }
    for (i, s) in vectors("seals.json")["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        out.push((
            "seal",
            format!("qr-{i}"),
            s["qr_text"].as_str().unwrap().as_bytes().to_vec(),
        ));
        out.push(("seal", format!("cose-{i}"), hex(&s["seal_hex"])));
        out.push(("cbor", format!("seal-{i}"), hex(&s["seal_hex"])));
    }
    let bundle = kpcert::codec::trust::TrustBundle::of_state(
        &kpcert::domain::State::new(),
        1_795_651_200_000,
        86_400_000,
        "kpcert.example/ledger",
        "kpcert.example/ledger+00000000+AQ==",
    );
    out.push(("bundle", "empty".into(), bundle.encode()));
    let root = kpcert::crypto::SigningKey::from_seed(&[2; 32]);
    out.push((
        "bundle",
        "empty-json".into(),
        bundle.to_signed_json(&root).into_bytes(),
    ));
    out
}

#[test]
fn every_corpus_input_passes_its_fuzz_target() {
    if std::env::var_os("KPCERT_BLESS_CORPUS").is_some() {
        for (target, name, bytes) in seeds() {
            std::fs::create_dir_all(corpus(target)).unwrap();
            std::fs::write(corpus(target).join(name), bytes).unwrap();
        }
    }
    let mut ran = 0;
    for (target, run) in kpcert::fuzz::TARGETS {
        let dir = corpus(target);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!files.is_empty(), "{target} has no corpus");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            run(&data);
            // Every one-byte change of the input too: the neighbours fuzzing starts from.
            for at in (0..data.len()).step_by(data.len() / 64 + 1) {
                let mut changed = data.clone();
                changed[at] ^= 0x5a;
                run(&changed);
            }
            ran += 1;
        }
    }
    assert!(ran >= 20, "only {ran} corpus inputs");
}
