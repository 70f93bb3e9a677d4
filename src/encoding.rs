//! The canonical encodings: the one producer of every byte string kpcert signs or hashes.
//!
//! Both formats are deterministic CBOR (see [`crate::cbor`]) arrays whose first element is a
//! versioned context string, which domain-separates every signature and hash:
//!
//! - a certificate: `["kpcert/certificate/v1", {fields}]`, signed as is by the issuing
//!   authority; its SHA-256 is the certificate hash;
//! - a ledger entry: `["kpcert/entry/v1", {index, time, kind, actor, key_id, payload, prev}]`, the Merkle
//!   leaf data; its SHA-256 is the `prev` of the next entry.
//!
//! api/certificate.md and api/ledger.md specify them byte by byte; the decoders here accept
//! exactly what the encoders produce.

use std::fmt;

use crate::cbor::{DecodeError, Value};
use crate::crypto::{sha256, Hash, KeyId, PublicKey};
use crate::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Date, HsCode,
    Hundredths, Issuer, Item, Origin, Participant, ParticipantKind, Party,
};

/// Context string of the certificate encoding.
pub const CERTIFICATE_CONTEXT: &str = "kpcert/certificate/v1";
/// Context string of the ledger entry encoding.
pub const ENTRY_CONTEXT: &str = "kpcert/entry/v1";

/// Why bytes are not a valid canonical structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    Cbor(DecodeError),
    Shape(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Cbor(e) => write!(f, "{e}"),
            FormatError::Shape(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for FormatError {}

fn shape(msg: impl Into<String>) -> FormatError {
    FormatError::Shape(msg.into())
}

/// Reads the fields of a CBOR map with text keys, requiring exactly the expected keys.
struct Fields<'a> {
    what: &'static str,
    map: &'a [(Value, Value)],
}

impl<'a> Fields<'a> {
    fn new(what: &'static str, v: &'a Value, keys: &[&str]) -> Result<Fields<'a>, FormatError> {
        let map = v
            .as_map()
            .ok_or_else(|| shape(format!("{what} is not a map")))?;
        if map.len() != keys.len()
            || !map
                .iter()
                .all(|(k, _)| k.as_text().is_some_and(|k| keys.contains(&k)))
        {
            return Err(shape(format!("{what} must have exactly the keys {keys:?}")));
        }
        Ok(Fields { what, map })
    }

    fn get(&self, key: &str) -> &'a Value {
        // Presence was checked in `new`.
        &self
            .map
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .expect("checked key")
            .1
    }

    fn text(&self, key: &str) -> Result<&'a str, FormatError> {
        self.get(key)
            .as_text()
            .ok_or_else(|| shape(format!("{}.{key} is not a text string", self.what)))
    }

    fn uint(&self, key: &str) -> Result<u64, FormatError> {
        self.get(key)
            .as_u64()
            .ok_or_else(|| shape(format!("{}.{key} is not an unsigned integer", self.what)))
    }

    fn bytes(&self, key: &str) -> Result<&'a [u8], FormatError> {
        self.get(key)
            .as_bytes()
            .ok_or_else(|| shape(format!("{}.{key} is not a byte string", self.what)))
    }

    fn parsed<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, FormatError> {
        let s = self.text(key)?;
        parse(s).ok_or_else(|| shape(format!("{}.{key} has an invalid value {s:?}", self.what)))
    }
}

fn unwrap_context<'a>(value: &'a Value, context: &str) -> Result<&'a Value, FormatError> {
    match value.as_array() {
        Some([Value::Text(c), body]) if c == context => Ok(body),
        _ => Err(shape(format!("not a [{context:?}, body] array"))),
    }
}

fn party_value(p: &Party) -> Value {
    Value::map([
        ("name", Value::text(&p.name)),
        ("address", Value::text(&p.address)),
    ])
}

fn party_from(v: &Value, what: &'static str) -> Result<Party, FormatError> {
    let f = Fields::new(what, v, &["name", "address"])?;
    Ok(Party {
        name: f.text("name")?.to_owned(),
        address: f.text("address")?.to_owned(),
    })
}

/// The canonical bytes of a certificate.
pub fn encode_certificate(cert: &Certificate) -> Vec<u8> {
    let c = &cert.content;
    let (mixed, countries) = c.origin.mixed_and_countries();
    let body = Value::map([
        ("number", Value::text(cert.number.as_str())),
        (
            "issuer",
            Value::map([
                ("participant", Value::text(cert.issuer.participant.as_str())),
                ("authority_id", Value::text(&cert.issuer.authority_id)),
                ("authority_name", Value::text(&cert.issuer.authority_name)),
                ("key_id", Value::text(cert.issuer.key_id.to_string())),
            ]),
        ),
        ("issued_on", Value::text(c.issued_on.to_string())),
        ("expires_on", Value::text(c.expires_on.to_string())),
        ("exporter", party_value(&c.exporter)),
        ("importer", party_value(&c.importer)),
        ("destination", Value::text(c.destination.as_str())),
        (
            "origin",
            Value::map([
                ("mixed", Value::Bool(mixed)),
                (
                    "countries",
                    Value::Array(countries.iter().map(|c| Value::text(c.as_str())).collect()),
                ),
            ]),
        ),
        ("parcels", Value::Uint(c.parcels as u64)),
        (
            "items",
            Value::Array(
                c.items
                    .iter()
                    .map(|i| {
                        Value::map([
                            ("hs_code", Value::text(i.hs_code.as_str())),
                            ("centicarats", Value::Uint(i.carats.hundredths())),
                            ("usd_cents", Value::Uint(i.value_usd.hundredths())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]);
    Value::Array(vec![Value::text(CERTIFICATE_CONTEXT), body]).encode()
}

/// Decodes canonical certificate bytes.
pub fn decode_certificate(bytes: &[u8]) -> Result<Certificate, FormatError> {
    let value = Value::decode(bytes).map_err(FormatError::Cbor)?;
    let body = unwrap_context(&value, CERTIFICATE_CONTEXT)?;
    let f = Fields::new(
        "certificate",
        body,
        &[
            "number",
            "issuer",
            "issued_on",
            "expires_on",
            "exporter",
            "importer",
            "destination",
            "origin",
            "parcels",
            "items",
        ],
    )?;
    let issuer = Fields::new(
        "issuer",
        f.get("issuer"),
        &["participant", "authority_id", "authority_name", "key_id"],
    )?;
    let origin = Fields::new("origin", f.get("origin"), &["mixed", "countries"])?;
    let countries = origin
        .get("countries")
        .as_array()
        .ok_or_else(|| shape("origin.countries is not an array"))?
        .iter()
        .map(|c| c.as_text().and_then(CountryCode::country))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| shape("origin.countries holds an invalid code"))?;
    let origin = match origin.get("mixed").as_bool() {
        Some(false) if countries.len() == 1 => Origin::Single(countries[0]),
        Some(true) if countries.windows(2).all(|w| w[0] < w[1]) => Origin::Mixed(countries),
        _ => return Err(shape("origin is not canonical")),
    };
    let items = f
        .get("items")
        .as_array()
        .ok_or_else(|| shape("items is not an array"))?
        .iter()
        .map(|v| {
            let i = Fields::new("item", v, &["hs_code", "centicarats", "usd_cents"])?;
            Ok(Item {
                hs_code: i.parsed("hs_code", HsCode::parse)?,
                carats: Hundredths::from_hundredths(i.uint("centicarats")?)
                    .ok_or_else(|| shape("item carats out of range"))?,
                value_usd: Hundredths::from_hundredths(i.uint("usd_cents")?)
                    .ok_or_else(|| shape("item value out of range"))?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    if items.is_empty() || !items.windows(2).all(|w| w[0].hs_code < w[1].hs_code) {
        return Err(shape(
            "items must be non-empty and sorted by distinct HS code",
        ));
    }
    let parcels = u32::try_from(f.uint("parcels")?).map_err(|_| shape("parcels out of range"))?;
    Ok(Certificate {
        number: f.parsed("number", CertificateNumber::parse)?,
        issuer: Issuer {
            participant: issuer.parsed("participant", CountryCode::participant)?,
            authority_id: issuer.text("authority_id")?.to_owned(),
            authority_name: issuer.text("authority_name")?.to_owned(),
            key_id: issuer.parsed("key_id", KeyId::parse)?,
        },
        content: CertificateContent {
            exporter: party_from(f.get("exporter"), "exporter")?,
            importer: party_from(f.get("importer"), "importer")?,
            destination: f.parsed("destination", CountryCode::participant)?,
            origin,
            parcels,
            items,
            issued_on: f.parsed("issued_on", Date::parse)?,
            expires_on: f.parsed("expires_on", Date::parse)?,
        },
    })
}

/// What a ledger entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `participant.registered`: a participant joins the registry.
    ParticipantRegistered(Participant),
    /// `authority.registered`: an issuing authority and its public key.
    AuthorityRegistered(Authority),
    /// `certificate.issued`: the canonical certificate bytes and the authority's signature.
    CertificateIssued {
        certificate: Vec<u8>,
        signature: [u8; 64],
    },
    /// A kind this version does not know (written by a newer version): kept as is, so that old
    /// readers still replay the chain and the tree; auditors report it.
    Other { kind: String, payload: Value },
}

impl Event {
    /// The entry kind string.
    pub fn kind(&self) -> &str {
        match self {
            Event::Other { kind, .. } => kind,
            Event::ParticipantRegistered(_) => "participant.registered",
            Event::AuthorityRegistered(_) => "authority.registered",
            Event::CertificateIssued { .. } => "certificate.issued",
        }
    }

    fn payload(&self) -> Value {
        match self {
            Event::ParticipantRegistered(p) => Value::map([
                ("code", Value::text(p.code.as_str())),
                ("name", Value::text(&p.name)),
                ("region", Value::text(&p.region)),
                ("kind", Value::text(p.kind.as_str())),
            ]),
            Event::AuthorityRegistered(a) => Value::map([
                ("authority_id", Value::text(&a.id)),
                ("participant", Value::text(a.participant.as_str())),
                ("name", Value::text(&a.name)),
                ("public_key", Value::Bytes(a.public_key.to_bytes().to_vec())),
                ("key_id", Value::text(a.key_id().to_string())),
                (
                    "default_validity_days",
                    Value::Uint(a.default_validity_days as u64),
                ),
                ("max_validity_days", Value::Uint(a.max_validity_days as u64)),
            ]),
            Event::CertificateIssued {
                certificate,
                signature,
            } => Value::map([
                ("certificate", Value::Bytes(certificate.clone())),
                ("signature", Value::Bytes(signature.to_vec())),
            ]),
            Event::Other { payload, .. } => payload.clone(),
        }
    }

    fn from_payload(kind: &str, v: &Value) -> Result<Event, FormatError> {
        match kind {
            "participant.registered" => {
                let f = Fields::new("payload", v, &["code", "name", "region", "kind"])?;
                Ok(Event::ParticipantRegistered(Participant {
                    code: f.parsed("code", CountryCode::participant)?,
                    name: f.text("name")?.to_owned(),
                    region: f.text("region")?.to_owned(),
                    kind: f.parsed("kind", ParticipantKind::parse)?,
                }))
            }
            "authority.registered" => {
                let f = Fields::new(
                    "payload",
                    v,
                    &[
                        "authority_id",
                        "participant",
                        "name",
                        "public_key",
                        "key_id",
                        "default_validity_days",
                        "max_validity_days",
                    ],
                )?;
                let public_key = PublicKey::from_bytes(f.bytes("public_key")?)
                    .map_err(|e| shape(format!("payload.public_key: {e}")))?;
                let key_id = f.parsed("key_id", KeyId::parse)?;
                if key_id != public_key.key_id() {
                    return Err(shape("payload.key_id does not match payload.public_key"));
                }
                let days = |k: &str| -> Result<u32, FormatError> {
                    u32::try_from(f.uint(k)?)
                        .map_err(|_| shape(format!("payload.{k} out of range")))
                };
                Ok(Event::AuthorityRegistered(Authority {
                    id: f.text("authority_id")?.to_owned(),
                    participant: f.parsed("participant", CountryCode::participant)?,
                    name: f.text("name")?.to_owned(),
                    public_key,
                    default_validity_days: days("default_validity_days")?,
                    max_validity_days: days("max_validity_days")?,
                }))
            }
            "certificate.issued" => {
                let f = Fields::new("payload", v, &["certificate", "signature"])?;
                let signature = f
                    .bytes("signature")?
                    .try_into()
                    .map_err(|_| shape("payload.signature is not 64 bytes"))?;
                Ok(Event::CertificateIssued {
                    certificate: f.bytes("certificate")?.to_vec(),
                    signature,
                })
            }
            other => Ok(Event::Other {
                kind: other.to_owned(),
                payload: v.clone(),
            }),
        }
    }
}

/// A ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the ledger, contiguous from 0.
    pub index: u64,
    /// Unix time in milliseconds when the entry was appended.
    pub time_ms: u64,
    /// Who acted: an authority id, or `secretariat` for registry entries.
    pub actor: String,
    /// Key id of the key the actor signed this entry's payload with (`null` when it signed none).
    pub key_id: Option<KeyId>,
    /// SHA-256 of the previous entry's canonical bytes; 32 zero bytes for entry 0.
    pub prev: Hash,
    pub event: Event,
}

impl Entry {
    /// The canonical bytes: the Merkle leaf data.
    pub fn encode(&self) -> Vec<u8> {
        let body = Value::map([
            ("index", Value::Uint(self.index)),
            ("time", Value::Uint(self.time_ms)),
            ("kind", Value::text(self.event.kind())),
            ("actor", Value::text(&self.actor)),
            (
                "key_id",
                match self.key_id {
                    Some(id) => Value::text(id.to_string()),
                    None => Value::Null,
                },
            ),
            ("payload", self.event.payload()),
            ("prev", Value::Bytes(self.prev.to_vec())),
        ]);
        Value::Array(vec![Value::text(ENTRY_CONTEXT), body]).encode()
    }

    /// Decodes canonical entry bytes.
    pub fn decode(bytes: &[u8]) -> Result<Entry, FormatError> {
        let value = Value::decode(bytes).map_err(FormatError::Cbor)?;
        let body = unwrap_context(&value, ENTRY_CONTEXT)?;
        let f = Fields::new(
            "entry",
            body,
            &[
                "index", "time", "kind", "actor", "key_id", "payload", "prev",
            ],
        )?;
        Ok(Entry {
            index: f.uint("index")?,
            time_ms: f.uint("time")?,
            actor: f.text("actor")?.to_owned(),
            key_id: match f.get("key_id") {
                Value::Null => None,
                _ => Some(f.parsed("key_id", KeyId::parse)?),
            },
            prev: f
                .bytes("prev")?
                .try_into()
                .map_err(|_| shape("entry.prev is not 32 bytes"))?,
            event: Event::from_payload(f.text("kind")?, f.get("payload"))?,
        })
    }
}

/// The hash that chains entries: SHA-256 of the canonical bytes.
pub fn entry_hash(entry_bytes: &[u8]) -> Hash {
    sha256(entry_bytes)
}
