//! Settings of the expert's side on the web: the public URL and the sign-in providers.

use serde::Deserialize;

use super::ConfigError;

/// Sign-in providers (PROTOCOL E2) under `[auth.*]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {}

/// Checks a public URL (`https://pager.example.com`, `http://127.0.0.1:8080`) and returns it
/// without a trailing slash.
pub(super) fn normalized_public_url(url: &str) -> Result<String, ConfigError> {
    let invalid = |message: &str| ConfigError::Invalid {
        name: "public_url",
        message: message.into(),
    };
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(invalid("must be an absolute URL with a host and no query"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_checked_and_normalized() {
        assert_eq!(
            normalized_public_url("https://pager.example.com/").unwrap(),
            "https://pager.example.com"
        );
        assert_eq!(
            normalized_public_url("http://127.0.0.1:8080/hs").unwrap(),
            "http://127.0.0.1:8080/hs"
        );
        for bad in ["pager.example.com", "ftp://x", "https://", "https://x/?a=b"] {
            assert!(normalized_public_url(bad).is_err(), "{bad}");
        }
    }
}
