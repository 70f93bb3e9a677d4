//! Statistics over a year of traffic, in-process: the public annual totals, the complete
//! quarterly detail and the reconciliation of the year, and what the incremental statistics add
//! to each certificate's commit (its export and its import in the fold), as a ratio to the
//! commit cost measured in the same run.
//!
//! `cargo bench --bench statistics` populates a year (`KPCERT_BENCH_CERTIFICATES`, default
//! 20000) first and takes its wall time per certificate as the commit cost; `benches/stats.sh`
//! passes a year it populated (`KPCERT_BENCH_DATA`, `KPCERT_BENCH_COMMIT_US`) instead.

use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kpcert::app::{App, Config};
use kpcert::clock::ManualClock;
use kpcert::domain::stats::{Granularity, Period, Query, Stats};
use kpcert::domain::Date;

fn year_state() -> (
    std::sync::Arc<kpcert::domain::State>,
    f64,
    Option<tempfile::TempDir>,
) {
    let open = |dir: &std::path::Path| {
        App::open(&Config {
            data_dir: dir.join("data"),
            keys_dir: dir.join("keys"),
            origin: None,
            clock: ManualClock::at_date("2026-03-01"),
            snapshot_every: kpcert::ledger::SNAPSHOT_EVERY,
        })
        .expect("open the year")
    };
    if let (Ok(dir), Ok(us)) = (
        std::env::var("KPCERT_BENCH_DATA"),
        std::env::var("KPCERT_BENCH_COMMIT_US"),
    ) {
        let app = open(std::path::Path::new(&dir));
        let state = app.state();
        app.close();
        return (state, us.parse().expect("a number of microseconds"), None);
    }
    let n: u64 = std::env::var("KPCERT_BENCH_CERTIFICATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(0);
    let started = Instant::now();
    kpcert::cli::populate_year(
        Config {
            data_dir: dir.path().join("data"),
            keys_dir: dir.path().join("keys"),
            origin: None,
            clock: clock.clone(),
            snapshot_every: kpcert::ledger::SNAPSHOT_EVERY,
        },
        clock,
        &kpcert::cli::YearOptions {
            year: 2025,
            certificates: n,
            seed: 2025,
        },
    )
    .expect("populate");
    let per_cert_us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    let app = open(dir.path());
    let state = app.state();
    app.close();
    (state, per_cert_us, Some(dir))
}

fn bench(c: &mut Criterion) {
    let (state, commit_us, _dir) = year_state();
    let year = Query {
        participant: None,
        flow: None,
        from_year: 2025,
        to_year: 2025,
        granularity: Granularity::Year,
        detail: false,
    };
    let complete = kpcert::statistics::complete_query();
    let today = Date::parse("2026-03-01").unwrap();
    let lives: Vec<_> = state.lives().map(|(n, l)| (n.clone(), l.clone())).collect();

    // The fold's share of a commit: each certificate's export and import, added to the year.
    let base = state.stats().clone();
    let started = Instant::now();
    let mut stats = base.clone();
    for (n, l) in &lives {
        stats.export(n, l, false);
        stats.import(n, l);
    }
    black_box(&stats);
    let fold_us = started.elapsed().as_secs_f64() * 1e6 / lives.len() as f64;
    let started = Instant::now();
    black_box(Stats::of_lives(lives.iter().map(|(n, l)| (n, l))));
    let rebuild_ms = started.elapsed().as_secs_f64() * 1e3;
    println!("certificates={}", lives.len());
    println!("commit_us_per_certificate={commit_us:.1}");
    println!("stats_fold_us_per_certificate={fold_us:.2}");
    println!("stats_fold_share_of_commit={:.4}", fold_us / commit_us);
    println!("stats_rebuild_from_lives_ms={rebuild_ms:.1}");

    let mut g = c.benchmark_group("statistics");
    g.sample_size(20);
    g.bench_function("public annual totals of the year", |b| {
        b.iter(|| black_box(kpcert::statistics::statistics(&state, &year)))
    });
    g.bench_function("complete quarterly detail, as JSON", |b| {
        b.iter(|| {
            black_box(kpcert::statistics::statistics_json(
                &kpcert::statistics::statistics(&state, &complete),
            ))
        })
    });
    g.bench_function("reconciliation of the year", |b| {
        b.iter(|| {
            black_box(kpcert::statistics::reconciliation(
                &state,
                Period::year(2025),
                today,
            ))
        })
    });
    g.bench_function("fold: export and import of 1000 certificates", |b| {
        b.iter_batched(
            || base.clone(),
            |mut s| {
                for (n, l) in lives.iter().take(1000) {
                    s.export(n, l, false);
                    s.import(n, l);
                }
                s
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
