//! The OpenAPI 3.1 document of the HTTP API, served at `GET /api/openapi.json`.
//!
//! Nothing here lists a path: every operation is declared by a `#[utoipa::path]` on its handler
//! and mounted with `utoipa_axum::routes!`, which takes the route from that declaration. The
//! router and the document are built together (see [`super::router`]), so a route cannot exist
//! undocumented, nor a documented one unrouted. The schemas come from the wire types' derives.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use heysummon_sdk::wire::ErrorBody;
use std::collections::BTreeMap;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response as Answer, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, Required};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

/// Client and expert keys, in the `x-api-key` header.
pub(crate) const API_KEY: &str = "apiKey";
/// The dashboard's session cookie (the expert); unsafe methods also need `x-csrf-token`.
pub(crate) const SESSION: &str = "session";
/// A Mercure subscriber JWT (HS256 with the configured secret).
pub(crate) const MERCURE_JWT: &str = "mercureJwt";
/// `metrics_token`, when it is set.
pub(crate) const METRICS_TOKEN: &str = "metricsToken";

/// The document's fixed parts: what it describes, its tags and security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "HeySummon-rs",
        description = "The HeySummon v1 API (agents, experts), the dashboard's session API and the \
            channels' callbacks. Every error answers with the JSON error body.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "agents", description = "Asking for help and following the answer (client keys)"),
        (name = "experts", description = "Answering (expert keys, or the dashboard's session)"),
        (name = "events", description = "Events of requests: pending list, streams"),
        (name = "dashboard", description = "The dashboard's session API"),
        (name = "sign-in", description = "Signing a browser in and out"),
        (name = "channels", description = "Notification channels and the chats' callbacks"),
        (name = "operations", description = "Health, metrics and this document"),
    ),
    modifiers(&SecuritySchemes),
)]
pub(crate) struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::web::session::COOKIE,
            ))),
        );
        components.add_security_scheme(
            MERCURE_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        let chat = |header: &str, what: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(header, what)))
        };
        components.add_security_scheme(
            "telegramSecret",
            chat(
                "x-telegram-bot-api-secret-token",
                "The secret token the channel gave Telegram",
            ),
        );
        components.add_security_scheme(
            "slackSignature",
            chat(
                "x-slack-signature",
                "Slack's HMAC-SHA256 signature, with x-slack-request-timestamp",
            ),
        );
        components.add_security_scheme(
            "discordSignature",
            chat(
                "x-signature-ed25519",
                "Discord's Ed25519 signature, with x-signature-timestamp",
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every failure: any status not listed beside it, with the JSON error body.
pub(crate) struct Failure;

impl IntoResponses for Failure {
    fn responses() -> BTreeMap<String, RefOr<Answer>> {
        let body = ContentBuilder::new()
            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                ErrorBody::name(),
            ))))
            .build();
        let answer = ResponseBuilder::new()
            .description("An error: a sentence, optionally a code, a hint and details")
            .content("application/json", body)
            .build();
        BTreeMap::from([("default".to_owned(), RefOr::T(answer))])
    }
}

/// The CSRF token a session's state-changing request carries (`csrfToken` of `GET /api/me`).
pub(crate) struct Csrf;

impl IntoParams for Csrf {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name(crate::web::session::CSRF_HEADER)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some("The session's CSRF token (csrfToken of GET /api/me)"))
                .schema(Some(String::schema()))
                .build(),
        ]
    }
}

/// Adds what the handlers' declarations cannot: the error body's schema (referenced by
/// [`Failure`]).
fn finish(mut document: Document) -> Document {
    let components = document.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    document
}

/// The document as served: JSON, built once.
#[derive(Clone)]
pub(crate) struct Served(Bytes);

impl Served {
    pub(crate) fn new(document: Document) -> Self {
        let text = finish(document)
            .to_json()
            .unwrap_or_else(|_| String::from("{}"));
        Self(Bytes::from(text))
    }
}

impl IntoResponse for Served {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            // Shared, not copied, per answer.
            self.0,
        )
            .into_response()
    }
}
