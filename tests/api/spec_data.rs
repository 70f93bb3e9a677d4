//! Statements of api/*.md that are cheap to prove against the code: the CBOR nesting limit, the
//! base32 and QR text rules, checkpoint bodies without extension lines, the verifier key split,
//! the key validity window, the trust bundle's sort order, the country code file, and the one
//! difference between batch and strict signature verification that api/export.md describes.
//! Each test states the boundary from both sides, so it fails if the code or the text moves.

use std::path::Path;

use kpcert::codec::cbor::{DecodeError, Value};
use kpcert::codec::seal::seal_from_qr_text;
use kpcert::codec::text::{base64, from_base32, from_hex};
use kpcert::codec::trust::{BundleKey, BundleParticipant, TrustBundle};
use kpcert::crypto::{verify_batch, PublicKey, SigningKey};
use kpcert::domain::{CountryCode, Date, KeyWindow, ParticipantKind};
use kpcert::tlog::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
use serde_json::Value as Json;

fn api_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("api").join(name)).unwrap()
}

/// `prefix` repeated `n` times, then `inner`.
fn nested(prefix: &[u8], n: usize, inner: &[u8]) -> Vec<u8> {
    let mut bytes = prefix.repeat(n);
    bytes.extend_from_slice(inner);
    bytes
}

/// Depth of the deepest item, the top-level item being at depth 0.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| depth(k).max(depth(v)))
                .max()
                .unwrap_or(0)
        }
        Value::Tag(_, inner) => 1 + depth(inner),
        _ => 0,
    }
}

/// certificate.md section 2: every item is at depth 16 or less (top level 0, one more inside
/// each array, map or tag). Arrays, maps (keys and values) and tags count alike; a container
/// that is empty holds no deeper item.
#[test]
fn cbor_items_deeper_than_16_are_refused() {
    for (what, prefix) in [
        ("array", &[0x81u8][..]),
        ("map value", &[0xa1, 0x00][..]),
        ("tag", &[0xc0][..]),
    ] {
        // 16 containers around a scalar: the scalar is at depth 16.
        assert!(
            Value::decode(&nested(prefix, 16, &[0x00])).is_ok(),
            "{what}: depth 16"
        );
        // 17 containers around a scalar: depth 17.
        assert_eq!(
            Value::decode(&nested(prefix, 17, &[0x00])),
            Err(DecodeError::TooDeep),
            "{what}: depth 17"
        );
        // 16 containers around an empty array: 17 nested arrays, the deepest item at depth 16.
        assert!(
            Value::decode(&nested(prefix, 16, &[0x80])).is_ok(),
            "{what}: an empty container at depth 16"
        );
        assert_eq!(
            Value::decode(&nested(prefix, 17, &[0x80])),
            Err(DecodeError::TooDeep),
            "{what}: an empty container at depth 17"
        );
    }
    // A map key counts like a value: {key: 0} with the key's scalar at depth 1 + n.
    let key_deep = |n: usize| {
        let mut bytes = vec![0xa1];
        bytes.extend(nested(&[0x81], n, &[0x00]));
        bytes.push(0x00);
        bytes
    };
    assert!(Value::decode(&key_deep(15)).is_ok());
    assert_eq!(Value::decode(&key_deep(16)), Err(DecodeError::TooDeep));

    // What certificate.md says about real certificates: their deepest item is at depth 4.
    let vectors: Json = serde_json::from_str(&api_file("vectors/certificates.json")).unwrap();
    let list = vectors["vectors"].as_array().expect("a list of vectors");
    assert!(!list.is_empty());
    for v in list {
        let bytes = from_hex(v["canonical_hex"].as_str().unwrap()).unwrap();
        assert_eq!(depth(&Value::decode(&bytes).unwrap()), 4);
    }
}

/// seal.md section 1: unpadded base32, either case; lengths 1, 3 and 6 mod 8, padding, other
/// characters and non-zero trailing bits are refused.
#[test]
fn base32_decoding_rules() {
    for len in 0..=17usize {
        let text = "A".repeat(len);
        let impossible = matches!(len % 8, 1 | 3 | 6);
        assert_eq!(
            from_base32(&text).is_some(),
            !impossible,
            "length {len} (mod 8: {})",
            len % 8
        );
    }
    assert_eq!(from_base32("MZXW6YTBOI").unwrap(), b"foobar");
    assert_eq!(from_base32("mzxw6ytboi").unwrap(), b"foobar", "lower case");
    assert_eq!(from_base32("MzXw6YtBoI").unwrap(), b"foobar", "mixed case");
    assert_eq!(from_base32("MY").unwrap(), b"f");
    assert_eq!(from_base32("MZ"), None, "non-zero trailing bits");
    assert_eq!(from_base32("MY======"), None, "padding");
    assert_eq!(from_base32("MY=="), None, "partial padding");
    for bad in ["MY1", "MY0", "MY8", "MY ", "M-Y", "MÝ"] {
        assert_eq!(from_base32(bad), None, "{bad:?}");
    }
}

/// seal.md section 1: what `seal_from_qr_text` accepts around the seal.
#[test]
fn qr_text_rules() {
    let seal = b"any bytes";
    let b32 = "MFXHSIDCPF2GK4Y"; // base32 of "any bytes"
    assert_eq!(from_base32(b32).unwrap(), seal);
    for ok in [
        format!("HTTPS://KP.EXAMPLE.ORG/S/{b32}"),
        format!("https://kp.example.org/s/{}", b32.to_lowercase()),
        format!("http://localhost:8443/S/{b32}"),
        format!("  HTTPS://KP.EXAMPLE.ORG/S/{b32}\n"),
        format!("HTTPS://A/S/B/S/{b32}"),
        format!("HTTPS://KP.EXAMPLE.ORG/PREFIX/S/{b32}"),
    ] {
        assert_eq!(seal_from_qr_text(&ok).unwrap(), seal, "{ok:?}");
    }
    for bad in [
        format!("KP.EXAMPLE.ORG/S/{b32}"),
        format!("FTP://KP.EXAMPLE.ORG/S/{b32}"),
        format!("HTTPS://KP.EXAMPLE.ORG/{b32}"),
        format!("HTTPS://KP.EXAMPLE.ORG/S/{b32}/"),
        format!("HTTPS://KP.EXAMPLE.ORG/S/{b32}?x=1"),
        format!("HTTPS://KP.EXAMPLE.ORG/S/{b32}#x"),
    ] {
        assert!(seal_from_qr_text(&bad).is_err(), "{bad:?}");
    }
    // Only what follows the last /S/ is the seal (here nothing, which the COSE decoder refuses).
    assert_eq!(
        seal_from_qr_text(&format!("HTTPS://KP.EXAMPLE.ORG/S/{b32}/S/")).unwrap(),
        Vec::<u8>::new()
    );
}

fn note_signer() -> (NoteSigner, SigningKey) {
    let key = SigningKey::from_seed(&[41; 32]);
    (NoteSigner::new("spec.example/ledger", key.clone()), key)
}

/// A signed note over `body`, built by hand as ledger.md section 8 describes it.
fn signed_note(body: &str, signer: &NoteSigner, key: &SigningKey) -> String {
    let verifier_key = signer.verifier().to_string();
    let key_id = from_hex(verifier_key.split('+').nth(1).unwrap()).unwrap();
    let mut blob = key_id;
    blob.extend_from_slice(&key.sign(body.as_bytes()));
    format!("{body}\n\u{2014} {} {}\n", signer.name(), base64(&blob))
}

/// ledger.md section 8: a v1 checkpoint body is exactly three lines; a correctly signed note
/// with an extension line is rejected.
#[test]
fn checkpoint_extension_lines_are_rejected() {
    let (signer, key) = note_signer();
    let checkpoint = Checkpoint {
        origin: "spec.example/ledger".into(),
        size: 7,
        root: [9; 32],
    };
    let body = checkpoint.body();
    // The hand-built note is the one kpcert signs, byte for byte, and it verifies.
    let plain = signed_note(&body, &signer, &key);
    assert_eq!(plain, signer.sign(&checkpoint));
    assert_eq!(signer.verifier().open(&plain).unwrap(), checkpoint);
    // The same with one extension line after the root: signed correctly, still refused.
    let extended = signed_note(&format!("{body}extension\n"), &signer, &key);
    assert!(
        matches!(
            signer.verifier().open(&extended),
            Err(NoteError::Malformed(_))
        ),
        "{:?}",
        signer.verifier().open(&extended)
    );
}

/// ledger.md section 8: a verifier key is split at its first two `+`; the base64 key may hold
/// more. The entry vectors' ledger key is one whose base64 part has a `+`.
#[test]
fn verifier_keys_split_at_the_first_two_plus_signs() {
    let vectors: Json = serde_json::from_str(&api_file("vectors/entries.json")).unwrap();
    let text = vectors["ledger_key"]["verifier_key"].as_str().unwrap();
    let parts: Vec<&str> = text.splitn(3, '+').collect();
    assert!(
        parts[2].contains('+'),
        "the example must have a + in its base64 part"
    );
    let seed: [u8; 32] = from_hex(vectors["ledger_key"]["seed_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let expected = NoteSigner::new(parts[0], SigningKey::from_seed(&seed)).verifier();
    assert_eq!(NoteVerifier::parse(text).unwrap(), expected);
    assert_eq!(expected.to_string(), text);
    // Splitting at every + would see four parts: not a key.
    assert_eq!(text.split('+').count(), 4);
    // The key id may be given in upper case; a wrong id or a key of another type is refused.
    let upper = format!("{}+{}+{}", parts[0], parts[1].to_uppercase(), parts[2]);
    assert_eq!(NoteVerifier::parse(&upper).unwrap(), expected);
    let wrong_id = format!("{}+00000000+{}", parts[0], parts[2]);
    assert!(NoteVerifier::parse(&wrong_id).is_err());
}

/// trust-bundle.md section 2: a key's window [valid_from, valid_until) in unix milliseconds
/// must overlap the UTC day of issue [D 00:00, D+1 00:00).
#[test]
fn key_windows_overlap_the_day_of_issue() {
    let day = Date::parse("2026-11-26").unwrap();
    let start = day.start_ms();
    let next = start + 86_400_000;
    let window = |from: u64, until: Option<u64>| KeyWindow {
        public_key: SigningKey::from_seed(&[3; 32]).public_key(),
        key_id: SigningKey::from_seed(&[3; 32]).public_key().key_id(),
        valid_from_ms: from,
        valid_until_ms: until,
        revoked: None,
    };
    assert!(
        window(next - 1, None).covers_day(day),
        "from the day's last ms"
    );
    assert!(!window(next, None).covers_day(day), "from the next day");
    assert!(
        window(0, Some(start + 1)).covers_day(day),
        "until one ms into the day"
    );
    assert!(
        !window(0, Some(start)).covers_day(day),
        "until the day starts (exclusive)"
    );
    assert!(window(start - 5, Some(next + 5)).covers_day(day));
}

fn participant(code: &str) -> BundleParticipant {
    BundleParticipant {
        code: CountryCode::participant(code).unwrap(),
        name: format!("Participant {code}"),
        kind: ParticipantKind::Participant,
        standing: Default::default(),
    }
}

fn bundle_key(id: &str, seed: u8, from: u64) -> BundleKey {
    let public_key = SigningKey::from_seed(&[seed; 32]).public_key();
    BundleKey {
        authority_id: id.into(),
        participant: CountryCode::participant(&id[..2]).unwrap(),
        name: format!("Authority {id}"),
        key: KeyWindow {
            key_id: public_key.key_id(),
            public_key,
            valid_from_ms: from,
            valid_until_ms: None,
            revoked: None,
        },
    }
}

fn bundle(participants: Vec<BundleParticipant>, authorities: Vec<BundleKey>) -> Vec<u8> {
    TrustBundle {
        issued_at_ms: 1,
        next_update_ms: 2,
        ledger_origin: "spec.example/ledger".into(),
        ledger_verifier_key: "x".into(),
        ledger_size: 0,
        participants,
        authorities,
        certificates: vec![],
    }
    .encode()
}

/// trust-bundle.md section 2: participants strictly ascending by code, authority keys strictly
/// ascending by (authority_id bytewise, valid_from); a verifier refuses any other order.
#[test]
fn trust_bundle_lists_must_be_sorted() {
    let sorted = bundle(
        vec![participant("AE"), participant("BW")],
        vec![
            bundle_key("BW-A1", 1, 5),
            bundle_key("BW-A1", 2, 6),
            bundle_key("BW-A10", 3, 1),
            bundle_key("BW-A2", 4, 1),
        ],
    );
    assert!(TrustBundle::decode(&sorted).is_ok());
    for (what, bytes) in [
        (
            "participants out of order",
            bundle(vec![participant("BW"), participant("AE")], vec![]),
        ),
        (
            "a participant twice",
            bundle(vec![participant("BW"), participant("BW")], vec![]),
        ),
        (
            "A2 before A10 (numeric, not bytewise)",
            bundle(
                vec![],
                vec![bundle_key("BW-A2", 4, 1), bundle_key("BW-A10", 3, 1)],
            ),
        ),
        (
            "same authority, later key first",
            bundle(
                vec![],
                vec![bundle_key("BW-A1", 2, 6), bundle_key("BW-A1", 1, 5)],
            ),
        ),
        (
            "same authority and valid_from twice",
            bundle(
                vec![],
                vec![bundle_key("BW-A1", 1, 5), bundle_key("BW-A1", 2, 5)],
            ),
        ),
    ] {
        assert!(TrustBundle::decode(&bytes).is_err(), "{what}");
    }
}

/// api/country-codes.txt is the list kpcert accepts: every code in it is a country, `EU` only a
/// participant, and nothing else of two letters is accepted.
#[test]
fn the_country_code_file_is_the_accepted_list() {
    let text = api_file("country-codes.txt");
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(listed.len(), 249);
    assert!(text.starts_with("# "), "a header comment");
    assert!(text.contains("pycountry 26.2.16"));
    let mut accepted = Vec::new();
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            let code = String::from_utf8(vec![a, b]).unwrap();
            if CountryCode::country(&code).is_some() {
                accepted.push(code);
            }
        }
    }
    assert_eq!(accepted, listed);
    assert!(CountryCode::country("EU").is_none());
    assert!(CountryCode::participant("EU").is_some());
}

/// A signature by the holder of the scalar `a` (public key `[a]B + key_torsion`) whose R is
/// `[r]B + r_torsion`: s = r + k·a. With no torsion it is an ordinary signature.
fn crafted(
    a: curve25519_dalek::scalar::Scalar,
    key_torsion: usize,
    r: curve25519_dalek::scalar::Scalar,
    r_torsion: usize,
    message: &[u8],
) -> (PublicKey, [u8; 64]) {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let public = (a * ED25519_BASEPOINT_POINT + EIGHT_TORSION[key_torsion]).compress();
    let big_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[r_torsion]).compress();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(public.as_bytes())
            .chain_update(message)
            .finalize()
            .into(),
    );
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    (
        PublicKey::from_bytes(public.as_bytes()).expect("a prime-order key"),
        sig,
    )
}

/// api/export.md: batch verification refuses everything `verify_strict` refuses except a
/// signature whose equation misses by a point of small order, which needs a small-order
/// component in R (the signer's choice; a key with one is refused when parsed, ledger.md rule
/// 14). Such a signature passes the batch for some batches and fails `verify_strict` always.
#[test]
fn batch_and_strict_verification_differ_only_on_mixed_order_points() {
    use curve25519_dalek::scalar::Scalar;
    let a = Scalar::from(987_654_321u64);
    let r = Scalar::from(123_456_789u64);
    // Honest: both accept.
    let (key, sig) = crafted(a, 0, r, 0, b"m");
    assert!(key.verify_strict(b"m", &sig));
    assert!(verify_batch(&[(b"m", &sig, &key)]));
    // A key with a small-order component is refused when parsed.
    let mixed_key = (a * curve25519_dalek::constants::ED25519_BASEPOINT_POINT
        + curve25519_dalek::constants::EIGHT_TORSION[4])
        .compress();
    assert!(PublicKey::from_bytes(mixed_key.as_bytes()).is_err());
    // Torsion of order 2 (EIGHT_TORSION[4]) in R: some message gives a signature that
    // verify_strict refuses and a one-signature batch accepts.
    let found = (0u32..64).any(|i| {
        let message = format!("certificate {i}");
        let (key, sig) = crafted(a, 0, r, 4, message.as_bytes());
        !key.verify_strict(message.as_bytes(), &sig)
            && verify_batch(&[(message.as_bytes(), &sig, &key)])
    });
    assert!(found, "a torsion component in R");
}
