//! `heysummon-guard`: the local signing proxy. All logic lives in the library.

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = heysummon_guard::cli::Cli::parse();
    heysummon_guard::cli::run(cli)?;
    Ok(())
}

/// `HEYSUMMON_LOG` (default `info`), with the MCP library held at `warn` whatever it says: at
/// debug level it logs whole requests and results, the questions and decrypted answers included.
fn filter() -> EnvFilter {
    let wanted = std::env::var("HEYSUMMON_LOG").unwrap_or_else(|_| "info".to_owned());
    EnvFilter::try_new(format!("{wanted},rmcp=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"))
}
