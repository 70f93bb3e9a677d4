//! Who is asking: the bearer token of a request, checked against the token store, and the role
//! each route requires (401 without a valid token, 403 with a token of another role or
//! participant).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;

use super::error::ApiError;
use super::HttpState;
use crate::app::ActiveAuthority;
use crate::tokens::{Principal, Refused, Role};

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The holder of the request's bearer token.
pub fn principal(state: &HttpState, req: &HttpRequest) -> Result<Principal, ApiError> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(unauthorized(
            "a bearer token is required (Authorization: Bearer <token>)",
        ));
    };
    if values.next().is_some() {
        return Err(ApiError::bad_request(
            "send one Authorization header (several are ambiguous)",
        ));
    }
    let (scheme, credentials) = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
    // A browser sends the token as the password of HTTP Basic (the portal's oversight pages
    // ask for it so); any user name.
    let basic;
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.trim()
    } else if scheme.eq_ignore_ascii_case("basic") {
        basic = crate::codec::text::from_base64(credentials.trim())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(_, password)| password.to_owned()))
            .ok_or_else(|| {
                unauthorized(
                    "Basic credentials must be base64 of `name:token` (the token as the password)",
                )
            })?;
        basic.as_str()
    } else {
        return Err(unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ));
    };
    state
        .app
        .authenticate(token)
        .map_err(|refused| match refused {
            Refused::Unknown => unauthorized("the token is not valid (revoked, or never issued)"),
            Refused::Expired => {
                unauthorized("the token has expired: ask the Secretariat for a new one")
            }
        })
}

/// The holder of the request's token, who must have one of `roles` (403 otherwise).
pub fn require(
    state: &HttpState,
    req: &HttpRequest,
    roles: &[Role],
) -> Result<Principal, ApiError> {
    let p = principal(state, req)?;
    if !roles.contains(&p.role) {
        let wanted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs a token of role {}; this one is {}",
                wanted.join(" or "),
                p.role.as_str()
            ),
        ));
    }
    Ok(p)
}

/// The issuing authority acting with the request's token, with its signing key here: 409 when
/// its last key was revoked and not replaced or when it keeps its own key, 503 when a key the
/// service generated is missing from the keys folder.
pub fn acting_authority(
    state: &HttpState,
    req: &HttpRequest,
) -> Result<Arc<ActiveAuthority>, ApiError> {
    let p = require(state, req, &[Role::Authority])?;
    if let Some(active) = state.app.active_authority(&p.owner) {
        return Ok(active);
    }
    let ledger = state.app.state();
    let current = ledger
        .authority(&p.owner)
        .and_then(|a| a.current_key().map(|k| k.key_id));
    match current {
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_signing_key",
            format!(
                "the signing key of authority {} was revoked and not replaced: the Secretariat must give it a new key",
                p.owner
            ),
        )),
        Some(key_id) if state.app.generated_key(&key_id) => Err(ApiError::unavailable(format!(
            "the signing key {key_id} of authority {} is not on this server: the operator must restore keys/authority-{key_id}.key",
            p.owner
        ))),
        Some(key_id) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_signing_key",
            format!(
                "authority {} keeps its own signing key ({key_id}): sign with `kpcert sign` (certificates) or `kpcert sign confirm|void|replace` and send the signed route (POST /v1/certificates/signed, or .../import-confirmation/signed, .../void/signed, .../replace/signed)",
                p.owner
            ),
        )),
    }
}

/// Whether `p` may read the full record of a certificate issued by `issuer_authority` for
/// `destination`: the Secretariat, monitors, the issuing authority and the destination's
/// authorities.
pub fn is_party(
    state: &HttpState,
    p: &Principal,
    issuer_authority: &str,
    destination: crate::domain::CountryCode,
) -> bool {
    match p.role {
        Role::Secretariat | Role::Monitor => true,
        Role::Authority => {
            p.owner == issuer_authority
                || state
                    .app
                    .state()
                    .authority(&p.owner)
                    .is_some_and(|a| a.authority.participant == destination)
        }
    }
}

/// The holder of the request's token, who must be a party to the certificate (403 otherwise).
pub fn require_party(
    state: &HttpState,
    p: &Principal,
    issuer_authority: &str,
    destination: crate::domain::CountryCode,
) -> Result<(), ApiError> {
    if is_party(state, p, issuer_authority, destination) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "a certificate's full record answers only its issuing authority, the destination's authorities, the Secretariat and monitors",
    ))
}
