//! Timestamps as the protocol writes them: RFC 3339, UTC, milliseconds, `Z`.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// An instant with millisecond precision, written `2026-04-25T19:56:45.123Z` on the wire.
///
/// Parsing accepts any RFC 3339 form (other offsets, more or fewer fractional digits) and
/// truncates to milliseconds; writing always uses the canonical form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// An instant given as milliseconds since the Unix epoch; `None` if out of range.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        Utc.timestamp_millis_opt(millis).single().map(Self)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Wraps a `chrono` instant, truncating it to milliseconds.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        let millis = at.timestamp_millis();
        // Truncation cannot leave chrono's range: the input was in range.
        Self(Utc.timestamp_millis_opt(millis).single().unwrap_or(at))
    }

    /// The instant as a `chrono` value.
    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// Parses any RFC 3339 timestamp.
    pub fn parse(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| Self::from_datetime(at.with_timezone(&Utc)))
    }

    /// This instant moved by a number of milliseconds (negative moves back); saturates at the
    /// ends of the representable range.
    pub fn plus_millis(self, millis: i64) -> Self {
        let moved = self.unix_millis().saturating_add(millis);
        Self::from_unix_millis(moved).unwrap_or(self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!("invalid RFC 3339 timestamp: {text:?}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_milliseconds_and_z() {
        let at = Timestamp::from_unix_millis(1_777_147_005_123).unwrap();
        assert_eq!(at.to_string(), "2026-04-25T19:56:45.123Z");
        let whole = Timestamp::from_unix_millis(1_777_147_005_000).unwrap();
        assert_eq!(whole.to_string(), "2026-04-25T19:56:45.000Z");
    }

    #[test]
    fn parses_other_offsets_and_precisions() {
        let at = Timestamp::parse("2026-04-25T21:56:45.123456+02:00").unwrap();
        assert_eq!(at.to_string(), "2026-04-25T19:56:45.123Z");
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn json_round_trip() {
        let at = Timestamp::parse("2026-04-25T19:56:45.123Z").unwrap();
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(json, "\"2026-04-25T19:56:45.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
    }
}
