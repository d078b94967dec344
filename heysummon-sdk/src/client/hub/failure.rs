//! The error that ended the shared connection, given to every subscriber as an error of its own:
//! the same variant, status, body, `Retry-After` and kind, so each wait judges it exactly as it
//! would have judged its own connection's; an underlying cause is shared, not copied.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::Error;

/// The error, with its cause (if any) behind an `Arc`.
pub(super) struct Failure {
    error: Error,
    cause: Option<SharedCause>,
}

impl Failure {
    pub(super) fn new(error: Error) -> Self {
        match error {
            Error::Network { kind, source } => {
                let cause = SharedCause(Arc::from(source));
                Self {
                    error: Error::Network {
                        kind,
                        source: Box::new(cause.clone()),
                    },
                    cause: Some(cause),
                }
            }
            Error::Config { message, source } => {
                let cause = source.map(|source| SharedCause(Arc::from(source)));
                Self {
                    error: Error::Config {
                        message,
                        source: cause.clone().map(|c| Box::new(c) as _),
                    },
                    cause,
                }
            }
            error => Self { error, cause: None },
        }
    }

    /// A subscriber's own copy.
    pub(super) fn copy(&self) -> Error {
        let cause = || -> crate::error::BoxError {
            match &self.cause {
                Some(cause) => Box::new(cause.clone()),
                None => "no cause".into(),
            }
        };
        match &self.error {
            Error::Http {
                status,
                body,
                retry_after,
            } => Error::Http {
                status: *status,
                body: body.clone(),
                retry_after: *retry_after,
            },
            Error::Network { kind, .. } => Error::Network {
                kind: *kind,
                source: cause(),
            },
            Error::Protocol(message) => Error::Protocol(message.clone()),
            Error::Config { message, .. } => Error::Config {
                message: message.clone(),
                source: self.cause.is_some().then(cause),
            },
            Error::Timeout { waited } => Error::Timeout { waited: *waited },
            // An event stream fails in none of the other ways; say what it was, not less.
            other => Error::Protocol(other.to_string()),
        }
    }
}

/// One underlying error shared by the copies.
#[derive(Clone)]
struct SharedCause(Arc<dyn StdError + Send + Sync>);

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
