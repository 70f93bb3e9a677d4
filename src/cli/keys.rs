//! `kpcert keys show`: the public keys a verifier pins, read from the keys folder's public
//! files only (works while the server runs). `kpcert keys new`: a signing key for an authority
//! that keeps its own key (the Secretariat registers only its public half).

use clap::Subcommand;
use serde_json::json;

use crate::codec::trust::root_key_text;
use crate::keys::{KeyDir, ROOT_KEY};

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print the ledger's checkpoint verifier key and the Secretariat root key.
    Show {
        #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
        keys_dir: std::path::PathBuf,
        /// Print a JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Generate an ed25519 signing key for an authority that keeps its own key: writes FILE
    /// (the private seed, mode 0600; never overwritten) and FILE's .pub beside it, and prints
    /// the public key to send to the Secretariat (`kpcert authority add --public-key`).
    New {
        /// The private key file to create; its name ends in .key.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    let (keys_dir, json) = match cmd {
        KeysCommand::Show { keys_dir, json } => (keys_dir, json),
        KeysCommand::New { out } => return new_key(&out),
    };
    let verifier = super::ledger_verifier(&keys_dir)?;
    let root = KeyDir::existing(&keys_dir)?
        .load_public(ROOT_KEY)
        .map(|k| root_key_text(&k))
        .ok();
    if json {
        println!(
            "{}",
            json!({"ledger": {"origin": verifier.name(), "verifier_key": verifier.to_string()}, "root_key": root})
        );
    } else {
        println!("ledger checkpoint verifier key: {verifier}");
        if let Some(root) = root {
            println!("secretariat root key (trust bundles): {root}");
        }
    }
    Ok(())
}

fn new_key(out: &std::path::Path) -> anyhow::Result<()> {
    let (dir, name) = KeyDir::of_key_file(out)?;
    let key = crate::crypto::SigningKey::generate();
    dir.store(&name, &key).map_err(|e| {
        anyhow::anyhow!(
            "cannot create {} ({e}); an existing key is never overwritten",
            out.display()
        )
    })?;
    let public = key.public_key();
    println!(
        "private key: {} (mode 0600: keep it, never send it)",
        out.display()
    );
    println!(
        "public key:  {} (key id {})",
        crate::crypto::hex(&public.to_bytes()),
        public.key_id()
    );
    println!(
        "send the public key to the Secretariat: kpcert authority add --participant XX --name \"...\" --public-key <public key>"
    );
    Ok(())
}
