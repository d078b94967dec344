//! The crate's one error type, and the details some of its variants carry.

mod detail;

use std::fmt;

pub use detail::{KeyAlgorithm, KeyProblem, SignatureRejection};

#[cfg(feature = "client")]
use crate::safety::FlagType;

/// A boxed underlying failure, kept as the [`std::error::Error::source`] of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in this crate.
///
/// Authentication failures of the message envelope are deliberately one opaque variant,
/// [`Error::Crypto`]: a receiver learns nothing about *why* a message failed (bad signature, wrong
/// key, altered ciphertext, tag mismatch), so a failure can never be used as an oracle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A public key could not be used; says which algorithm was expected and what was wrong.
    #[error("invalid {algorithm} public key: {problem}")]
    InvalidPublicKey {
        /// The algorithm the key was expected to be for.
        algorithm: KeyAlgorithm,
        /// What was wrong with it.
        problem: KeyProblem,
    },

    /// Private key material could not be used (wrong length or encoding).
    #[error("invalid {algorithm} private key: {problem}")]
    InvalidPrivateKey {
        /// The algorithm the key was expected to be for.
        algorithm: KeyAlgorithm,
        /// What was wrong with it.
        problem: KeyProblem,
    },

    /// A sealed message failed authentication or decryption. Deliberately says nothing more.
    #[error("message could not be authenticated")]
    Crypto,

    /// An expert identity file could not be opened: a wrong passphrase, a damaged or altered
    /// file, or not an identity file at all. Deliberately says nothing more.
    #[error("the identity file could not be opened: wrong passphrase or damaged file")]
    IdentityFile,

    /// An expert identity file was to be written with an empty passphrase.
    #[error("an identity file needs a non-empty passphrase")]
    EmptyPassphrase,

    /// A signed request was rejected (PROTOCOL B4).
    #[error("request signature rejected: {0}")]
    Signature(SignatureRejection),

    /// The local key store could not be read or written. Names the file, never quotes its
    /// contents.
    #[error("key store: {message}{}", Cause(source.as_deref()))]
    KeyStore {
        /// What failed (`cannot write <file>`, `<file>: not a valid key store record`).
        message: String,
        /// The underlying failure (an I/O error), when there was one.
        #[source]
        source: Option<BoxError>,
    },

    /// The server answered with an HTTP error status. Carries the server's error body when it
    /// sent one, and its `Retry-After` (429, 503) when it gave one.
    #[cfg(feature = "client")]
    #[error("{}", DisplayHttp { status: *status, body: body.as_deref() })]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The parsed `{"error", "code", "hint"}` body, when the server sent one.
        body: Option<Box<crate::wire::ErrorBody>>,
        /// How long the server asked us to wait before trying again.
        retry_after: Option<std::time::Duration>,
    },

    /// The server could not be reached, or the connection broke or timed out.
    #[cfg(feature = "client")]
    #[error("network error ({kind}): {source}")]
    Network {
        /// What kind of failure it was.
        kind: NetworkErrorKind,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The server answered, but not in the shape the protocol promises (a body that does not
    /// parse, a stream that is not an event stream, a redirect). Never quotes the body itself:
    /// it may hold an answer meant only for the agent.
    #[cfg(feature = "client")]
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),

    /// A wait ended without a final status: its deadline passed, or the request's expiry passed
    /// while the server still reported it as waiting. Never means "approved".
    #[cfg(feature = "client")]
    #[error("no final status after waiting {waited:?}")]
    Timeout {
        /// How long the wait lasted.
        waited: std::time::Duration,
    },

    /// The client or the wait options are unusable (no base URL, a malformed URL or API key, a
    /// zero polling interval).
    #[cfg(feature = "client")]
    #[error("invalid client configuration: {message}{}", Cause(source.as_deref()))]
    Config {
        /// What is wrong.
        message: String,
        /// The underlying failure (a URL that does not parse, an HTTP client that cannot be
        /// made), when there was one.
        #[source]
        source: Option<BoxError>,
    },

    /// The expert's published keys are not the ones this client pinned (in configuration or, on
    /// first use, in its key store), or the expert withdrew the keys it had published. Nothing
    /// was sent. Never re-pinned silently: if the expert really rotated its keys, compare the new
    /// fingerprint out of band and replace the pin.
    #[cfg(feature = "client")]
    #[error("the expert's key changed: pinned {pinned}, published {}", published.as_deref().unwrap_or("none"))]
    ExpertKeyChanged {
        /// The expert.
        expert_id: String,
        /// The pinned fingerprint, lowercase hex.
        pinned: String,
        /// The fingerprint of the keys the server now publishes, if any.
        published: Option<String>,
    },

    /// The server reported an approval that does not carry a valid signature by the expert key
    /// pinned for the request, over this request and the action asked about (PROTOCOL H4),
    /// while the agent's [`crate::client::DecisionTrust`] requires one, or a signature that is
    /// present does not verify. The server may have forged or moved it: do not act.
    #[cfg(feature = "client")]
    #[error("the approval of request {request_id} is not the expert's own: {reason}")]
    DecisionUnverified {
        /// The request.
        request_id: String,
        /// What was wrong: no signature, no pinned key, a signature that does not verify.
        reason: &'static str,
    },

    /// The encryption policy is [`crate::client::EncryptionPolicy::Required`], and the question
    /// or message could only be sent in a form the server can read (the expert has published no
    /// keys, or no keys were exchanged yet). Nothing was sent.
    #[cfg(feature = "client")]
    #[error("end-to-end encryption is required but not available: {0}")]
    EncryptionUnavailable(String),

    /// The question was not sent: the content-safety rules found a payment card number, a
    /// social security number or a BSN in it (checked on this machine before sealing, since the
    /// server cannot scan what it cannot read). Names the kinds of finding, never the text.
    #[cfg(feature = "client")]
    #[error("content blocked by the safety filter: {}", FlagList(flags))]
    ContentBlocked {
        /// The kinds of blocking finding ([`FlagType::CreditCard`], [`FlagType::SsnBsn`]), in
        /// the order found.
        flags: Vec<FlagType>,
    },

    /// The request ended without what was waited for (an answer, a decision): it expired, was
    /// cancelled or closed. Never means "approved".
    #[cfg(feature = "client")]
    #[error("the request ended with status {status} and no answer")]
    RequestEnded {
        /// The final status.
        status: crate::wire::Status,
    },

    /// The key store holds no keys for this request, so it cannot be resumed or read (a
    /// different key store, or a request made by another client).
    #[cfg(feature = "client")]
    #[error("no keys for request {request_id} in the key store")]
    UnknownRequest {
        /// The request.
        request_id: String,
    },
}

impl Error {
    /// An [`Error::KeyStore`] without an underlying failure.
    #[cfg(feature = "keystore")]
    pub(crate) fn key_store(message: impl Into<String>) -> Self {
        Self::KeyStore {
            message: message.into(),
            source: None,
        }
    }

    /// An [`Error::Config`] without an underlying failure.
    #[cfg(feature = "client")]
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `cause` as the [`std::error::Error::source`] of an [`Error::KeyStore`] or
    /// [`Error::Config`]; other errors are returned as they are.
    #[cfg(feature = "keystore")]
    pub(crate) fn because(mut self, cause: impl Into<BoxError>) -> Self {
        match &mut self {
            Self::KeyStore { source, .. } => *source = Some(cause.into()),
            #[cfg(feature = "client")]
            Self::Config { source, .. } => *source = Some(cause.into()),
            _ => {}
        }
        self
    }
}

#[cfg(feature = "client")]
impl Error {
    /// Whether trying the same call again later may succeed: HTTP 408, 429 and 5xx, and network
    /// failures. Authentication, validation and "not found" answers are not retryable, nor is a
    /// [`Error::Timeout`] (the caller's deadline is already spent).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Self::Network { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status code, when the server answered with an error status.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's machine-readable `code` (`NO_RESPONSE_REQUIRED`, `SIGNATURE_REPLAYED`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Http { body, .. } => body.as_ref().and_then(|body| body.code.as_deref()),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when it gave one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What kind of network failure an [`Error::Network`] is.
#[cfg(feature = "client")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkErrorKind {
    /// No connection could be made: refused, unresolvable host, TLS handshake failure.
    Connect,
    /// A request, or a stream's liveness window, timed out.
    Timeout,
    /// The connection broke, or a stream ended, in the middle of a response.
    Interrupted,
    /// Anything else the HTTP stack reported.
    Other,
}

#[cfg(feature = "client")]
impl fmt::Display for NetworkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Interrupted => "interrupted",
            Self::Other => "other",
        })
    }
}

/// Formats an underlying failure after the message: `: <cause>`, or nothing. The cause is also
/// the error's `source()`; it is repeated here because, as with [`Error::Network`], the message
/// alone would not say what went wrong.
struct Cause<'a>(Option<&'a (dyn std::error::Error + Send + Sync + 'static)>);

impl fmt::Display for Cause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(cause) => write!(f, ": {cause}"),
            None => Ok(()),
        }
    }
}

/// Formats flag types as `credit_card, ssn_bsn`.
#[cfg(feature = "client")]
struct FlagList<'a>(&'a [FlagType]);

#[cfg(feature = "client")]
impl fmt::Display for FlagList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, flag) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}

/// Formats an HTTP error as `HTTP 404: Request not found (CODE)`.
#[cfg(feature = "client")]
struct DisplayHttp<'a> {
    status: u16,
    body: Option<&'a crate::wire::ErrorBody>,
}

#[cfg(feature = "client")]
impl fmt::Display for DisplayHttp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(body) = self.body {
            write!(f, ": {}", body.error)?;
            if let Some(code) = &body.code {
                write!(f, " ({code})")?;
            }
        }
        Ok(())
    }
}

impl From<SignatureRejection> for Error {
    fn from(rejection: SignatureRejection) -> Self {
        Self::Signature(rejection)
    }
}
