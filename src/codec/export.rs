//! The portable ledger export (api/export.md): the 16 bytes `KPCERT-EXPORT-V1`, a 4-byte
//! big-endian length and the signed checkpoint note, an 8-byte big-endian entry count N (the
//! checkpoint's size), then N records of a 4-byte big-endian length and the entry's canonical
//! bytes. It streams both ways: [`write_export`] and [`ExportReader`].
//!
//! The record framing is the same as the ledger's `entries.dat`, so [`read_record`] serves both.

use std::io::{self, Read, Write};

/// First bytes of an export file.
pub const EXPORT_MAGIC: &[u8; 16] = b"KPCERT-EXPORT-V1";
/// Longest checkpoint note an export may carry.
pub const MAX_NOTE_BYTES: usize = 4096;
/// Largest entry a ledger or an export may hold (certificates are a few KiB at most).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// Why an export (or a ledger file) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("not a kpcert export file")]
    NotAnExport,
    #[error("the checkpoint note is {0} bytes, more than {MAX_NOTE_BYTES}")]
    NoteTooLong(usize),
    #[error("the checkpoint note is not UTF-8 text")]
    NoteNotText,
    #[error("the file ends inside {0}")]
    Truncated(&'static str),
    #[error("an entry claims {0} bytes, more than {MAX_ENTRY_BYTES}")]
    EntryTooLarge(usize),
    #[error("bytes after the last entry")]
    TrailingBytes,
    #[error("exported {written} entries, expected {expected}")]
    Count { written: u64, expected: u64 },
    #[error("{0}")]
    Corrupt(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Writes an export: the checkpoint note, then its `size` entries from `entries`.
pub fn write_export<W: Write>(
    mut out: W,
    note: &str,
    size: u64,
    entries: impl Iterator<Item = Result<Vec<u8>, ExportError>>,
) -> Result<(), ExportError> {
    out.write_all(EXPORT_MAGIC)?;
    out.write_all(&(note.len() as u32).to_be_bytes())?;
    out.write_all(note.as_bytes())?;
    out.write_all(&size.to_be_bytes())?;
    let mut written = 0u64;
    for entry in entries {
        let bytes = entry?;
        out.write_all(&(bytes.len() as u32).to_be_bytes())?;
        out.write_all(&bytes)?;
        written += 1;
    }
    if written != size {
        return Err(ExportError::Count {
            written,
            expected: size,
        });
    }
    out.flush()?;
    Ok(())
}

fn read_exact(
    input: &mut impl Read,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), ExportError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ExportError::Truncated(what),
        _ => ExportError::Io(e),
    })
}

/// Reads one record: a 4-byte big-endian length (at most [`MAX_ENTRY_BYTES`]) and that many
/// bytes.
pub fn read_record(input: &mut impl Read) -> Result<Vec<u8>, ExportError> {
    let mut len = [0u8; 4];
    read_exact(input, &mut len, "an entry")?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_ENTRY_BYTES {
        return Err(ExportError::EntryTooLarge(len));
    }
    let mut bytes = vec![0u8; len];
    read_exact(input, &mut bytes, "an entry")?;
    Ok(bytes)
}

/// Streams an export: its header first, then the entries one by one.
pub struct ExportReader<R> {
    input: R,
    /// The checkpoint note the export carries (not yet verified).
    pub note: String,
    /// The entry count the header states.
    pub count: u64,
    read: u64,
}

impl<R: Read> ExportReader<R> {
    /// Reads the header.
    pub fn open(mut input: R) -> Result<ExportReader<R>, ExportError> {
        let mut magic = [0u8; 16];
        read_exact(&mut input, &mut magic, "its header")?;
        if &magic != EXPORT_MAGIC {
            return Err(ExportError::NotAnExport);
        }
        let mut len = [0u8; 4];
        read_exact(&mut input, &mut len, "its header")?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_NOTE_BYTES {
            return Err(ExportError::NoteTooLong(len));
        }
        let mut note = vec![0u8; len];
        read_exact(&mut input, &mut note, "the checkpoint")?;
        let note = String::from_utf8(note).map_err(|_| ExportError::NoteNotText)?;
        let mut count = [0u8; 8];
        read_exact(&mut input, &mut count, "its header")?;
        Ok(ExportReader {
            input,
            note,
            count: u64::from_be_bytes(count),
            read: 0,
        })
    }

    /// After the last entry: checks that nothing follows.
    pub fn finish(mut self) -> Result<(), ExportError> {
        let mut rest = [0u8; 1];
        if self.input.read(&mut rest)? != 0 {
            return Err(ExportError::TrailingBytes);
        }
        Ok(())
    }
}

impl<R: Read> Iterator for ExportReader<R> {
    type Item = Result<Vec<u8>, ExportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.read == self.count {
            return None;
        }
        self.read += 1;
        Some(read_record(&mut self.input))
    }
}
