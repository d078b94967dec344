//! The rows the store reads and writes, independent of the backend.

mod accounts;
mod channels;
mod events;
mod requests;
mod web;

pub use accounts::*;
pub use channels::*;
pub use events::*;
pub use requests::*;
pub use web::*;
