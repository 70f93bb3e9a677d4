//! Issuance and seal hot paths in-process: validate + encode + sign one certificate (issuance and
//! seal), build and
//! sign its QR seal, decode and verify a scanned seal, next to the raw ed25519 and SHA-256
//! rates measured in the same run (the REFERENCE.md baselines).
//!
//! `cargo bench --bench issuance`; it ends with the in-process ratios to issue 14's cost model
//! (issuance against two signatures, a seal check against one `verify_strict`), computed from
//! the times of this run.

use criterion::{black_box, criterion_group, Criterion, Throughput};
use kpcert::codec::encode_certificate;
use kpcert::codec::record::issue;
use kpcert::crypto::{sha256, SigningKey};
use kpcert::domain::{
    Certificate, CertificateContent, CertificateNumber, CountryCode, Date, IssuePolicy, Issuer,
};

fn request() -> serde_json::Value {
    serde_json::json!({
        "exporter": {"name": "Okavango Diamond Company", "address": "Plot 123, Gaborone, Botswana"},
        "importer": {"name": "Desert Rough DMCC", "address": "Almas Tower, Dubai, UAE"},
        "destination": "AE",
        "origin": {"countries": ["BW"]},
        "parcels": 3,
        "items": [{"hs_code": "7102.10", "carats": "1520.35", "value_usd": "845000.00"}],
    })
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_seed(&[7; 32]);
    let bw = CountryCode::participant("BW").unwrap();
    let today = Date::parse("2026-11-26").unwrap();
    let body = request();
    let is_participant = |_c: CountryCode| true;
    let policy = IssuePolicy {
        issuer: bw,
        issued_on: today,
        default_validity_days: 60,
        max_validity_days: 90,
        is_participant: &is_participant,
    };
    let issuer = Issuer {
        participant: bw,
        authority_id: "BW-A1".into(),
        authority_name: "Ministry of Minerals, Botswana".into(),
        key_id: key.public_key().key_id(),
    };

    let mut group = c.benchmark_group("issuance");
    group.throughput(Throughput::Elements(1));
    // The whole issuance as the service does it: canonical bytes, hash, the issuance and the
    // seal, each signed (two signatures per certificate since certificate v2).
    group.bench_function("parse_validate_issue", |b| {
        let mut serial = 0;
        b.iter(|| {
            serial += 1;
            let (input, _) = kpcert::http::parse_issue_request(black_box(&body)).unwrap();
            let content = CertificateContent::validate(&input, &policy).unwrap();
            let cert = Certificate {
                number: CertificateNumber::new(bw, 2026, serial),
                issuer: issuer.clone(),
                content,
                salt: [serial as u8; 16],
            };
            black_box(issue(cert, |m| key.sign(m)))
        })
    });
    let (input, _) = kpcert::http::parse_issue_request(&body).unwrap();
    let content = CertificateContent::validate(&input, &policy).unwrap();
    let cert = Certificate {
        number: CertificateNumber::new(bw, 2026, 1),
        issuer: issuer.clone(),
        content,
        salt: [9; 16],
    };
    let bytes = encode_certificate(&cert);
    group.bench_function("validate_only", |b| {
        b.iter(|| CertificateContent::validate(black_box(&input), &policy).unwrap())
    });
    group.bench_function("encode_only", |b| {
        b.iter(|| encode_certificate(black_box(&cert)))
    });
    group.bench_function("raw_ed25519_sign", |b| {
        b.iter(|| key.sign(black_box(&bytes)))
    });
    let sig = key.sign(&bytes);
    let public = key.public_key();
    group.bench_function("raw_ed25519_verify_strict", |b| {
        b.iter(|| public.verify_strict(black_box(&bytes), &sig))
    });
    let hash = sha256(&bytes);
    let claims = kpcert::codec::seal::SealClaims::of(&cert, &hash);
    let key_id = key.public_key().key_id();
    group.bench_function("seal_build_and_sign", |b| {
        b.iter(|| kpcert::codec::seal::seal(black_box(&claims), &key_id, |tbs| key.sign(tbs)))
    });
    let sealed = kpcert::codec::seal::seal(&claims, &key_id, |tbs| key.sign(tbs));
    let text = kpcert::codec::seal::qr_text("https://kp.example.org", &sealed);
    group.bench_function("seal_decode_and_verify", |b| {
        b.iter(|| {
            let bytes = kpcert::codec::seal::seal_from_qr_text(black_box(&text)).unwrap();
            let opened = kpcert::codec::seal::open(&bytes).unwrap();
            assert!(opened.verify(&public));
        })
    });
    group.bench_function("qr_symbol_build", |b| {
        b.iter(|| kpcert::qr::Symbol::encode(black_box(&text)).unwrap())
    });
    let batch_keys: Vec<SigningKey> = (0..8u8)
        .map(|i| SigningKey::from_seed(&[i + 1; 32]))
        .collect();
    let batch_publics: Vec<_> = batch_keys.iter().map(|k| k.public_key()).collect();
    let batch_messages: Vec<Vec<u8>> = (0..256u32).map(|i| i.to_be_bytes().repeat(150)).collect();
    let batch_sigs: Vec<[u8; 64]> = batch_messages
        .iter()
        .enumerate()
        .map(|(i, m)| batch_keys[i % 8].sign(m))
        .collect();
    let batch: Vec<(&[u8], &[u8; 64], &kpcert::crypto::PublicKey)> = batch_messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_slice(), &batch_sigs[i], &batch_publics[i % 8]))
        .collect();
    group.throughput(Throughput::Elements(256));
    group.bench_function("raw_ed25519_verify_batch_256", |b| {
        b.iter(|| assert!(kpcert::crypto::verify_batch(black_box(&batch))))
    });
    group.throughput(Throughput::Elements(1));
    let kib = vec![0xabu8; 1024];
    group.bench_function("raw_sha256_1kib", |b| b.iter(|| sha256(black_box(&kib))));
    group.finish();
}

criterion_group!(benches, bench);

/// Criterion's mean time of `name` in this run (nanoseconds), from its estimates file.
fn mean_ns(dir: &std::path::Path, name: &str) -> Option<f64> {
    let path = dir.join("issuance").join(name).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// After the benches: the in-process paths against issue 14's cost model, from the times just
/// measured (one core, no HTTP): an issuance cannot beat its two signatures, a seal check its
/// one `verify_strict`.
fn print_ratios() {
    let dir = std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.ancestors().nth(3)?.join("criterion"))
        });
    let Some(dir) = dir else { return };
    let get = |name| mean_ns(&dir, name);
    if let (Some(issue), Some(sign)) = (get("parse_validate_issue"), get("raw_ed25519_sign")) {
        println!(
            "cost model: in-process issuance {:.0}/s, limit two signatures {:.0}/s, ratio {:.2}",
            1e9 / issue,
            1e9 / (2.0 * sign),
            2.0 * sign / issue
        );
    }
    if let (Some(check), Some(verify)) = (
        get("seal_decode_and_verify"),
        get("raw_ed25519_verify_strict"),
    ) {
        println!(
            "cost model: in-process seal check {:.0}/s, limit one verify_strict {:.0}/s, ratio {:.2}",
            1e9 / check,
            1e9 / verify,
            verify / check
        );
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}
