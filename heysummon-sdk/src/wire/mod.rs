//! Wire types: every request, response, event and error body of PROTOCOL.md parts A and B.
//!
//! Conventions, shared by every type here:
//! - members are camelCase; unknown members are ignored when parsing, so a newer server never
//!   breaks an older client;
//! - an optional member that is `null` is treated as absent; absent optional members are not
//!   written;
//! - public keys are carried as the strings the peer sent (a HeySummon server stores any string);
//!   parse them with [`crate::keys`] when they are to be used.

mod account;
mod common;
mod events;
mod help;
mod ids;
mod lifecycle;
mod messages;
#[cfg(feature = "openapi")]
mod schema;
mod status;
mod time;

pub use account::*;
pub use common::*;
pub use events::*;
pub use help::*;
pub use ids::*;
pub use lifecycle::*;
pub use messages::*;
pub use status::*;
pub use time::*;
