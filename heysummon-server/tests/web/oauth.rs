//! Signing in with OpenID Connect (PROTOCOL E2) against the fake provider, driven like a
//! browser: redirects followed by hand, cookies carried by hand.

use heysummon_server::config::{AllowRule, Config};
use heysummon_server::testing::fake_oauth::{FakeIdentity, FakeProvider, Tampering};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{self, TestApp};

/// A client that follows no redirect.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A sign-in begun: the flow cookie (`hs_oauth=…`) and where the browser was sent.
pub(crate) struct Flow {
    pub(crate) cookie: String,
    pub(crate) authorize_url: String,
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The `name=value` of a cookie a response sets, if it does.
pub(crate) fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub(crate) async fn begin(app: &TestApp, provider: &str) -> Flow {
    let response = browser()
        .get(app.url(&format!("/auth/login/{provider}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&response, "hs_oauth").expect("a flow cookie");
    Flow {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        authorize_url: location(&response),
    }
}

/// Visits the provider, which sends the browser straight back: the callback URL.
pub(crate) async fn at_provider(flow: &Flow) -> String {
    let response = browser().get(&flow.authorize_url).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    location(&response)
}

pub(crate) async fn callback(url: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = browser().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// A whole sign-in; the callback's answer.
pub(crate) async fn sign_in(app: &TestApp, provider: &str) -> reqwest::Response {
    let flow = begin(app, provider).await;
    let url = at_provider(&flow).await;
    callback(&url, Some(&flow.cookie)).await
}

/// The session a successful callback started: `/api/me` with it.
pub(crate) async fn me(app: &TestApp, response: &reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response), "/");
    let session = set_cookie(response, "hs_session").expect("a session cookie");
    let cookie = session.split(';').next().unwrap();
    let me = app
        .http
        .get(app.url("/api/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    me.json().await.unwrap()
}

/// A refused callback: the sign-in page with an error, no session.
pub(crate) fn assert_refused(response: &reqwest::Response, error: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(response), format!("/signin?error={error}"));
    assert!(set_cookie(response, "hs_session").is_none(), "no session");
    let cleared = set_cookie(response, "hs_oauth").expect("the flow cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

pub(crate) fn allow(expert: &str, email: &str) -> AllowRule {
    AllowRule {
        expert: expert.to_owned(),
        emails: vec![email.to_owned()],
        providers: Vec::new(),
    }
}

/// A server with `[auth.oidc]` pointing at a new fake on the server's clock.
async fn oidc_app(adjust: impl FnOnce(&mut Config, &FakeProvider)) -> (TestApp, FakeProvider) {
    let fake = FakeProvider::start().await;
    let app = common::spawn_with(|c| {
        c.auth.oidc = Some(fake.oidc_config());
        adjust(c, &fake);
    })
    .await;
    fake.set_clock(&app.clock);
    (app, fake)
}

async fn link(app: &TestApp, subject: &str) {
    app.store
        .link_identity("oidc", subject, &app.expert_id, app.clock.now())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_linked_identity_signs_in() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;

    let flow = begin(&app, "oidc").await;
    assert!(
        flow.authorize_url
            .starts_with(&format!("{}/authorize?", fake.issuer()))
    );
    let url = at_provider(&flow).await;
    assert!(url.starts_with(&app.url("/auth/callback/oidc?")), "{url}");
    let response = callback(&url, Some(&flow.cookie)).await;
    let me = me(&app, &response).await;
    assert_eq!(me["expert"]["id"], app.expert_id.as_str());
    // The sign-in is in the audit log, by the expert, naming the provider.
    let entries = app.store.audit_entries_after(0, 100).await.unwrap();
    let signed_in = entries.iter().find(|e| e.kind == "signed_in").unwrap();
    assert_eq!(signed_in.actor, format!("expert:{}", app.expert_id));
    assert!(
        signed_in.details.contains(r#""method":"oidc""#),
        "{signed_in:?}"
    );

    let seen = fake.authorizations().pop().unwrap();
    assert_eq!(seen.redirect_uri, app.url("/auth/callback/oidc"));
    assert_eq!(seen.code_challenge_method.as_deref(), Some("S256"));
    assert_eq!(seen.code_challenge.as_ref().map(String::len), Some(43));
    assert!(seen.nonce.is_some());
    let scopes: Vec<_> = seen.scope.split(' ').collect();
    for scope in ["openid", "email", "profile"] {
        assert!(scopes.contains(&scope), "{scope} in {scopes:?}");
    }
    let state = seen.state.unwrap();
    assert!(url.contains(&format!("state={state}")));
    assert!(
        !app.database_contains(state.as_bytes()).await,
        "only its hash is kept"
    );
    let secret = flow.cookie.trim_start_matches("hs_oauth=");
    assert_eq!(secret.len(), 64, "256 random bits");
    assert!(!app.database_contains(secret.as_bytes()).await);
}

#[tokio::test]
async fn the_flow_cookie_is_scoped_short_lived_and_cleared() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;
    let response = browser()
        .get(app.url("/auth/login/oidc"))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&response, "hs_oauth").unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/auth/callback/oidc",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let response = sign_in(&app, "oidc").await;
    assert!(
        set_cookie(&response, "hs_oauth")
            .unwrap()
            .contains("Max-Age=0")
    );
}

/// [`oidc_app`] whose allow-list lets `email` link an identity to the first expert.
async fn oidc_app_allowing(email: &str) -> (TestApp, FakeProvider) {
    let (app, fake) = oidc_app(|_, _| {}).await;
    let expert = app.expert_id.clone();
    let app = app
        .restart_with(|c| c.auth.allow = vec![allow(&expert, email)])
        .await;
    (app, fake)
}

async fn linked_to(app: &TestApp, provider: &str, subject: &str) -> Option<String> {
    app.store
        .expert_for_identity(provider, subject)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_allow_listed_verified_email_signs_in_and_is_linked() {
    let (app, fake) = oidc_app_allowing("Alice@Example.com").await;
    fake.set_identity(FakeIdentity::new("sub-new").email("alice@example.COM", true));
    let response = sign_in(&app, "oidc").await;
    assert_eq!(
        me(&app, &response).await["expert"]["id"],
        app.expert_id.as_str()
    );
    assert_eq!(
        linked_to(&app, "oidc", "sub-new").await.as_deref(),
        Some(app.expert_id.as_str())
    );

    // Linked now: later sign-ins go by the subject, whatever the address has become.
    fake.set_identity(FakeIdentity::new("sub-new").email("someone@else.example", false));
    let response = sign_in(&app, "oidc").await;
    assert_eq!(
        me(&app, &response).await["expert"]["id"],
        app.expert_id.as_str()
    );
}

#[tokio::test]
async fn the_email_may_come_from_userinfo() {
    let (app, fake) = oidc_app_allowing("alice@example.com").await;
    fake.set_identity(FakeIdentity::new("sub-info").email("alice@example.com", true));
    fake.set_tampering(Tampering {
        email_only_in_userinfo: true,
        ..Tampering::default()
    });
    let response = sign_in(&app, "oidc").await;
    assert_eq!(
        me(&app, &response).await["expert"]["id"],
        app.expert_id.as_str()
    );
}

#[tokio::test]
async fn an_unverified_or_unknown_email_is_refused() {
    let (app, fake) = oidc_app_allowing("alice@example.com").await;
    for identity in [
        FakeIdentity::new("sub-x").email("alice@example.com", false),
        FakeIdentity::new("sub-x").email("mallory@example.com", true),
        FakeIdentity::new("sub-x"),
    ] {
        fake.set_identity(identity);
        assert_refused(&sign_in(&app, "oidc").await, "not_linked");
    }
    assert_eq!(linked_to(&app, "oidc", "sub-x").await, None);
}

#[tokio::test]
async fn the_state_must_be_this_browsers_and_is_used_once() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;

    let flow = begin(&app, "oidc").await;
    let url = at_provider(&flow).await;
    let other = begin(&app, "oidc").await;
    // No flow cookie, another browser's, a changed state, no state.
    assert_refused(&callback(&url, None).await, "failed");
    assert_refused(&callback(&url, Some(&other.cookie)).await, "failed");
    let (base, _) = url.split_once("&state=").unwrap();
    let changed = format!("{base}&state=AAAA{}", &url[base.len() + 11..]);
    assert_refused(&callback(&changed, Some(&flow.cookie)).await, "failed");
    assert_refused(&callback(base, Some(&flow.cookie)).await, "failed");
    assert!(
        fake.token_refusals().is_empty(),
        "refused before the code is used"
    );

    // The right browser signs in, once.
    let response = callback(&url, Some(&flow.cookie)).await;
    me(&app, &response).await;
    assert_refused(&callback(&url, Some(&flow.cookie)).await, "failed");
}

#[tokio::test]
async fn a_sign_in_expires_after_ten_minutes() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;
    let slow = begin(&app, "oidc").await;
    let quick = begin(&app, "oidc").await;
    let (slow_url, quick_url) = (at_provider(&slow).await, at_provider(&quick).await);
    app.clock.advance(10 * 60 * 1000 - 1);
    me(&app, &callback(&quick_url, Some(&quick.cookie)).await).await;
    app.clock.advance(1);
    assert_refused(&callback(&slow_url, Some(&slow.cookie)).await, "failed");
}

#[tokio::test]
async fn id_tokens_that_do_not_check_out_are_refused() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;
    let tamperings = [
        Tampering {
            nonce: Some("another-nonce".into()),
            ..Tampering::default()
        },
        Tampering {
            issuer: Some("https://evil.example".into()),
            ..Tampering::default()
        },
        Tampering {
            audience: Some("another-client".into()),
            ..Tampering::default()
        },
        Tampering {
            expired: true,
            ..Tampering::default()
        },
        Tampering {
            foreign_key: true,
            ..Tampering::default()
        },
    ];
    for tampering in tamperings {
        fake.set_tampering(tampering.clone());
        let response = sign_in(&app, "oidc").await;
        assert_eq!(location(&response), "/signin?error=failed", "{tampering:?}");
        assert!(set_cookie(&response, "hs_session").is_none());
    }
    fake.set_tampering(Tampering::default());
    me(&app, &sign_in(&app, "oidc").await).await;
}

#[tokio::test]
async fn a_code_redeemed_with_another_flows_verifier_fails_at_the_token_endpoint() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;
    // The victim's code injected into the attacker's own, valid, flow: the state and cookie
    // are the attacker's, so the verifier is too, and it is not the code's.
    let victim = at_provider(&begin(&app, "oidc").await).await;
    let attacker = begin(&app, "oidc").await;
    let attacker_url = at_provider(&attacker).await;
    let code = |url: &str| {
        url.split(['?', '&'])
            .find_map(|p| p.strip_prefix("code="))
            .unwrap()
            .to_owned()
    };
    let injected = attacker_url.replace(&code(&attacker_url), &code(&victim));
    assert_refused(&callback(&injected, Some(&attacker.cookie)).await, "failed");
    assert_eq!(fake.token_refusals(), ["PKCE verifier"]);
}

#[tokio::test]
async fn endpoints_can_be_configured_without_discovery() {
    let fake = FakeProvider::start().await;
    let app =
        common::spawn_with(|c| c.auth.oidc = Some(fake.oidc_config_without_discovery())).await;
    fake.set_clock(&app.clock);
    fake.set_identity(FakeIdentity::new("sub-alice"));
    link(&app, "sub-alice").await;
    me(&app, &sign_in(&app, "oidc").await).await;
}

#[tokio::test]
async fn a_declined_sign_in_is_refused() {
    let (app, fake) = oidc_app(|_, _| {}).await;
    fake.set_tampering(Tampering {
        deny: true,
        ..Tampering::default()
    });
    let flow = begin(&app, "oidc").await;
    let url = at_provider(&flow).await;
    assert!(url.contains("error=access_denied"), "{url}");
    assert_refused(&callback(&url, Some(&flow.cookie)).await, "failed");
}
