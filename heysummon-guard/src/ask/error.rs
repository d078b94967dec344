//! Why an ask failed: [`AskError`], and the one translation of the SDK's errors into it.

use std::time::Duration;

use heysummon_sdk::safety::{Flag, FlagType};
use heysummon_sdk::wire::ErrorBody;

/// Why an ask, a submission or a resume failed. Nothing here ever means "approved".
///
/// Front ends translate it (the HTTP API into a status and a JSON body, the command line into
/// an exit code); none looks inside [`heysummon_sdk::Error`] itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AskError {
    /// The input is unusable; the message says what is wrong. Nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The content-safety rules refused the text (a payment card number, a social security
    /// number or a BSN). Nothing was sent.
    #[error("content blocked by the safety filter ({} finding(s))", flags.len())]
    ContentBlocked {
        /// The findings: their kinds, and where they were found when known. Never the text.
        flags: Vec<BlockedFlag>,
    },
    /// The server refused the credentials (401, 403): a wrong or revoked API key, a device
    /// key that is not enrolled, a missing device token.
    #[error("authentication refused (HTTP {status})")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// The server's error body, when it sent one.
        body: Option<Box<ErrorBody>>,
    },
    /// The server refused the request with another error status.
    #[error("the server refused the request (HTTP {status})")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's error body, when it sent one.
        body: Option<Box<ErrorBody>>,
    },
    /// The expert's published keys are not the pinned ones. Nothing was sent.
    #[error("the expert's key changed since it was pinned")]
    ExpertKeyChanged {
        /// The pinned fingerprint, lowercase hex.
        pinned: String,
        /// The fingerprint the server now publishes, if any.
        published: Option<String>,
    },
    /// Encryption was required but the question could only be sent readable. Nothing was sent.
    #[error("end-to-end encryption is required but not available: {0}")]
    EncryptionUnavailable(String),
    /// The request is not one of ours (no keys for it in the key store).
    #[error("request not found")]
    NotFound,
    /// The server could not be reached, or the connection broke.
    #[error("could not reach the HeySummon server")]
    Unreachable(#[source] heysummon_sdk::Error),
    /// The server did not answer in time.
    #[error("the HeySummon server did not answer within {waited:?}")]
    ServerTimeout {
        /// How long was waited.
        waited: Duration,
    },
    /// The server reported an approval the expert did not sign for this request and action
    /// (PROTOCOL H4): it may have been forged; nothing is approved.
    #[error("the approval is not the expert's own ({0}): not acting on it")]
    DecisionUnverified(&'static str),
    /// A message failed authentication or decryption.
    #[error("message could not be authenticated")]
    Unauthenticated,
    /// The local key store could not be read or written.
    #[error("the key store failed")]
    KeyStore(#[source] heysummon_sdk::Error),
    /// Anything else that stopped the request (an answer of an unexpected shape, …).
    #[error("the request could not be completed")]
    Failed(#[source] heysummon_sdk::Error),
}

/// One finding that refused a text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BlockedFlag {
    /// What was found.
    #[serde(rename = "type")]
    pub kind: FlagType,
    /// Where it was found (`question`, `messages[2].content`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl From<&Flag> for BlockedFlag {
    fn from(flag: &Flag) -> Self {
        Self {
            kind: flag.kind,
            field: Some(flag.field.clone()),
        }
    }
}

impl AskError {
    /// Whether the caller's configuration or credentials are at fault (as opposed to its input,
    /// the network or the server).
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized { .. } | Self::ExpertKeyChanged { .. } | Self::KeyStore(_)
        )
    }

    /// Whether trying again later may succeed: the server unreachable or slow, or an error
    /// status of 408, 429 or 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::ServerTimeout { .. } => true,
            Self::Rejected { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }
}

impl From<heysummon_sdk::Error> for AskError {
    /// The one place where the SDK's errors are told apart.
    fn from(error: heysummon_sdk::Error) -> Self {
        use heysummon_sdk::Error as E;
        match error {
            E::Http { status, body, .. } if matches!(status, 401 | 403) => {
                Self::Unauthorized { status, body }
            }
            E::Http { status, body, .. } => Self::Rejected { status, body },
            E::ExpertKeyChanged {
                pinned, published, ..
            } => Self::ExpertKeyChanged { pinned, published },
            E::EncryptionUnavailable(why) => Self::EncryptionUnavailable(why),
            E::ContentBlocked { flags } => Self::ContentBlocked {
                flags: flags
                    .into_iter()
                    .map(|kind| BlockedFlag { kind, field: None })
                    .collect(),
            },
            E::UnknownRequest { .. } => Self::NotFound,
            E::Config { message, .. } => Self::InvalidInput(message),
            E::Timeout { waited } => Self::ServerTimeout { waited },
            E::Crypto => Self::Unauthenticated,
            E::DecisionUnverified { reason, .. } => Self::DecisionUnverified(reason),
            error @ E::KeyStore { .. } => Self::KeyStore(error),
            error @ E::Network { .. } => Self::Unreachable(error),
            other => Self::Failed(other),
        }
    }
}
