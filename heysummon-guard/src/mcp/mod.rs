//! The Model Context Protocol server (PROTOCOL G2): the ask core as tools a coding agent calls,
//! on the official Rust MCP implementation (`rmcp`).
//!
//! - [`serve_stdio`]: `heysummon-guard mcp`, one agent over standard input and output;
//! - [`HttpService`]: streamable HTTP at `/mcp` on the running guard (stateless: every POST is
//!   one JSON-RPC exchange; loopback only, as the rest of the guard).
//!
//! Tools: `ask_human`, `await_human`, `request_approval`, `notify_human` and
//! `approval_prompt` ([`HumanTools`]). No call holds longer than [`HOLD`] (45 s, or less as
//! configured: [`crate::Config::mcp_hold`]), so no host's
//! tool-call timeout ever fires: without an answer by then a call returns `pending` with the
//! request's id, and `await_human` picks it up. Approvals fail closed: only the expert's
//! explicit approval is ever `approved` (or `allow`).

mod bounded;
mod params;
mod results;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use heysummon_sdk::wire::RequestId;
use http_body_util::Full;
use http_body_util::combinators::BoxBody;
use hyper::{Request, Response};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt as _, tool, tool_handler, tool_router};

pub use params::{ApprovalPrompt, AskHuman, AwaitHuman, NotifyHuman, RequestApproval};

use crate::ask::{AskInput, Asker};

pub use crate::config::MAX_MCP_HOLD as HOLD;

/// What the server tells the model about itself when a session starts.
const INSTRUCTIONS: &str = "Tools to reach a human expert. Use ask_human when you are blocked by \
ambiguity or missing context, request_approval before an action that is destructive, costly or \
irreversible, and notify_human to report something nobody needs to answer. Calls return within \
45 seconds: a result with status \"pending\" means the expert has not answered yet; call \
await_human with its request_id to keep waiting. Only status \"approved\" permits an action; \
\"denied\", \"pending\", \"timeout\" and errors never do.";

/// The tools, over an [`Asker`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HumanTools {
    asker: Asker,
    hold: Duration,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl HumanTools {
    /// The tools asking through `asker`, each call holding at most `hold` (at most [`HOLD`]).
    pub fn new(asker: Asker, hold: Duration) -> Self {
        Self {
            asker,
            hold: hold.min(HOLD),
            tool_router: Self::tool_router(),
        }
    }

    /// `ask_human`.
    #[tool(
        description = "Ask a human expert a question and get their answer. Use it when you are blocked by ambiguity, missing context or a judgement call you should not make alone. Returns within 45 seconds: status \"answered\" with the answer, or \"pending\" with a request_id to pass to await_human. The question may be end-to-end encrypted to the expert."
    )]
    async fn ask_human(&self, Parameters(params): Parameters<AskHuman>) -> CallToolResult {
        self.ask_within_hold(params.input()).await
    }

    /// `await_human`.
    #[tool(
        description = "Keep waiting for the answer or decision of a request that returned status \"pending\". Returns within 45 seconds with the same result shapes as the tool that made the request; call it again while the status is \"pending\"."
    )]
    async fn await_human(&self, Parameters(params): Parameters<AwaitHuman>) -> CallToolResult {
        let wait = params
            .wait_seconds
            .map_or(self.hold, Duration::from_secs)
            .min(self.hold);
        let ticket = match self.asker.conversation(&RequestId::new(params.request_id)) {
            Ok(Some(conversation)) => crate::ask::ticket(&conversation),
            Ok(None) => return results::error(&crate::ask::AskError::NotFound, false),
            Err(error) => return results::error(&error, false),
        };
        let approval = ticket.kind == crate::ask::AskKind::Approval;
        match self.resume_within(ticket, wait).await {
            Ok(outcome) => results::outcome(&outcome),
            Err(error) => results::error(&error, approval),
        }
    }

    /// `request_approval`.
    #[tool(
        description = "Ask a human expert to approve an action before you take it (deleting data, deploying, spending money, contacting people). Returns within 45 seconds: status \"approved\" only when the expert explicitly approved; \"denied\", \"timeout\" or \"pending\" (pass request_id to await_human) otherwise. Never act unless the status is \"approved\"."
    )]
    async fn request_approval(
        &self,
        Parameters(params): Parameters<RequestApproval>,
    ) -> CallToolResult {
        self.ask_within_hold(params.input()).await
    }

    /// `notify_human`.
    #[tool(
        description = "Tell a human expert something that needs no answer (a finished task, a problem you worked around). Returns at once with the request_id and ref_code."
    )]
    async fn notify_human(&self, Parameters(params): Parameters<NotifyHuman>) -> CallToolResult {
        self.ask_within_hold(params.input()).await
    }

    /// `approval_prompt`.
    #[tool(
        description = "Permission prompt for a coding agent: asks a human expert whether a tool call may run. The text result is the JSON {\"behavior\":\"allow\",\"updatedInput\":{...}} only on the expert's explicit approval, else {\"behavior\":\"deny\",\"message\":\"...\"}. Holds at most 45 seconds; the same tool_use_id asked again returns the decision once it is made, without paging twice."
    )]
    async fn approval_prompt(
        &self,
        Parameters(params): Parameters<ApprovalPrompt>,
    ) -> CallToolResult {
        let outcome = self.bounded_ask(params.input()).await;
        results::permission(outcome.as_ref(), &params.input)
    }
}

impl HumanTools {
    /// Asks and holds at most the configured hold.
    async fn ask_within_hold(&self, input: AskInput) -> CallToolResult {
        let approval = input.kind == crate::ask::AskKind::Approval;
        match self.bounded_ask(input).await {
            Ok(outcome) => results::outcome(&outcome),
            Err(error) => results::error(&error, approval),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for HumanTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("heysummon", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

/// Serves the tools over standard input and output until the client closes them.
///
/// # Errors
/// When the session could not start or ended with a transport failure.
pub async fn serve_stdio(asker: Asker, hold: Duration) -> Result<(), std::io::Error> {
    let service = HumanTools::new(asker, hold)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    service.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// The streamable HTTP endpoint: stateless, one JSON-RPC exchange per POST, answered as JSON
/// (or as an event stream when a tool sends something first). Cheap to clone.
#[derive(Clone)]
pub struct HttpService {
    inner: StreamableHttpService<HumanTools, NeverSessionManager>,
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService").finish_non_exhaustive()
    }
}

impl HttpService {
    /// The endpoint over `asker`, refusing bodies over `max_body_bytes`. Stateless: nothing
    /// outlives a request, so the guard's own shutdown drains it. The `Host` is checked by the
    /// guard (loopback unless configured otherwise).
    pub fn new(asker: Asker, hold: Duration, max_body_bytes: usize) -> Self {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_max_request_body_bytes(max_body_bytes)
            .disable_allowed_hosts();
        let inner = StreamableHttpService::new(
            move || Ok(HumanTools::new(asker.clone(), hold)),
            Arc::new(NeverSessionManager::default()),
            config,
        );
        Self { inner }
    }

    /// Answers one request whose body was read already.
    pub async fn handle(
        &self,
        request: Request<Bytes>,
    ) -> Response<BoxBody<Bytes, std::convert::Infallible>> {
        self.inner.handle(request.map(Full::new)).await
    }
}
