//! The document store: each file of the institutional memory kept once under its SHA-256 in the
//! data folder's `documents/` directory. A file is written whole (temporary file, fsync,
//! rename, fsync of the directory) before the ledger entry that records it, and checked
//! against its hash every time it is read: nothing read from disk is served unchecked.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::crypto::{sha256, Hash};

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = crate::domain::document::MAX_DOCUMENT_BYTES as usize;

/// Files by SHA-256 under `<data>/documents/`.
pub struct DocumentStore {
    dir: PathBuf,
}

impl DocumentStore {
    /// The store of data folder `data_dir` (its directory is created on the first write).
    pub fn new(data_dir: &Path) -> DocumentStore {
        DocumentStore {
            dir: data_dir.join("documents"),
        }
    }

    fn path(&self, hash: &Hash) -> PathBuf {
        self.dir.join(crate::codec::text::hex(hash))
    }

    /// Stores `bytes` durably; their SHA-256. Storing the same bytes again changes nothing;
    /// a stored copy that was altered is replaced by these bytes (they hash to its name).
    pub fn put(&self, bytes: &[u8]) -> io::Result<Hash> {
        let hash = sha256(bytes);
        if let Ok(Some(_)) = self.get(&hash) {
            return Ok(hash);
        }
        fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(
            ".incoming-{}",
            crate::codec::text::hex(&crate::crypto::random_bytes::<8>())
        ));
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, self.path(&hash))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(hash)
    }

    /// The file with SHA-256 `hash`, checked; `None` if it is not here. A file whose bytes do
    /// not hash to its name is an error (corruption), never served.
    pub fn get(&self, hash: &Hash) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(hash)) {
            Ok(bytes) if sha256(&bytes) == *hash => Ok(Some(bytes)),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "documents/{} does not hash to its name: the file was altered",
                    crate::codec::text::hex(hash)
                ),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_kept_by_hash_and_checked_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = DocumentStore::new(dir.path());
        let hash = store.put(b"minutes of the plenary").unwrap();
        assert_eq!(store.put(b"minutes of the plenary").unwrap(), hash);
        assert_eq!(
            store.get(&hash).unwrap().as_deref(),
            Some(&b"minutes of the plenary"[..])
        );
        assert_eq!(store.get(&[0; 32]).unwrap(), None);
        fs::write(store.path(&hash), b"minutes, altered").unwrap();
        assert!(store.get(&hash).is_err());
    }
}
