//! The fake provider's endpoints and its ID tokens (RS256, signed here with the `rsa` crate:
//! an implementation independent of the one that checks them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::{Query, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use rand_core::{OsRng, RngCore};
use rsa::RsaPrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AuthorizationSeen, CLIENT_ID, CLIENT_SECRET, FakeIdentity, State};

/// The id of the published key.
const KEY_ID: &str = "fake-key-1";

/// The fake's shared state.
#[derive(Debug)]
pub(super) struct Fake {
    pub(super) issuer: String,
    pub(super) state: Mutex<State>,
}

/// A code handed out and not yet redeemed.
#[derive(Debug)]
pub(super) struct Grant {
    seen: AuthorizationSeen,
    identity: FakeIdentity,
}

type Fk = Shared<Arc<Fake>>;

pub(super) fn router(fake: Arc<Fake>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .route("/api/user", get(github_user))
        .route("/api/user/emails", get(github_emails))
        .with_state(fake)
}

/// The published key and a key of nobody's, made once per test process (RSA key generation
/// is slow).
fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = || RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
        (make(), make())
    })
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS (RS256) of some claims.
fn sign(key: &RsaPrivateKey, claims: &Value) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": KEY_ID });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let signature = signer.sign(input.as_bytes()).to_vec();
    format!("{input}.{}", b64(&signature))
}

async fn discovery(Shared(fake): Fk) -> Json<Value> {
    let i = &fake.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified"],
    }))
}

async fn jwks() -> Json<Value> {
    let public = keys().0.to_public_key();
    Json(json!({ "keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": KEY_ID,
        "n": b64(&public.n().to_bytes_be()),
        "e": b64(&public.e().to_bytes_be()),
    }]}))
}

async fn authorize(Shared(fake): Fk, Query(q): Query<HashMap<String, String>>) -> Response {
    let param = |name: &str| q.get(name).cloned();
    let seen = AuthorizationSeen {
        client_id: param("client_id").unwrap_or_default(),
        redirect_uri: param("redirect_uri").unwrap_or_default(),
        scope: param("scope").unwrap_or_default(),
        state: param("state"),
        code_challenge: param("code_challenge"),
        code_challenge_method: param("code_challenge_method"),
        nonce: param("nonce"),
    };
    let mut state = fake.state.lock().expect("the fake's state");
    state.authorizations.push(seen.clone());
    if seen.client_id != CLIENT_ID || param("response_type").as_deref() != Some("code") {
        return (StatusCode::BAD_REQUEST, "unknown client or response type").into_response();
    }
    let mut back = form_urlencoded::Serializer::new(String::new());
    if state.tampering.deny {
        back.append_pair("error", "access_denied");
    } else {
        let code = random_token();
        back.append_pair("code", &code);
        let identity = state.identity.clone();
        state.codes.insert(
            code,
            Grant {
                seen: seen.clone(),
                identity,
            },
        );
    }
    if let Some(s) = &seen.state {
        back.append_pair("state", s);
    }
    Redirect::to(&format!("{}?{}", seen.redirect_uri, back.finish())).into_response()
}

/// `{"error": …}` with a status, and the reason kept for the test.
fn refuse(state: &mut State, status: StatusCode, error: &str, reason: &str) -> Response {
    state.token_refusals.push(reason.to_owned());
    (
        status,
        Json(json!({ "error": error, "error_description": reason })),
    )
        .into_response()
}

async fn token(Shared(fake): Fk, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    let mut state = fake.state.lock().expect("the fake's state");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok());
    let expected = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    let authenticated = basic.as_deref() == Some(expected.as_bytes())
        || (field("client_id") == Some(CLIENT_ID) && field("client_secret") == Some(CLIENT_SECRET));
    if !authenticated {
        return refuse(
            &mut state,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client credentials",
        );
    }
    if field("grant_type") != Some("authorization_code") {
        return refuse(
            &mut state,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant type",
        );
    }
    // A code is redeemed once, whatever the outcome.
    let Some(grant) = field("code").and_then(|code| state.codes.remove(code)) else {
        return refuse(
            &mut state,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        );
    };
    if field("redirect_uri") != Some(grant.seen.redirect_uri.as_str()) {
        return refuse(
            &mut state,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri",
        );
    }
    if let Some(challenge) = &grant.seen.code_challenge {
        let verified = grant.seen.code_challenge_method.as_deref() == Some("S256")
            && field("code_verifier")
                .is_some_and(|v| b64(&Sha256::digest(v.as_bytes())) == *challenge);
        if !verified {
            return refuse(
                &mut state,
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "PKCE verifier",
            );
        }
    }
    let access_token = random_token();
    state
        .tokens
        .insert(access_token.clone(), grant.identity.clone());
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": grant.seen.scope,
    });
    if grant.seen.scope.split(' ').any(|s| s == "openid") {
        answer["id_token"] = Value::String(id_token(&fake.issuer, &state, &grant));
    }
    Json(answer).into_response()
}

fn id_token(issuer: &str, state: &State, grant: &Grant) -> String {
    let t = &state.tampering;
    let now = state.clock.now() / 1000;
    let mut claims = json!({
        "iss": t.issuer.clone().unwrap_or_else(|| issuer.to_owned()),
        "sub": grant.identity.subject,
        "aud": t.audience.clone().unwrap_or_else(|| CLIENT_ID.to_owned()),
        "iat": now - if t.expired { 3600 } else { 0 },
        "exp": if t.expired { now - 60 } else { now + 600 },
    });
    if let Some(nonce) = t.nonce.clone().or_else(|| grant.seen.nonce.clone()) {
        claims["nonce"] = Value::String(nonce);
    }
    if let (Some(email), false) = (&grant.identity.email, t.email_only_in_userinfo) {
        claims["email"] = Value::String(email.clone());
        claims["email_verified"] = Value::Bool(grant.identity.email_verified);
    }
    let (published, foreign) = keys();
    sign(if t.foreign_key { foreign } else { published }, &claims)
}

/// The identity an access token was issued for.
fn bearer(fake: &Fake, headers: &HeaderMap) -> Option<FakeIdentity> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let state = fake.state.lock().expect("the fake's state");
    state.tokens.get(token).cloned()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "Bad credentials" })),
    )
        .into_response()
}

async fn userinfo(Shared(fake): Fk, headers: HeaderMap) -> Response {
    let Some(identity) = bearer(&fake, &headers) else {
        return unauthorized();
    };
    let mut info = json!({ "sub": identity.subject });
    if let Some(email) = identity.email {
        info["email"] = Value::String(email);
        info["email_verified"] = Value::Bool(identity.email_verified);
    }
    Json(info).into_response()
}

async fn github_user(Shared(fake): Fk, headers: HeaderMap) -> Response {
    let Some(identity) = bearer(&fake, &headers) else {
        return unauthorized();
    };
    // GitHub's ids are numbers; a subject that is not one comes out as a string, which a
    // client must refuse.
    let id = identity
        .subject
        .parse::<u64>()
        .map_or_else(|_| Value::String(identity.subject.clone()), Value::from);
    Json(json!({ "id": id, "login": "octo-fake", "email": null })).into_response()
}

async fn github_emails(Shared(fake): Fk, headers: HeaderMap) -> Response {
    let Some(identity) = bearer(&fake, &headers) else {
        return unauthorized();
    };
    let emails: Vec<Value> = identity
        .email
        .iter()
        .map(|email| {
            json!({
                "email": email,
                "verified": identity.email_verified,
                "primary": true,
                "visibility": null,
            })
        })
        .collect();
    Json(Value::Array(emails)).into_response()
}
