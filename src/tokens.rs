//! Bearer tokens: who may ask what. Each token has a role (the Secretariat, an issuing
//! authority, a monitoring team), an owner (for an authority, its id), a creation time and an
//! expiry; it is shown once when minted and stored only as SHA-256, in the data folder's
//! `tokens` file (mode 0600, replaced atomically and synced on every change), mirrored in memory
//! for the per-request look-up. Tokens are not part of the ledger: they say who may ask, not
//! what happened.
//!
//! File format, one token a line, tab-separated: hex SHA-256, role, created (unix ms), expires
//! (unix ms), prefix (the first characters of the token, to name it in lists), last used (unix
//! ms, 0 if never), owner (last: it has no tab or newline).

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::codec::text::{base64url, from_hex, hex};
use crate::crypto::{random_bytes, sha256, Hash};

/// The file in the data folder.
pub const TOKENS_FILE: &str = "tokens";
/// Default lifetime of a token, in days.
pub const DEFAULT_TOKEN_DAYS: u64 = 90;
/// How many characters of a token name it in lists (the `kpat_` tag and 8 more).
const PREFIX_CHARS: usize = 13;

/// What a token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The KP Secretariat: registers authorities and keys, mints and revokes tokens.
    Secretariat,
    /// An issuing authority (the owner is its id): issues and acts for its participant.
    Authority,
    /// A monitoring team or auditor: reads every record, changes nothing.
    Monitor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Secretariat => "secretariat",
            Role::Authority => "authority",
            Role::Monitor => "monitor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "secretariat" => Some(Role::Secretariat),
            "authority" => Some(Role::Authority),
            "monitor" => Some(Role::Monitor),
            _ => None,
        }
    }
}

/// A stored token (without the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub role: Role,
    pub owner: String,
    pub created_ms: u64,
    pub expires_ms: u64,
    /// The token's first characters, to name it in lists and revoke it.
    pub prefix: String,
    pub last_used_ms: u64,
}

/// Who presented a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub owner: String,
    pub prefix: String,
}

/// Why the token store failed or refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line} is not a token record")]
    Corrupt { path: PathBuf, line: usize },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a token owner is 1 to 100 characters without tabs or control characters")]
    BadOwner,
}

fn hash_of(token: &str) -> Hash {
    sha256(token.as_bytes())
}

/// Why a presented token is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired,
}

/// Whether a stored token (its hash and record) is what `given` names for a revocation: the
/// token itself given whole (a leaked one, say), or its prefix exactly as [`Tokens::list`]
/// shows it. A shorter part names nothing (`kpat_` would name every token).
fn names(given: &str) -> impl Fn(&Hash, &TokenRecord) -> bool + '_ {
    let whole = hash_of(given);
    move |hash, record| *hash == whole || record.prefix == given
}

/// The token store.
pub struct Tokens {
    path: PathBuf,
    map: RwLock<HashMap<Hash, TokenRecord>>,
}

fn parse_line(line: &str) -> Option<(Hash, TokenRecord)> {
    let mut f = line.splitn(7, '\t');
    let hash: Hash = from_hex(f.next()?)?.try_into().ok()?;
    let role = Role::parse(f.next()?)?;
    let created_ms = f.next()?.parse().ok()?;
    let expires_ms = f.next()?.parse().ok()?;
    let prefix = f.next()?.to_owned();
    let last_used_ms = f.next()?.parse().ok()?;
    let owner = f.next()?.to_owned();
    Some((
        hash,
        TokenRecord {
            role,
            owner,
            created_ms,
            expires_ms,
            prefix,
            last_used_ms,
        },
    ))
}

impl Tokens {
    /// Opens (or starts) the store in the data folder `dir`.
    pub fn open(dir: &Path) -> Result<Tokens, TokenError> {
        let path = dir.join(TOKENS_FILE);
        let mut map = HashMap::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    let (hash, record) = parse_line(line).ok_or_else(|| TokenError::Corrupt {
                        path: path.clone(),
                        line: n + 1,
                    })?;
                    map.insert(hash, record);
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

    fn save(&self, map: &HashMap<Hash, TokenRecord>) -> Result<(), TokenError> {
        let write = || -> std::io::Result<()> {
            let mut lines: Vec<String> = map
                .iter()
                .map(|(h, r)| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                        hex(h),
                        r.role.as_str(),
                        r.created_ms,
                        r.expires_ms,
                        r.prefix,
                        r.last_used_ms,
                        r.owner
                    )
                })
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

    fn change(
        &self,
        f: impl FnOnce(&mut HashMap<Hash, TokenRecord>) -> usize,
    ) -> Result<usize, TokenError> {
        let mut map = self.map.write().expect("tokens lock");
        let mut next = map.clone();
        let changed = f(&mut next);
        if changed > 0 {
            self.save(&next)?;
            *map = next;
        }
        Ok(changed)
    }

    /// Mints a token of `role` for `owner`, valid until `expires_ms`; stores its hash durably
    /// and returns it (shown once).
    pub fn mint(
        &self,
        role: Role,
        owner: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> Result<String, TokenError> {
        if owner.is_empty() || owner.chars().count() > 100 || owner.chars().any(|c| c.is_control())
        {
            return Err(TokenError::BadOwner);
        }
        let token = format!("kpat_{}", base64url(&random_bytes::<32>()));
        let record = TokenRecord {
            role,
            owner: owner.to_owned(),
            created_ms: now_ms,
            expires_ms,
            prefix: token[..PREFIX_CHARS].to_owned(),
            last_used_ms: 0,
        };
        self.change(|map| {
            map.insert(hash_of(&token), record);
            1
        })?;
        Ok(token)
    }

    /// Revokes every token of `role` and `owner`; returns how many.
    pub fn revoke_owner(&self, role: Role, owner: &str) -> Result<usize, TokenError> {
        self.change(|map| {
            let before = map.len();
            map.retain(|_, r| !(r.role == role && r.owner == owner));
            before - map.len()
        })
    }

    /// Revokes what `given` names ([`names`]); returns how many.
    pub fn revoke(&self, given: &str) -> Result<usize, TokenError> {
        let named = names(given);
        self.change(|map| {
            let before = map.len();
            map.retain(|hash, r| !named(hash, r));
            before - map.len()
        })
    }

    /// Whether revoking what `given` names ([`Tokens::revoke`]) would leave no unexpired token
    /// of `role` at `now_ms`.
    pub fn revoking_leaves_none(&self, given: &str, role: Role, now_ms: u64) -> bool {
        let named = names(given);
        !self
            .map
            .read()
            .expect("tokens lock")
            .iter()
            .any(|(hash, r)| r.role == role && r.expires_ms > now_ms && !named(hash, r))
    }

    /// Why [`Tokens::revoke`] revoked nothing.
    pub fn nothing_revoked(given: &str) -> String {
        format!(
            "no token is {given} or has it as its prefix: give the prefix as `kpcert token list` shows it (the first {PREFIX_CHARS} characters) or the whole token"
        )
    }

    /// Whether any unexpired token of `role` exists.
    pub fn any(&self, role: Role, now_ms: u64) -> bool {
        self.map
            .read()
            .expect("tokens lock")
            .values()
            .any(|r| r.role == role && r.expires_ms > now_ms)
    }

    /// Every token record, sorted by role, owner and creation.
    pub fn list(&self) -> Vec<TokenRecord> {
        let mut list: Vec<TokenRecord> = self
            .map
            .read()
            .expect("tokens lock")
            .values()
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            (a.role, &a.owner, a.created_ms).cmp(&(b.role, &b.owner, b.created_ms))
        });
        list
    }

    /// Who holds `token` at `now_ms` (and notes the use in memory; it is written with the next
    /// change or on [`Tokens::flush`]).
    pub fn check(&self, token: &str, now_ms: u64) -> Result<Principal, Refused> {
        let hash = hash_of(token);
        let principal = {
            let map = self.map.read().expect("tokens lock");
            let record = map.get(&hash).ok_or(Refused::Unknown)?;
            if record.expires_ms <= now_ms {
                return Err(Refused::Expired);
            }
            if record.last_used_ms / 60_000 == now_ms / 60_000 {
                // Used this minute already: no write lock needed.
                return Ok(Principal {
                    role: record.role,
                    owner: record.owner.clone(),
                    prefix: record.prefix.clone(),
                });
            }
            Principal {
                role: record.role,
                owner: record.owner.clone(),
                prefix: record.prefix.clone(),
            }
        };
        if let Some(record) = self.map.write().expect("tokens lock").get_mut(&hash) {
            record.last_used_ms = now_ms;
        }
        Ok(principal)
    }

    /// Writes the last-use times noted since the last change.
    pub fn flush(&self) -> Result<(), TokenError> {
        let map = self.map.read().expect("tokens lock").clone();
        self.save(&map)
    }
}
