//! Answering from a channel (PROTOCOL F4): buttons and replies that arrive from Telegram,
//! Slack and Discord, each authenticated the way its platform signs them, deduplicated by
//! the id the platform gives them, and then one of the lifecycle's own actions, so a
//! decision is made once and a closed request takes no answer, exactly as through the API.
//! Only chat users linked to the channel's expert (by a one-time connect code) may act.

pub(crate) mod discord;
pub(crate) mod slack;
pub(crate) mod telegram;

use heysummon_sdk::wire::{ApprovalDecision, MessageId, Sender, Status};

use super::manage::normalized_code;
use crate::ids::hash_secret;
use crate::lifecycle::{self, Action, LifecycleError, Performed, Refusal};
use crate::state::AppState;
use crate::store::{ChannelLink, ChannelRecord, RequestRecord};

/// Longest answer accepted from a chat (the API's limit for plaintext).
const MAX_ANSWER_CHARS: usize = 100_000;

/// What a chat user asked for.
#[derive(Clone, Debug)]
pub(crate) enum ChatAction {
    /// Approve or deny.
    Decide(ApprovalDecision),
    /// Answer in plain text.
    Reply {
        /// The answer.
        text: String,
        /// Derived from the chat's own id of the answer, so the same answer delivered twice
        /// (a retry, a replay) is stored once.
        message_id: String,
    },
}

/// Parses `approve:{id}` / `deny:{id}` / `reply:{id}` (the buttons' data).
pub(crate) fn parse_button(data: &str) -> Option<(&str, &str)> {
    let (verb, id) = data.split_once(':')?;
    matches!(verb, "approve" | "deny" | "reply").then_some((verb, id))
}

/// The decision a button verb stands for.
pub(crate) fn decision_of(verb: &str) -> Option<ApprovalDecision> {
    match verb {
        "approve" => Some(ApprovalDecision::Approved),
        "deny" => Some(ApprovalDecision::Denied),
        _ => None,
    }
}

/// What a chat user is told when they may not act.
pub(crate) const NOT_LINKED: &str = "You are not linked to this HeySummon channel. Ask its expert \
    for a connect code in the dashboard (Settings, Channels, Connect).";

/// What a chat user who approves a request that needs the expert's signature is told.
pub(crate) const SIGN_IN_DASHBOARD: &str = "This approval must be signed with your key: \
    open the request in the dashboard to approve it.";

/// Whether the chat user may act as the channel's expert.
pub(crate) async fn is_linked(state: &AppState, channel: &ChannelRecord, user_id: &str) -> bool {
    match state.store.channel_links(&channel.id).await {
        Ok(links) => links.iter().any(|link| link.user_id == user_id),
        Err(error) => {
            tracing::warn!(%error, "could not read a channel's linked users");
            false
        }
    }
}

/// A request of the channel's expert, by id (another expert's answers like a missing one).
pub(crate) async fn request_of(
    state: &AppState,
    channel: &ChannelRecord,
    request_id: &str,
) -> Option<RequestRecord> {
    state
        .store
        .request(request_id)
        .await
        .ok()
        .flatten()
        .filter(|request| request.expert_id == channel.expert_id)
}

/// Performs a chat user's action on a request: the request afterwards, or what to tell them.
pub(crate) async fn act(
    state: &AppState,
    channel: &ChannelRecord,
    user_id: &str,
    request_id: &str,
    action: ChatAction,
) -> Result<RequestRecord, String> {
    if !is_linked(state, channel, user_id).await {
        return Err(NOT_LINKED.to_owned());
    }
    let request = request_of(state, channel, request_id)
        .await
        .ok_or_else(|| "This request no longer exists.".to_owned())?;
    let now = state.clock.now();
    if let ChatAction::Decide(decision) = &action {
        let expert = state
            .store
            .expert(&request.expert_id)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| "This request no longer exists.".to_owned())?;
        if crate::routes::decisions::unsigned(&expert, &request, *decision).is_err() {
            return Err(SIGN_IN_DASHBOARD.to_owned());
        }
    }
    let action = match action {
        ChatAction::Decide(decision) => Action::Decide {
            decision,
            marker: lifecycle::decision_marker(&request.id, decision, now),
            // A chat button cannot carry the expert's signature.
            signed: None,
        },
        ChatAction::Reply { text, message_id } => {
            let text = text.trim();
            if request.sealed {
                return Err(
                    "This request is end-to-end encrypted: answer it in the dashboard.".to_owned(),
                );
            }
            if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
                return Err("An answer must be 1 to 100000 characters.".to_owned());
            }
            Action::ExpertMessage {
                message: lifecycle::plaintext_message(
                    &request.id,
                    Sender::Expert,
                    text,
                    MessageId::new(&message_id),
                    now,
                ),
                decision: None,
            }
        }
    };
    match lifecycle::perform(&state.store, request, action, now).await {
        Ok(Performed::Changed { request, .. } | Performed::Unchanged(request)) => Ok(*request),
        Ok(Performed::DuplicateMessage) => Err("This answer was sent already.".to_owned()),
        Err(LifecycleError::Refused(refusal)) => Err(refusal_text(&refusal)),
        Err(LifecycleError::Store(error)) => {
            tracing::error!(%error, "a channel action could not be stored");
            Err("HeySummon could not record that; try again.".to_owned())
        }
    }
}

fn refusal_text(refusal: &Refusal) -> String {
    match refusal {
        Refusal::AlreadyDecided(decision) => format!("Already {}.", decision.as_str()),
        Refusal::Terminal(Status::Expired) => "This request has expired.".to_owned(),
        Refusal::Terminal(status) => format!("This request is {}.", status.as_str()),
        Refusal::NotAnApproval => "This request is not an approval.".to_owned(),
        Refusal::NoResponseRequired => "This notification takes no answer.".to_owned(),
        _ => "That is not possible for this request now.".to_owned(),
    }
}

/// Links a chat user with a connect code of the channel: what to tell them.
pub(crate) async fn connect(
    state: &AppState,
    channel: &ChannelRecord,
    user_id: &str,
    display_name: Option<String>,
    code: &str,
) -> String {
    let link = ChannelLink {
        user_id: user_id.to_owned(),
        display_name: display_name.map(|name| name.chars().take(100).collect()),
        created_at: state.clock.now(),
    };
    let hash = hash_secret(&normalized_code(code));
    match state.store.link_chat_user(&channel.id, hash, link).await {
        Ok(true) => "Connected: you can now answer HeySummon requests here.".to_owned(),
        Ok(false) => "That code is not valid (codes work once, for 10 minutes).".to_owned(),
        Err(error) => {
            tracing::error!(%error, "a chat user could not be linked");
            "HeySummon could not record that; try again.".to_owned()
        }
    }
}

/// The text confirming an action, for the chat.
pub(crate) fn done_text(request: &RequestRecord, action: &ChatAction) -> String {
    match action {
        ChatAction::Decide(decision) => {
            format!("{} {}.", capitalised_decision(*decision), request.ref_code)
        }
        ChatAction::Reply { .. } => format!("Answer sent for {}.", request.ref_code),
    }
}

fn capitalised_decision(decision: ApprovalDecision) -> &'static str {
    match decision {
        ApprovalDecision::Approved => "Approved",
        ApprovalDecision::Denied => "Denied",
    }
}
