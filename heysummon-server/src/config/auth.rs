//! The sign-in providers under `[auth.github]`, `[auth.google]` and `[auth.oidc]`, and the
//! allow-list `[[auth.allow]]` (PROTOCOL E2). Every endpoint URL can be set, so a test runs its
//! own provider on loopback; outside loopback they must be https.

use serde::Deserialize;

use super::{ConfigError, SecretString};

/// GitHub's authorization endpoint.
pub const GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
/// GitHub's token endpoint.
pub const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// GitHub's REST API.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// Google's OpenID Connect issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// `[auth.github]`: OAuth 2.0 with GitHub (no OpenID Connect there). The person's stable id is
/// GitHub's numeric user id, read from `{api_url}/user`; verified e-mail addresses come from
/// `{api_url}/user/emails`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubConfig {
    /// The OAuth app's client id.
    pub client_id: String,
    /// The OAuth app's client secret (or `HEYSUMMON_AUTH_GITHUB_CLIENT_SECRET`).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint [default: github.com's].
    #[serde(default = "github_authorize_url")]
    pub authorize_url: String,
    /// Token endpoint [default: github.com's].
    #[serde(default = "github_token_url")]
    pub token_url: String,
    /// Base of the REST API [default: `https://api.github.com`].
    #[serde(default = "github_api_url")]
    pub api_url: String,
}

fn github_authorize_url() -> String {
    GITHUB_AUTHORIZE_URL.to_owned()
}

fn github_token_url() -> String {
    GITHUB_TOKEN_URL.to_owned()
}

fn github_api_url() -> String {
    GITHUB_API_URL.to_owned()
}

/// `[auth.google]` and `[auth.oidc]`: OpenID Connect. The endpoints come from the issuer's
/// discovery document (`{issuer}/.well-known/openid-configuration`) unless `authorize_url`,
/// `token_url` and `jwks_url` are all set; each URL that is set replaces the discovered one.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The sign-in button's label [default: "Google", "OpenID Connect"].
    #[serde(default)]
    pub name: Option<String>,
    /// The issuer, exactly as ID tokens name it. Required for `[auth.oidc]`; Google's is
    /// `https://accounts.google.com`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The client id registered with the provider.
    pub client_id: String,
    /// The client secret (or `HEYSUMMON_AUTH_GOOGLE_CLIENT_SECRET` /
    /// `HEYSUMMON_AUTH_OIDC_CLIENT_SECRET`).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Authorization endpoint [default: discovered].
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// Token endpoint [default: discovered].
    #[serde(default)]
    pub token_url: Option<String>,
    /// The provider's signing keys (JWKS) [default: discovered].
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// UserInfo endpoint, asked for the e-mail address when the ID token has none
    /// [default: discovered].
    #[serde(default)]
    pub userinfo_url: Option<String>,
    /// Scopes asked for besides `openid` [default: `email`, `profile`].
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["email".to_owned(), "profile".to_owned()]
}

impl OidcConfig {
    /// Whether the endpoints are all given, so no discovery is needed.
    pub fn needs_discovery(&self) -> bool {
        self.authorize_url.is_none() || self.token_url.is_none() || self.jwks_url.is_none()
    }
}

/// `[[auth.allow]]`: the verified e-mail addresses that may sign in as an expert. A person who
/// signs in with an identity not linked yet, whose provider vouches for one of these addresses,
/// is linked to the expert (provider + subject), so later sign-ins go by that identity.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    /// The expert's id.
    pub expert: String,
    /// The addresses (compared without regard to ASCII case).
    pub emails: Vec<String>,
    /// The providers whose word on an address is trusted for this rule (`github`, `google`,
    /// `oidc`) [default: every configured provider].
    #[serde(default)]
    pub providers: Vec<String>,
}

/// Checks an endpoint URL: absolute, https, or http on a loopback host (tests, a provider on
/// the same machine).
pub(super) fn check_endpoint(name: &'static str, url: &str) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid { name, message };
    let parsed = openidconnect::url::Url::parse(url)
        .map_err(|error| invalid(format!("{url:?} is not a URL: {error}")))?;
    let loopback = match parsed.host() {
        Some(openidconnect::url::Host::Domain(domain)) => domain == "localhost",
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid(format!("{url:?} has no host"))),
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(format!(
            "{url:?} must be https (http only on a loopback address)"
        ))),
    }
}

/// Checks a client id and secret.
pub(super) fn check_client(
    section: &'static str,
    client_id: &str,
    client_secret: Option<&SecretString>,
) -> Result<(), ConfigError> {
    if client_id.trim().is_empty() {
        return Err(ConfigError::Invalid {
            name: section,
            message: "client_id must not be empty".into(),
        });
    }
    if client_secret.is_none_or(|secret| secret.expose().trim().is_empty()) {
        return Err(ConfigError::Invalid {
            name: section,
            message:
                "client_secret is required (in the file or its HEYSUMMON_AUTH_*_CLIENT_SECRET \
                      variable)"
                    .into(),
        });
    }
    Ok(())
}

impl GitHubConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_client("auth.github", &self.client_id, self.client_secret.as_ref())?;
        check_endpoint("auth.github.authorize_url", &self.authorize_url)?;
        check_endpoint("auth.github.token_url", &self.token_url)?;
        check_endpoint("auth.github.api_url", &self.api_url)
    }
}

impl OidcConfig {
    /// `names`: the section and its URL settings, e.g. `auth.oidc`, `auth.oidc.issuer`, ….
    pub(super) fn validate(&self, names: &OidcNames) -> Result<(), ConfigError> {
        check_client(names.section, &self.client_id, self.client_secret.as_ref())?;
        let issuer =
            self.issuer
                .as_deref()
                .or(names.default_issuer)
                .ok_or(ConfigError::Invalid {
                    name: names.issuer,
                    message: "is required".into(),
                })?;
        check_endpoint(names.issuer, issuer)?;
        let urls = [
            (names.authorize_url, &self.authorize_url),
            (names.token_url, &self.token_url),
            (names.jwks_url, &self.jwks_url),
            (names.userinfo_url, &self.userinfo_url),
        ];
        for (name, url) in urls {
            if let Some(url) = url {
                check_endpoint(name, url)?;
            }
        }
        if self.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ConfigError::Invalid {
                name: names.section,
                message: "name must not be empty".into(),
            });
        }
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(ConfigError::Invalid {
                name: names.section,
                message: format!("scope {bad:?} must be one word"),
            });
        }
        Ok(())
    }
}

/// The setting names of one OpenID Connect section, for error messages.
pub(super) struct OidcNames {
    pub(super) section: &'static str,
    pub(super) default_issuer: Option<&'static str>,
    pub(super) issuer: &'static str,
    pub(super) authorize_url: &'static str,
    pub(super) token_url: &'static str,
    pub(super) jwks_url: &'static str,
    pub(super) userinfo_url: &'static str,
}

pub(super) const GOOGLE_NAMES: OidcNames = OidcNames {
    section: "auth.google",
    default_issuer: Some(GOOGLE_ISSUER),
    issuer: "auth.google.issuer",
    authorize_url: "auth.google.authorize_url",
    token_url: "auth.google.token_url",
    jwks_url: "auth.google.jwks_url",
    userinfo_url: "auth.google.userinfo_url",
};

pub(super) const OIDC_NAMES: OidcNames = OidcNames {
    section: "auth.oidc",
    default_issuer: None,
    issuer: "auth.oidc.issuer",
    authorize_url: "auth.oidc.authorize_url",
    token_url: "auth.oidc.token_url",
    jwks_url: "auth.oidc.jwks_url",
    userinfo_url: "auth.oidc.userinfo_url",
};
