//! Signed checkpoints: the C2SP tlog-checkpoint body inside a C2SP signed note, the one producer
//! of the checkpoint bytes the ledger key signs.
//!
//! A checkpoint says "the ledger with this origin has this many entries and this Merkle root",
//! signed by the ledger operator's ed25519 key. The text format is fixed by C2SP:
//!
//! ```text
//! <origin>\n<size>\n<base64 root>\n\n— <key name> <base64(key id || signature)>\n
//! ```
//!
//! The signature covers the body (up to and including its last newline). Note key ids are the
//! first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`.

use std::fmt;

use crate::codec::text::{base64, from_base64};
use crate::crypto::{sha256_parts, Hash, PublicKey, SigningKey};

/// The signature line prefix: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// What a checkpoint states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The signed body: origin, size and root, each followed by a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, base64(&self.root))
    }
}

/// C2SP key id of an ed25519 note key.
fn note_key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let digest = sha256_parts(&[name.as_bytes(), &[0x0a, 0x01], &key.to_bytes()]);
    digest[..4].try_into().unwrap()
}

/// Checks a note key name: non-empty, no spaces, no `+`, no control characters.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
}

/// The operator key that signs checkpoints, with its note name (the log's origin).
#[derive(Clone, Debug)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

impl NoteSigner {
    /// A signer named `name`; the caller checks the name with [`valid_key_name`].
    pub fn new(name: &str, key: SigningKey) -> NoteSigner {
        debug_assert!(valid_key_name(name));
        let key_id = note_key_id(name, &key.public_key());
        NoteSigner {
            name: name.to_owned(),
            key,
            key_id,
        }
    }

    /// The key name, equal to the checkpoint origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier for this signer.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.public_key(),
        }
    }

    /// The complete signed note for `checkpoint`.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let signature = self.key.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&signature);
        format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, base64(&blob))
    }
}

/// A note verifier key: name, key id and ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    key: PublicKey,
}

/// Why a checkpoint note is rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoteError {
    Malformed(&'static str),
    BadVerifierKey(&'static str),
    NoSignatureByKey,
    BadSignature,
}

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoteError::Malformed(why) => write!(f, "malformed checkpoint note: {why}"),
            NoteError::BadVerifierKey(why) => write!(f, "bad verifier key: {why}"),
            NoteError::NoSignatureByKey => write!(f, "the note has no signature by the ledger key"),
            NoteError::BadSignature => {
                write!(f, "the ledger key's signature on the note is invalid")
            }
        }
    }
}

impl std::error::Error for NoteError {}

impl NoteVerifier {
    /// The verifier of `key` under the note name `name` (checked with [`valid_key_name`]).
    pub fn new(name: &str, key: PublicKey) -> Result<NoteVerifier, NoteError> {
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey("invalid key name"));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: note_key_id(name, &key),
            key,
        })
    }

    /// Parses `name+hex8+base64(0x01 || key)`: split at the first two `+` (the name and the hex
    /// key id have none; base64 may).
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadVerifierKey("expected name+keyid+key"));
        };
        if !valid_key_name(name) {
            return Err(NoteError::BadVerifierKey("invalid key name"));
        }
        let id: [u8; 4] = crate::crypto::from_hex(id)
            .and_then(|b| b.try_into().ok())
            .filter(|_| id.len() == 8)
            .ok_or(NoteError::BadVerifierKey("key id is not 8 hex digits"))?;
        let raw = from_base64(key).ok_or(NoteError::BadVerifierKey("key is not base64"))?;
        if raw.len() != 33 || raw[0] != 0x01 {
            return Err(NoteError::BadVerifierKey("not an ed25519 key (type 0x01)"));
        }
        let key = PublicKey::from_bytes(&raw[1..])
            .map_err(|_| NoteError::BadVerifierKey("invalid ed25519 public key"))?;
        if note_key_id(name, &key) != id {
            return Err(NoteError::BadVerifierKey("key id does not match the key"));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ed25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Verifies a signed checkpoint note and returns what it states. Signatures by other keys
    /// are ignored; a signature by this key that fails rejects the note. kpcert names the ledger
    /// key after the origin, so the origin line must equal the key name.
    pub fn open(&self, note: &str) -> Result<Checkpoint, NoteError> {
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (body, sigs) = (&note[..split + 1], &note[split + 2..]);
        if !sigs.ends_with('\n') || sigs.len() < 2 {
            return Err(NoteError::Malformed(
                "signature block must end with a newline",
            ));
        }
        let mut verified = false;
        for line in sigs[..sigs.len() - 1].split('\n') {
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
                "signature line must start with an em dash",
            ))?;
            let (name, blob) = rest.split_once(' ').ok_or(NoteError::Malformed(
                "signature line needs a name and a signature",
            ))?;
            let blob = from_base64(blob).ok_or(NoteError::Malformed("signature is not base64"))?;
            if blob.len() < 4 {
                return Err(NoteError::Malformed("signature is too short"));
            }
            if name != self.name || blob[..4] != self.key_id {
                continue;
            }
            if blob.len() != 68 || !self.key.verify_strict(body.as_bytes(), &blob[4..]) {
                return Err(NoteError::BadSignature);
            }
            verified = true;
        }
        if !verified {
            return Err(NoteError::NoSignatureByKey);
        }
        let checkpoint = parse_body(body)?;
        if checkpoint.origin != self.name {
            return Err(NoteError::Malformed(
                "the origin line is not the ledger key's name",
            ));
        }
        Ok(checkpoint)
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![0x01];
        raw.extend_from_slice(&self.key.to_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            crate::crypto::hex(&self.key_id),
            base64(&raw)
        )
    }
}

fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
    let mut lines = body.split('\n');
    let origin = lines.next().filter(|o| !o.is_empty());
    let size = lines.next();
    let root = lines.next();
    let (Some(origin), Some(size), Some(root)) = (origin, size, root) else {
        return Err(NoteError::Malformed(
            "body needs origin, size and root lines",
        ));
    };
    if lines.next() != Some("") || lines.next().is_some() {
        return Err(NoteError::Malformed(
            "a v1 checkpoint has exactly three lines (no extension lines)",
        ));
    }
    if size.is_empty()
        || !size.bytes().all(|b| b.is_ascii_digit())
        || (size.len() > 1 && size.starts_with('0'))
    {
        return Err(NoteError::Malformed("size is not a canonical decimal"));
    }
    let size: u64 = size
        .parse()
        .map_err(|_| NoteError::Malformed("size is not a decimal number"))?;
    let root: Hash = from_base64(root)
        .and_then(|r| r.try_into().ok())
        .ok_or(NoteError::Malformed("root is not 32 bytes of base64"))?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::from_hex;

    fn test_signer() -> NoteSigner {
        let seed =
            from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        NoteSigner::new(
            "example.com/kimberley-test",
            SigningKey::from_seed(&seed.try_into().unwrap()),
        )
    }

    #[test]
    fn reference_checkpoint_is_reproduced_byte_for_byte() {
        let signer = test_signer();
        assert_eq!(
            signer.verifier().to_string(),
            "example.com/kimberley-test+974999ad+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
        );
        let root =
            from_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328").unwrap();
        let cp = Checkpoint {
            origin: "example.com/kimberley-test".into(),
            size: 8,
            root: root.try_into().unwrap(),
        };
        let note = signer.sign(&cp);
        assert_eq!(
            note,
            "example.com/kimberley-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\u{2014} example.com/kimberley-test l0mZrSBRJ3ja/KAlx2iy/vzAOSbEX4Wk0xoAzqsKAj7kGrjSEPyx9czOkAV3RFPIzLxcDW2lnYXUWUEqgtIzeJbEvwY=\n"
        );
        assert_eq!(signer.verifier().open(&note).unwrap(), cp);

        let empty = Checkpoint {
            origin: "example.com/kimberley-test".into(),
            size: 0,
            root: crate::tlog::merkle::EMPTY_ROOT,
        };
        let note = signer.sign(&empty);
        assert!(note.contains("\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"));
        assert!(note.ends_with(" l0mZrSxiirESajLsSZ3MxGyswt5ONydguOvGXVkNRDs7Zcn4F7ZobIMj/IYHOQP0m+k6rQz6tU4e0IQ+FFjKyO+fbg4=\n"));
    }

    #[test]
    fn tampered_notes_are_rejected() {
        let signer = test_signer();
        let verifier = signer.verifier();
        let cp = Checkpoint {
            origin: "example.com/kimberley-test".into(),
            size: 3,
            root: [7; 32],
        };
        let note = signer.sign(&cp);
        let forged = note.replacen("\n3\n", "\n4\n", 1);
        assert_eq!(verifier.open(&forged), Err(NoteError::BadSignature));
        let other = NoteSigner::new("example.com/other", SigningKey::from_seed(&[9; 32]));
        assert_eq!(
            verifier.open(&other.sign(&cp)),
            Err(NoteError::NoSignatureByKey)
        );
        assert!(verifier.open("garbage").is_err());
        assert!(NoteVerifier::parse("a+b").is_err());
        assert_eq!(
            NoteVerifier::parse(&verifier.to_string()).unwrap(),
            verifier
        );
    }
}
