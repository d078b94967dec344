//! How `heysummon` ends: an [`Exit`] code, and what it prints ([`Finished`]).

use std::io::Write as _;

use serde_json::{Value, json};

use super::Args;
use crate::ask::{AskError, AskOutcome};

/// The exit codes of HeySummon's CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: answered, or approved.
    Answered = 0,
    /// 1: denied.
    Denied = 1,
    /// 2: no answer in time (never 0).
    Timeout = 2,
    /// 3: the configuration, the credentials or the input are wrong; nothing was asked.
    Configuration = 3,
    /// 4: the server could not be reached or failed.
    Network = 4,
    /// 130: interrupted (Ctrl-C); the request is left to expire.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// How an ask ended: the exit code, the JSON object of `--json`, the text for stdout (the
/// answer) and a message for stderr.
#[derive(Debug)]
pub struct Finished {
    /// The exit code.
    pub exit: Exit,
    json: Value,
    stdout: Option<String>,
    stderr: Option<String>,
}

impl Finished {
    /// An end with everything given.
    pub(crate) fn new(
        exit: Exit,
        json: Value,
        stdout: Option<String>,
        stderr: Option<String>,
    ) -> Self {
        Self {
            exit,
            json,
            stdout,
            stderr,
        }
    }

    /// A failure before or instead of an answer.
    pub(crate) fn error(exit: Exit, message: &str) -> Self {
        let status = if exit == Exit::Timeout {
            "timeout"
        } else {
            "error"
        };
        Self {
            exit,
            json: json!({ "status": status, "error": message }),
            stdout: None,
            stderr: Some(message.to_owned()),
        }
    }

    /// From the ask core's outcome.
    pub(crate) fn from_outcome(outcome: &AskOutcome) -> Self {
        let ticket = outcome.ticket();
        let reference = ticket.ref_code.as_str().to_owned();
        let base = |status: &str| json!({ "status": status, "requestId": ticket.request_id, "refCode": reference });
        let (exit, mut object, stdout, stderr) = match outcome {
            AskOutcome::Answered {
                text, end_to_end, ..
            } => {
                let mut object = base("answered");
                object["answer"] = json!(text);
                object["endToEnd"] = json!(end_to_end);
                (Exit::Answered, object, Some(text.clone()), None)
            }
            AskOutcome::Approved { comment, .. } => {
                let mut object = base("approved");
                object["comment"] = json!(comment);
                let text = comment.clone().unwrap_or_else(|| "approved".into());
                (Exit::Answered, object, Some(text), None)
            }
            AskOutcome::Denied { comment, .. } => {
                let mut object = base("denied");
                object["comment"] = json!(comment);
                let text = comment.clone().unwrap_or_else(|| "denied".into());
                (
                    Exit::Denied,
                    object,
                    Some(text),
                    Some(format!("{reference} was denied")),
                )
            }
            AskOutcome::Ended { status, .. } => {
                let mut object = base("timeout");
                object["reason"] = json!(status.as_str());
                let why = format!("{reference} ended without an answer ({})", status.as_str());
                (Exit::Timeout, object, None, Some(why))
            }
            AskOutcome::Pending { .. }
            | AskOutcome::Timeout { .. }
            | AskOutcome::Notified { .. } => {
                let why = format!("no answer to {reference} in time");
                (Exit::Timeout, base("timeout"), None, Some(why))
            }
        };
        if let Value::Object(map) = &mut object {
            map.retain(|_, value| !value.is_null());
        }
        Self {
            exit,
            json: object,
            stdout,
            stderr,
        }
    }

    /// From an error of the ask core.
    pub(crate) fn from_error(error: &AskError) -> Self {
        let exit = if matches!(error, AskError::DecisionUnverified(_)) {
            // An approval the expert did not sign is no approval: not worth asking again.
            Exit::Denied
        } else if error.is_retryable()
            || matches!(error, AskError::Failed(_) | AskError::Unauthenticated)
        {
            Exit::Network
        } else {
            Exit::Configuration
        };
        Self::error(exit, &error.to_string())
    }

    /// Prints and returns the exit code.
    pub(crate) fn report(self, args: &Args) -> Exit {
        let mut out = std::io::stdout().lock();
        let printed = if args.json {
            writeln!(out, "{}", self.json)
        } else if let Some(text) = &self.stdout {
            writeln!(out, "{text}")
        } else {
            Ok(())
        };
        drop(out);
        // Quiet hides progress and the words about a denial or a timeout (the exit code says
        // it), never an error.
        let error = matches!(self.exit, Exit::Configuration | Exit::Network);
        if let (Some(message), true) = (&self.stderr, error || !args.quiet) {
            eprintln!("heysummon: {message}");
        }
        match printed {
            Ok(()) => self.exit,
            // Nobody reads the answer (a closed pipe): the script cannot act on it.
            Err(_) => Exit::Network,
        }
    }
}

/// Prints a failure and returns its code.
pub(crate) fn fail(exit: Exit, message: &str, args: &Args) -> Exit {
    Finished::error(exit, message).report(args)
}
