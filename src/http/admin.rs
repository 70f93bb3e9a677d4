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
use crate::codec::text::{from_hex, hex};
use crate::crypto::PublicKey;
use crate::domain::date::format_unix_ms;
use crate::domain::Problem;
use crate::tokens::{Role, DEFAULT_TOKEN_DAYS};

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

fn refused(e: AppError) -> ApiError {
    match e {
        AppError::Config(message) => ApiError::invalid(
            "invalid_request",
            "request",
            vec![Problem::new("", message)],
        ),
        AppError::Ledger(e) => e.into(),
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

#[derive(Serialize)]
struct AuthorityView {
    authority_id: String,
    participant: String,
    name: String,
    max_validity_days: u32,
    keys: Vec<KeyView>,
    /// Whether this server holds the signing key (else the authority signs on its systems).
    key_held_here: bool,
}

#[derive(Serialize)]
struct KeyView {
    key_id: String,
    public_key: String,
    valid_from: String,
    valid_until: Option<String>,
}

fn authority_view(state: &Shared, record: &crate::domain::AuthorityRecord) -> AuthorityView {
    let a = &record.authority;
    AuthorityView {
        authority_id: a.id.clone(),
        participant: a.participant.to_string(),
        name: a.name.clone(),
        max_validity_days: a.max_validity_days,
        keys: record
            .keys
            .iter()
            .map(|k| KeyView {
                key_id: k.key_id.to_string(),
                public_key: hex(&k.public_key.to_bytes()),
                valid_from: format_unix_ms(k.valid_from_ms),
                valid_until: k.valid_until_ms.map(format_unix_ms),
            })
            .collect(),
        key_held_here: state.app.can_issue(&a.id),
    }
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
    let own_key = match &r.public_key {
        None => None,
        Some(text) => Some(
            from_hex(text)
                .ok_or_else(|| "is not hex".to_owned())
                .and_then(|b| PublicKey::from_bytes(&b).map_err(|e| e.to_string()))
                .map_err(|e| {
                    ApiError::invalid(
                        "invalid_request",
                        "authority request",
                        vec![Problem::new("public_key", e)],
                    )
                })?,
        ),
    };
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
struct TokenView {
    prefix: String,
    role: &'static str,
    owner: String,
    created: String,
    expires: String,
    last_used: Option<String>,
}

#[derive(Serialize)]
struct NewTokenAnswer {
    /// The token, shown once.
    token: String,
    #[serde(flatten)]
    record: TokenView,
}

fn token_view(r: &crate::tokens::TokenRecord) -> TokenView {
    TokenView {
        prefix: r.prefix.clone(),
        role: r.role.as_str(),
        owner: r.owner.clone(),
        created: format_unix_ms(r.created_ms),
        expires: format_unix_ms(r.expires_ms),
        last_used: (r.last_used_ms > 0).then(|| format_unix_ms(r.last_used_ms)),
    }
}

pub async fn list_tokens(state: Shared, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let list: Vec<TokenView> = state.app.tokens().list().iter().map(token_view).collect();
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
        record: token_view(&record),
    }))
}

pub async fn revoke_token(
    state: Shared,
    req: HttpRequest,
    prefix: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&state, &req, &[Role::Secretariat])?;
    let revoked = state
        .app
        .tokens()
        .revoke_prefix(&prefix)
        .map_err(ApiError::internal)?;
    if revoked == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no token starts with {prefix}"),
        ));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"revoked": revoked})))
}
