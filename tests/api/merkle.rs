//! The Merkle verifiers against the transparency-dev/merkle probe set (api/vectors/merkle,
//! Apache-2.0), and property tests: for random tree sizes every proof the ledger's math produces
//! verifies, and any flipped byte, wrong index or wrong size makes it fail.

use std::path::{Path, PathBuf};

use kpcert::crypto::Hash;
use kpcert::tlog::merkle::{self, MemoryTree, NodeId, NodeSource};
use proptest::prelude::*;
use serde_json::Value;

fn probes(kind: &str) -> Vec<(PathBuf, Value)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out)
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p)
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("api/vectors/merkle")
            .join(kind),
        &mut files,
    );
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let v = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            (f, v)
        })
        .collect()
}

/// A hash from base64. kpcert's hashes are typed as 32 bytes, so an empty value is no hash at
/// all, and a probe's placeholder of another length (such as "don't care 1") maps to its
/// SHA-256, which keeps equal values equal and distinct values distinct.
fn hash(v: &Value) -> Option<Hash> {
    let bytes = kpcert::codec::text::from_base64(v.as_str()?)?;
    if bytes.is_empty() {
        return None;
    }
    Some(match <Hash>::try_from(bytes.as_slice()) {
        Ok(h) => h,
        Err(_) => kpcert::crypto::sha256(&bytes),
    })
}

fn proof(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Array(list) => list.iter().map(hash).collect(),
        _ => None,
    }
}

#[test]
fn inclusion_probes_are_accepted_or_rejected_as_wanted() {
    let all = probes("inclusion");
    assert!(all.len() > 80, "{}", all.len());
    for (file, p) in all {
        let ok = match (hash(&p["leafHash"]), hash(&p["root"]), proof(&p["proof"])) {
            (Some(leaf), Some(root), Some(proof)) => merkle::verify_inclusion(
                &leaf,
                p["leafIdx"].as_u64().unwrap(),
                p["treeSize"].as_u64().unwrap(),
                &proof,
                &root,
            )
            .is_ok(),
            _ => false,
        };
        assert_eq!(ok, !p["wantErr"].as_bool().unwrap(), "{}", file.display());
    }
}

#[test]
fn consistency_probes_are_accepted_or_rejected_as_wanted() {
    let all = probes("consistency");
    assert!(all.len() > 60, "{}", all.len());
    for (file, p) in all {
        let ok = match (hash(&p["root1"]), hash(&p["root2"]), proof(&p["proof"])) {
            (Some(r1), Some(r2), Some(proof)) => merkle::verify_consistency(
                p["size1"].as_u64().unwrap(),
                p["size2"].as_u64().unwrap(),
                &proof,
                &r1,
                &r2,
            )
            .is_ok(),
            _ => false,
        };
        assert_eq!(ok, !p["wantErr"].as_bool().unwrap(), "{}", file.display());
    }
}

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::default();
    for i in 0..n {
        t.push_data(&i.to_le_bytes());
    }
    t
}

fn flip(proof: &[Hash], which: usize, bit: u8) -> Vec<Hash> {
    let mut p = proof.to_vec();
    let i = which % p.len();
    p[i][(bit as usize / 8) % 32] ^= 1 << (bit % 8);
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_proofs_verify_and_corruptions_fail(size in 1u64..300, seed in any::<u64>(), bit in any::<u8>()) {
        let t = tree(size);
        let index = seed % size;
        let root = merkle::root(&t, size).unwrap();
        prop_assert_eq!(root, t.root());
        let leaf = t.node(NodeId { level: 0, index }).unwrap();
        let proof = merkle::inclusion_proof(&t, index, size).unwrap();
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        if !proof.is_empty() {
            let bad = flip(&proof, seed as usize, bit);
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            let mut short = proof.clone();
            short.pop();
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &short, &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(leaf);
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        if size > 1 {
            let other = (index + 1 + seed % (size - 1)) % size;
            prop_assert!(merkle::verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
        // A wrong size is caught through its root (a checkpoint binds size and root together).
        let bigger = tree(size + 1);
        prop_assert!(merkle::verify_inclusion(&leaf, index, size + 1, &proof, &bigger.root()).is_err());
        prop_assert!(merkle::verify_inclusion(&leaf, size, size, &proof, &root).is_err());
        let mut wrong_leaf = leaf;
        wrong_leaf[(bit % 32) as usize] ^= 1;
        prop_assert!(merkle::verify_inclusion(&wrong_leaf, index, size, &proof, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_corruptions_fail(to in 1u64..300, seed in any::<u64>(), bit in any::<u8>()) {
        let t = tree(to);
        let from = 1 + seed % to;
        let (r1, r2) = (merkle::root(&t, from).unwrap(), merkle::root(&t, to).unwrap());
        let proof = merkle::consistency_proof(&t, from, to).unwrap();
        prop_assert!(merkle::verify_consistency(from, to, &proof, &r1, &r2).is_ok());
        if !proof.is_empty() {
            let bad = flip(&proof, seed as usize, bit);
            prop_assert!(merkle::verify_consistency(from, to, &bad, &r1, &r2).is_err());
            let mut short = proof.clone();
            short.pop();
            prop_assert!(merkle::verify_consistency(from, to, &short, &r1, &r2).is_err());
        }
        let mut longer = proof.clone();
        longer.push(r1);
        prop_assert!(merkle::verify_consistency(from, to, &longer, &r1, &r2).is_err());
        if from > 1 {
            let r_older = merkle::root(&t, from - 1).unwrap();
            prop_assert!(merkle::verify_consistency(from - 1, to, &proof, &r_older, &r2).is_err());
        }
        if from < to {
            let r_smaller = merkle::root(&t, to - 1).unwrap();
            prop_assert!(merkle::verify_consistency(from, to - 1, &proof, &r1, &r_smaller).is_err());
            prop_assert!(merkle::verify_consistency(from, to, &proof, &r2, &r1).is_err());
        }
        let bigger = tree(to + 1);
        prop_assert!(merkle::verify_consistency(from, to + 1, &proof, &r1, &bigger.root()).is_err());
    }
}
