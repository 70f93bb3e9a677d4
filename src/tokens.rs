//! Bearer tokens of issuing authorities: minted here, shown once, stored only as SHA-256 in the
//! data folder's `tokens` file (one `<hex hash> <authority id>` line each, mode 0600, replaced
//! atomically and synced on every change), and mirrored in memory for the per-request look-up.
//! Tokens are not part of the ledger: they say who may ask, not what happened.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::codec::text::{base64url, from_hex, hex};
use crate::crypto::{random_bytes, sha256, Hash};

/// The file in the data folder.
pub const TOKENS_FILE: &str = "tokens";

/// The token store.
pub struct Tokens {
    path: PathBuf,
    /// SHA-256 of each valid token -> its authority id.
    map: RwLock<HashMap<Hash, String>>,
}

/// Why the token store failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line} is not `<sha256 hex> <authority id>`")]
    Corrupt { path: PathBuf, line: usize },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn hash_of(token: &str) -> Hash {
    sha256(token.as_bytes())
}

impl Tokens {
    /// Opens (or starts) the store in the data folder `dir`.
    pub fn open(dir: &Path) -> Result<Tokens, TokenError> {
        let path = dir.join(TOKENS_FILE);
        let mut map = HashMap::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    let corrupt = || TokenError::Corrupt {
                        path: path.clone(),
                        line: n + 1,
                    };
                    let (h, owner) = line.split_once(' ').ok_or_else(corrupt)?;
                    let h: Hash = from_hex(h)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(corrupt)?;
                    map.insert(h, owner.to_owned());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(TokenError::Read { path, source }),
        }
        Ok(Tokens {
            path,
            map: RwLock::new(map),
        })
    }

    fn save(&self, map: &HashMap<Hash, String>) -> Result<(), TokenError> {
        let write = || -> std::io::Result<()> {
            let mut lines: Vec<String> = map
                .iter()
                .map(|(h, owner)| format!("{} {owner}\n", hex(h)))
                .collect();
            lines.sort();
            let tmp = self.path.with_extension("partial");
            let _ = std::fs::remove_file(&tmp);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(lines.concat().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|source| TokenError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Mints a new token for `owner`, stores its hash durably and returns it (shown once).
    pub fn mint(&self, owner: &str) -> Result<String, TokenError> {
        let token = format!("kpat_{}", base64url(&random_bytes::<32>()));
        let mut map = self.map.write().expect("tokens lock");
        let mut next = map.clone();
        next.insert(hash_of(&token), owner.to_owned());
        self.save(&next)?;
        *map = next;
        Ok(token)
    }

    /// Revokes every token of `owner`; returns how many.
    pub fn revoke_owner(&self, owner: &str) -> Result<usize, TokenError> {
        let mut map = self.map.write().expect("tokens lock");
        let mut next = map.clone();
        next.retain(|_, o| o != owner);
        let removed = map.len() - next.len();
        if removed > 0 {
            self.save(&next)?;
            *map = next;
        }
        Ok(removed)
    }

    /// The owner of `token`, if it is valid.
    pub fn owner(&self, token: &str) -> Option<String> {
        self.map
            .read()
            .expect("tokens lock")
            .get(&hash_of(token))
            .cloned()
    }
}
