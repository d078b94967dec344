//! The one error type of the library.

use std::path::PathBuf;

/// Everything that can go wrong in the guard outside of a proxied request (a proxied request
/// never fails: it is answered with a JSON error instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or invalid; the message says which and why.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `create`).
        action: &'static str,
        /// Which file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The device key file exists but does not hold a device key.
    #[error("device key file {} is invalid: {reason}", path.display())]
    DeviceKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its content).
        reason: &'static str,
    },
    /// The server could not be reached or answered unreadably.
    #[error("upstream request failed: {0}")]
    Upstream(String),
    /// The server refused to enroll the device key.
    #[error("the server refused the enrollment ({status}): {message}")]
    Enroll {
        /// The HTTP status.
        status: u16,
        /// The server's error sentence (and code, when it sent one).
        message: String,
    },
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
