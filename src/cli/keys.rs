//! `kpcert keys show`: the public keys a verifier pins, read from the keys folder's public
//! files only (works while the server runs).

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
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::Show { keys_dir, json } = cmd;
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
