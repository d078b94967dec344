//! Sign-in providers (PROTOCOL E2) beyond the OpenID Connect flow: GitHub (OAuth 2.0 and its
//! API), Google's section, the provider list, unknown providers, the per-IP limit on
//! beginning sign-ins, and the configuration file.

use heysummon_server::config::{Config, Overrides, SecretString};
use heysummon_server::testing::fake_oauth::{CLIENT_SECRET, FakeIdentity, FakeProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestApp};
use crate::oauth::{allow, assert_refused, browser, me, sign_in};

/// A server with `[auth.github]` pointing at a fake whose allow-list names the first expert.
async fn github_app(email: &str) -> (TestApp, FakeProvider) {
    let fake = FakeProvider::start().await;
    let app = common::spawn_with(|c| c.auth.github = Some(fake.github_config())).await;
    fake.set_clock(&app.clock);
    let expert = app.expert_id.clone();
    let app = app
        .restart_with(|c| c.auth.allow = vec![allow(&expert, email)])
        .await;
    (app, fake)
}

#[tokio::test]
async fn github_signs_in_by_its_numeric_user_id() {
    let (app, fake) = github_app("octo@example.com").await;
    fake.set_identity(FakeIdentity::new("4242").email("octo@example.com", true));
    let response = sign_in(&app, "github").await;
    assert_eq!(
        me(&app, &response).await["expert"]["id"],
        app.expert_id.as_str()
    );
    let linked = app
        .store
        .expert_for_identity("github", "4242")
        .await
        .unwrap();
    assert_eq!(linked.as_deref(), Some(app.expert_id.as_str()));

    let seen = fake.authorizations().pop().unwrap();
    assert_eq!(seen.scope, "read:user user:email");
    assert_eq!(seen.code_challenge_method.as_deref(), Some("S256"));
    assert_eq!(seen.redirect_uri, app.url("/auth/callback/github"));
    assert_eq!(seen.nonce, None, "no OpenID Connect at GitHub");

    // By the id from now on, whatever the addresses.
    fake.set_identity(FakeIdentity::new("4242"));
    me(&app, &sign_in(&app, "github").await).await;
}

#[tokio::test]
async fn github_without_a_verified_allowed_address_is_refused() {
    let (app, fake) = github_app("octo@example.com").await;
    fake.set_identity(FakeIdentity::new("4243").email("octo@example.com", false));
    assert_refused(&sign_in(&app, "github").await, "not_linked");
    // A user id that is not a number is not GitHub's: refused, not guessed at.
    fake.set_identity(FakeIdentity::new("octocat").email("octo@example.com", true));
    assert_refused(&sign_in(&app, "github").await, "failed");
    assert_eq!(
        app.store
            .expert_for_identity("github", "4243")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn google_is_an_openid_connect_provider_of_its_own() {
    let fake = FakeProvider::start().await;
    let app = common::spawn_with(|c| {
        c.auth.google = Some(heysummon_server::config::OidcConfig {
            name: None,
            ..fake.oidc_config()
        });
    })
    .await;
    fake.set_clock(&app.clock);
    fake.set_identity(FakeIdentity::new("1170"));
    app.store
        .link_identity("google", "1170", &app.expert_id, app.clock.now())
        .await
        .unwrap();
    me(&app, &sign_in(&app, "google").await).await;
    let (status, body) = app
        .call(reqwest::Method::GET, "/auth/providers", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"providers": [{"id": "google", "name": "Google"}]})
    );
}

#[tokio::test]
async fn the_provider_list_names_the_configured_ones_in_order() {
    let app = common::spawn().await;
    let (status, body) = app
        .call(reqwest::Method::GET, "/auth/providers", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"providers": []}));

    let fake = FakeProvider::start().await;
    let app = common::spawn_with(|c| {
        c.auth.oidc = Some(fake.oidc_config());
        c.auth.github = Some(fake.github_config());
    })
    .await;
    let (_, body) = app
        .call(reqwest::Method::GET, "/auth/providers", None, None)
        .await;
    assert_eq!(
        body,
        json!({"providers": [
            {"id": "github", "name": "GitHub"},
            {"id": "oidc", "name": "Fake OIDC"},
        ]})
    );
}

#[tokio::test]
async fn unknown_providers_are_json_404s() {
    let fake = FakeProvider::start().await;
    let app = common::spawn_with(|c| c.auth.oidc = Some(fake.oidc_config())).await;
    for path in [
        "/auth/login/github",
        "/auth/login/nope",
        "/auth/callback/google?code=x&state=y",
    ] {
        let response = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "UNKNOWN_PROVIDER", "{path}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn beginning_sign_ins_is_limited_per_address() {
    let fake = FakeProvider::start().await;
    let app = common::spawn_with(|c| {
        c.auth.oidc = Some(fake.oidc_config());
        c.rate_limits.exempt_loopback = false;
        c.rate_limits.api_per_ip = 2;
    })
    .await;
    let login = || browser().get(app.url("/auth/login/oidc")).send();
    assert_eq!(login().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(login().await.unwrap().status(), StatusCode::SEE_OTHER);
    let refused = login().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn an_unreachable_provider_sends_the_browser_back_with_an_error() {
    let fake = FakeProvider::start().await;
    let config = fake.oidc_config();
    drop(fake);
    let app = common::spawn_with(|c| c.auth.oidc = Some(config)).await;
    let response = browser()
        .get(app.url("/auth/login/oidc"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/signin?error=failed");
}

#[tokio::test]
async fn the_fake_providers_config_snippet_loads_and_secrets_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    let fake = FakeProvider::start().await;
    let toml = format!(
        "{}\n{}\n[[auth.allow]]\nexpert = \"exp_1\"\nemails = [\"a@example.com\"]\n\
         providers = [\"github\"]\n",
        fake.config_toml("oidc"),
        fake.config_toml("github")
            .replace(&format!("client_secret = \"{CLIENT_SECRET}\"\n"), ""),
    );
    std::fs::write(&path, toml).unwrap();
    // GitHub's secret is missing from the file…
    let err = Config::load(Some(&path), None, &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("client_secret"), "{err}");
    // …and given in HEYSUMMON_AUTH_GITHUB_CLIENT_SECRET.
    let overrides = Overrides {
        auth_github_client_secret: Some(SecretString::new(CLIENT_SECRET)),
        ..Overrides::default()
    };
    let config = Config::load(Some(&path), None, &overrides).unwrap();
    assert!(
        !format!("{config:?}").contains(CLIENT_SECRET),
        "secrets stay out of Debug"
    );
    assert_eq!(config.auth.oidc.unwrap().issuer, Some(fake.issuer()));
    let github = config.auth.github.unwrap();
    assert_eq!(github.client_secret.unwrap().expose(), CLIENT_SECRET);
    assert_eq!(config.auth.allow[0].providers, ["github"]);
}
