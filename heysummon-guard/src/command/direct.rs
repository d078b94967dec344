//! Asking the server directly with the SDK's client, through the ask core: sealed when the
//! expert has published keys, waiting in steps of the server's longest long-poll.

use std::sync::Arc;
use std::time::Duration;

use heysummon_sdk::Client;
use heysummon_sdk::keystore::MemoryKeyStore;

use super::outcome::{Exit, Finished};
use super::{Args, Progress};
use crate::ask::{AskInput, AskOutcome, Asker, DEFAULT_WAIT};

/// Asks `base` with `key` and waits up to the timeout.
pub(crate) async fn ask(
    base: &str,
    key: &str,
    question: &str,
    args: &Args,
    progress: &Progress,
) -> Result<Finished, Finished> {
    let client = Client::builder()
        .base_url(base)
        .api_key(key)
        .shared_key_store(Arc::new(MemoryKeyStore::new()))
        .build()
        .map_err(|error| Finished::error(Exit::Configuration, &error.to_string()))?;
    let asker = Asker::new(client);
    let input = if args.approval {
        let input = AskInput::approval(question);
        match &args.action {
            Some(action) => input.with_action(action.clone()),
            None => input,
        }
    } else {
        AskInput::question(question)
    }
    .with_timeout(args.timeout)
    .with_wait(Duration::ZERO);
    let mut outcome = asker
        .ask(&input)
        .await
        .map_err(|e| Finished::from_error(&e))?;
    progress.asked(outcome.ticket().ref_code.as_str(), args.timeout);
    while let AskOutcome::Pending { ticket, .. } = &outcome {
        let began = std::time::Instant::now();
        let id = ticket.request_id.clone();
        outcome = asker
            .resume(&id, DEFAULT_WAIT)
            .await
            .map_err(|e| Finished::from_error(&e))?;
        if matches!(outcome, AskOutcome::Pending { .. }) {
            super::pace(began).await;
        }
    }
    Ok(Finished::from_outcome(&outcome))
}
