//! The Secretariat's administration while the service runs (`/v1/admin/`): register an
//! authority (with a key the service generates, or the public key of an authority that keeps
//! its own), list authorities, mint, list and revoke tokens of any role. Registrations are
//! ledger entries; token changes take effect at once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::auth::require;
use super::error::ApiError;
use super::json::{parse_json_strict, read_body, require_json};
use super::Shared;
use crate::app::AppError;
use crate::codec::text::from_hex;
use crate::crypto::PublicKey;
use crate::domain::date::parse_unix_ms;
use crate::domain::Problem;
use crate::tokens::{Role, DEFAULT_TOKEN_DAYS};
use crate::views::{AuthorityView, TokenView};

/// Decodes a strict JSON body into `T` (unknown fields refused), or 422 naming the problem.
async fn body<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    payload: web::Payload,
    what: &str,
) -> Result<T, ApiError> {
    require_json(req, "send the request as Content-Type: application/json")?;
    let value = parse_json_strict(&read_body(req, payload).await?)?;
    serde_json::from_value(value).map_err(|e| {
        ApiError::invalid(
            "invalid_request",
            what,
            vec![Problem::new("", e.to_string())],
        )
    })
}

/// The optional `public_key` of a request: 64 hex digits of an ed25519 key that is not weak
/// (small order or not canonical), else 422.
fn public_key(text: Option<&str>, what: &str) -> Result<Option<PublicKey>, ApiError> {
    text.map(|text| {
        from_hex(text)
            .ok_or_else(|| "is not hex".to_owned())
            .and_then(|b| PublicKey::from_bytes(&b).map_err(|e| e.to_string()))
            .map_err(|e| {
                ApiError::invalid("invalid_request", what, vec![Problem::new("public_key", e)])
            })
    })
    .transpose()
}

fn refused(e: AppError) -> ApiError {
    match e {
        AppError::Config(message) => ApiError::invalid(
            "invalid_request",
            "request",
            vec![Problem::new("", message)],
        ),
        AppError::Ledger(e) => e.into(),
        AppError::Tokens(crate::tokens::TokenError::BadOwner) => ApiError::invalid(
            "invalid_request",
            "token request",
            vec![Problem::new(
                "owner",
                crate::tokens::TokenError::BadOwner.to_string(),
            )],
        ),
        AppError::Tokens(e @ crate::tokens::TokenError::Write { .. }) => {
            tracing::error!(error = %e, "cannot record a token");
            ApiError::unavailable("the token store cannot be written right now")
        }
        other => ApiError::internal(other),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAuthorityRequest {
    participant: String,
    name: String,
    max_validity_days: Option<u32>,
    /// The authority's own ed25519 public key, 64 hex digits: it keeps the private key.
    public_key: Option<String>,
}

fn authority_view(state: &Shared, record: &crate::domain::AuthorityRecord) -> AuthorityView {
    AuthorityView::of(record, state.app.can_issue(&record.authority.id))
}

pub async fn list_authorities(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let app_state = state.app.state();
    let list: Vec<AuthorityView> = app_state
        .authorities()
        .map(|r| authority_view(&state, r))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Serialize)]
struct NewAuthorityAnswer {
    authority: AuthorityView,
    /// A bearer token for the new authority, shown once.
    token: String,
}

pub async fn add_authority(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let r: NewAuthorityRequest = body(&req, payload, "authority request").await?;
    let own_key = public_key(r.public_key.as_deref(), "authority request")?;
    let app = state.app.clone();
    let new = web::block(move || {
        app.register_authority(
            &r.participant,
            &r.name,
            r.max_validity_days.unwrap_or(90),
            own_key,
        )
    })
    .await?
    .map_err(refused)?;
    let app_state = state.app.state();
    let record = app_state
        .authority(&new.authority.id)
        .ok_or_else(|| ApiError::internal("the new authority is not in the state"))?;
    Ok(HttpResponse::Created().json(NewAuthorityAnswer {
        authority: authority_view(&state, record),
        token: new.token,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenRequest {
    role: String,
    /// For an authority token, the authority id; otherwise a name for the holder.
    owner: String,
    days: Option<u64>,
}

#[derive(Serialize)]
struct NewTokenAnswer {
    /// The token, shown once.
    token: String,
    #[serde(flatten)]
    record: TokenView,
}

pub async fn list_tokens(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let list: Vec<TokenView> = state
        .app
        .tokens()
        .list()
        .iter()
        .map(TokenView::of)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

pub async fn mint_token(
    state: Shared,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let r: NewTokenRequest = body(&req, payload, "token request").await?;
    let role = Role::parse(&r.role).ok_or_else(|| {
        ApiError::invalid(
            "invalid_request",
            "token request",
            vec![Problem::new(
                "role",
                "must be secretariat, authority or monitor",
            )],
        )
    })?;
    let token = state
        .app
        .mint_token(role, &r.owner, r.days.unwrap_or(DEFAULT_TOKEN_DAYS))
        .map_err(refused)?;
    let record = state
        .app
        .tokens()
        .list()
        .into_iter()
        .find(|t| token.starts_with(&t.prefix) && t.owner == r.owner)
        .ok_or_else(|| ApiError::internal("the new token is not in the store"))?;
    Ok(HttpResponse::Created().json(NewTokenAnswer {
        token,
        record: TokenView::of(&record),
    }))
}

pub async fn revoke_token(
    state: Shared,
    req: HttpRequest,
    prefix: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    // Revoking the last Secretariat token here would lock every administrator out until an
    // offline `kpcert token mint`: refused (two such requests at once may still both pass).
    if state.app.tokens().revoking_leaves_none(
        &prefix,
        Role::Secretariat,
        state.app.clock().now_ms(),
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this would revoke the last Secretariat token: mint another first (POST /v1/admin/tokens), or revoke it offline with `kpcert token revoke` on the stopped service",
        ));
    }
    let revoked = state
        .app
        .tokens()
        .revoke(&prefix)
        .map_err(ApiError::internal)?;
    if revoked == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            crate::tokens::Tokens::nothing_revoked(&prefix),
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"revoked": revoked})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKeyRequest {
    /// The authority's own new public key; absent: the service generates one and keeps it.
    public_key: Option<String>,
}

/// The authority after a key change (201 for a new key, 200 for a revocation).
fn authority_answer(
    state: &Shared,
    id: &str,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let app_state = state.app.state();
    let record = app_state
        .authority(id)
        .ok_or_else(|| ApiError::internal("the authority is not in the state"))?;
    Ok(HttpResponse::build(status).json(authority_view(state, record)))
}

pub async fn add_key(
    state: Shared,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let r: NewKeyRequest = body(&req, payload, "key request").await?;
    let own_key = public_key(r.public_key.as_deref(), "key request")?;
    let id = id.into_inner();
    if state.app.state().authority(&id).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no authority {id}"),
        ));
    }
    let app = state.app.clone();
    let authority = id.clone();
    web::block(move || app.rotate_key(&authority, own_key))
        .await?
        .map_err(refused)?;
    authority_answer(&state, &id, StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeKeyRequest {
    /// RFC 3339 UTC time from which the key is known or presumed compromised.
    compromised_from: String,
    reason: String,
}

pub async fn revoke_key(
    state: Shared,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let r: RevokeKeyRequest = body(&req, payload, "revocation request").await?;
    let (id, key_id) = path.into_inner();
    let from = parse_unix_ms(&r.compromised_from).ok_or_else(|| {
        ApiError::invalid(
            "invalid_request",
            "revocation request",
            vec![Problem::new(
                "compromised_from",
                "must be an RFC 3339 UTC time such as 2026-12-01T08:00:00Z",
            )],
        )
    })?;
    if state.app.state().authority(&id).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no authority {id}"),
        ));
    }
    let app = state.app.clone();
    let authority = id.clone();
    web::block(move || app.revoke_key(&authority, &key_id, from, &r.reason))
        .await?
        .map_err(refused)?;
    authority_answer(&state, &id, StatusCode::OK)
}
