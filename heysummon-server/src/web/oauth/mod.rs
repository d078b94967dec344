//! Signing in with OAuth 2.0 / OpenID Connect (PROTOCOL E2): GitHub, Google and one generic
//! OpenID Connect provider, as configured under `[auth.*]`.
//!
//! - `GET /auth/providers`: the configured providers, for the sign-in page;
//! - `GET /auth/login/{provider}`: a 303 to the provider with `state`, a PKCE challenge (S256)
//!   and, for OpenID Connect, a `nonce`; the browser gets the flow's secret ([`flow`]);
//! - `GET /auth/callback/{provider}`: checks the `state` against the browser's secret and uses
//!   the sign-in up, redeems the code with the PKCE verifier, learns who signed in ([`oidc`],
//!   [`github`]), finds their expert ([`expert`]) and ends in [`super::signin::complete`].
//!
//! Every refusal of a callback is a 303 to `/signin?error=not_linked` (nobody here has that
//! identity) or `/signin?error=failed` (anything else), its reason logged without secrets.
//! An unknown provider is a JSON 404.

mod expert;
mod flow;
mod github;
mod oidc;

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use oauth2::RedirectUrl;
use serde::Serialize;

use crate::app::openapi::Failure;
use crate::config::{Config, GOOGLE_ISSUER};
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::state::AppState;

/// Every call to a provider ends within this.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The configured sign-in providers and the HTTP client that reaches them.
pub(crate) struct SignInProviders {
    /// No redirects followed (a provider's answer is used as it is), a deadline on every call.
    /// `None` when it could not be built (logged at startup): every sign-in then fails.
    http: Option<reqwest::Client>,
    providers: Vec<Provider>,
    /// `{public_url or base}`: callbacks are `{base}/auth/callback/{id}`.
    base: String,
}

impl std::fmt::Debug for SignInProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInProviders")
            .field("providers", &self.providers)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Provider {
    id: &'static str,
    name: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    GitHub(github::GitHub),
    Oidc(oidc::Oidc),
}

/// Who signed in, as a provider says: its stable subject id and the addresses it vouches for.
#[derive(Debug)]
struct Identity {
    subject: String,
    verified_emails: Vec<String>,
}

/// Why a sign-in did not complete: a reason for the log (never a secret), and whether it is
/// only that nobody here has this identity.
#[derive(Debug)]
struct Failed {
    reason: String,
    not_linked: bool,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Failed {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            not_linked: false,
        }
    }

    fn not_linked(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            not_linked: true,
        }
    }

    /// A failure with an error and its sources, as text.
    fn because(context: &str, error: &dyn std::error::Error) -> Self {
        let mut reason = format!("{context}: {error}");
        let mut source = error.source();
        while let Some(cause) = source {
            reason.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Self::new(reason)
    }
}

impl SignInProviders {
    /// The providers of a (validated) configuration.
    pub(crate) fn from_config(config: &Config) -> Self {
        let auth = &config.auth;
        let mut providers = Vec::new();
        if let Some(github) = &auth.github {
            providers.push(Provider {
                id: "github",
                name: "GitHub".to_owned(),
                kind: Kind::GitHub(github::GitHub::new(github.clone())),
            });
        }
        for (id, default_name, oidc) in [
            ("google", "Google", &auth.google),
            ("oidc", "OpenID Connect", &auth.oidc),
        ] {
            if let Some(oidc) = oidc {
                let issuer = oidc
                    .issuer
                    .clone()
                    .unwrap_or_else(|| GOOGLE_ISSUER.to_owned());
                providers.push(Provider {
                    id,
                    name: oidc.name.clone().unwrap_or_else(|| default_name.to_owned()),
                    kind: Kind::Oidc(oidc::Oidc::new(oidc.clone(), issuer)),
                });
            }
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .user_agent(concat!("heysummon-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .inspect_err(|error| {
                tracing::error!(%error, "cannot build the HTTP client of the sign-in providers");
            })
            .ok();
        let base = config.base_url();
        for provider in &providers {
            tracing::info!(
                provider = provider.id,
                redirect_uri = %format!("{base}/auth/callback/{}", provider.id),
                "sign-in provider configured"
            );
        }
        Self {
            http,
            providers,
            base,
        }
    }

    fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    fn http(&self) -> Result<&reqwest::Client, Failed> {
        self.http
            .as_ref()
            .ok_or_else(|| Failed::new("no HTTP client for the providers"))
    }

    fn redirect_uri(&self, provider: &Provider) -> Result<RedirectUrl, Failed> {
        RedirectUrl::new(format!("{}/auth/callback/{}", self.base, provider.id))
            .map_err(|_| Failed::new("the redirect URI is not a URL"))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ProviderRef<'a> {
    id: &'a str,
    name: &'a str,
}

/// The configured sign-in providers.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Providers<'a> {
    providers: Vec<ProviderRef<'a>>,
}

/// `GET /auth/providers`: `{"providers":[{"id","name"}]}`, the configured ones.
#[utoipa::path(get, path = "/auth/providers", tag = "sign-in", security(()),
    responses((status = 200, description = "The configured providers", body = Providers<'_>), Failure),
)]
pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let providers: Vec<_> = state
        .sign_in
        .providers
        .iter()
        .map(|p| ProviderRef {
            id: p.id,
            name: &p.name,
        })
        .collect();
    Json(Providers { providers }).into_response()
}

fn unknown_provider() -> Response {
    ApiError::not_found("No such sign-in provider")
        .code("UNKNOWN_PROVIDER")
        .into_response()
}

/// A 303 for the browser, never stored by a cache.
fn see_other(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /auth/login/{provider}`: begins a sign-in.
#[utoipa::path(get, path = "/auth/login/{provider}", tag = "sign-in", security(()),
    params(("provider" = String, Path, description = "A provider's id (github, google, or a configured one)")),
    responses(
        (status = 303, description = "To the provider (or back to /signin?error=failed)"),
        Failure,
    ),
)]
pub(crate) async fn login(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(provider) = state.sign_in.get(&id) else {
        return unknown_provider();
    };
    match begin(&state, provider).await {
        Ok((location, cookie)) => {
            let mut response = see_other(&location);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(failed) => {
            tracing::warn!(provider = provider.id, reason = %failed.reason, "cannot begin a sign-in");
            see_other("/signin?error=failed")
        }
    }
}

/// The provider's URL and the flow cookie of a new sign-in.
async fn begin(state: &AppState, provider: &Provider) -> Result<(String, HeaderValue), Failed> {
    let secret = flow::FlowSecret::generate();
    let values = secret.values(provider.id);
    let redirect = state.sign_in.redirect_uri(provider)?;
    let location = match &provider.kind {
        Kind::GitHub(github) => github.authorize_url(redirect, &values)?,
        Kind::Oidc(oidc) => {
            oidc.authorize_url(state.sign_in.http()?, redirect, &values)
                .await?
        }
    };
    flow::begin(state, provider.id, &values)
        .await
        .map_err(|error| Failed::new(format!("store: {error}")))?;
    Ok((
        location,
        secret.set_cookie(provider.id, state.secure_cookies()),
    ))
}

/// `GET /auth/callback/{provider}?code&state` (or `?error&state`): completes a sign-in.
#[utoipa::path(get, path = "/auth/callback/{provider}", tag = "sign-in", security(()),
    params(
        ("provider" = String, Path, description = "The provider's id"),
        ("code" = Option<String>, Query, description = "The provider's authorization code"),
        ("state" = Option<String>, Query, description = "The state of the sign-in begun here"),
        ("error" = Option<String>, Query, description = "The provider's refusal"),
    ),
    responses(
        (status = 303, description = "Signed in: to the dashboard; else to /signin?error=…"),
        Failure,
    ),
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> Response {
    let Some(provider) = state.sign_in.get(&id) else {
        return unknown_provider();
    };
    let query = req
        .path_and_query
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let outcome = async {
        let values =
            flow::finish(&state, provider.id, &req.headers, param("state").as_deref()).await?;
        if let Some(error) = param("error") {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(Failed::new(format!("the provider answered {error}")));
        }
        let code = param("code").ok_or_else(|| Failed::new("the callback has no code"))?;
        let http = state.sign_in.http()?;
        let redirect = state.sign_in.redirect_uri(provider)?;
        let identity = match &provider.kind {
            Kind::GitHub(github) => github.identity(http, redirect, &code, &values).await?,
            Kind::Oidc(oidc) => {
                oidc.identity(http, redirect, &code, &values, state.clock.now())
                    .await?
            }
        };
        expert::resolve(&state, provider.id, &identity).await
    }
    .await;
    let mut response = match outcome {
        Ok(expert_id) => {
            match super::signin::complete(&state, &expert_id, provider.id, &req.headers).await {
                Ok(response) => {
                    tracing::info!(provider = provider.id, expert = %expert_id, "signed in");
                    response
                }
                Err(_) => see_other("/signin?error=failed"),
            }
        }
        Err(failed) => {
            tracing::warn!(provider = provider.id, reason = %failed.reason, "sign-in refused");
            see_other(if failed.not_linked {
                "/signin?error=not_linked"
            } else {
                "/signin?error=failed"
            })
        }
    };
    let secure = state.secure_cookies();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, flow::clear_cookie(provider.id, secure));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
