//! Request statuses and approval decisions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The status of a help request (PROTOCOL part A).
///
/// A status this version does not know is kept as [`Status::Unknown`] so that a newer server never
/// breaks an older client.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Created, no expert has opened it yet.
    Pending,
    /// An expert opened it.
    Reviewing,
    /// Expert keys were exchanged.
    Active,
    /// The expert answered or decided.
    Responded,
    /// The consumer or the expert closed it (terminal).
    Closed,
    /// Its time to live passed (terminal).
    Expired,
    /// An expert or administrator cancelled it (terminal).
    Cancelled,
    /// A notification was acknowledged (terminal).
    Acknowledged,
    /// A status this version does not know.
    Unknown(String),
}

impl Status {
    /// Every status this version knows, in lifecycle order (no [`Status::Unknown`]).
    pub const ALL: &'static [Status] = &[
        Self::Pending,
        Self::Reviewing,
        Self::Active,
        Self::Responded,
        Self::Closed,
        Self::Expired,
        Self::Cancelled,
        Self::Acknowledged,
    ];

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Reviewing => "reviewing",
            Self::Active => "active",
            Self::Responded => "responded",
            Self::Closed => "closed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Acknowledged => "acknowledged",
            Self::Unknown(other) => other,
        }
    }

    /// Parses a wire spelling; anything unrecognised becomes [`Status::Unknown`].
    pub fn from_wire(text: &str) -> Self {
        match text {
            "pending" => Self::Pending,
            "reviewing" => Self::Reviewing,
            "active" => Self::Active,
            "responded" => Self::Responded,
            "closed" => Self::Closed,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            "acknowledged" => Self::Acknowledged,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// `closed`, `expired`, `cancelled` and `acknowledged` end a request.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Closed | Self::Expired | Self::Cancelled | Self::Acknowledged
        )
    }

    /// `pending`, `reviewing` and `active`: still waiting for the expert.
    pub fn is_waiting(&self) -> bool {
        matches!(self, Self::Pending | Self::Reviewing | Self::Active)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(other) => write!(f, "Unknown({other:?})"),
            known => f.write_str(known.as_str()),
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::from_wire(&text))
    }
}

/// An expert's decision on an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ApprovalDecision {
    /// The expert approved.
    Approved,
    /// The expert denied.
    Denied,
}

impl ApprovalDecision {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }
}

impl fmt::Display for ApprovalDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of a request sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    /// The agent that asked.
    Consumer,
    /// The human expert.
    Expert,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips() {
        for text in [
            "pending",
            "reviewing",
            "active",
            "responded",
            "closed",
            "expired",
            "cancelled",
            "acknowledged",
            "escalated-in-a-future-version",
        ] {
            let status: Status = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(
                serde_json::to_value(&status).unwrap(),
                serde_json::json!(text)
            );
        }
        assert_eq!(
            Status::from_wire("paused"),
            Status::Unknown("paused".into())
        );
    }

    #[test]
    fn terminal_statuses() {
        let terminal: Vec<_> = ["closed", "expired", "cancelled", "acknowledged"]
            .map(Status::from_wire)
            .into_iter()
            .collect();
        assert!(terminal.iter().all(Status::is_terminal));
        assert!(!Status::Responded.is_terminal());
        assert!(Status::Active.is_waiting());
    }
}
