//! The expert's side on the web (PROTOCOL E): the dashboard's page and files, signing in and
//! out, sessions, and the session API. The dashboard speaks only public API: this module and
//! `/api/v1`, which accepts the session as the expert.
//!
//! - [`assets`]: the page, its policy, and the versioned files compiled into the binary;
//! - [`session`]: the session cookie, its lifetime, and the CSRF token;
//! - [`signin`]: one-time sign-in links, the end of every sign-in, logout;
//! - [`api`]: `/api/me`, `/api/sessions`, `/api/requests`;
//! - [`keys`]: the client key routes under `/api/keys`.

mod api;
mod assets;
mod keys;
pub(crate) mod session;
mod signin;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use assets::total_bytes as dashboard_bytes;
pub use signin::{LOGIN_LINK_TTL_MS, LoginLink, create_login_link};

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(assets::page))
        .route("/signin", get(assets::page))
        .route("/keys", get(assets::page))
        .route("/settings", get(assets::page))
        .route("/requests/{id}", get(assets::page))
        .route("/assets/{version}/{*path}", get(assets::asset))
        .route("/auth/link", post(signin::use_link))
        .route("/auth/logout", post(signin::logout))
        .route("/api/me", get(api::me).patch(api::rename))
        .route(
            "/api/sessions",
            get(api::sessions).delete(api::end_all_sessions),
        )
        .route(
            "/api/sessions/{id}",
            axum::routing::delete(api::end_session),
        )
        .route("/api/requests", get(api::requests))
        .route("/api/requests/{id}", get(api::request))
        .route("/api/keys", get(keys::list).post(keys::create))
        .route("/api/keys/{id}/rotate", post(keys::rotate))
        .route("/api/keys/{id}", axum::routing::delete(keys::revoke))
}
