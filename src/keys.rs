//! Private key files in the keys folder: created 0600 in a 0700 folder, refused when readable
//! by others, never served and never logged.
//!
//! Each ed25519 key is `<name>.key` holding its 32-byte RFC 8032 seed as 64 hex digits and a
//! newline, next to `<name>.pub` with the public key in hex (for operators; never read back).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::crypto::{from_hex, hex, PublicKey, SigningKey};

/// The keys folder.
#[derive(Clone, Debug)]
pub struct KeyDir {
    path: PathBuf,
}

/// Name of the ledger operator's checkpoint signing key.
pub const LEDGER_KEY: &str = "ledger";
/// Name of the Secretariat root key that signs trust bundles.
pub const ROOT_KEY: &str = "root";

impl KeyDir {
    /// Opens the folder, creating it with mode 0700 if needed. An existing folder that others
    /// can read is tightened only if it holds nothing but a README (a fresh checkout's `keys/`);
    /// any other is refused, unchanged: kpcert does not change folders it does not own.
    pub fn open(path: &Path) -> io::Result<KeyDir> {
        if !path.exists() {
            fs::create_dir_all(path)?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
        } else {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                let only_readme = fs::read_dir(path)?
                    .map(|e| e.map(|e| e.file_name()))
                    .collect::<io::Result<Vec<_>>>()?
                    .iter()
                    .all(|name| name == "README.md");
                if !only_readme {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!(
                            "the keys folder {} can be read by others (mode {:o}) and already holds files: \
                             chmod 700 it if it is the right folder (kpcert changes nothing it did not create)",
                            path.display(),
                            mode & 0o777
                        ),
                    ));
                }
                fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
            }
        }
        Ok(KeyDir {
            path: path.to_path_buf(),
        })
    }

    /// An existing folder, for reading public files only: nothing is created or changed.
    pub fn existing(path: &Path) -> io::Result<KeyDir> {
        if !path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no keys folder at {}", path.display()),
            ));
        }
        Ok(KeyDir {
            path: path.to_path_buf(),
        })
    }

    /// The folder of a key file `<dir>/<name>.key` an authority keeps on its own systems
    /// (`kpcert keys new`, `kpcert sign`), and the key's name. The folder is used as it is:
    /// the key file itself is written 0600 and refused when others can read it.
    pub fn of_key_file(file: &Path) -> io::Result<(KeyDir, String)> {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".key"))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: a key file's name ends in .key", file.display()),
                )
            })?;
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok((KeyDir { path: dir }, name.to_owned()))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the private key file `name`.
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.path.join(format!("{name}.key"))
    }

    /// Writes `bytes` to a new file `file_name` with mode 0600; fails if it exists.
    pub fn write_private(&self, file_name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        let path = self.path.join(file_name);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        // The new name must survive a power loss too.
        fs::File::open(&self.path)?.sync_all()?;
        Ok(path)
    }

    /// Reads a private file, refusing one that group or others can read.
    pub fn read_private(&self, file_name: &str) -> io::Result<Vec<u8>> {
        let path = self.path.join(file_name);
        let mode = fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is readable by others (mode {:o}); run chmod 600 on it",
                    path.display(),
                    mode & 0o777
                ),
            ));
        }
        fs::read(&path)
    }

    /// Whether the private key `name` exists.
    pub fn has_key(&self, name: &str) -> bool {
        self.key_path(name).exists()
    }

    /// Whether key `name` was generated here (its public file is here, whether or not the
    /// private file still is).
    pub fn was_generated(&self, name: &str) -> bool {
        self.path.join(format!("{name}.pub")).exists()
    }

    /// Generates and stores a new key `name`; fails if one exists.
    pub fn generate(&self, name: &str) -> io::Result<SigningKey> {
        let key = SigningKey::generate();
        self.store(name, &key)?;
        Ok(key)
    }

    /// Stores `key` as `name` (private seed and public key files); fails if one exists.
    pub fn store(&self, name: &str, key: &SigningKey) -> io::Result<()> {
        self.write_private(
            &format!("{name}.key"),
            format!("{}\n", hex(&key.seed())).as_bytes(),
        )?;
        fs::write(
            self.path.join(format!("{name}.pub")),
            format!("{}\n", hex(&key.public_key().to_bytes())),
        )
    }

    /// Loads the key `name`.
    pub fn load(&self, name: &str) -> io::Result<SigningKey> {
        let text = self.read_private(&format!("{name}.key"))?;
        let seed: [u8; 32] = std::str::from_utf8(&text)
            .ok()
            .and_then(|t| from_hex(t.trim()))
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} does not hold a 64-hex-digit ed25519 seed",
                        self.key_path(name).display()
                    ),
                )
            })?;
        Ok(SigningKey::from_seed(&seed))
    }

    /// The public key `name` from its `.pub` file (no private key is read).
    pub fn load_public(&self, name: &str) -> io::Result<PublicKey> {
        let path = self.path.join(format!("{name}.pub"));
        let text = fs::read_to_string(&path)?;
        from_hex(text.trim())
            .and_then(|b| PublicKey::from_bytes(&b).ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} does not hold an ed25519 public key in hex",
                        path.display()
                    ),
                )
            })
    }

    /// The checkpoint origin recorded next to the ledger key (`ledger.origin`), if any.
    pub fn stored_origin(&self) -> io::Result<Option<String>> {
        match fs::read_to_string(self.path.join(format!("{LEDGER_KEY}.origin"))) {
            Ok(s) => Ok(Some(s.trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records the checkpoint origin next to the ledger key.
    pub fn store_origin(&self, origin: &str) -> io::Result<()> {
        fs::write(
            self.path.join(format!("{LEDGER_KEY}.origin")),
            format!("{origin}\n"),
        )
    }

    /// Loads the key `name`, generating it on first use. Returns whether it was generated.
    pub fn load_or_generate(&self, name: &str) -> io::Result<(SigningKey, bool)> {
        if self.has_key(name) {
            Ok((self.load(name)?, false))
        } else {
            Ok((self.generate(name)?, true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_folder_with_other_files_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        fs::create_dir(&etc).unwrap();
        fs::write(etc.join("passwd"), "root").unwrap();
        fs::set_permissions(&etc, fs::Permissions::from_mode(0o755)).unwrap();
        let err = KeyDir::open(&etc).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");
        let mode = fs::metadata(&etc).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "left as it was");
        // A checkout's keys/ (only the README) is tightened.
        let keys = dir.path().join("keys");
        fs::create_dir(&keys).unwrap();
        fs::write(keys.join("README.md"), "keys").unwrap();
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o755)).unwrap();
        KeyDir::open(&keys).unwrap();
        let mode = fs::metadata(&keys).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn keys_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::open(&dir.path().join("keys")).unwrap();
        let mode = fs::metadata(keys.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let (key, created) = keys.load_or_generate("ledger").unwrap();
        assert!(created);
        let mode = fs::metadata(keys.key_path("ledger"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, created) = keys.load_or_generate("ledger").unwrap();
        assert!(!created);
        assert_eq!(again.seed(), key.seed());
        assert!(keys.generate("ledger").is_err(), "never overwrites a key");

        fs::set_permissions(keys.key_path("ledger"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = keys.load("ledger").unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
