//! OpenID Connect (`[auth.google]`, `[auth.oidc]`) with the `openidconnect` crate: discovery,
//! the authorization request with PKCE (S256) and a nonce, the code exchange, and the ID
//! token's checks (signature against the provider's JWKS, issuer, audience, nonce, expiry).
//!
//! The endpoints and signing keys are fetched on first use and kept for 10 minutes; an ID token
//! signed with a key not among them fetches them again once (the provider rotated its keys).

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse, TokenUrl, UserInfoUrl,
};
use tokio::sync::Mutex;

use super::flow::FlowValues;
use super::{Failed, Identity};
use crate::clock::Millis;
use crate::config::{GOOGLE_ISSUER, OidcConfig};

/// How long discovered endpoints and keys are kept.
const CACHE_FOR: Duration = Duration::from_secs(600);

/// The signature algorithms accepted on ID tokens: asymmetric ones only (never an HMAC keyed
/// with the client secret).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// An OpenID Connect provider.
pub(super) struct Oidc {
    config: OidcConfig,
    issuer: String,
    cache: Mutex<Option<(Instant, Arc<Endpoints>)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

/// Where the provider's endpoints and keys are.
struct Endpoints {
    issuer: IssuerUrl,
    authorize: AuthUrl,
    token: TokenUrl,
    userinfo: Option<UserInfoUrl>,
    keys: CoreJsonWebKeySet,
}

impl Oidc {
    /// A provider from its (validated) settings; `issuer` is the configured or default one.
    pub(super) fn new(config: OidcConfig, issuer: String) -> Self {
        Self {
            config,
            issuer,
            cache: Mutex::new(None),
        }
    }

    /// The provider's authorization URL for a sign-in.
    pub(super) async fn authorize_url(
        &self,
        http: &reqwest::Client,
        redirect: RedirectUrl,
        values: &FlowValues,
    ) -> Result<String, Failed> {
        let endpoints = self.endpoints(http, false).await?;
        let verifier = PkceCodeVerifier::new(values.verifier.clone());
        let (state, nonce) = (values.state.clone(), values.nonce.clone());
        let (url, _, _) = self
            .client(&endpoints, redirect)
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scopes(
                (self.config.scopes.iter())
                    .filter(|scope| *scope != "openid")
                    .map(|scope| Scope::new(scope.clone())),
            )
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .url();
        Ok(url.into())
    }

    /// Redeems an authorization code and checks the ID token: who signed in, and their e-mail
    /// address when the provider vouches for it. `now` is the server's time (ID token expiry).
    pub(super) async fn identity(
        &self,
        http: &reqwest::Client,
        redirect: RedirectUrl,
        code: &str,
        values: &FlowValues,
        now: Millis,
    ) -> Result<Identity, Failed> {
        let endpoints = self.endpoints(http, false).await?;
        let client = self.client(&endpoints, redirect);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(values.verifier.clone()))
            .request_async(http)
            .await
            .map_err(|error| Failed::because("the token endpoint refused the code", &error))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| Failed::new("the token response has no ID token"))?;
        let nonce = Nonce::new(values.nonce.clone());
        let claims = match id_token.claims(&self.verifier(&endpoints, now), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Perhaps signed with a key published since: fetch the keys again, once.
                let endpoints = self.endpoints(http, true).await?;
                id_token
                    .claims(&self.verifier(&endpoints, now), &nonce)
                    .cloned()
            }
            other => other.cloned(),
        }
        .map_err(|error| Failed::because("the ID token is not valid", &error))?;
        if !self.accepts_issuer(claims.issuer().as_str()) {
            return Err(Failed::new(format!(
                "the ID token's issuer {:?} is not {:?}",
                claims.issuer().as_str(),
                self.issuer
            )));
        }
        let subject = claims.subject().to_string();
        let mut email = claims
            .email()
            .map(|email| (email.to_string(), claims.email_verified() == Some(true)));
        if let (None, Some(userinfo)) = (&email, &endpoints.userinfo) {
            let info: CoreUserInfoClaims = client
                .clone()
                .set_user_info_url(userinfo.clone())
                .user_info(
                    response.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .request_async(http)
                .await
                .map_err(|error| Failed::because("the UserInfo endpoint failed", &error))?;
            email = info
                .email()
                .map(|email| (email.to_string(), info.email_verified() == Some(true)));
        }
        let verified_emails = email
            .filter(|(_, verified)| *verified)
            .map(|(email, _)| email)
            .into_iter()
            .collect();
        Ok(Identity {
            subject,
            verified_emails,
        })
    }

    fn client(&self, endpoints: &Endpoints, redirect: RedirectUrl) -> Client {
        CoreClient::new(
            ClientId::new(self.config.client_id.clone()),
            endpoints.issuer.clone(),
            endpoints.keys.clone(),
        )
        .set_client_secret(self.client_secret())
        .set_auth_uri(endpoints.authorize.clone())
        .set_token_uri(endpoints.token.clone())
        .set_redirect_uri(redirect)
    }

    /// The ID token checks: signature (asymmetric algorithms only) against the provider's
    /// keys, audience, nonce, expiry at `now`; the issuer too, except for Google (see
    /// [`Oidc::accepts_issuer`]).
    fn verifier(&self, endpoints: &Endpoints, now: Millis) -> CoreIdTokenVerifier<'static> {
        CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(self.config.client_id.clone()),
            self.client_secret(),
            endpoints.issuer.clone(),
            endpoints.keys.clone(),
        )
        .set_allowed_algs(ALGORITHMS)
        .require_issuer_match(self.issuer != GOOGLE_ISSUER)
        .set_time_fn(move || chrono::DateTime::from_timestamp_millis(now).unwrap_or_default())
    }

    /// Whether an ID token's `iss` is this provider's. Google documents two spellings of its
    /// issuer in ID tokens, with and without the scheme.
    fn accepts_issuer(&self, issuer: &str) -> bool {
        issuer == self.issuer || (self.issuer == GOOGLE_ISSUER && issuer == "accounts.google.com")
    }

    fn client_secret(&self) -> ClientSecret {
        ClientSecret::new(
            self.config
                .client_secret
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
        )
    }

    /// The endpoints and keys: kept ones while fresh (unless `refresh`), else fetched. A
    /// failed fetch falls back on stale ones, if any.
    async fn endpoints(
        &self,
        http: &reqwest::Client,
        refresh: bool,
    ) -> Result<Arc<Endpoints>, Failed> {
        let mut cache = self.cache.lock().await;
        if let Some((at, endpoints)) = cache.as_ref()
            && !refresh
            && at.elapsed() < CACHE_FOR
        {
            return Ok(endpoints.clone());
        }
        match self.fetch(http).await {
            Ok(endpoints) => {
                let endpoints = Arc::new(endpoints);
                *cache = Some((Instant::now(), endpoints.clone()));
                Ok(endpoints)
            }
            Err(error) => match cache.as_ref() {
                Some((_, stale)) => {
                    tracing::warn!(issuer = %self.issuer, reason = %error, "using the provider's previous endpoints and keys");
                    Ok(stale.clone())
                }
                None => Err(error),
            },
        }
    }

    /// Discovery (unless every endpoint is configured), with the configured URLs over the
    /// discovered ones.
    async fn fetch(&self, http: &reqwest::Client) -> Result<Endpoints, Failed> {
        let c = &self.config;
        let url =
            |name: &str, value: &str| Failed::new(format!("the {name} URL {value:?} is not valid"));
        let issuer =
            IssuerUrl::new(self.issuer.clone()).map_err(|_| url("issuer", &self.issuer))?;
        let discovered = if c.needs_discovery() {
            Some(
                CoreProviderMetadata::discover_async(issuer.clone(), http)
                    .await
                    .map_err(|error| Failed::because("discovery failed", &error))?,
            )
        } else {
            None
        };
        let authorize = match (&c.authorize_url, &discovered) {
            (Some(u), _) => AuthUrl::new(u.clone()).map_err(|_| url("authorization", u))?,
            (None, Some(d)) => d.authorization_endpoint().clone(),
            (None, None) => return Err(Failed::new("no authorization endpoint")),
        };
        let token = match (&c.token_url, &discovered) {
            (Some(u), _) => TokenUrl::new(u.clone()).map_err(|_| url("token", u))?,
            (None, Some(d)) => d
                .token_endpoint()
                .cloned()
                .ok_or_else(|| Failed::new("discovery names no token endpoint"))?,
            (None, None) => return Err(Failed::new("no token endpoint")),
        };
        let userinfo = match (&c.userinfo_url, &discovered) {
            (Some(u), _) => Some(UserInfoUrl::new(u.clone()).map_err(|_| url("userinfo", u))?),
            (None, Some(d)) => d.userinfo_endpoint().cloned(),
            (None, None) => None,
        };
        let keys = match (&c.jwks_url, discovered) {
            (Some(u), _) => {
                let jwks = JsonWebKeySetUrl::new(u.clone()).map_err(|_| url("JWKS", u))?;
                CoreJsonWebKeySet::fetch_async(&jwks, http)
                    .await
                    .map_err(|error| Failed::because("fetching the signing keys failed", &error))?
            }
            (None, Some(d)) => d.jwks().clone(),
            (None, None) => return Err(Failed::new("no JWKS")),
        };
        Ok(Endpoints {
            issuer,
            authorize,
            token,
            userinfo,
            keys,
        })
    }
}
