//! The error that ended the shared connection, given to every subscriber as an error of its own:
//! the same variant, status, body, `Retry-After` and kind, so each wait judges it exactly as it
//! would have judged its own connection's; an underlying cause is shared, not copied.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::Error;

/// The error's parts, its cause (if any) behind an `Arc`.
pub(super) enum Failure {
    Http {
        status: u16,
        body: Option<Box<crate::wire::ErrorBody>>,
        retry_after: Option<std::time::Duration>,
    },
    Network {
        kind: crate::error::NetworkErrorKind,
        cause: SharedCause,
    },
    Protocol(String),
    Config {
        message: String,
        cause: Option<SharedCause>,
    },
    Timeout {
        waited: std::time::Duration,
    },
    /// An event stream fails in none of the other ways; what it said, not less.
    Other(String),
}

impl Failure {
    pub(super) fn new(error: Error) -> Self {
        match error {
            Error::Http {
                status,
                body,
                retry_after,
            } => Self::Http {
                status,
                body,
                retry_after,
            },
            Error::Network { kind, source } => Self::Network {
                kind,
                cause: SharedCause(Arc::from(source)),
            },
            Error::Protocol(message) => Self::Protocol(message),
            Error::Config { message, source } => Self::Config {
                message,
                cause: source.map(|source| SharedCause(Arc::from(source))),
            },
            Error::Timeout { waited } => Self::Timeout { waited },
            other => Self::Other(other.to_string()),
        }
    }

    /// A subscriber's own copy.
    pub(super) fn copy(&self) -> Error {
        match self {
            Self::Http {
                status,
                body,
                retry_after,
            } => Error::Http {
                status: *status,
                body: body.clone(),
                retry_after: *retry_after,
            },
            Self::Network { kind, cause } => Error::Network {
                kind: *kind,
                source: Box::new(cause.clone()),
            },
            Self::Protocol(message) | Self::Other(message) => Error::Protocol(message.clone()),
            Self::Config { message, cause } => Error::Config {
                message: message.clone(),
                source: cause.clone().map(|cause| Box::new(cause) as _),
            },
            Self::Timeout { waited } => Error::Timeout { waited: *waited },
        }
    }
}

/// One underlying error shared by the copies.
#[derive(Clone)]
pub(super) struct SharedCause(Arc<dyn StdError + Send + Sync>);

impl fmt::Display for SharedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SharedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl StdError for SharedCause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}
