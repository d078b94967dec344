//! GitHub (`[auth.github]`): OAuth 2.0 with the `oauth2` crate (GitHub has no OpenID Connect
//! for people signing in), then the REST API: `GET {api}/user` for the numeric user id (the
//! stable subject; a login name can be renamed and taken by someone else) and
//! `GET {api}/user/emails` for the verified addresses.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::flow::FlowValues;
use super::{Failed, Identity};
use crate::config::GitHubConfig;

/// The scopes asked for: the profile (for the id) and the e-mail addresses.
const SCOPES: [&str; 2] = ["read:user", "user:email"];
/// The REST API version the answers are read in.
const API_VERSION: &str = "2022-11-28";

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// GitHub as a sign-in provider.
pub(super) struct GitHub {
    config: GitHubConfig,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("client_id", &self.config.client_id)
            .field("api_url", &self.config.api_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct User {
    id: u64,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    verified: bool,
}

impl GitHub {
    /// GitHub from its (validated) settings.
    pub(super) fn new(config: GitHubConfig) -> Self {
        Self { config }
    }

    /// GitHub's authorization URL for a sign-in.
    pub(super) fn authorize_url(
        &self,
        redirect: RedirectUrl,
        values: &FlowValues,
    ) -> Result<String, Failed> {
        let verifier = PkceCodeVerifier::new(values.verifier.clone());
        let state = values.state.clone();
        let (url, _) = self
            .client(redirect)?
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(SCOPES.map(|s| Scope::new(s.to_owned())))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .url();
        Ok(url.into())
    }

    /// Redeems an authorization code, then asks the API who signed in and which of their
    /// addresses GitHub has verified.
    pub(super) async fn identity(
        &self,
        http: &reqwest::Client,
        redirect: RedirectUrl,
        code: &str,
        values: &FlowValues,
    ) -> Result<Identity, Failed> {
        let response = self
            .client(redirect)?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(values.verifier.clone()))
            .request_async(http)
            .await
            .map_err(|error| Failed::because("the token endpoint refused the code", &error))?;
        let token = response.access_token().secret();
        let user: User = self.get(http, token, "/user").await?;
        // The id alone signs in a linked identity; without the addresses (the scope was not
        // granted, the call failed) only the allow-list is out of reach.
        let verified_emails = match self.get::<Vec<Email>>(http, token, "/user/emails").await {
            Ok(emails) => emails
                .into_iter()
                .filter(|e| e.verified)
                .map(|e| e.email)
                .collect(),
            Err(error) => {
                tracing::warn!(reason = %error, "cannot read the GitHub user's e-mail addresses");
                Vec::new()
            }
        };
        Ok(Identity {
            subject: user.id.to_string(),
            verified_emails,
        })
    }

    fn client(&self, redirect: RedirectUrl) -> Result<Client, Failed> {
        let c = &self.config;
        let invalid = |name: &str| Failed::new(format!("the {name} URL is not valid"));
        Ok(BasicClient::new(ClientId::new(c.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                c.client_secret
                    .as_ref()
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default(),
            ))
            .set_auth_uri(AuthUrl::new(c.authorize_url.clone()).map_err(|_| invalid("authorize"))?)
            .set_token_uri(TokenUrl::new(c.token_url.clone()).map_err(|_| invalid("token"))?)
            .set_redirect_uri(redirect)
            // GitHub documents the credentials in the form body.
            .set_auth_type(AuthType::RequestBody))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        token: &str,
        path: &str,
    ) -> Result<T, Failed> {
        let url = format!("{}{path}", self.config.api_url.trim_end_matches('/'));
        let context = format!("GET {path} on the GitHub API failed");
        http.get(url)
            .bearer_auth(token)
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", API_VERSION)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| Failed::because(&context, &error))?
            .json()
            .await
            .map_err(|error| Failed::because(&context, &error))
    }
}
