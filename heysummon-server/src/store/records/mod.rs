//! The rows the store reads and writes, independent of the backend.

mod accounts;
mod events;
mod requests;
mod web;

pub use accounts::*;
pub use events::*;
pub use requests::*;
pub use web::*;
