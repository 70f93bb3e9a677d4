//! Operational counters, exposed in the Prometheus text format by `GET /metrics`: requests by
//! route and status class, rate-limit refusals, verdicts, ledger commits with their batch sizes
//! and durations, and the writer's queue depth. Plain atomics: recording costs a few
//! nanoseconds and no lock on the hot paths.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::verify::Verdict;

/// The process's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<std::collections::BTreeMap<(&'static str, u16), u64>>,
    rate_limited: AtomicU64,
    connections_refused: AtomicU64,
    verdicts: [AtomicU64; VERDICTS.len()],
    commits: AtomicU64,
    committed_entries: AtomicU64,
    commit_micros: AtomicU64,
    queue_depth: AtomicU64,
    corruption_reports: AtomicU64,
    presigned: AtomicU64,
    signed_on_writer: AtomicU64,
    seal_signatures_remembered: AtomicU64,
    seal_signatures_verified: AtomicU64,
}

/// The counters of this process.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

const VERDICTS: [Verdict; Verdict::ALL.len()] = Verdict::ALL;

impl Metrics {
    /// A request to `route` (its pattern) answered with `status`, counted by status class.
    pub fn request(&self, route: &'static str, status: u16) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route, status / 100))
            .or_default() += 1;
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed at once because its address held the most it may.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn verdict(&self, verdict: Verdict) {
        let i = VERDICTS
            .iter()
            .position(|v| *v == verdict)
            .expect("a verdict");
        self.verdicts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A durable commit of `entries` entries that took `micros` (fsyncs and index).
    pub fn commit(&self, entries: u64, micros: u64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.committed_entries.fetch_add(entries, Ordering::Relaxed);
        self.commit_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// A job entered (`+1`) or left (`-1`) the writer's queue.
    pub fn queued(&self, delta: i64) {
        if delta >= 0 {
            self.queue_depth.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.queue_depth
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// A certificate entry built from its pre-signed certificate (`used`) or numbered and
    /// signed on the writer instead.
    pub fn issued(&self, presigned: bool) {
        let counter = if presigned {
            &self.presigned
        } else {
            &self.signed_on_writer
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A seal signature check answered by one verified before (see `verify::SealCache`).
    pub fn seal_signature_remembered(&self) {
        self.seal_signatures_remembered
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A seal signature check that ran `verify_strict` (nothing remembered for these bytes).
    pub fn seal_signature_verified(&self) {
        self.seal_signatures_verified
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn corruption(&self) {
        self.corruption_reports.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the ledger's size and certificate count.
    pub fn render(&self, ledger_size: u64, certificates: u64) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        header(
            &mut out,
            "kpcert_http_requests_total",
            "counter",
            "HTTP requests by route pattern and status class",
        );
        for ((route, class), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "kpcert_http_requests_total{{route=\"{route}\",status=\"{class}xx\"}} {n}"
            );
        }
        let micros = load(&self.commit_micros);
        let seconds = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
        for (name, kind, help, value) in [
            (
                "kpcert_rate_limited_total",
                "counter",
                "requests refused by the per-client rate limit",
                load(&self.rate_limited).to_string(),
            ),
            (
                "kpcert_connections_refused_total",
                "counter",
                "connections closed at once: their client address held the most open connections it may",
                load(&self.connections_refused).to_string(),
            ),
            (
                "kpcert_ledger_commits_total",
                "counter",
                "durable ledger commits (group commits)",
                load(&self.commits).to_string(),
            ),
            (
                "kpcert_ledger_committed_entries_total",
                "counter",
                "entries made durable (divide by commits for the mean batch size)",
                load(&self.committed_entries).to_string(),
            ),
            (
                "kpcert_ledger_commit_seconds_total",
                "counter",
                "time spent making batches durable (divide by commits for the mean latency)",
                seconds,
            ),
            (
                "kpcert_ledger_queue_depth",
                "gauge",
                "jobs waiting for the ledger writer",
                load(&self.queue_depth).to_string(),
            ),
            (
                "kpcert_ledger_entries",
                "gauge",
                "entries in the ledger",
                ledger_size.to_string(),
            ),
            (
                "kpcert_certificates",
                "gauge",
                "certificates issued",
                certificates.to_string(),
            ),
            (
                "kpcert_issuance_presigned_total",
                "counter",
                "certificates signed on the request's thread and used as they were by the ledger writer",
                load(&self.presigned).to_string(),
            ),
            (
                "kpcert_issuance_signed_on_writer_total",
                "counter",
                "certificates numbered and signed on the ledger writer (their pre-signed one was no longer next)",
                load(&self.signed_on_writer).to_string(),
            ),
            (
                "kpcert_verify_seal_signature_remembered_total",
                "counter",
                "seal signature checks answered by a signature verified before (border checks, and records read from the ledger; verdicts are judged afresh)",
                load(&self.seal_signatures_remembered).to_string(),
            ),
            (
                "kpcert_verify_seal_signature_verified_total",
                "counter",
                "seal signature checks that ran verify_strict (nothing remembered for those bytes; failures included)",
                load(&self.seal_signatures_verified).to_string(),
            ),
            (
                "kpcert_corruption_reports_total",
                "counter",
                "reads that did not match what the ledger commits to",
                load(&self.corruption_reports).to_string(),
            ),
        ] {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        header(
            &mut out,
            "kpcert_verdicts_total",
            "counter",
            "border checks by verdict",
        );
        for (v, n) in VERDICTS.iter().zip(&self.verdicts) {
            let _ = writeln!(
                out,
                "kpcert_verdicts_total{{verdict=\"{}\"}} {}",
                v.as_str(),
                load(n)
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
