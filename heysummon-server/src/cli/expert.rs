//! `heysummon-server expert …`: experts, their sign-in links and identities, their sessions.

use clap::Subcommand;
use serde::Serialize;

use super::print;
use crate::clock::Clock;
use crate::config::Config;
use crate::provision;
use crate::store::Store;

/// `expert …`.
#[derive(Debug, Subcommand)]
pub enum ExpertCommand {
    /// Create an expert (in a tenant of its own). Prints {"expertId","expertKey"}.
    Add {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Store exactly this key instead of generating one.
        #[arg(long)]
        key: Option<String>,
    },
    /// Make a one-time sign-in link to the dashboard, valid once for 15 minutes. Prints
    /// {"url","expiresAt"}.
    LoginLink {
        /// The expert.
        expert_id: String,
        /// The server's address as the browser reaches it [default: the public URL setting,
        /// else the listening address].
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Link a sign-in provider's identity to an expert (PROTOCOL E2). Prints
    /// {"expertId","provider","subject"}.
    Link {
        /// The expert.
        expert_id: String,
        /// The provider's name in the configuration: `github`, `google` or `oidc`.
        #[arg(long)]
        provider: String,
        /// The provider's stable id of the person (`sub`; GitHub's numeric user id).
        #[arg(long)]
        subject: String,
    },
    /// Remove a linked identity (one linked by hand or through an e-mail allow-list): it no
    /// longer signs in. Prints {"expertId","provider","subject","unlinked"}.
    Unlink {
        /// The expert.
        expert_id: String,
        /// The provider's name.
        #[arg(long)]
        provider: String,
        /// The provider's id of the person.
        #[arg(long)]
        subject: String,
    },
    /// End every dashboard session of an expert (after an unlink, a lost laptop). Prints
    /// {"expertId","sessionsEnded"}.
    SignOut {
        /// The expert.
        expert_id: String,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Unlinked {
    expert_id: String,
    provider: String,
    subject: String,
    unlinked: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedOut {
    expert_id: String,
    sessions_ended: u64,
}

/// Runs an `expert` subcommand.
pub(super) async fn run(
    command: ExpertCommand,
    store: &Store,
    clock: &Clock,
    config: &Config,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        ExpertCommand::Add { name, key } => {
            let added = provision::add_expert(store, clock, &name, key).await?;
            print(json, &added, |a| {
                format!(
                    "expert {}\nexpert key (shown once): {}",
                    a.expert_id, a.expert_key
                )
            });
        }
        ExpertCommand::LoginLink {
            expert_id,
            base_url,
        } => {
            let base = base_url.unwrap_or_else(|| config.base_url());
            let link = crate::web::create_login_link(store, &expert_id, &base, clock.now())
                .await?
                .ok_or_else(|| anyhow::anyhow!("expert {expert_id} not found"))?;
            print(json, &link, |l| {
                format!(
                    "Open this link to sign in (once, until {}):\n{}",
                    l.expires_at, l.url
                )
            });
        }
        ExpertCommand::Link {
            expert_id,
            provider,
            subject,
        } => {
            let linked =
                provision::link_identity(store, clock, &expert_id, &provider, &subject).await?;
            print(json, &linked, |l| {
                format!(
                    "{} identity {} now signs in as expert {}",
                    l.provider, l.subject, l.expert_id
                )
            });
        }
        ExpertCommand::Unlink {
            expert_id,
            provider,
            subject,
        } => {
            let unlinked = store
                .unlink_identity(&provider, &subject, &expert_id)
                .await?;
            if !unlinked {
                anyhow::bail!("no {provider} identity {subject} is linked to expert {expert_id}");
            }
            let result = Unlinked {
                expert_id,
                provider,
                subject,
                unlinked,
            };
            print(json, &result, |u| {
                format!(
                    "{} identity {} no longer signs in as expert {} (sessions it began go on \
                     until `expert sign-out`)",
                    u.provider, u.subject, u.expert_id
                )
            });
        }
        ExpertCommand::SignOut { expert_id } => {
            if store.expert(&expert_id).await?.is_none() {
                anyhow::bail!("expert {expert_id} not found");
            }
            let ended = store.delete_sessions_of(&expert_id, None).await?;
            let result = SignedOut {
                expert_id,
                sessions_ended: ended,
            };
            print(json, &result, |s| {
                format!(
                    "ended {} session(s) of expert {}",
                    s.sessions_ended, s.expert_id
                )
            });
        }
    }
    Ok(())
}
