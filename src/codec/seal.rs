//! The QR seal: what a customs officer's scanner reads. A COSE_Sign1 (RFC 9052) signed with the
//! issuing authority's ed25519 key (EdDSA, COSE alg -8) over deterministic CBOR claims, carried
//! in an upper-case URL that stays in QR alphanumeric mode:
//!
//! ```text
//! <PUBLIC BASE URL, UPPER CASE>/S/<BASE32 (RFC 4648, no padding) OF THE COSE_Sign1 BYTES>
//! ```
//!
//! The claims are what an officer compares with the shipment and the paper, plus the SHA-256 of
//! the full canonical certificate, which binds every other field (addresses included). api/seal.md
//! specifies the bytes. The issuing authority signs the seal once, at issuance; it is kept in the
//! certificate's full record (api/ledger.md) and checked against the certificate when read.

use std::fmt;

use super::cbor::{shape, Fields, FormatError, Value, Walker};
use super::text::{base32, from_base32};
use crate::crypto::{Hash, KeyId, PublicKey};
use crate::domain::{
    Certificate, CertificateNumber, CountryCode, Date, HsCode, Hundredths, Item, Origin,
};

/// Version of the claims layout (claim 0).
pub const SEAL_VERSION: u64 = 2;
/// CBOR tag of COSE_Sign1.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm id of EdDSA.
pub const COSE_ALG_EDDSA: i64 = -8;
/// The path segment between the base URL and the encoded seal.
pub const QR_PATH: &str = "/S/";

/// What the seal states. The certificate number is not spelled out: it is
/// `<participant>-<year of issued_on>-<serial, 6 digits at least>`, which saves ten bytes of a
/// QR code that must stay at version 18 or lower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealClaims {
    pub serial: u64,
    pub participant: CountryCode,
    pub authority_id: String,
    pub exporter_name: String,
    pub importer_name: String,
    pub destination: CountryCode,
    pub origin: Origin,
    pub parcels: u32,
    pub items: Vec<Item>,
    pub issued_on: Date,
    pub expires_on: Date,
    pub certificate_hash: Hash,
}

/// A date check that fails: `expired`, or `forged` for a seal issued in the future.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateProblem {
    Expired(Date),
    IssuedInFuture(Date),
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateProblem::Expired(d) => write!(f, "expired on {d}"),
            DateProblem::IssuedInFuture(d) => write!(f, "issued in the future ({d})"),
        }
    }
}

/// Why scanned text is not a valid kpcert seal. Any of these means the verdict `malformed`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl From<FormatError> for Malformed {
    fn from(e: FormatError) -> Malformed {
        Malformed(e.to_string())
    }
}

fn bad(msg: impl Into<String>) -> Malformed {
    Malformed(msg.into())
}

fn hs_number(code: HsCode) -> u64 {
    match code {
        HsCode::Unsorted => 10,
        HsCode::Industrial => 21,
        HsCode::NonIndustrial => 31,
    }
}

fn hs_from_number(n: u64) -> Option<HsCode> {
    match n {
        10 => Some(HsCode::Unsorted),
        21 => Some(HsCode::Industrial),
        31 => Some(HsCode::NonIndustrial),
        _ => None,
    }
}

impl SealClaims {
    /// The claims of an issued certificate whose canonical bytes hash to `hash`.
    pub fn of(cert: &Certificate, hash: &Hash) -> SealClaims {
        // The number is not spelled out: a certificate whose number does not carry its year of
        // issue (which the ledger refuses) has claims that state another number.
        let c = &cert.content;
        SealClaims {
            serial: cert.number.serial(),
            participant: cert.issuer.participant,
            authority_id: cert.issuer.authority_id.clone(),
            exporter_name: c.exporter.name.clone(),
            importer_name: c.importer.name.clone(),
            destination: c.destination,
            origin: c.origin.clone(),
            parcels: c.parcels,
            items: c.items.clone(),
            issued_on: c.issued_on,
            expires_on: c.expires_on,
            certificate_hash: *hash,
        }
    }

    /// What is wrong with the seal's dates on `today` (UTC), if anything: past the expiry day,
    /// or issued more than a day ahead (a day of tolerance for clocks and time zones).
    pub fn date_problem(&self, today: Date) -> Option<DateProblem> {
        if today
            .plus_days(1)
            .is_some_and(|tomorrow| tomorrow < self.issued_on)
        {
            Some(DateProblem::IssuedInFuture(self.issued_on))
        } else if today > self.expires_on {
            Some(DateProblem::Expired(self.expires_on))
        } else {
            None
        }
    }

    /// The certificate number the seal states.
    pub fn number(&self) -> CertificateNumber {
        CertificateNumber::new(self.participant, self.issued_on.year(), self.serial)
    }

    fn to_cbor(&self) -> Value<'_> {
        fn text(s: &str) -> Value<'_> {
            Value::text(s)
        }
        let (mixed, countries) = self.origin.mixed_and_countries();
        Value::Map(vec![
            (Value::Uint(0), Value::Uint(SEAL_VERSION)),
            (Value::Uint(1), Value::Uint(self.serial)),
            (Value::Uint(2), text(self.participant.as_str())),
            (Value::Uint(3), text(&self.authority_id)),
            (Value::Uint(4), text(&self.exporter_name)),
            (Value::Uint(5), text(&self.importer_name)),
            (Value::Uint(6), text(self.destination.as_str())),
            (
                Value::Uint(7),
                Value::Array(vec![
                    Value::Bool(mixed),
                    Value::Array(countries.iter().map(|c| text(c.as_str())).collect()),
                ]),
            ),
            (Value::Uint(8), Value::Uint(self.parcels as u64)),
            (
                Value::Uint(9),
                Value::Array(
                    self.items
                        .iter()
                        .map(|i| {
                            Value::Array(vec![
                                Value::Uint(hs_number(i.hs_code)),
                                Value::Uint(i.carats.hundredths()),
                                Value::Uint(i.value_usd.hundredths()),
                            ])
                        })
                        .collect(),
                ),
            ),
            (Value::Uint(10), Value::Uint(self.issued_on.days() as u64)),
            (Value::Uint(11), Value::Uint(self.expires_on.days() as u64)),
            (Value::Uint(12), Value::bytes(&self.certificate_hash[..])),
        ])
    }

    fn from_cbor(v: &Value) -> Result<SealClaims, Malformed> {
        let f = Fields::exact("claims", v, &[0u64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])?;
        let code = |k: u64| f.parsed(k, CountryCode::participant);
        let date = |k: u64| -> Result<Date, FormatError> {
            i64::try_from(f.uint(k)?)
                .ok()
                .and_then(Date::from_days)
                .ok_or_else(|| shape(format!("claim {k} is not a date")))
        };
        if f.uint(0u64)? != SEAL_VERSION {
            return Err(bad("unknown seal version"));
        }
        let origin = match f.get(7u64).as_array() {
            Some([Value::Bool(mixed), Value::Array(list)]) => {
                let codes = list
                    .iter()
                    .map(|c| c.as_text().and_then(CountryCode::country))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("origin holds an invalid code"))?;
                Origin::from_parts(*mixed, codes).ok_or_else(|| {
                    bad("an unmixed origin has exactly one country; mixed origin countries are sorted and distinct")
                })?
            }
            _ => return Err(bad("origin is not [mixed, [countries]]")),
        };
        let items = f
            .list(9u64)?
            .iter()
            .map(|item| match item.as_array() {
                Some([Value::Uint(hs), Value::Uint(ct), Value::Uint(usd)]) => Some(Item {
                    hs_code: hs_from_number(*hs)?,
                    carats: Hundredths::from_hundredths(*ct)?,
                    value_usd: Hundredths::from_hundredths(*usd)?,
                }),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("an item is not [hs, centicarats, usd_cents]"))?;
        if !Item::canonical_list(&items) {
            return Err(bad(
                "items must be non-empty and sorted by distinct HS code",
            ));
        }
        let serial = f.uint(1u64)?;
        if serial == 0 {
            return Err(bad("claim 1 (serial) starts at 1"));
        }
        let issued_on = date(10)?;
        Ok(SealClaims {
            serial,
            participant: code(2)?,
            authority_id: f.text(3u64)?.to_owned(),
            exporter_name: f.text(4u64)?.to_owned(),
            importer_name: f.text(5u64)?.to_owned(),
            destination: code(6)?,
            origin,
            parcels: f.u32(8u64)?,
            items,
            issued_on,
            expires_on: date(11)?,
            certificate_hash: f.array(12u64)?,
        })
    }
}

fn protected_header(key_id: &KeyId) -> Vec<u8> {
    Value::Map(vec![
        (Value::Uint(1), Value::int(COSE_ALG_EDDSA)),
        (Value::Uint(4), Value::bytes(&key_id.0[..])),
    ])
    .encode()
}

/// The COSE Sig_structure: the exact bytes the signature covers.
fn to_be_signed(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    Value::Array(vec![
        Value::text("Signature1"),
        Value::bytes(protected),
        Value::bytes(&[][..]),
        Value::bytes(payload),
    ])
    .encode()
}

/// Builds the seal: `sign` receives the bytes to sign (the COSE Sig_structure).
pub fn seal(claims: &SealClaims, key_id: &KeyId, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> Vec<u8> {
    let protected = protected_header(key_id);
    let payload = claims.to_cbor().encode();
    let signature = sign(&to_be_signed(&protected, &payload));
    Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::bytes(protected),
            Value::Map(Vec::new()),
            Value::bytes(payload),
            Value::bytes(&signature[..]),
        ])),
    )
    .encode()
}

/// A decoded seal, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedSeal {
    pub key_id: KeyId,
    pub claims: SealClaims,
    to_be_signed: Vec<u8>,
    signature: [u8; 64],
}

impl OpenedSeal {
    /// The bytes the signature covers and the signature (for batch verification).
    pub fn signed_parts(&self) -> (&[u8], &[u8; 64]) {
        (&self.to_be_signed, &self.signature)
    }

    /// The bytes the signature covers and the signature, moved out of the seal.
    pub fn into_signed_parts(self) -> (Vec<u8>, [u8; 64]) {
        (self.to_be_signed, self.signature)
    }

    /// Whether `key` signed this seal.
    pub fn verify(&self, key: &PublicKey) -> bool {
        key.verify_strict(&self.to_be_signed, &self.signature)
    }
}

/// Decodes seal bytes strictly (deterministic CBOR only).
pub fn open(bytes: &[u8]) -> Result<OpenedSeal, Malformed> {
    walk_seal(bytes).map_or_else(|| open_tree(bytes), Ok)
}

/// [`open`] without a tree of values (issue 14: every border check opens a seal); `None` for
/// anything else, which [`open_tree`] judges and names. It reads exactly the items of seal.md
/// sections 2 and 3 in canonical order with the general decoder's rules, so whatever it accepts
/// [`open_tree`] accepts with the same meaning (tested on byte substitutions, removals and
/// insertions of a seal).
pub(crate) fn walk_seal(bytes: &[u8]) -> Option<OpenedSeal> {
    let mut w = Walker::new(bytes);
    w.tag(COSE_SIGN1_TAG)?;
    w.array(4)?;
    let protected = w.bytes()?;
    w.map(0)?;
    let payload = w.bytes()?;
    let signature: [u8; 64] = w.bytes()?.try_into().ok()?;
    w.end()?;
    let mut h = Walker::new(protected);
    h.map(2)?;
    (h.uint()? == 1).then_some(())?;
    (h.nint()? == (-1 - COSE_ALG_EDDSA) as u64).then_some(())?;
    (h.uint()? == 4).then_some(())?;
    let key_id = KeyId(h.bytes()?.try_into().ok()?);
    h.end()?;
    Some(OpenedSeal {
        key_id,
        claims: walk_claims(payload)?,
        to_be_signed: to_be_signed(protected, payload),
        signature,
    })
}

/// The claims of seal.md section 3, walked (see [`walk_seal`]).
fn walk_claims(payload: &[u8]) -> Option<SealClaims> {
    let mut w = Walker::new(payload);
    w.map(13)?;
    let mut key = 0;
    let mut next = |w: &mut Walker<'_>| {
        let k = w.uint()?;
        key += 1;
        (k == key - 1).then_some(())
    };
    let participant = |w: &mut Walker<'_>| CountryCode::participant(w.text()?);
    let date = |w: &mut Walker<'_>| i64::try_from(w.uint()?).ok().and_then(Date::from_days);
    next(&mut w)?;
    (w.uint()? == SEAL_VERSION).then_some(())?;
    next(&mut w)?;
    let serial = w.uint().filter(|&s| s > 0)?;
    next(&mut w)?;
    let issuer = participant(&mut w)?;
    next(&mut w)?;
    let authority_id = w.text()?.to_owned();
    next(&mut w)?;
    let exporter_name = w.text()?.to_owned();
    next(&mut w)?;
    let importer_name = w.text()?.to_owned();
    next(&mut w)?;
    let destination = participant(&mut w)?;
    next(&mut w)?;
    w.array(2)?;
    let mixed = w.bool()?;
    let countries = (0..w.array_len()?)
        .map(|_| CountryCode::country(w.text()?))
        .collect::<Option<Vec<_>>>()?;
    let origin = Origin::from_parts(mixed, countries)?;
    next(&mut w)?;
    let parcels = u32::try_from(w.uint()?).ok()?;
    next(&mut w)?;
    let items = (0..w.array_len()?)
        .map(|_| {
            w.array(3)?;
            Some(Item {
                hs_code: hs_from_number(w.uint()?)?,
                carats: Hundredths::from_hundredths(w.uint()?)?,
                value_usd: Hundredths::from_hundredths(w.uint()?)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if !Item::canonical_list(&items) {
        return None;
    }
    next(&mut w)?;
    let issued_on = date(&mut w)?;
    next(&mut w)?;
    let expires_on = date(&mut w)?;
    next(&mut w)?;
    let certificate_hash = w.bytes()?.try_into().ok()?;
    w.end()?;
    Some(SealClaims {
        serial,
        participant: issuer,
        authority_id,
        exporter_name,
        importer_name,
        destination,
        origin,
        parcels,
        items,
        issued_on,
        expires_on,
        certificate_hash,
    })
}

/// [`open`] through a tree of values: accepts or refuses any bytes, and names the problem.
pub(crate) fn open_tree(bytes: &[u8]) -> Result<OpenedSeal, Malformed> {
    let value = Value::decode(bytes).map_err(|e| bad(format!("not deterministic CBOR: {e}")))?;
    let Value::Tag(COSE_SIGN1_TAG, inner) = value else {
        return Err(bad("not a tagged COSE_Sign1"));
    };
    let Some(
        [Value::Bytes(protected), Value::Map(unprotected), Value::Bytes(payload), Value::Bytes(signature)],
    ) = inner.as_array()
    else {
        return Err(bad(
            "COSE_Sign1 must be [protected, unprotected, payload, signature]",
        ));
    };
    if !unprotected.is_empty() {
        return Err(bad("the unprotected header must be empty"));
    }
    let header = Value::decode(protected).map_err(|e| bad(format!("protected header: {e}")))?;
    let header = Fields::exact("the protected header", &header, &[1u64, 4])
        .map_err(|_| bad("the protected header must be {1: -8, 4: kid}"))?;
    if *header.get(1u64) != Value::int(COSE_ALG_EDDSA) {
        return Err(bad("the protected header must be {1: -8, 4: kid}"));
    }
    let key_id = header
        .array::<u64, 8>(4)
        .map(KeyId)
        .map_err(|_| bad("the key id must be 8 bytes"))?;
    let claims = Value::decode(payload).map_err(|e| bad(format!("claims: {e}")))?;
    let claims = SealClaims::from_cbor(&claims)?;
    let signature: [u8; 64] = signature
        .as_ref()
        .try_into()
        .map_err(|_| bad("the signature must be 64 bytes"))?;
    Ok(OpenedSeal {
        key_id,
        claims,
        to_be_signed: to_be_signed(protected, payload),
        signature,
    })
}

/// The QR text for `seal` under `public_base_url` (e.g. `https://kp.example.org`).
pub fn qr_text(public_base_url: &str, seal: &[u8]) -> String {
    format!(
        "{}{QR_PATH}{}",
        public_base_url.trim_end_matches('/').to_ascii_uppercase(),
        base32(seal)
    )
}

/// The seal bytes in scanned QR text (any base URL; the part after the last `/S/`).
pub fn seal_from_qr_text(text: &str) -> Result<Vec<u8>, Malformed> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let scheme = |s: &str| {
        bytes
            .get(..s.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(s.as_bytes()))
    };
    // The last `/S/`, in either case (what the phone's camera app may have changed). The seal
    // after it is base32, without a `/`: the last `/` of a genuine scan ends it.
    let path =
        |at: &usize| bytes[*at..*at + QR_PATH.len()].eq_ignore_ascii_case(QR_PATH.as_bytes());
    let at = bytes
        .iter()
        .rposition(|&b| b == b'/')
        .and_then(|slash| slash.checked_sub(QR_PATH.len() - 1))
        .filter(path)
        .or_else(|| {
            bytes
                .windows(QR_PATH.len())
                .rposition(|w| w.eq_ignore_ascii_case(QR_PATH.as_bytes()))
        })
        .filter(|_| scheme("HTTPS://") || scheme("HTTP://"))
        .ok_or_else(|| bad("not a kpcert seal URL (expected <base>/S/<seal>)"))?;
    from_base32(&text[at + QR_PATH.len()..]).ok_or_else(|| bad("the seal is not base32"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::domain::HsCode;

    fn open_tree_as_format_error(bytes: &[u8]) -> Result<OpenedSeal, FormatError> {
        open_tree(bytes).map_err(|e| shape(e.0))
    }

    /// The walk (issue 14) must accept no seal the tree refuses and read what it accepts as the
    /// tree does: checked on every byte substitution, removal and insertion of two seals (an
    /// unmixed origin with one item; a mixed origin of three countries with three items).
    #[test]
    fn the_seal_walk_accepts_only_what_the_tree_accepts_and_reads_it_the_same() {
        let key = SigningKey::from_seed(&[7; 32]);
        let code = |c: &str| CountryCode::country(c).expect("a code");
        let item = |hs: HsCode, ct: u64, usd: u64| Item {
            hs_code: hs,
            carats: Hundredths::from_hundredths(ct).expect("carats"),
            value_usd: Hundredths::from_hundredths(usd).expect("value"),
        };
        let one = SealClaims {
            serial: 1,
            participant: code("BW"),
            authority_id: "BW-A1".into(),
            exporter_name: "Okavango Diamond Company".into(),
            importer_name: "Desert Rough DMCC".into(),
            destination: code("AE"),
            origin: Origin::Single(code("BW")),
            parcels: 3,
            items: vec![item(HsCode::Unsorted, 152_035, 84_500_000)],
            issued_on: Date::parse("2026-12-04").expect("a date"),
            expires_on: Date::parse("2027-02-02").expect("a date"),
            certificate_hash: [9; 32],
        };
        let mixed = SealClaims {
            serial: 1_000_000,
            origin: Origin::from_parts(true, vec![code("AO"), code("BW"), code("CD")])
                .expect("a mixed origin"),
            items: vec![
                item(HsCode::Unsorted, 1, 0),
                item(HsCode::Industrial, 70_000, 1),
                item(HsCode::NonIndustrial, 1 << 40, 1 << 33),
            ],
            ..one.clone()
        };
        for claims in [one, mixed] {
            let sealed = seal(&claims, &key.public_key().key_id(), |b| key.sign(b));
            let opened = walk_seal(&sealed).expect("the walk reads a seal");
            assert_eq!(opened.claims, claims);
            assert!(opened.verify(&key.public_key()));
            crate::codec::entry::tests::check_walk(&sealed, walk_seal, open_tree_as_format_error);
            // A byte after the protected header or after the claims, inside their byte
            // strings (the mutations above cannot reach: the string's length changes too).
            let (protected, payload) =
                (protected_header(&opened.key_id), claims.to_cbor().encode());
            let with_tail = |b: &[u8]| [b, &[0u8][..]].concat();
            for (p, c) in [
                (with_tail(&protected), payload.clone()),
                (protected.clone(), with_tail(&payload)),
            ] {
                let wrapped = Value::Tag(
                    COSE_SIGN1_TAG,
                    Box::new(Value::Array(vec![
                        Value::bytes(p),
                        Value::Map(Vec::new()),
                        Value::bytes(c),
                        Value::bytes(&opened.signature[..]),
                    ])),
                )
                .encode();
                assert_eq!(walk_seal(&wrapped), None);
                assert!(open_tree(&wrapped).is_err());
            }
        }
    }
}
