//! A fake OAuth 2.0 / OpenID Connect provider for tests: a real HTTP server on 127.0.0.1:0 that
//! speaks enough of the protocols for the server's sign-in (PROTOCOL E2), GitHub's flavour
//! included, and checks what a real provider checks.
//!
//! - `/.well-known/openid-configuration` (discovery) and `/jwks` (its RS256 key);
//! - `/authorize`: records the request (state, PKCE challenge, nonce, …) and redirects straight
//!   back to the `redirect_uri` with a code and the state, as a provider does once its user has
//!   agreed;
//! - `/token`: redeems a code once, checking the client's credentials (HTTP Basic or the form),
//!   the `redirect_uri` and the PKCE verifier against the recorded S256 challenge; answers an
//!   access token and, when `openid` was asked for, an ID token signed with its key;
//! - `/userinfo`, and GitHub's `/api/user` and `/api/user/emails`.
//!
//! ```no_run
//! # async fn run() {
//! use heysummon_server::testing::TestApp;
//! use heysummon_server::testing::fake_oauth::{FakeIdentity, FakeProvider};
//!
//! let fake = FakeProvider::start().await;
//! fake.set_identity(FakeIdentity::new("248289761001").email("alice@example.com", true));
//! let app = TestApp::builder()
//!     .config(|c| c.auth.oidc = Some(fake.oidc_config()))
//!     .spawn()
//!     .await;
//! // A browser opening {app.base}/auth/login/oidc is signed in as whoever the identity is
//! // linked to; `fake.config_toml("oidc")` is the same setting for a configuration file.
//! # }
//! ```

mod endpoints;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{GitHubConfig, OidcConfig, SecretString};

/// The client id the fake accepts.
pub const CLIENT_ID: &str = "heysummon-test-client";
/// The client secret the fake accepts.
pub const CLIENT_SECRET: &str = "fake-provider-client-secret-0123456789";

/// Who the fake says signs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeIdentity {
    /// The stable subject (`sub`; for GitHub the numeric user id, digits only).
    pub subject: String,
    /// The e-mail address, if any.
    pub email: Option<String>,
    /// Whether the provider vouches for the address.
    pub email_verified: bool,
}

impl FakeIdentity {
    /// An identity without an e-mail address.
    pub fn new(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            email: None,
            email_verified: false,
        }
    }

    /// With an e-mail address, verified or not.
    #[must_use]
    pub fn email(mut self, email: &str, verified: bool) -> Self {
        self.email = Some(email.to_owned());
        self.email_verified = verified;
        self
    }
}

/// Ways the fake misbehaves, to test that the server refuses what it should.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tampering {
    /// The ID token's `iss` instead of the fake's issuer.
    pub issuer: Option<String>,
    /// The ID token's `aud` instead of the client id.
    pub audience: Option<String>,
    /// The ID token's `nonce` instead of the one the authorization request carried.
    pub nonce: Option<String>,
    /// An ID token that expired a minute ago.
    pub expired: bool,
    /// An ID token signed with a key that is not in the JWKS (under the published key's id).
    pub foreign_key: bool,
    /// No `email` / `email_verified` in the ID token (the server must ask UserInfo).
    pub email_only_in_userinfo: bool,
    /// `/authorize` answers `error=access_denied`, as when the person declines.
    pub deny: bool,
}

/// An authorization request as the fake received it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthorizationSeen {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// `scope`.
    pub scope: String,
    /// `state`.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
}

/// A running fake provider. Dropping it stops it.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<endpoints::Fake>,
    serving: JoinHandle<()>,
}

impl std::fmt::Debug for FakeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeProvider")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// What the fake remembers between requests.
#[derive(Debug)]
struct State {
    identity: FakeIdentity,
    tampering: Tampering,
    clock: Clock,
    authorizations: Vec<AuthorizationSeen>,
    token_refusals: Vec<String>,
    codes: HashMap<String, endpoints::Grant>,
    tokens: HashMap<String, FakeIdentity>,
}

impl FakeProvider {
    /// Starts a fake on 127.0.0.1 (a free port), on the system clock, with the identity
    /// `FakeIdentity::new("10001")`.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the fake provider");
        let addr = listener.local_addr().expect("its address");
        let shared = Arc::new(endpoints::Fake {
            issuer: format!("http://{addr}"),
            state: Mutex::new(State {
                identity: FakeIdentity::new("10001"),
                tampering: Tampering::default(),
                clock: Clock::system(),
                authorizations: Vec::new(),
                token_refusals: Vec::new(),
                codes: HashMap::new(),
                tokens: HashMap::new(),
            }),
        });
        let router = endpoints::router(shared.clone());
        let serving = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            addr,
            shared,
            serving,
        }
    }

    /// `http://127.0.0.1:PORT`: the issuer, and the base of every endpoint.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// Who signs in from now on.
    pub fn set_identity(&self, identity: FakeIdentity) {
        self.state().identity = identity;
    }

    /// How the fake misbehaves from now on (`Tampering::default()`: not at all).
    pub fn set_tampering(&self, tampering: Tampering) {
        self.state().tampering = tampering;
    }

    /// The clock of the ID tokens' `iat` and `exp` (give it the server's manual clock).
    pub fn set_clock(&self, clock: &Clock) {
        self.state().clock = clock.clone();
    }

    /// The authorization requests received, oldest first.
    pub fn authorizations(&self) -> Vec<AuthorizationSeen> {
        self.state().authorizations.clone()
    }

    /// Why the token endpoint refused requests, oldest first.
    pub fn token_refusals(&self) -> Vec<String> {
        self.state().token_refusals.clone()
    }

    /// `[auth.oidc]` (or `[auth.google]`) for this fake, by discovery.
    pub fn oidc_config(&self) -> OidcConfig {
        OidcConfig {
            name: Some("Fake OIDC".to_owned()),
            issuer: Some(self.issuer()),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(SecretString::new(CLIENT_SECRET)),
            authorize_url: None,
            token_url: None,
            jwks_url: None,
            userinfo_url: None,
            scopes: vec!["email".to_owned(), "profile".to_owned()],
        }
    }

    /// [`FakeProvider::oidc_config`] with every endpoint given, so no discovery.
    pub fn oidc_config_without_discovery(&self) -> OidcConfig {
        let issuer = self.issuer();
        OidcConfig {
            authorize_url: Some(format!("{issuer}/authorize")),
            token_url: Some(format!("{issuer}/token")),
            jwks_url: Some(format!("{issuer}/jwks")),
            userinfo_url: Some(format!("{issuer}/userinfo")),
            ..self.oidc_config()
        }
    }

    /// `[auth.github]` for this fake.
    pub fn github_config(&self) -> GitHubConfig {
        let issuer = self.issuer();
        GitHubConfig {
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(SecretString::new(CLIENT_SECRET)),
            authorize_url: format!("{issuer}/authorize"),
            token_url: format!("{issuer}/token"),
            api_url: format!("{issuer}/api"),
        }
    }

    /// The configuration file's section pointing a server at this fake: `section` is
    /// `github`, `google` or `oidc`.
    pub fn config_toml(&self, section: &str) -> String {
        let issuer = self.issuer();
        let endpoints = if section == "github" {
            format!(
                "authorize_url = \"{issuer}/authorize\"\ntoken_url = \"{issuer}/token\"\n\
                 api_url = \"{issuer}/api\"\n"
            )
        } else {
            format!("issuer = \"{issuer}\"\n")
        };
        format!(
            "[auth.{section}]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n\
             {endpoints}"
        )
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().expect("the fake's state")
    }
}
