//! JSON bodies into [`AskInput`]s: `POST /v1/ask` ([`AskBody`]) and a plaintext
//! `POST /api/v1/help` the guard creates itself ([`HelpBody`]). Field names, defaults and
//! messages are the API's; every other check is the core's ([`AskInput::validate`]).

use std::time::Duration;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::ask::{AskError, AskInput, AskKind, Encryption, MAX_TIMEOUT};

/// `POST /v1/ask`: `{"question", "context"? (or "messages"), "requiresApproval"?, "action"?,
/// "timeoutSeconds"?, "encryption"?, "idempotencyKey"?}`; unknown members are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AskBody {
    #[serde(default, deserialize_with = "question")]
    question: Option<String>,
    #[serde(default, deserialize_with = "context")]
    context: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "context")]
    messages: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "requires_approval")]
    requires_approval: Option<bool>,
    #[serde(default, deserialize_with = "timeout_seconds")]
    timeout_seconds: Option<Duration>,
    #[serde(default, deserialize_with = "encryption")]
    encryption: Option<Encryption>,
    #[serde(default, deserialize_with = "lenient")]
    idempotency_key: Option<String>,
    #[serde(default)]
    action: Option<Value>,
}

impl AskBody {
    /// The body's object as an input; `idempotency_key` is the `Idempotency-Key` header, used
    /// when the body names none.
    ///
    /// # Errors
    /// [`AskError::InvalidInput`] with the member's message.
    pub(crate) fn parse(
        object: Map<String, Value>,
        idempotency_key: Option<&str>,
    ) -> Result<AskInput, AskError> {
        let body = Self::deserialize(object).map_err(invalid)?;
        let kind = match body.requires_approval {
            Some(true) => AskKind::Approval,
            _ => AskKind::Question,
        };
        let mut input = AskInput::new(kind, body.question.unwrap_or_default())
            .with_context(body.context.or(body.messages).unwrap_or_default())
            .with_encryption(body.encryption.unwrap_or_default());
        input.timeout = body.timeout_seconds;
        input.idempotency_key = body.idempotency_key.or(idempotency_key.map(str::to_owned));
        input.action = body.action.filter(|action| !action.is_null());
        Ok(input)
    }
}

/// A plaintext `POST /api/v1/help`: `{"question", "messages"?, "messageCount"?,
/// "requiresApproval"?, "responseRequired"?, "action"?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HelpBody {
    #[serde(default, deserialize_with = "lenient")]
    question: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    messages: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient")]
    message_count: Option<u64>,
    #[serde(default, deserialize_with = "requires_approval")]
    requires_approval: Option<bool>,
    #[serde(default, deserialize_with = "response_required")]
    response_required: Option<bool>,
    #[serde(default)]
    action: Option<Value>,
}

impl HelpBody {
    /// The body as an input (already scanned by the proxy); `None` without a string
    /// `question` (the body is then forwarded as it is).
    ///
    /// # Errors
    /// [`AskError::InvalidInput`] with the member's message.
    pub(crate) fn parse(
        object: &Map<String, Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Option<AskInput>, AskError> {
        let body = Self::deserialize(object).map_err(invalid)?;
        let Some(question) = body.question else {
            return Ok(None);
        };
        let approval = body.requires_approval.unwrap_or(false);
        let notification = !body.response_required.unwrap_or(true);
        let kind = match (approval, notification) {
            (true, true) => {
                return Err(AskError::InvalidInput(
                    "an approval request needs a response (responseRequired must not be false)"
                        .into(),
                ));
            }
            (true, false) => AskKind::Approval,
            (false, true) => AskKind::Notification,
            (false, false) => AskKind::Question,
        };
        // The context: the last `messageCount` messages when given.
        let mut context = body.messages.unwrap_or_default();
        if let Some(count) = body.message_count {
            let keep = usize::try_from(count).unwrap_or(usize::MAX);
            context.drain(..context.len().saturating_sub(keep));
        }
        let mut input = AskInput::new(kind, question)
            .with_context(context)
            .already_scanned();
        input.idempotency_key = idempotency_key.map(str::to_owned);
        input.action = body.action.filter(|action| !action.is_null());
        Ok(Some(input))
    }
}

fn invalid(error: serde_json::Error) -> AskError {
    // Deserialised from a parsed value: the message is the member's own, without a position.
    AskError::InvalidInput(error.to_string())
}

/// A member of type `T` or `null`, else an error saying `message`.
fn typed<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
    message: &'static str,
) -> Result<Option<T>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|_| D::Error::custom(message)),
    }
}

/// A member of type `T`; any other value counts as absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.and_then(|value| T::deserialize(value).ok()))
}

fn question<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    typed(deserializer, "question is required")
}

fn context<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<Value>>, D::Error> {
    typed(deserializer, "context must be an array")
}

fn requires_approval<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    typed(deserializer, "requiresApproval must be a boolean")
}

fn response_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    typed(deserializer, "responseRequired must be a boolean")
}

fn timeout_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    const MESSAGE: &str = "timeoutSeconds must be an integer from 1 to 31536000";
    let seconds: Option<u64> = typed(deserializer, MESSAGE)?;
    match seconds.map(Duration::from_secs) {
        Some(timeout) if !(Duration::from_secs(1)..=MAX_TIMEOUT).contains(&timeout) => {
            Err(D::Error::custom(MESSAGE))
        }
        timeout => Ok(timeout),
    }
}

fn encryption<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Encryption>, D::Error> {
    let name: Option<String> = typed(deserializer, "encryption must be a string")?;
    match name.as_deref() {
        None => Ok(None),
        Some("preferred") => Ok(Some(Encryption::Preferred)),
        Some("required") => Ok(Some(Encryption::Required)),
        Some(_) => Err(D::Error::custom(
            r#"encryption must be "preferred" or "required""#,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ask(body: Value) -> Result<AskInput, AskError> {
        let Value::Object(object) = body else {
            return Err(AskError::InvalidInput("not an object".into()));
        };
        AskBody::parse(object, Some("from-header"))
    }

    fn message(result: Result<AskInput, AskError>) -> String {
        match result {
            Err(AskError::InvalidInput(message)) => message,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn ask_bodies_keep_their_names_and_defaults() {
        let input = ask(json!({
            "question": "Ship it?", "messages": [{"role": "user", "content": "hi"}],
            "requiresApproval": true, "timeoutSeconds": 60, "encryption": "required",
            "idempotencyKey": "job-1", "unknown": 1,
        }))
        .map_err(|e| e.to_string());
        let expected = AskInput::approval("Ship it?")
            .with_context(vec![json!({"role": "user", "content": "hi"})])
            .with_timeout(Duration::from_secs(60))
            .with_encryption(Encryption::Required)
            .with_idempotency_key("job-1");
        assert_eq!(input, Ok(expected));
        let plain = ask(json!({"question": "Q", "context": null, "idempotencyKey": 5}));
        let expected = AskInput::question("Q").with_idempotency_key("from-header");
        assert_eq!(plain.map_err(|e| e.to_string()), Ok(expected));
    }

    #[test]
    fn an_approval_carries_its_action_and_only_an_approval_may() {
        let action = json!({"tool": "deploy", "args": {"env": "prod"}});
        let input = ask(json!({"question": "Deploy?", "requiresApproval": true, "action": action}))
            .unwrap();
        assert_eq!(input.action, Some(action.clone()));
        assert!(input.validate().is_ok());
        let question = ask(json!({"question": "Deploy?", "action": action})).unwrap();
        assert!(message(question.validate().map(|()| question.clone())).contains("approval"));
        let huge = json!({"blob": "x".repeat(70_000)});
        let input =
            ask(json!({"question": "Q", "requiresApproval": true, "action": huge})).unwrap();
        assert!(message(input.validate().map(|()| input.clone())).contains("65536"));
    }

    #[test]
    fn ask_bodies_are_refused_with_the_members_message() {
        for (body, expected) in [
            (json!({"question": 7}), "question is required"),
            (
                json!({"question": "Q", "context": {}}),
                "context must be an array",
            ),
            (
                json!({"question": "Q", "requiresApproval": "yes"}),
                "requiresApproval must be a boolean",
            ),
            (
                json!({"question": "Q", "timeoutSeconds": -3}),
                "timeoutSeconds must be an integer from 1 to 31536000",
            ),
            (
                json!({"question": "Q", "timeoutSeconds": 0}),
                "timeoutSeconds must be an integer from 1 to 31536000",
            ),
            (
                json!({"question": "Q", "timeoutSeconds": u64::MAX}),
                "timeoutSeconds must be an integer from 1 to 31536000",
            ),
            (
                json!({"question": "Q", "encryption": "maybe"}),
                r#"encryption must be "preferred" or "required""#,
            ),
        ] {
            assert_eq!(message(ask(body.clone())), expected, "{body}");
        }
        // A missing question is the core's to refuse.
        let input = ask(json!({"context": []})).map_err(|e| e.to_string());
        let refused = input.map(|input| input.validate());
        assert!(
            matches!(refused, Ok(Err(AskError::InvalidInput(m))) if m == "question is required")
        );
    }

    #[test]
    fn help_bodies() {
        let parse = |body: Value| HelpBody::parse(body.as_object().unwrap_or(&Map::new()), None);
        let input = parse(json!({
            "question": "Q", "messages": [1, 2, 3], "messageCount": 2, "responseRequired": false,
        }));
        let Ok(Some(input)) = input else {
            panic!("not an input: {input:?}");
        };
        assert_eq!(input.kind, AskKind::Notification);
        assert_eq!(input.context, vec![json!(2), json!(3)]);
        assert!(input.scanned);
        assert!(matches!(parse(json!({"question": 7})), Ok(None)));
        let both =
            parse(json!({"question": "Q", "requiresApproval": true, "responseRequired": false}));
        assert!(matches!(both, Err(AskError::InvalidInput(m)) if m.contains("needs a response")));
        let typed = parse(json!({"question": "Q", "requiresApproval": "yes"}));
        assert!(
            matches!(typed, Err(AskError::InvalidInput(m)) if m == "requiresApproval must be a boolean")
        );
    }
}
