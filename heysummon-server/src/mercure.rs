//! The Mercure side of the hub: topic selectors and subscriber JWTs.
//!
//! Topics are `/heysummon/requests/{requestId}` and `/heysummon/experts/{expertId}`; a
//! selector matches a topic exactly, or `*` matches every topic. A subscriber JWT is HS256,
//! signed with the configured secret, and lists the selectors it may receive in
//! `mercure.subscribe`; `exp` and `nbf` are honoured.
//!
//! JWT verification is written here over `hmac` (RustCrypto, the same generation as the rest of
//! our crypto) rather than with a JWT crate: only HS256 is accepted, and the JWT crates bring
//! their own, different, cryptography stacks for algorithms we refuse anyway.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use heysummon_sdk::wire::{ExpertId, RequestId, expert_topic, request_topic};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::clock::Millis;
use crate::http::ApiRequest;
use crate::store::LoggedEvent;

/// The selector that matches every topic.
pub const ANY_TOPIC: &str = "*";

/// Which topics a subscriber asked for and, for JWT subscribers, may see.
#[derive(Clone, Debug)]
pub struct TopicFilter {
    requested: Vec<String>,
    allowed: Option<Vec<String>>,
}

fn selector_matches(selector: &str, topics: &[String; 2]) -> bool {
    selector == ANY_TOPIC || topics.iter().any(|topic| topic == selector)
}

impl TopicFilter {
    /// A filter over requested selectors, optionally restricted to allowed selectors.
    pub fn new(requested: Vec<String>, allowed: Option<Vec<String>>) -> Self {
        Self { requested, allowed }
    }

    /// Whether an event is both requested and allowed.
    pub fn matches(&self, event: &LoggedEvent) -> bool {
        let topics = [
            request_topic(&RequestId::new(&event.request_id)),
            expert_topic(&ExpertId::new(&event.expert_id)),
        ];
        let requested = self.requested.iter().any(|s| selector_matches(s, &topics));
        let allowed = self
            .allowed
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|s| selector_matches(s, &topics)));
        requested && allowed
    }
}

/// Every `topic` query parameter, decoded.
pub fn requested_topics(query: &str) -> Vec<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "topic")
        .map(|(_, value)| value.into_owned())
        .filter(|topic| !topic.is_empty())
        .collect()
}

/// The `lastEventID` query parameter (Mercure spells it so; `lastEventId` and
/// `Last-Event-ID` are accepted too).
pub fn query_last_event_id(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| {
            matches!(
                name.as_ref(),
                "lastEventID" | "lastEventId" | "Last-Event-ID"
            )
        })
        .map(|(_, value)| value.into_owned())
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_token(req: &ApiRequest) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    exp: Option<f64>,
    nbf: Option<f64>,
    mercure: Option<MercureClaim>,
}

#[derive(Deserialize)]
struct MercureClaim {
    subscribe: Option<Vec<String>>,
}

/// Verifies a subscriber JWT and returns its `mercure.subscribe` selectors. The error says
/// what was wrong (never echoing the token).
pub fn verify_subscriber_jwt(
    token: &str,
    secret: &[u8],
    now: Millis,
) -> Result<Vec<String>, &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT");
    };
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("malformed JWT header")?;
    if header.alg != "HS256" {
        return Err("only HS256 subscriber tokens are accepted");
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "malformed JWT signature")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| "unusable hub secret")?;
    mac.update(&token.as_bytes()[..header_and_payload_len(token)]);
    // Constant-time comparison.
    mac.verify_slice(&signature)
        .map_err(|_| "bad JWT signature")?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("malformed JWT claims")?;
    let now_secs = now as f64 / 1000.0;
    if claims.exp.is_some_and(|exp| exp <= now_secs) {
        return Err("token expired");
    }
    if claims.nbf.is_some_and(|nbf| nbf > now_secs) {
        return Err("token not yet valid");
    }
    let subscribe = claims
        .mercure
        .and_then(|m| m.subscribe)
        .filter(|s| !s.is_empty())
        .ok_or("token has no mercure.subscribe claim")?;
    Ok(subscribe)
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// Builds a test token (tests only; the hub never issues tokens).
    fn token(header: &str, claims: &str, secret: &[u8]) -> String {
        let head = URL_SAFE_NO_PAD.encode(header);
        let body = URL_SAFE_NO_PAD.encode(claims);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{head}.{body}.{sig}")
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn accepts_a_valid_token() {
        let t = token(
            HS256,
            r#"{"exp":2000000000,"mercure":{"subscribe":["*"]}}"#,
            SECRET,
        );
        assert_eq!(verify_subscriber_jwt(&t, SECRET, 1_000).unwrap(), vec!["*"]);
    }

    #[test]
    fn refuses_bad_tokens() {
        let claims = r#"{"mercure":{"subscribe":["*"]}}"#;
        let now = 1_777_000_000_000;
        let cases = [
            (
                token(HS256, claims, b"another secret of at least 32 bytes"),
                "bad JWT signature",
            ),
            (
                token(r#"{"alg":"none"}"#, claims, SECRET),
                "only HS256 subscriber tokens are accepted",
            ),
            (
                token(
                    HS256,
                    r#"{"exp":1700000000,"mercure":{"subscribe":["*"]}}"#,
                    SECRET,
                ),
                "token expired",
            ),
            (
                token(
                    HS256,
                    r#"{"nbf":1900000000,"mercure":{"subscribe":["*"]}}"#,
                    SECRET,
                ),
                "token not yet valid",
            ),
            (
                token(HS256, r#"{"mercure":{"publish":["*"]}}"#, SECRET),
                "token has no mercure.subscribe claim",
            ),
            ("a.b".to_owned(), "not a JWT"),
        ];
        for (token, expected) in cases {
            assert_eq!(verify_subscriber_jwt(&token, SECRET, now), Err(expected));
        }
        let good = token(HS256, claims, SECRET);
        let tampered = good.replacen('.', ".e", 1);
        assert!(verify_subscriber_jwt(&tampered, SECRET, now).is_err());
    }

    #[test]
    fn topics_match_exactly_or_by_wildcard() {
        let event = LoggedEvent {
            id: 1,
            event_type: "responded".into(),
            request_id: "r1".into(),
            client_key_id: "k1".into(),
            expert_id: "e1".into(),
            payload: "{}".into(),
            created_at: 0,
        };
        let any = TopicFilter::new(vec!["*".into()], None);
        assert!(any.matches(&event));
        let exact = TopicFilter::new(vec!["/heysummon/requests/r1".into()], None);
        assert!(exact.matches(&event));
        let other = TopicFilter::new(vec!["/heysummon/requests/r2".into()], None);
        assert!(!other.matches(&event));
        let restricted =
            TopicFilter::new(vec!["*".into()], Some(vec!["/heysummon/experts/e2".into()]));
        assert!(!restricted.matches(&event));
        let allowed =
            TopicFilter::new(vec!["*".into()], Some(vec!["/heysummon/experts/e1".into()]));
        assert!(allowed.matches(&event));
    }

    #[test]
    fn query_parsing() {
        let query = "topic=%2Fheysummon%2Frequests%2Fr1&topic=*&lastEventID=42";
        assert_eq!(requested_topics(query), vec!["/heysummon/requests/r1", "*"]);
        assert_eq!(query_last_event_id(query).as_deref(), Some("42"));
    }
}
