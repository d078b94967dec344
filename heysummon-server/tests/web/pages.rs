//! The page, its security headers and the versioned assets (PROTOCOL E1).

use crate::common;

#[tokio::test]
async fn the_page_is_served_under_a_strict_policy() {
    let app = common::spawn().await;
    for path in ["/", "/signin", "/keys", "/settings", "/requests/anything"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script>"), "no inline script");
    }
}

#[tokio::test]
async fn assets_are_versioned_cacheable_and_from_this_origin() {
    let app = common::spawn().await;
    let script = &asset_path(&app, "/js/app.js").await;
    let response = app.http.get(app.url(script)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("innerHTML"),
        "the dashboard never parses markup"
    );
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "no other origin"
    );

    // Another version is not this build: never served under a year-long cache.
    let stale = script.replacen("/assets/", "/assets/0000", 1);
    let response = app.http.get(app.url(&stale)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Not found");
    let missing = script.replace("/js/app.js", "/js/nothing.js");
    assert_eq!(
        app.http
            .get(app.url(&missing))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn api_answers_are_never_stored_or_sniffed() {
    let app = common::spawn().await;
    let browser = crate::Browser::sign_in(&app).await;
    for path in ["/api/me", "/api/keys", "/api/v1/requests", "/api/nothing"] {
        let response = app
            .http
            .get(app.url(path))
            .header("cookie", &browser.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
    // The versioned assets keep their year-long cache.
    let css = &asset_path(&app, "/app.css").await;
    let response = app.http.get(app.url(css)).send().await.unwrap();
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

/// The path under which the page loads one of its files (`/assets/{version}/…`).
async fn asset_path(app: &common::TestApp, file: &str) -> String {
    let html = app
        .http
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    html.split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(file))
        .expect("the page loads its files from /assets/{version}/")
        .to_owned()
}
