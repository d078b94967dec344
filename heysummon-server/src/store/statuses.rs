//! The sets of statuses queries filter on, computed from the wire type's domain rules
//! ([`Status::is_waiting`], [`Status::is_terminal`]) rather than spelled again in SQL. Each is
//! an SQL list literal such as `('pending', 'reviewing', 'active')`, built once, in the order
//! of [`Status::ALL`]; it is plain SQL, the same for every backend.

use std::sync::LazyLock;

use heysummon_sdk::wire::Status;

/// Still waiting for the expert: the expert's pending feed lists these.
pub(crate) fn waiting() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| sql_list(Status::is_waiting));
    &LIST
}

/// Ended: the sweeper expires requests not in this set.
pub(crate) fn terminal() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| sql_list(Status::is_terminal));
    &LIST
}

/// The ends the consumer's pending feed reports (`cancelled`, `notification_acknowledged`,
/// `notification_expired`): every terminal status but `closed`, which the consumer does not
/// get told about in that feed.
pub(crate) fn announced_to_consumer() -> &'static str {
    static LIST: LazyLock<String> =
        LazyLock::new(|| sql_list(|s| s.is_terminal() && *s != Status::Closed));
    &LIST
}

/// `('a', 'b', …)` of the known statuses `keep` accepts. Wire spellings are lower-case
/// letters only, so quoting needs no escaping.
fn sql_list(keep: impl Fn(&Status) -> bool) -> String {
    let quoted: Vec<String> = Status::ALL
        .iter()
        .filter(|status| keep(status))
        .map(|status| format!("'{}'", status.as_str()))
        .collect();
    format!("({})", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sets_are_those_the_queries_always_used() {
        assert_eq!(waiting(), "('pending', 'reviewing', 'active')");
        // Also the predicate of the partial index `requests_open_expiry` (migration 0001).
        assert_eq!(
            terminal(),
            "('closed', 'expired', 'cancelled', 'acknowledged')"
        );
        assert_eq!(
            announced_to_consumer(),
            "('expired', 'cancelled', 'acknowledged')"
        );
    }

    #[test]
    fn every_known_status_is_listed_once_and_spelled_safely() {
        for status in Status::ALL {
            assert_eq!(Status::from_wire(status.as_str()), *status);
            assert!(status.as_str().chars().all(|c| c.is_ascii_lowercase()));
        }
        let mut spellings: Vec<_> = Status::ALL.iter().map(Status::as_str).collect();
        spellings.sort_unstable();
        spellings.dedup();
        assert_eq!(spellings.len(), Status::ALL.len());
    }
}
