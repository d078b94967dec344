//! JSON Schemas (OpenAPI 3.1) of the wire types whose serde code is written by hand, for the
//! server's `/api/openapi.json`. The other wire types derive `utoipa::ToSchema` next to their
//! serde derives, so their schemas follow their serde attributes.

use std::borrow::Cow;

use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
    SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::{
    CancelledEvent, ErrorBody, EventType, ExpertRequestEvent, NewMessageEvent,
    NotificationAcknowledgedEvent, NotificationExpiredEvent, PendingEvent, REF_CODE_LEN,
    REF_CODE_PREFIX, RefCode, Status, Timestamp,
};

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn one_of_strings<S: Into<Value>>(values: impl IntoIterator<Item = S>) -> RefOr<Schema> {
    string().enum_values(Some(values)).into()
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        string()
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, UTC, with milliseconds"))
            .into()
    }
}
impl ToSchema for Timestamp {}

impl PartialSchema for RefCode {
    fn schema() -> RefOr<Schema> {
        // REF_CODE_ALPHABET is A–Z then 0–9.
        string()
            .pattern(Some(format!(
                "^{REF_CODE_PREFIX}[A-Z0-9]{{{REF_CODE_LEN}}}$"
            )))
            .into()
    }
}
impl ToSchema for RefCode {}

impl PartialSchema for Status {
    fn schema() -> RefOr<Schema> {
        one_of_strings(Status::ALL.iter().map(Status::as_str))
    }
}
impl ToSchema for Status {}

impl PartialSchema for EventType {
    fn schema() -> RefOr<Schema> {
        one_of_strings(EventType::ALL.iter().map(EventType::as_str))
    }
}
impl ToSchema for EventType {}

impl PartialSchema for ErrorBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("error", string().description(Some("A sentence for people")))
            .required("error")
            .property(
                "code",
                string().description(Some("A machine-readable code, such as NOT_APPLICABLE")),
            )
            .property(
                "hint",
                string().description(Some("A suggestion for people")),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "Every error: a sentence, optionally a code, a hint and members of the endpoint's \
                 own (details, flags, decision, existingRating, …)",
            ))
            .into()
    }
}
impl ToSchema for ErrorBody {}

/// One variant of a pending event: the event's members and its `type`.
fn tagged<T: ToSchema>(tag: &str) -> AllOfBuilder {
    AllOfBuilder::new()
        .item(RefOr::Ref(
            utoipa::openapi::Ref::from_schema_name(T::name()),
        ))
        .item(
            ObjectBuilder::new()
                .property("type", one_of_strings([tag]))
                .required("type"),
        )
}

impl PartialSchema for PendingEvent {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(tagged::<ExpertRequestEvent>("new_request"))
            .item(tagged::<ExpertRequestEvent>("new_notification"))
            .item(tagged::<NewMessageEvent>("new_message"))
            .item(tagged::<CancelledEvent>("cancelled"))
            .item(tagged::<NotificationAcknowledgedEvent>(
                "notification_acknowledged",
            ))
            .item(tagged::<NotificationExpiredEvent>("notification_expired"))
            .into()
    }
}
impl ToSchema for PendingEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PendingEvent")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push((T::name().into_owned(), T::schema()));
            T::schemas(schemas);
        }
        add::<ExpertRequestEvent>(schemas);
        add::<NewMessageEvent>(schemas);
        add::<CancelledEvent>(schemas);
        add::<NotificationAcknowledgedEvent>(schemas);
        add::<NotificationExpiredEvent>(schemas);
    }
}
