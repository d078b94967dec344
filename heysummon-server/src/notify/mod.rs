//! Reaching the expert where they are (PROTOCOL F): notification channels of five kinds
//! (webhook, Slack, Telegram, Discord, e-mail), the delivery task that feeds them from the
//! event log, and the answers that come back from the chats.
//!
//! - [`spec`]: the kinds and their options; [`manage`]: adding, testing, connect codes, views;
//! - [`content`]: what a notification says and escaping it per markup (a sealed question is
//!   never part of it); [`transport`]: sending a notice through any kind, with one module per
//!   kind ([`webhook`], [`telegram`], [`slack`], [`discord`], [`email`]);
//! - [`outbound`]: the HTTP clients (timeouts, bounded bodies, the webhook address rules);
//! - [`delivery`]: the outbox, in order per channel, at least once, with backoff;
//! - [`inbound`]: buttons, replies and connect codes from the chats.

pub(crate) mod content;
pub(crate) mod delivery;
pub(crate) mod discord;
pub(crate) mod email;
pub(crate) mod inbound;
pub mod manage;
pub(crate) mod outbound;
pub(crate) mod slack;
pub mod spec;
pub(crate) mod telegram;
pub(crate) mod transport;
pub(crate) mod webhook;
pub(crate) mod worker;

pub(crate) use delivery::run;
pub use spec::{ChannelKind, ChannelOptions};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The routes chats call back on.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbound::telegram::webhook))
        .routes(routes!(inbound::slack::interactions))
        .routes(routes!(inbound::slack::commands))
        .routes(routes!(inbound::discord::interactions))
}
