//! The expert's side on the web (PROTOCOL E): the dashboard's page and files, signing in and
//! out, sessions, and the session API. The dashboard speaks only public API: this module and
//! `/api/v1`, which accepts the session as the expert.
//!
//! - [`assets`]: the page, its policy, and the versioned files compiled into the binary;
//! - [`session`]: the session cookie, its lifetime, and the CSRF token;
//! - [`signin`]: one-time sign-in links, the end of every sign-in, logout;
//! - [`oauth`]: signing in with GitHub, Google or an OpenID Connect provider;
//! - [`api`]: `/api/me`, `/api/sessions`, `/api/requests`;
//! - [`keys`]: the client key routes under `/api/keys`;
//! - [`audit`]: the audit log's entries about a request, `/api/requests/{id}/audit`.

mod api;
mod assets;
mod audit;
mod channels;
mod cookies;
mod keys;
pub(crate) mod oauth;
pub(crate) mod session;
mod signin;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub use assets::total_bytes as dashboard_bytes;
pub use signin::{LOGIN_LINK_TTL_MS, LoginLink, create_login_link};

/// The dashboard's routes: its page and files (not in the API's document), sign-in, the
/// session API and the channels' callbacks.
pub(crate) fn routes(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/", get(assets::page))
        .route("/signin", get(assets::page))
        .route("/keys", get(assets::page))
        .route("/settings", get(assets::page))
        .route("/requests/{id}", get(assets::page))
        .route("/assets/{version}/{*path}", get(assets::asset))
        .merge(sign_in_routes(state))
        .routes(routes!(oauth::list))
        .routes(routes!(signin::logout))
        .routes(routes!(api::me, api::rename))
        .routes(routes!(api::sessions, api::end_all_sessions))
        .routes(routes!(api::end_session))
        .routes(routes!(api::requests))
        .routes(routes!(api::request))
        .routes(routes!(audit::request_entries))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::rotate))
        .routes(routes!(keys::revoke))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::update, channels::remove))
        .routes(routes!(channels::test))
        .routes(routes!(channels::connect))
        .routes(routes!(channels::unlink))
        .merge(crate::notify::routes())
}

/// The routes that sign a browser in without a session: each attempt may cost a database
/// write, so they share a per-IP bucket (`rate_limits.api_per_ip`; loopback exempt unless
/// configured otherwise).
fn sign_in_routes(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signin::use_link))
        .routes(routes!(oauth::login))
        .routes(routes!(oauth::callback))
        .route_layer(middleware::from_fn_with_state(state, sign_in_limit))
}

async fn sign_in_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if !state.ip_allows(peer, "signin", state.config.rate_limits.api_per_ip) {
        crate::telemetry::rate_limited("signin");
        return ApiError::too_many_requests("Too many requests. Please try again later.")
            .into_response();
    }
    next.run(req).await
}

/// The longest name of an expert or a client key, characters.
const MAX_NAME_CHARS: usize = 100;

/// A name given in the dashboard (an expert's, a client key's), trimmed: 1 to 100 characters,
/// no control characters.
fn display_name(text: &str) -> ApiResult<&str> {
    let name = text.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request("Invalid name").member(
            "details",
            serde_json::json!("1 to 100 characters, no control characters"),
        ));
    }
    Ok(name)
}
