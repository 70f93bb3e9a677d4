//! The portable ledger export (api/export.md): the 16 bytes `KPCERT-EXPORT-V2`, one byte for
//! the level (0 public, 1 full), a 4-byte big-endian length and the signed checkpoint note, an
//! 8-byte big-endian entry count N (the checkpoint's size), then N frames. A frame is a 4-byte
//! big-endian length and the entry's canonical bytes, then a 4-byte big-endian length and the
//! entry's full record (empty for entries without one, and always empty in a public export). It
//! streams both ways: [`write_export`] and [`ExportReader`].
//!
//! The frame is the same as in the ledger's `entries.dat`, so [`read_frame`] serves both.

use std::io::{self, Read, Write};

/// First bytes of an export file.
pub const EXPORT_MAGIC: &[u8; 16] = b"KPCERT-EXPORT-V2";

/// What an export holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The public entries only: chain, tree, signatures and the legality of every event.
    Public,
    /// The entries and every certificate's full record (Secretariat and monitors only).
    Full,
}

/// One entry with its full record (empty when it has none), framed as in `entries.dat` and in
/// exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    pub entry: Vec<u8>,
    pub record: Vec<u8>,
}

impl Frame {
    /// Bytes the frame takes: two 4-byte lengths and the two parts.
    pub fn framed_len(&self) -> u64 {
        8 + self.entry.len() as u64 + self.record.len() as u64
    }

    /// Appends the framed bytes to `out`.
    pub fn write_into(entry: &[u8], record: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&(entry.len() as u32).to_be_bytes());
        out.extend_from_slice(entry);
        out.extend_from_slice(&(record.len() as u32).to_be_bytes());
        out.extend_from_slice(record);
    }
}
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
    #[error("an entry or record claims {0} bytes, more than {MAX_ENTRY_BYTES}")]
    EntryTooLarge(usize),
    #[error("a public export holds a full record")]
    RecordInPublic,
    #[error("bytes after the last entry")]
    TrailingBytes,
    #[error("exported {written} entries, expected {expected}")]
    Count { written: u64, expected: u64 },
    #[error("{0}")]
    Corrupt(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Writes an export at `level`: the checkpoint note, then its `size` frames from `frames` (a
/// public export leaves every record out).
pub fn write_export<W: Write>(
    mut out: W,
    level: Level,
    note: &str,
    size: u64,
    frames: impl Iterator<Item = Result<Frame, ExportError>>,
) -> Result<(), ExportError> {
    out.write_all(EXPORT_MAGIC)?;
    out.write_all(&[(level == Level::Full) as u8])?;
    out.write_all(&(note.len() as u32).to_be_bytes())?;
    out.write_all(note.as_bytes())?;
    out.write_all(&size.to_be_bytes())?;
    let mut written = 0u64;
    let mut buf = Vec::new();
    for frame in frames {
        let frame = frame?;
        let record: &[u8] = match level {
            Level::Full => &frame.record,
            Level::Public => &[],
        };
        buf.clear();
        Frame::write_into(&frame.entry, record, &mut buf);
        out.write_all(&buf)?;
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

fn read_part(input: &mut impl Read, what: &'static str) -> Result<Vec<u8>, ExportError> {
    let mut len = [0u8; 4];
    read_exact(input, &mut len, what)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_ENTRY_BYTES {
        return Err(ExportError::EntryTooLarge(len));
    }
    let mut bytes = vec![0u8; len];
    read_exact(input, &mut bytes, what)?;
    Ok(bytes)
}

/// Reads one frame: the entry, then the record, each a 4-byte big-endian length (at most
/// [`MAX_ENTRY_BYTES`]) and that many bytes.
pub fn read_frame(input: &mut impl Read) -> Result<Frame, ExportError> {
    Ok(Frame {
        entry: read_part(input, "an entry")?,
        record: read_part(input, "a record")?,
    })
}

/// Streams an export: its header first, then the entries one by one.
pub struct ExportReader<R> {
    input: R,
    /// Whether the export is public or full.
    pub level: Level,
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
        let mut level = [0u8; 1];
        read_exact(&mut input, &mut level, "its header")?;
        let level = match level[0] {
            0 => Level::Public,
            1 => Level::Full,
            _ => return Err(ExportError::NotAnExport),
        };
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
            level,
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
    type Item = Result<Frame, ExportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.read == self.count {
            return None;
        }
        self.read += 1;
        Some(read_frame(&mut self.input).and_then(|frame| {
            if self.level == Level::Public && !frame.record.is_empty() {
                return Err(ExportError::RecordInPublic);
            }
            Ok(frame)
        }))
    }
}
