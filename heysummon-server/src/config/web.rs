//! Settings of the expert's side on the web: the public URL and the sign-in providers.

use std::collections::HashMap;

use serde::Deserialize;

use super::auth::{AllowRule, GOOGLE_NAMES, GitHubConfig, OIDC_NAMES, OidcConfig};
use super::{ConfigError, Overrides};

/// The providers' ids, in the order the sign-in page shows them.
pub const PROVIDER_IDS: [&str; 3] = ["github", "google", "oidc"];

/// Sign-in providers (PROTOCOL E2) under `[auth.*]`, and who may link an identity by a
/// verified e-mail address (`[[auth.allow]]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `[auth.github]`.
    pub github: Option<GitHubConfig>,
    /// `[auth.google]`.
    pub google: Option<OidcConfig>,
    /// `[auth.oidc]`: any OpenID Connect provider.
    pub oidc: Option<OidcConfig>,
    /// `[[auth.allow]]`: verified e-mail addresses that may link an identity to an expert.
    pub allow: Vec<AllowRule>,
}

impl AuthConfig {
    /// Whether a provider (`github`, `google`, `oidc`) is configured.
    pub fn has(&self, provider: &str) -> bool {
        match provider {
            "github" => self.github.is_some(),
            "google" => self.google.is_some(),
            "oidc" => self.oidc.is_some(),
            _ => false,
        }
    }

    /// The expert an allow-list rule gives this verified address when `provider` vouches for
    /// it (addresses compare without regard to ASCII case).
    pub fn allowed_expert(&self, provider: &str, email: &str) -> Option<&str> {
        let email = normalized_email(email);
        self.allow
            .iter()
            .filter(|rule| {
                rule.providers.is_empty() || rule.providers.iter().any(|p| p == provider)
            })
            .find(|rule| rule.emails.iter().any(|e| normalized_email(e) == email))
            .map(|rule| rule.expert.as_str())
    }

    /// The client secrets given in `HEYSUMMON_AUTH_*_CLIENT_SECRET`, over the file's.
    pub(super) fn apply_overrides(&mut self, overrides: &Overrides) -> Result<(), ConfigError> {
        let secrets = [
            (
                "HEYSUMMON_AUTH_GITHUB_CLIENT_SECRET",
                &overrides.auth_github_client_secret,
                self.github.as_mut().map(|c| &mut c.client_secret),
            ),
            (
                "HEYSUMMON_AUTH_GOOGLE_CLIENT_SECRET",
                &overrides.auth_google_client_secret,
                self.google.as_mut().map(|c| &mut c.client_secret),
            ),
            (
                "HEYSUMMON_AUTH_OIDC_CLIENT_SECRET",
                &overrides.auth_oidc_client_secret,
                self.oidc.as_mut().map(|c| &mut c.client_secret),
            ),
        ];
        for (name, secret, slot) in secrets {
            match (secret, slot) {
                (Some(secret), Some(slot)) => *slot = Some(secret.clone()),
                (Some(_), None) => {
                    return Err(ConfigError::Invalid {
                        name,
                        message: "is set, but its [auth.*] section is not configured".into(),
                    });
                }
                (None, _) => {}
            }
        }
        Ok(())
    }

    /// Checks the providers and the allow-list.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(github) = &self.github {
            github.validate()?;
        }
        if let Some(google) = &self.google {
            google.validate(&GOOGLE_NAMES)?;
        }
        if let Some(oidc) = &self.oidc {
            oidc.validate(&OIDC_NAMES)?;
        }
        let invalid = |message: String| ConfigError::Invalid {
            name: "auth.allow",
            message,
        };
        let mut owners: HashMap<String, &str> = HashMap::new();
        for rule in &self.allow {
            if rule.expert.trim().is_empty() {
                return Err(invalid("expert must not be empty".into()));
            }
            if rule.emails.is_empty() {
                return Err(invalid(format!(
                    "the rule of expert {} has no emails",
                    rule.expert
                )));
            }
            if let Some(p) = rule.providers.iter().find(|p| !self.has(p)) {
                return Err(invalid(format!(
                    "provider {p:?} of the rule of expert {} is not configured",
                    rule.expert
                )));
            }
            for email in &rule.emails {
                if !is_email(email) {
                    return Err(invalid(format!("{email:?} is not an e-mail address")));
                }
                let owner = owners
                    .entry(normalized_email(email))
                    .or_insert(&rule.expert);
                if *owner != rule.expert {
                    return Err(invalid(format!(
                        "{email:?} is allowed for two experts ({owner} and {})",
                        rule.expert
                    )));
                }
            }
        }
        Ok(())
    }
}

/// An address as the allow-list compares it.
fn normalized_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// `local@domain`, one `@`, no spaces.
fn is_email(email: &str) -> bool {
    let email = email.trim();
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

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
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(invalid("must be an absolute URL with a host and no query"));
    }
    // The dashboard, its cookies and the sign-in callbacks live at the root of the origin.
    if rest.contains('/') {
        return Err(invalid(
            "must be an origin without a path (https://pager.example.com): the dashboard is served at /",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::SecretString;
    use super::*;

    #[test]
    fn public_urls_are_checked_and_normalized() {
        assert_eq!(
            normalized_public_url("https://pager.example.com/").unwrap(),
            "https://pager.example.com"
        );
        assert_eq!(
            normalized_public_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "pager.example.com",
            "ftp://x",
            "https://",
            "https://x/?a=b",
            "https://x/hs",
        ] {
            assert!(normalized_public_url(bad).is_err(), "{bad}");
        }
    }

    fn parse(text: &str) -> Result<AuthConfig, ConfigError> {
        let auth: AuthConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            name: "toml",
            message: e.to_string(),
        })?;
        auth.validate()?;
        Ok(auth)
    }

    const GITHUB: &str = "[github]\nclient_id = \"id\"\nclient_secret = \"s\"\n";

    #[test]
    fn providers_take_defaults_and_need_credentials() {
        let auth = parse(GITHUB).unwrap();
        let github = auth.github.unwrap();
        assert_eq!(github.authorize_url, super::super::GITHUB_AUTHORIZE_URL);
        assert_eq!(github.api_url, "https://api.github.com");
        let google = parse("[google]\nclient_id = \"id\"\nclient_secret = \"s\"\n").unwrap();
        assert_eq!(google.google.unwrap().scopes, ["email", "profile"]);
        for bad in [
            "[github]\nclient_id = \"id\"\n",
            "[github]\nclient_id = \" \"\nclient_secret = \"s\"\n",
            "[oidc]\nclient_id = \"id\"\nclient_secret = \"s\"\n",
            "[oidc]\nissuer = \"http://sso.example.com\"\nclient_id = \"i\"\nclient_secret = \"s\"\n",
            "[oidc]\nissuer = \"https://sso.example.com\"\nclient_id = \"i\"\nclient_secret = \"s\"\n\
             scopes = [\"a b\"]\n",
            "[github]\nclient_id = \"id\"\nclient_secret = \"s\"\ntoken_url = \"not a url\"\n",
            "[github]\nclient_id = \"id\"\nclient_secret = \"s\"\nsecret = \"typo\"\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for loopback in [
            "http://127.0.0.1:9",
            "http://[::1]:9",
            "http://localhost:9/x",
        ] {
            let text = format!(
                "[oidc]\nissuer = \"{loopback}\"\nclient_id = \"i\"\nclient_secret = \"s\"\n"
            );
            assert!(parse(&text).is_ok(), "{loopback}");
        }
    }

    #[test]
    fn the_allow_list_is_checked_and_matches_without_regard_to_case() {
        let rules = format!(
            "{GITHUB}[[allow]]\nexpert = \"e1\"\nemails = [\"Alice@Example.com\"]\n\
             [[allow]]\nexpert = \"e2\"\nemails = [\"bob@example.com\"]\nproviders = [\"github\"]\n"
        );
        let auth = parse(&rules).unwrap();
        assert_eq!(auth.allowed_expert("oidc", "alice@example.COM"), Some("e1"));
        assert_eq!(auth.allowed_expert("github", "bob@example.com"), Some("e2"));
        assert_eq!(auth.allowed_expert("google", "bob@example.com"), None);
        assert_eq!(auth.allowed_expert("github", "carol@example.com"), None);
        for bad in [
            "[[allow]]\nexpert = \"\"\nemails = [\"a@b\"]\n",
            "[[allow]]\nexpert = \"e1\"\nemails = []\n",
            "[[allow]]\nexpert = \"e1\"\nemails = [\"not-an-address\"]\n",
            "[[allow]]\nexpert = \"e1\"\nemails = [\"a@b\"]\nproviders = [\"google\"]\n",
            "[[allow]]\nexpert = \"e1\"\nemails = [\"a@b\"]\n\
             [[allow]]\nexpert = \"e2\"\nemails = [\"A@B\"]\n",
        ] {
            let text = format!("{GITHUB}{bad}");
            assert!(parse(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_from_the_environment_need_their_section() {
        let mut auth = parse(GITHUB).unwrap();
        let overrides = Overrides {
            auth_github_client_secret: Some(SecretString::new("from-env")),
            ..Overrides::default()
        };
        auth.apply_overrides(&overrides).unwrap();
        let github = auth.github.as_ref().unwrap();
        assert_eq!(github.client_secret.as_ref().unwrap().expose(), "from-env");
        assert!(!format!("{auth:?}").contains("from-env"));
        let overrides = Overrides {
            auth_oidc_client_secret: Some(SecretString::new("from-env")),
            ..Overrides::default()
        };
        assert!(auth.apply_overrides(&overrides).is_err());
    }
}
