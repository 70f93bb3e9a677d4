//! The raw limits a load run is measured against, on one core, in the same run: ed25519 sign,
//! verify_strict and batch verification (in batches of the audit's size,
//! `kpcert::audit::SIGNATURE_BATCH`: a bigger batch verifies each signature faster) through
//! `kpcert::crypto`, the same ed25519-dalek build the service uses, over messages of a
//! certificate issuance's size.
//! Prints `name=value` lines (operations per second) that `benches/load.sh` reads.
//!
//!   cargo bench --bench calibrate [-- SECONDS_PER_OPERATION]

use std::time::{Duration, Instant};

use kpcert::crypto::{verify_batch, PublicKey, SigningKey};

/// Runs `op` (which does `per` operations) for about `budget`; operations per second.
fn rate(budget: Duration, per: usize, mut op: impl FnMut()) -> f64 {
    for _ in 0..3 {
        op();
    }
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed() < budget {
        for _ in 0..16 {
            op();
        }
        done += 16 * per;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(seconds);
    let key = SigningKey::generate();
    let public: PublicKey = key.public_key();
    // An issuance is about 200 bytes; a seal's signed structure about 150.
    let messages: Vec<Vec<u8>> = (0..kpcert::audit::SIGNATURE_BATCH)
        .map(|i| {
            let mut m = vec![0u8; 200];
            m[..8].copy_from_slice(&(i as u64).to_be_bytes());
            m
        })
        .collect();
    let n = messages.len();
    let signatures: Vec<[u8; 64]> = messages.iter().map(|m| key.sign(m)).collect();
    let mut i = 0usize;
    let sign = rate(budget, 1, || {
        i = (i + 1) % n;
        std::hint::black_box(key.sign(&messages[i]));
    });
    let verify = rate(budget, 1, || {
        i = (i + 1) % n;
        assert!(public.verify_strict(&messages[i], &signatures[i]));
    });
    let items: Vec<(&[u8], &[u8; 64], &PublicKey)> = messages
        .iter()
        .zip(&signatures)
        .map(|(m, s)| (m.as_slice(), s, &public))
        .collect();
    let batch = rate(budget, items.len(), || assert!(verify_batch(&items)));
    println!("sign_per_s={sign:.0}");
    println!("verify_strict_per_s={verify:.0}");
    println!("batch_verify_per_s={batch:.0}");
}
