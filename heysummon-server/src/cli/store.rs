//! `heysummon-server store copy`, `backup` and `restore`: moving a store's data to another
//! database, and keeping a copy of an SQLite one.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::print;
use crate::config::Config;
use crate::store::backup;
use crate::store::copy::{self, Copied};

/// `store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy everything from one database into another, empty one: SQLite to PostgreSQL when
    /// one machine is outgrown, or back. Rows are copied as they are (keys and tokens stay
    /// hashes, sealed content stays ciphertext, event ids and cursors keep their values). The
    /// source is read in one snapshot, so a server may keep running on it, but what it writes
    /// after the copy began is not copied: stop it for a move. A target holding any data is
    /// refused. Prints {"copied":{"TABLE":ROWS,…}}.
    Copy {
        /// The database to copy: sqlite://PATH or postgres://USER@HOST:PORT/DATABASE.
        #[arg(long)]
        from: String,
        /// The database to fill: a new SQLite file (created), or an existing, empty
        /// PostgreSQL database (the schema is created in it).
        #[arg(long)]
        to: String,
    },
}

/// `backup …`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to create (it must not exist yet).
    #[arg(long)]
    pub to: PathBuf,
}

/// `restore …`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (made by `heysummon-server backup`, or any copy of the database).
    #[arg(long)]
    pub from: PathBuf,
    /// Replace the database even if it holds data.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Serialize)]
struct CopyReport {
    copied: Copied,
}

/// Runs a `store` subcommand.
pub(super) async fn run(command: StoreCommand, json: bool) -> anyhow::Result<()> {
    match command {
        StoreCommand::Copy { from, to } => {
            let copied = copy::copy(&from, &to).await?;
            print(json, &CopyReport { copied }, |r| {
                let rows: u64 = r.copied.tables.iter().map(|(_, n)| n).sum();
                let lines: Vec<String> = r
                    .copied
                    .tables
                    .iter()
                    .map(|(table, n)| format!("  {table:<24}{n:>10}"))
                    .collect();
                format!(
                    "copied {rows} rows in {} tables:\n{}",
                    lines.len(),
                    lines.join("\n")
                )
            });
        }
    }
    Ok(())
}

/// `backup --to FILE`: the configured SQLite database, online.
pub(super) async fn backup(args: BackupArgs, config: &Config, json: bool) -> anyhow::Result<()> {
    let done = backup::backup(&config.database_url, &args.to).await?;
    print(json, &done, |b| {
        format!(
            "backed up {} to {} ({} bytes: {} experts, {} requests, {} events)",
            b.database.display(),
            b.backup.display(),
            b.bytes,
            b.experts,
            b.requests,
            b.events
        )
    });
    Ok(())
}

/// `restore --from FILE [--force]`: into the configured SQLite database.
pub(super) async fn restore(args: RestoreArgs, config: &Config, json: bool) -> anyhow::Result<()> {
    let done = backup::restore(&args.from, &config.database_url, args.force).await?;
    print(json, &done, |r| {
        format!(
            "restored {} into {} ({} experts, {} requests, {} events)",
            r.restored.display(),
            r.database.display(),
            r.experts,
            r.requests,
            r.events
        )
    });
    Ok(())
}
