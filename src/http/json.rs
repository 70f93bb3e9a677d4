//! JSON at the HTTP boundary: reading capped bodies, strict parsing (a repeated key anywhere is
//! refused: signed documents must not be ambiguous), and decoding an issuance request into the
//! domain's loosely typed input with every wire problem reported by its field path.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::domain::{
    ArrivalInput, ArrivalLineInput, CitationInput, DraftInput, Input, ItemInput, OriginInput,
    PartyInput, Problem,
};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a request body may take to arrive.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the whole body within [`BODY_TIMEOUT`] (else 408), refusing one over
/// [`MAX_BODY_BYTES`] (413) without reading it all.
pub async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    read_body_up_to(req, payload, MAX_BODY_BYTES).await
}

/// [`read_body`] with another size limit (an uploaded document), under the same deadline.
pub async fn read_body_up_to(
    req: &HttpRequest,
    payload: web::Payload,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let deadline = req
        .app_data::<web::Data<super::HttpState>>()
        .map_or(BODY_TIMEOUT, |s| s.timeouts.body);
    match tokio::time::timeout(deadline, read_body_untimed(req, payload, max)).await {
        Ok(body) => body,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} ms",
                deadline.as_millis()
            ),
        )),
    }
}

async fn read_body_untimed(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body must be at most {max} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(1024).min(max));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses a request that is not `Content-Type: application/json` (415), or whose body is
/// compressed (`Content-Encoding` other than identity: kpcert does not decompress).
pub fn require_json(req: &HttpRequest, hint: &str) -> Result<(), ApiError> {
    if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) {
        if !encoding
            .to_str()
            .is_ok_and(|e| e.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body uncompressed (no Content-Encoding)",
            ));
        }
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut parts = content_type.split(';');
    let is_json = parts
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    // JSON is UTF-8 (RFC 8259 section 8.1): a body labelled otherwise is refused rather than
    // read as UTF-8 anyway.
    let other_charset = parts
        .filter_map(|p| p.split_once('='))
        .any(|(name, value)| {
            name.trim().eq_ignore_ascii_case("charset")
                && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        });
    if is_json && other_charset {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "JSON bodies are UTF-8: send charset=utf-8 or no charset",
        ))
    } else if is_json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            hint.to_owned(),
        ))
    }
}

/// The optional `Idempotency-Key` header: 1 to 128 visible ASCII characters.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
        )),
    }
}

/// A JSON value in which no object repeats a key: `{"destination": "AE", "destination": "KE"}`
/// is ambiguous input for a document that gets signed, so it is refused rather than resolved.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StrictValue, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StrictValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StrictValue, A::Error> {
                let mut list = Vec::new();
                while let Some(StrictValue(v)) = seq.next_element()? {
                    list.push(v);
                }
                Ok(StrictValue(Value::Array(list)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<StrictValue, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let StrictValue(v) = map.next_value()?;
                    if object.insert(key.clone(), v).is_some() {
                        return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                    }
                }
                Ok(StrictValue(Value::Object(object)))
            }
        }
        d.deserialize_any(V)
    }
}

pub fn parse_json_strict(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<StrictValue>(body)
        .map(|v| v.0)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

/// Walks a JSON object, taking known fields and reporting unknown ones and wrong types.
struct JsonFields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    problems: &'a mut Vec<Problem>,
}

impl<'a> JsonFields<'a> {
    fn open(
        path: &str,
        value: &'a Value,
        known: &[&str],
        problems: &'a mut Vec<Problem>,
    ) -> Option<JsonFields<'a>> {
        let Some(map) = value.as_object() else {
            problems.push(Problem::new(path, "must be a JSON object"));
            return None;
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                problems.push(Problem::new(join(path, key), "unknown field"));
            }
        }
        Some(JsonFields {
            path: path.to_owned(),
            map,
            problems,
        })
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn string(&mut self, key: &str) -> Input<String> {
        let field = self.field(key);
        string_input(&field, self.map.get(key), self.problems)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn string_input(field: &str, value: Option<&Value>, problems: &mut Vec<Problem>) -> Input<String> {
    match value {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::String(s)) => Input::Given(s.clone()),
        Some(Value::Number(_)) => {
            problems.push(Problem::new(
                field,
                "must be a JSON string (amounts are exact decimals written as strings, e.g. \"1520.35\")",
            ));
            Input::Invalid
        }
        Some(_) => {
            problems.push(Problem::new(field, "must be a JSON string"));
            Input::Invalid
        }
    }
}

fn party_input(
    path: &str,
    value: Option<&Value>,
    problems: &mut Vec<Problem>,
) -> Input<PartyInput> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Input::Missing;
    };
    let Some(mut f) = JsonFields::open(path, value, &["name", "address"], problems) else {
        return Input::Invalid;
    };
    Input::Given(PartyInput {
        name: f.string("name"),
        address: f.string("address"),
    })
}

fn array<'v>(
    field: &str,
    value: Option<&'v Value>,
    problems: &mut Vec<Problem>,
) -> Input<&'v Vec<Value>> {
    match value {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::Array(a)) => Input::Given(a),
        Some(_) => {
            problems.push(Problem::new(field, "must be a JSON array"));
            Input::Invalid
        }
    }
}

/// Decodes an issuance request body for tools and test vectors: the domain input and the
/// optional `issuer` claim, or every wire problem found.
pub fn parse_issue_request(value: &Value) -> Result<(DraftInput, Option<String>), Vec<Problem>> {
    match draft_from_json(value) {
        Ok((input, issuer, problems)) if problems.is_empty() => Ok((input, issuer)),
        Ok((_, _, problems)) => Err(problems),
        Err(e) => Err(vec![Problem::new("", e.message)]),
    }
}

/// Decodes the issuance request: the domain input, the optional `issuer` claim, and the wire
/// problems found on the way (unknown fields, wrong JSON types).
pub fn draft_from_json(
    value: &Value,
) -> Result<(DraftInput, Option<String>, Vec<Problem>), ApiError> {
    const FIELDS: &[&str] = &[
        "issuer",
        "exporter",
        "importer",
        "destination",
        "origin",
        "parcels",
        "items",
        "expires_on",
        "derived_from",
        "origin_zone",
    ];
    let Some(map) = value.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut problems = Vec::new();
    let (issuer, destination, expires_on, origin_zone) = {
        let mut f = JsonFields::open("", value, FIELDS, &mut problems).expect("an object");
        (
            f.string("issuer"),
            f.string("destination"),
            f.string("expires_on"),
            f.string("origin_zone"),
        )
    };
    let issuer = match issuer {
        Input::Given(s) => Some(s),
        _ => None,
    };
    let parcels = match map.get("parcels") {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Input::Given(i),
            None => {
                problems.push(Problem::new("parcels", "must be a whole number"));
                Input::Invalid
            }
        },
        Some(_) => {
            problems.push(Problem::new("parcels", "must be a JSON number"));
            Input::Invalid
        }
    };
    let exporter = party_input("exporter", map.get("exporter"), &mut problems);
    let importer = party_input("importer", map.get("importer"), &mut problems);
    let origin = match map.get("origin").filter(|v| !v.is_null()) {
        None => Input::Missing,
        Some(v) => match JsonFields::open("origin", v, &["mixed", "countries"], &mut problems) {
            None => Input::Invalid,
            Some(o) => {
                let mixed = match o.map.get("mixed") {
                    None | Some(Value::Null) => Input::Missing,
                    Some(Value::Bool(b)) => Input::Given(*b),
                    Some(_) => {
                        o.problems
                            .push(Problem::new("origin.mixed", "must be true or false"));
                        Input::Invalid
                    }
                };
                let countries = match array("origin.countries", o.map.get("countries"), o.problems)
                {
                    Input::Given(list) => Input::Given(
                        list.iter()
                            .enumerate()
                            .map(|(i, c)| {
                                let field = format!("origin.countries[{i}]");
                                match string_input(&field, Some(c), o.problems) {
                                    Input::Missing => {
                                        o.problems
                                            .push(Problem::new(field, "must be a JSON string"));
                                        Input::Invalid
                                    }
                                    other => other,
                                }
                            })
                            .collect(),
                    ),
                    Input::Missing => Input::Missing,
                    Input::Invalid => Input::Invalid,
                };
                Input::Given(OriginInput { mixed, countries })
            }
        },
    };
    let items = match array("items", map.get("items"), &mut problems) {
        Input::Given(list) => Input::Given(
            list.iter()
                .enumerate()
                .map(|(i, item)| {
                    let path = format!("items[{i}]");
                    match JsonFields::open(
                        &path,
                        item,
                        &["hs_code", "carats", "value_usd"],
                        &mut problems,
                    ) {
                        None => Input::Invalid,
                        Some(mut f) => Input::Given(ItemInput {
                            hs_code: f.string("hs_code"),
                            carats: f.string("carats"),
                            value_usd: f.string("value_usd"),
                        }),
                    }
                })
                .collect(),
        ),
        Input::Missing => Input::Missing,
        Input::Invalid => Input::Invalid,
    };
    let derived_from = match array("derived_from", map.get("derived_from"), &mut problems) {
        Input::Given(list) => Input::Given(
            list.iter()
                .enumerate()
                .map(|(i, c)| {
                    let path = format!("derived_from[{i}]");
                    match JsonFields::open(&path, c, &["number", "carats"], &mut problems) {
                        None => Input::Invalid,
                        Some(mut f) => Input::Given(CitationInput {
                            number: f.string("number"),
                            carats: f.string("carats"),
                        }),
                    }
                })
                .collect(),
        ),
        Input::Missing => Input::Missing,
        Input::Invalid => Input::Invalid,
    };
    let input = DraftInput {
        exporter,
        importer,
        destination,
        origin,
        parcels,
        items,
        expires_on,
        derived_from,
        origin_zone,
        request_hash: None,
    };
    Ok((input, issuer, problems))
}

fn int_input(field: &str, value: Option<&Value>, problems: &mut Vec<Problem>) -> Input<i64> {
    match value {
        None | Some(Value::Null) => Input::Missing,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Input::Given(i),
            None => {
                problems.push(Problem::new(field, "must be a whole number"));
                Input::Invalid
            }
        },
        Some(_) => {
            problems.push(Problem::new(field, "must be a JSON number"));
            Input::Invalid
        }
    }
}

/// Decodes an import confirmation request: `received_on`, `parcels`, `items` (`hs_code`,
/// `carats`) and optional `remarks`, with the wire problems found (unknown fields, wrong JSON
/// types).
pub fn arrival_from_json(value: &Value) -> Result<(ArrivalInput, Vec<Problem>), ApiError> {
    let Some(map) = value.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let mut problems = Vec::new();
    let (received_on, remarks) = {
        let mut f = JsonFields::open(
            "",
            value,
            &["received_on", "parcels", "items", "remarks"],
            &mut problems,
        )
        .expect("an object");
        (f.string("received_on"), f.string("remarks"))
    };
    let parcels = int_input("parcels", map.get("parcels"), &mut problems);
    let items = match array("items", map.get("items"), &mut problems) {
        Input::Given(list) => Input::Given(
            list.iter()
                .enumerate()
                .map(|(i, item)| {
                    let path = format!("items[{i}]");
                    match JsonFields::open(&path, item, &["hs_code", "carats"], &mut problems) {
                        None => Input::Invalid,
                        Some(mut f) => Input::Given(ArrivalLineInput {
                            hs_code: f.string("hs_code"),
                            carats: f.string("carats"),
                        }),
                    }
                })
                .collect(),
        ),
        Input::Missing => Input::Missing,
        Input::Invalid => Input::Invalid,
    };
    Ok((
        ArrivalInput {
            received_on,
            parcels,
            items,
            remarks,
        },
        problems,
    ))
}

/// Decodes a void request `{"reason": ...}`: the reason, or every wire problem.
pub fn reason_from_json(value: &Value, extra: &[&str]) -> (Input<String>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut known = vec!["reason"];
    known.extend_from_slice(extra);
    let reason = match JsonFields::open("", value, &known, &mut problems) {
        Some(mut f) => f.string("reason"),
        None => Input::Invalid,
    };
    (reason, problems)
}

/// Decodes a JSON object of exactly `fields`, each standard base64 (RFC 4648, with padding) of
/// at least one byte, the one named `signature` (if any) 64 bytes. Every wire problem is named,
/// each field under `prefix`.
fn base64_fields(
    prefix: &str,
    value: &Value,
    fields: &[&str],
) -> Result<Vec<Vec<u8>>, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(mut f) = JsonFields::open(prefix, value, fields, &mut problems) else {
        return Err(problems);
    };
    let texts: Vec<(&str, Input<String>)> = fields.iter().map(|k| (*k, f.string(k))).collect();
    let named = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    let mut decoded = Vec::new();
    for (key, text) in texts {
        match text {
            Input::Given(text) => match crate::codec::text::from_base64(&text) {
                Some(b) if key == "signature" && b.len() != 64 => {
                    problems.push(Problem::new(named(key), "must be 64 bytes (ed25519)"))
                }
                Some(b) if !b.is_empty() => decoded.push(b),
                _ => problems.push(Problem::new(
                    named(key),
                    "must be standard base64 (RFC 4648, with padding)",
                )),
            },
            Input::Missing => problems.push(Problem::new(named(key), "is required")),
            Input::Invalid => {}
        }
    }
    if problems.is_empty() {
        Ok(decoded)
    } else {
        Err(problems)
    }
}

fn signature_of(bytes: Vec<u8>) -> [u8; 64] {
    bytes.try_into().expect("checked to be 64 bytes")
}

/// Decodes a certificate an authority signed with its own key: `canonical`, `issuance`,
/// `signature` and `seal`, each standard base64 (the signature 64 bytes); every wire problem is
/// named, under `prefix`.
pub fn signed_from_json(
    prefix: &str,
    value: &Value,
) -> Result<crate::app::SubmittedCertificate, Vec<Problem>> {
    let [canonical, issuance, signature, seal]: [Vec<u8>; 4] = base64_fields(
        prefix,
        value,
        &["canonical", "issuance", "signature", "seal"],
    )?
    .try_into()
    .expect("four fields");
    Ok(crate::app::SubmittedCertificate {
        canonical,
        issuance,
        signature: signature_of(signature),
        seal,
    })
}

/// Decodes an import confirmation an authority signed with its own key: `arrival`,
/// `confirmation` and `signature`, each standard base64.
pub fn signed_confirmation_from_json(
    value: &Value,
) -> Result<crate::app::SubmittedConfirmation, Vec<Problem>> {
    let [arrival, confirmation, signature]: [Vec<u8>; 3] =
        base64_fields("", value, &["arrival", "confirmation", "signature"])?
            .try_into()
            .expect("three fields");
    Ok(crate::app::SubmittedConfirmation {
        arrival,
        confirmation,
        signature: signature_of(signature),
    })
}

/// Decodes a void an authority signed with its own key: `void` and `signature`, each standard
/// base64; with `certificate` (a signed certificate as for `POST /v1/certificates/signed`) for
/// a replacement.
pub fn signed_void_from_json(
    value: &Value,
    replacement: bool,
) -> Result<
    (
        crate::app::SubmittedVoid,
        Option<crate::app::SubmittedCertificate>,
    ),
    Vec<Problem>,
> {
    let mut problems = Vec::new();
    let certificate = if replacement {
        match value.get("certificate") {
            Some(v) => match signed_from_json("certificate", v) {
                Ok(c) => Some(c),
                Err(found) => {
                    problems.extend(found);
                    None
                }
            },
            None => {
                problems.push(Problem::new(
                    "certificate",
                    "is required: the new certificate, signed as for POST /v1/certificates/signed",
                ));
                None
            }
        }
    } else {
        None
    };
    let rest = match value.as_object() {
        Some(map) if replacement => {
            let mut map = map.clone();
            map.remove("certificate");
            Value::Object(map)
        }
        _ => value.clone(),
    };
    let void = match base64_fields("", &rest, &["void", "signature"]) {
        Ok(found) => {
            let [void, signature]: [Vec<u8>; 2] = found.try_into().expect("two fields");
            Some(crate::app::SubmittedVoid {
                void,
                signature: signature_of(signature),
            })
        }
        Err(found) => {
            problems.extend(found);
            None
        }
    };
    match (void, certificate) {
        (Some(void), certificate) if problems.is_empty() => Ok((void, certificate)),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_json_keys_are_refused_at_any_depth() {
        assert!(parse_json_strict(br#"{"a":1,"b":[{"c":2}]}"#).is_ok());
        assert!(parse_json_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_json_strict(br#"{"x":{"c":1,"c":1}}"#).is_err());
        assert!(parse_json_strict(br#"[{"c":1,"c":1}]"#).is_err());
    }
}
