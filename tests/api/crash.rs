//! Crash safety: kill -9 the real server during a concurrent issuing load, restart it, and check
//! that every acknowledged certificate is there, that the chain and the tree verify from entry 0,
//! and that the new checkpoint extends the last one served before the kill.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kpcert::codec::{decode_entry, entry_hash};
use kpcert::domain::Entry;
use kpcert::tlog::merkle::{self, MemoryTree};
use kpcert::tlog::{Checkpoint, NoteVerifier};
use serde_json::Value;

use crate::cli::{add_authority, start_server};
use crate::helpers::{b64, client_for, example_request, post_example};

async fn verifier(client: &reqwest::Client, base: &str) -> NoteVerifier {
    let key = client
        .get(format!("{base}/v1/ledger/verifier-key"))
        .send()
        .await
        .unwrap();
    NoteVerifier::parse(key.text().await.unwrap().trim()).unwrap()
}

/// Replays the whole ledger from entry 0 over HTTP: contiguous indexes, the hash chain, and the
/// Merkle root of the signed checkpoint. Returns the checkpoint and the rebuilt tree.
pub async fn replay(client: &reqwest::Client, base: &str) -> (Checkpoint, MemoryTree, Vec<Entry>) {
    let verifier = verifier(client, base).await;
    let note = client
        .get(format!("{base}/v1/ledger/checkpoint"))
        .send()
        .await
        .unwrap();
    let checkpoint = verifier.open(&note.text().await.unwrap()).unwrap();
    let mut tree = MemoryTree::default();
    let mut entries = Vec::new();
    let mut prev = [0u8; 32];
    while tree.size() < checkpoint.size {
        let page: Value = client
            .get(format!(
                "{base}/v1/ledger/entries?start={}&limit=1000",
                tree.size()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = page["entries"].as_array().unwrap();
        assert!(!list.is_empty(), "entries stop before the checkpoint size");
        for e in list {
            let bytes = b64(e["canonical"].as_str().unwrap());
            let entry = decode_entry(&bytes).unwrap();
            assert_eq!(entry.index, tree.size(), "indexes are contiguous");
            assert_eq!(entry.prev, prev, "hash chain at {}", entry.index);
            prev = entry_hash(&bytes);
            tree.push_data(&bytes);
            entries.push(entry);
        }
    }
    let root = merkle::root(&tree, checkpoint.size).unwrap();
    assert_eq!(
        root, checkpoint.root,
        "the signed root matches the replayed entries"
    );
    (checkpoint, tree, entries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_concurrent_issuing_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let token = add_authority(dir.path(), "BW")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = start_server(dir.path(), &["--public-rate-limit", "0"]);
    let client = client_for(dir.path());
    let base = format!("https://localhost:{}", server.1);
    let verifier = verifier(&client, &base).await;

    // number -> hash of every certificate that got its 201.
    let acknowledged: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let last_checkpoint: Arc<Mutex<Option<Checkpoint>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let resp = client
                    .post(format!("{base}/v1/certificates"))
                    .bearer_auth(&token)
                    .json(&example_request())
                    .send()
                    .await;
                let Ok(resp) = resp else { break };
                if resp.status() != 201 {
                    break;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    break;
                };
                acknowledged.lock().unwrap().insert(
                    body["number"].as_str().unwrap().to_owned(),
                    body["hash"].as_str().unwrap().to_owned(),
                );
            }
        }));
    }
    // Watch checkpoints until enough certificates were acknowledged, then kill -9.
    let mut server = server;
    loop {
        if let Ok(resp) = client
            .get(format!("{base}/v1/ledger/checkpoint"))
            .send()
            .await
        {
            if let Ok(text) = resp.text().await {
                if let Ok(cp) = verifier.open(&text) {
                    *last_checkpoint.lock().unwrap() = Some(cp);
                }
            }
        }
        if acknowledged.lock().unwrap().len() >= 300 {
            break;
        }
        tokio::task::yield_now().await;
    }
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    drop(server);
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let before = last_checkpoint
        .lock()
        .unwrap()
        .clone()
        .expect("a checkpoint was served");

    let server = start_server(dir.path(), &["--public-rate-limit", "0"]);
    let base = format!("https://localhost:{}", server.1);
    let (after, tree, entries) = replay(&client, &base).await;

    // Every acknowledged certificate is there, with the hash the client was given.
    for (number, hash) in &acknowledged {
        let resp = client
            .get(format!("{base}/v1/certificates/{number}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "{number} was acknowledged but is missing"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["hash"].as_str().unwrap(), hash);
    }
    let issued = entries
        .iter()
        .filter(|e| e.event.kind() == kpcert::domain::Kind::CertificateIssued)
        .count();
    assert!(issued >= acknowledged.len());

    // The new checkpoint extends the last one served before the kill.
    assert!(after.size >= before.size);
    assert_eq!(merkle::root(&tree, before.size).unwrap(), before.root);
    let proof: Value = client
        .get(format!(
            "{base}/v1/ledger/proof/consistency?from={}&to={}",
            before.size, after.size
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let proof: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()).try_into().unwrap())
        .collect();
    merkle::verify_consistency(before.size, after.size, &proof, &before.root, &after.root).unwrap();

    // And the restarted server keeps issuing, with a fresh number.
    let resp = post_example(&client, &base, &token).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert!(!acknowledged.contains_key(body["number"].as_str().unwrap()));
}
