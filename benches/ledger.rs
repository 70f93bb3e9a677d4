//! Ledger speed in-process: durable appends with concurrent writers (group commit), inclusion
//! and consistency proofs on a large ledger, start-up time and bytes on disk per entry, next to
//! raw sled and fdatasync baselines measured in the same run.
//!
//! `cargo bench --bench ledger` (ledger size: `KPCERT_BENCH_ENTRIES`, default 1000000)
//!
//! Every entry goes through the ledger state's rules before it is appended, as in the server.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use kpcert::codec::record::issue;
use kpcert::crypto::SigningKey;
use kpcert::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Event, HsCode,
    Hundredths, Issuer, Item, Origin, Participant, ParticipantKind, Party, SECRETARIAT,
};
use kpcert::ledger::{Ledger, NewEntry};
use kpcert::tlog::NoteSigner;

fn signer() -> NoteSigner {
    NoteSigner::new("bench.kpcert.local/ledger", SigningKey::from_seed(&[3; 32]))
}

fn code(s: &str) -> CountryCode {
    CountryCode::participant(s).unwrap()
}

/// The authority the bench issues as.
fn authority() -> Authority {
    Authority {
        id: "BW-A1".into(),
        participant: code("BW"),
        name: "Bench authority".into(),
        public_key: SigningKey::from_seed(&[4; 32]).public_key(),
        default_validity_days: 60,
        max_validity_days: 90,
    }
}

/// A ledger with BW, AE and the bench authority, ready for certificate entries.
fn open(path: &std::path::Path) -> Ledger {
    let participant = |c: &str| NewEntry {
        actor: SECRETARIAT.into(),
        key_id: None,
        event: Event::ParticipantRegistered(Participant {
            code: code(c),
            name: format!("Participant {c}"),
            region: "Bench".into(),
            kind: ParticipantKind::Participant,
        }),
    };
    let ledger = Ledger::open(
        path,
        signer(),
        kpcert::clock::system(),
        vec![participant("BW"), participant("AE")],
    )
    .unwrap();
    if ledger.state().authority("BW-A1").is_none() {
        ledger
            .append_blocking(|_| {
                Ok(NewEntry {
                    actor: SECRETARIAT.into(),
                    key_id: None,
                    event: Event::AuthorityRegistered(authority()),
                })
            })
            .unwrap();
    }
    ledger
}

/// An issuance-sized certificate entry (~900 bytes), numbered and encoded on the writer as the
/// server does; the signature is a placeholder (the ledger does not verify signatures: the
/// audit does), so the bench measures the ledger, not ed25519.
fn entry(
    i: u64,
) -> impl FnOnce(
    &mut kpcert::ledger::AppendContext<'_>,
) -> Result<NewEntry, kpcert::ledger::LedgerError>
       + Send
       + 'static {
    move |ctx| {
        let a = authority();
        let issued_on = kpcert::domain::Date::from_unix_ms(ctx.time_ms());
        let content = CertificateContent {
            exporter: Party {
                name: format!("Exporter {} Rough Trading", i % 977),
                address: format!("Plot {}, Industrial Area, Gaborone", i % 3001),
            },
            importer: Party {
                name: format!("Importer {} DMCC", i % 613),
                address: "Almas Tower, Jumeirah Lakes Towers, Dubai".into(),
            },
            destination: code("AE"),
            origin: Origin::Single(code("BW")),
            parcels: 1 + (i % 40) as u32,
            items: vec![Item {
                hs_code: HsCode::Unsorted,
                carats: Hundredths::from_hundredths(1000 + i % 500_000).unwrap(),
                value_usd: Hundredths::from_hundredths(500_000 + i % 90_000_000).unwrap(),
            }],
            issued_on,
            expires_on: issued_on.plus_days(60).unwrap(),
            replaces: None,
            derived_from: vec![],
            origin_zone: None,
            approval: None,
        };
        let certificate = Certificate {
            number: CertificateNumber::new(
                a.participant,
                issued_on.year(),
                ctx.state().next_serial(a.participant, issued_on.year()),
            ),
            issuer: Issuer {
                participant: a.participant,
                authority_id: a.id.clone(),
                authority_name: a.name.clone(),
                key_id: a.key_id(),
            },
            content,
            salt: [(i % 251) as u8; 16],
        };
        // The ledger does not sign: a constant signature keeps signing out of this bench.
        Ok(NewEntry {
            actor: a.id.clone(),
            key_id: Some(a.key_id()),
            event: Event::CertificateIssued(issue(certificate, |_| [0x11; 64])),
        })
    }
}

/// Appends `n` entries from `writers` threads, each waiting for its own acknowledgement before
/// sending the next one (a concurrent client that needs its 201).
fn append_concurrently(ledger: &Ledger, writers: usize, n: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let ledger = ledger.clone();
            s.spawn(move || {
                let mut i = w as u64;
                while i < n {
                    ledger.append_blocking(entry(i)).unwrap();
                    i += writers as u64;
                }
            });
        }
    });
    start.elapsed()
}

/// Appends `n` entries with many in flight (the way the HTTP server feeds the writer).
fn append_pipelined(ledger: &Ledger, n: u64) {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut outstanding = 0u64;
    for i in 0..n {
        let tx = tx.clone();
        ledger.submit(entry(i), move |r| {
            r.unwrap();
            let _ = tx.send(());
        });
        outstanding += 1;
        if outstanding >= 8192 {
            // Keep at most 8192 in flight (the queue holds 16,384): wait for half of them.
            while outstanding > 4096 {
                rx.recv().unwrap();
                outstanding -= 1;
            }
        }
    }
    drop(tx);
    for _ in rx {}
}

fn bench(c: &mut Criterion) {
    // Show the ledger's own "opened the ledger" line (index and total start-up times).
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("kpcert::ledger=info")
        .try_init();
    let dir = tempfile::tempdir().unwrap();

    // Raw baselines on this disk.
    let mut group = c.benchmark_group("raw");
    group.throughput(Throughput::Elements(1));
    {
        let path = dir.path().join("fsync");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        group.bench_function("append_4kib_fdatasync", |b| {
            b.iter(|| {
                f.write_all(&block).unwrap();
                f.sync_data().unwrap();
            })
        });
    }
    {
        let db = sled::open(dir.path().join("raw-sled")).unwrap();
        let mut i = 0u64;
        group.bench_function("sled_insert_no_flush", |b| {
            b.iter(|| {
                i += 1;
                db.insert(i.to_be_bytes(), &[0u8; 600][..]).unwrap();
            })
        });
        group.bench_function("sled_insert_flush_each", |b| {
            b.iter(|| {
                i += 1;
                db.insert(i.to_be_bytes(), &[0u8; 600][..]).unwrap();
                db.flush().unwrap();
            })
        });
    }
    group.finish();

    // Durable appends, concurrent writers sharing group commits.
    let mut group = c.benchmark_group("ledger_append_durable");
    group.sample_size(10);
    for writers in [1usize, 16, 64, 256] {
        let ledger = open(&dir.path().join(format!("append-{writers}")));
        let per_sample = 2000u64;
        group.throughput(Throughput::Elements(per_sample));
        group.bench_function(format!("{writers}_writers"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| append_concurrently(&ledger, writers, per_sample))
                    .sum()
            })
        });
        ledger.close();
    }
    group.finish();

    // A large ledger: build it, then measure proofs, start-up and disk use.
    let n: u64 = std::env::var("KPCERT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let path = dir.path().join("large");
    let ledger = open(&path);
    let start = Instant::now();
    append_pipelined(&ledger, n);
    let build = start.elapsed();
    eprintln!(
        "built a {n}-entry ledger in {:.1} s: {:.0} durable appends/s (pipelined)",
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64()
    );
    ledger.close();
    drop(ledger);
    let start = Instant::now();
    let ledger = Arc::new(open(&path));
    eprintln!(
        "start-up with {n} entries: {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let bytes: u64 = walk_size(&path);
    eprintln!(
        "disk: {bytes} bytes for {n} entries = {:.0} bytes/entry",
        bytes as f64 / n as f64
    );

    let mut group = c.benchmark_group("ledger_proofs");
    group.throughput(Throughput::Elements(1));
    let size = ledger.size();
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    group.bench_function(format!("inclusion_proof_{size}"), |b| {
        let head = ledger.head().checkpoint.clone();
        b.iter(|| {
            // What the server does for a look-up: read the entry, prove it, check the proof.
            let index = next() % size;
            let entry = ledger.entry(index).unwrap().unwrap();
            black_box(ledger.proven_inclusion(index, &entry, &head).unwrap())
        })
    });
    group.bench_function(format!("consistency_proof_{size}"), |b| {
        b.iter(|| {
            black_box(
                ledger
                    .consistency_proof(1 + next() % (size - 1), size)
                    .unwrap(),
            )
        })
    });
    group.finish();
    ledger.close();
}

fn walk_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                walk_size(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

criterion_group!(benches, bench);
criterion_main!(benches);
