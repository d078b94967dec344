//! The 45-second bound, made hard: creating a request and waiting for it each get what is left
//! of the hold, enforced by a timer around the core, so neither retries against a slow server
//! nor reading the answer can make a tool call outlast it. A call cut short by the timer answers
//! `pending` when the request exists (the next call picks it up), else an error.

use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::HumanTools;
use crate::ask::{AskError, AskInput, AskOutcome, Ticket};

/// Kept back from the core's own wait for reading the answer, so that an answer that arrives
/// at the end of the wait is still read within the hold.
const READING: Duration = Duration::from_secs(2);

impl HumanTools {
    /// Asks and holds at most the hold.
    pub(super) async fn bounded_ask(&self, input: AskInput) -> Result<AskOutcome, AskError> {
        let started = Instant::now();
        let created = timeout(self.hold, self.asker.ask(&input.with_wait(Duration::ZERO)))
            .await
            .map_err(|_| AskError::ServerTimeout { waited: self.hold })??;
        match created {
            AskOutcome::Pending { ticket, .. } => {
                let left = self.hold.saturating_sub(started.elapsed());
                Ok(self.resume_within(ticket, left).await?)
            }
            decided => Ok(decided),
        }
    }

    /// Waits on `ticket`'s request at most `wait` (and never past the hold).
    pub(super) async fn resume_within(
        &self,
        ticket: Ticket,
        wait: Duration,
    ) -> Result<AskOutcome, AskError> {
        let wait = wait.min(self.hold);
        let core_wait = wait.saturating_sub(READING);
        match timeout(wait, self.asker.resume(&ticket.request_id, core_wait)).await {
            Ok(outcome) => outcome,
            Err(_) => Ok(AskOutcome::Pending {
                ticket,
                retry_after: Duration::from_secs(1),
            }),
        }
    }
}
