//! Asking through a running guard's local ask API (`POST /v1/ask`, `GET /v1/ask/ID?wait=N`):
//! the guard holds the key, seals and signs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::outcome::{Exit, Finished};
use super::{Args, Progress};

/// Asks through the guard at `guard` and waits up to the timeout.
pub(crate) async fn ask(
    guard: &str,
    question: &str,
    args: &Args,
    progress: &Progress,
) -> Result<Finished, Finished> {
    let deadline = Instant::now() + args.timeout;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(70))
        .build()
        .map_err(|error| Finished::error(Exit::Configuration, &error.to_string()))?;
    let base = guard.trim_end_matches('/');
    // Created first (the guard seals it and answers at once), so that the reference is known
    // while waiting; then waited on in steps of at most 50 s, never past the timeout.
    let mut body = json!({ "question": question, "requiresApproval": args.approval });
    if let Some(action) = &args.action {
        body["action"] = action.clone();
    }
    let created = call(http.post(format!("{base}/api/v1/help")).json(&body)).await?;
    let (Some(id), Some(reference)) = (created["requestId"].as_str(), created["refCode"].as_str())
    else {
        return Err(Finished::error(
            Exit::Network,
            "the guard did not create the request",
        ));
    };
    progress.asked(reference, args.timeout);
    loop {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        if left == 0 {
            let timed_out = json!({ "status": "timeout", "requestId": id, "refCode": reference });
            return Ok(finished(&timed_out, args.approval));
        }
        let began = Instant::now();
        let wait = left.min(50);
        let answer = call(http.get(format!("{base}/v1/ask/{id}?wait={wait}"))).await?;
        if answer["status"] != "pending" {
            return Ok(finished(&answer, args.approval));
        }
        super::pace(began).await;
    }
}

/// One call to the guard: its JSON answer, or how it failed.
async fn call(request: reqwest::RequestBuilder) -> Result<Value, Finished> {
    let response = request.send().await.map_err(|error| {
        Finished::error(
            Exit::Network,
            &format!("could not reach the guard: {error}"),
        )
    })?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let said = body["error"].as_str().unwrap_or("no reason given");
    let message = format!("the guard answered {status}: {said}");
    let exit = match status.as_u16() {
        // An approval the expert did not sign is no approval: not worth asking again.
        _ if body["code"] == "DECISION_UNVERIFIED" => Exit::Denied,
        400..=499 if status.as_u16() != 408 && status.as_u16() != 429 => Exit::Configuration,
        _ => Exit::Network,
    };
    Err(Finished::error(exit, &message))
}

/// The guard's answer as the command's end. For an approval, only `approved` (with
/// `"approved": true`) ends well: a worded answer is not a decision.
fn finished(answer: &Value, approval: bool) -> Finished {
    let reference = answer["refCode"].as_str().unwrap_or("the request");
    let text = |key: &str| answer[key].as_str().map(str::to_owned);
    let keep = |status: &str| {
        let mut object = json!({ "status": status, "requestId": answer["requestId"], "refCode": answer["refCode"] });
        for key in ["answer", "endToEnd", "comment"] {
            if !answer[key].is_null() {
                object[key] = answer[key].clone();
            }
        }
        object
    };
    match answer["status"].as_str().unwrap_or_default() {
        "responded" if !approval => {
            Finished::new(Exit::Answered, keep("answered"), text("answer"), None)
        }
        // Fail closed: approved only when the guard says so in both members.
        "approved" if answer["approved"] == true => Finished::new(
            Exit::Answered,
            keep("approved"),
            text("comment").or_else(|| Some("approved".into())),
            None,
        ),
        "denied" => Finished::new(
            Exit::Denied,
            keep("denied"),
            text("comment").or_else(|| Some("denied".into())),
            Some(format!("{reference} was denied")),
        ),
        "timeout" | "pending" | "expired" | "closed" | "cancelled" => {
            let mut object = keep("timeout");
            object["reason"] = answer["status"].clone();
            let why = format!("no answer to {reference} in time");
            Finished::new(Exit::Timeout, object, None, Some(why))
        }
        other => Finished::error(
            Exit::Network,
            &format!("the guard answered status {other:?}"),
        ),
    }
}
