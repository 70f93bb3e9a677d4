//! The payload of a `document.recorded` entry (api/documents.md): the document's SHA-256,
//! size, media type, title, kind, date, the participants it concerns and who may read it. The
//! state snapshot embeds the same map.

use super::cbor::{shape, Fields, FormatError, Value};
use crate::domain::{Confidentiality, CountryCode, Date, Document, DocumentKind};

/// The payload map of a recorded document.
pub fn document_value(d: &Document) -> Value<'_> {
    Value::map([
        ("hash", Value::bytes(&d.hash[..])),
        ("size", Value::Uint(d.size)),
        ("media_type", Value::text(&d.media_type)),
        ("title", Value::text(&d.title)),
        ("kind", Value::text(d.kind.as_str())),
        ("dated", Value::text(d.dated.to_string())),
        (
            "participants",
            Value::Array(
                d.participants
                    .iter()
                    .map(|c| Value::text(c.as_str()))
                    .collect(),
            ),
        ),
        ("confidentiality", Value::text(d.confidentiality.as_str())),
    ])
}

/// Decodes the payload map of a recorded document.
pub fn document_from(v: &Value) -> Result<Document, FormatError> {
    let f = Fields::exact(
        "payload",
        v,
        &[
            "hash",
            "size",
            "media_type",
            "title",
            "kind",
            "dated",
            "participants",
            "confidentiality",
        ],
    )?;
    Ok(Document {
        hash: f.array("hash")?,
        size: f.uint("size")?,
        media_type: f.text("media_type")?.to_owned(),
        title: f.text("title")?.to_owned(),
        kind: f.parsed("kind", DocumentKind::parse)?,
        dated: f.parsed("dated", Date::parse)?,
        participants: f
            .list("participants")?
            .iter()
            .map(|c| {
                c.as_text()
                    .and_then(CountryCode::participant)
                    .ok_or_else(|| shape("payload.participants holds an invalid code"))
            })
            .collect::<Result<_, _>>()?,
        confidentiality: f.parsed("confidentiality", Confidentiality::parse)?,
    })
}
