//! Fuzz target `mercure_jwt`: the Mercure subscriber JWT parser of the server
//! (`heysummon_server::mercure::verify_subscriber_jwt`) and its query parsers
//! (`requested_topics`, `query_last_event_id`) on arbitrary input. Nothing may panic, and a token
//! may be accepted only with the hub's HMAC-SHA256 over its first two parts.
//!
//! Input: the bytes (lossy UTF-8) as the token and as the query string.
//!
//! Shared by `fuzz/fuzz_targets/mercure_jwt.rs` and `tests/fuzz_corpus/main.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use heysummon_server::mercure::{query_last_event_id, requested_topics, verify_subscriber_jwt};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The hub secret.
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
/// The hub's clock (milliseconds).
const NOW_MS: i64 = 1_777_000_000_000;

fn mac(signed: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// One fuzz input.
pub(crate) fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(selectors) = verify_subscriber_jwt(&text, SECRET, NOW_MS) {
        assert!(!selectors.is_empty());
        let (signed, signature) = text.rsplit_once('.').expect("an accepted JWT has dots");
        assert_eq!(URL_SAFE_NO_PAD.decode(signature).ok(), Some(mac(signed)));
    }
    for topic in requested_topics(&text) {
        assert!(!topic.is_empty());
    }
    let _ = query_last_event_id(&text);
}

/// Builds a token signed with the hub secret.
fn token(header: &str, claims: &str) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = URL_SAFE_NO_PAD.encode(mac(&signed));
    format!("{signed}.{signature}")
}

/// Valid tokens, tokens refused for each reason, and query strings.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
    [
        token(HS256, r#"{"exp":2000000000,"mercure":{"subscribe":["*"]}}"#),
        token(
            HS256,
            r#"{"mercure":{"subscribe":["/heysummon/requests/r1","/heysummon/experts/e1"]}}"#,
        ),
        token(HS256, r#"{"exp":1700000000,"mercure":{"subscribe":["*"]}}"#),
        token(HS256, r#"{"nbf":1900000000,"mercure":{"subscribe":["*"]}}"#),
        token(HS256, r#"{"mercure":{"publish":["*"]}}"#),
        token(r#"{"alg":"none"}"#, r#"{"mercure":{"subscribe":["*"]}}"#),
        "a.b".to_owned(),
        "topic=%2Fheysummon%2Frequests%2Fr1&topic=*&lastEventID=42".to_owned(),
        "topic=&Last-Event-ID=7&lastEventId=8".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}
