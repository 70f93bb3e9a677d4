//! The canonical certificate encoding `["kpcert/certificate/v4", {fields}]` (api/certificate.md):
//! the full record, whose SHA-256 (the certificate hash) the issuing authority signs inside its
//! issuance ([`super::record`]) and the public ledger carries as a commitment. The decoder accepts
//! exactly what the encoder produces.

use super::cbor::{shape, unwrap_context, with_context, Fields, FormatError, Value};
use crate::crypto::KeyId;
use crate::domain::{
    Certificate, CertificateContent, CertificateNumber, Citation, CountryCode, Date, HsCode,
    Hundredths, Issuer, Item, Origin, Party,
};

/// Context string of the certificate encoding.
pub const CERTIFICATE_CONTEXT: &str = "kpcert/certificate/v4";

fn party_value(p: &Party) -> Value<'_> {
    Value::map([
        ("name", Value::text(&p.name)),
        ("address", Value::text(&p.address)),
    ])
}

fn party_from(v: &Value, what: &'static str) -> Result<Party, FormatError> {
    let f = Fields::exact(what, v, &["name", "address"])?;
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
        (
            "replaces",
            match &c.replaces {
                Some(n) => Value::text(n.as_str()),
                None => Value::Null,
            },
        ),
        (
            "derived_from",
            Value::Array(
                c.derived_from
                    .iter()
                    .map(|d| {
                        Value::map([
                            ("number", Value::text(d.number.as_str())),
                            ("centicarats", Value::Uint(d.carats.hundredths())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "origin_zone",
            match &c.origin_zone {
                Some(z) => Value::text(z),
                None => Value::Null,
            },
        ),
        (
            "approval",
            match &c.approval {
                Some(h) => Value::bytes(&h[..]),
                None => Value::Null,
            },
        ),
        ("salt", Value::bytes(&cert.salt[..])),
    ]);
    with_context(CERTIFICATE_CONTEXT, body)
}

/// Decodes canonical certificate bytes.
pub fn decode_certificate(bytes: &[u8]) -> Result<Certificate, FormatError> {
    let value = Value::decode(bytes)?;
    let body = unwrap_context(&value, CERTIFICATE_CONTEXT)?;
    let f = Fields::exact(
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
            "replaces",
            "derived_from",
            "origin_zone",
            "approval",
            "salt",
        ],
    )?;
    let issuer = Fields::exact(
        "issuer",
        f.get("issuer"),
        &["participant", "authority_id", "authority_name", "key_id"],
    )?;
    let origin = Fields::exact("origin", f.get("origin"), &["mixed", "countries"])?;
    let countries = origin
        .list("countries")?
        .iter()
        .map(|c| c.as_text().and_then(CountryCode::country))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| shape("origin.countries holds an invalid code"))?;
    let origin = Origin::from_parts(origin.bool("mixed")?, countries)
        .ok_or_else(|| shape("origin is not canonical"))?;
    let items = f
        .list("items")?
        .iter()
        .map(|v| {
            let i = Fields::exact("item", v, &["hs_code", "centicarats", "usd_cents"])?;
            Ok(Item {
                hs_code: i.parsed("hs_code", HsCode::parse)?,
                carats: Hundredths::from_hundredths(i.uint("centicarats")?)
                    .ok_or_else(|| shape("item carats out of range"))?,
                value_usd: Hundredths::from_hundredths(i.uint("usd_cents")?)
                    .ok_or_else(|| shape("item value out of range"))?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    let derived_from = f
        .list("derived_from")?
        .iter()
        .map(|v| {
            let d = Fields::exact("derived_from item", v, &["number", "centicarats"])?;
            Ok(Citation {
                number: d.parsed("number", CertificateNumber::parse)?,
                carats: Hundredths::from_hundredths(d.uint("centicarats")?)
                    .filter(|c| !c.is_zero())
                    .ok_or_else(|| shape("derived_from carats out of range"))?,
            })
        })
        .collect::<Result<Vec<_>, FormatError>>()?;
    if !derived_from.windows(2).all(|w| w[0].number < w[1].number)
        || derived_from.len() > crate::domain::lifecycle::MAX_CITATIONS
    {
        return Err(shape(
            "derived_from must be sorted by distinct number, at most 64",
        ));
    }
    let replaces = match f.get("replaces") {
        Value::Null => None,
        _ => Some(f.parsed("replaces", CertificateNumber::parse)?),
    };
    if !Item::canonical_list(&items) {
        return Err(shape(
            "items must be non-empty and sorted by distinct HS code",
        ));
    }
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
            parcels: f.u32("parcels")?,
            items,
            issued_on: f.parsed("issued_on", Date::parse)?,
            expires_on: f.parsed("expires_on", Date::parse)?,
            replaces,
            derived_from,
            origin_zone: match f.get("origin_zone") {
                Value::Null => None,
                _ => Some(f.text("origin_zone")?.to_owned()),
            },
            approval: match f.get("approval") {
                Value::Null => None,
                _ => Some(f.array("approval")?),
            },
        },
        salt: f.array("salt")?,
    })
}
