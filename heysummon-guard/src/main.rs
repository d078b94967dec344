//! `heysummon-guard`: the local signing proxy. All logic lives in the library.

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HEYSUMMON_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = heysummon_guard::cli::Cli::parse();
    heysummon_guard::cli::run(cli)?;
    Ok(())
}
