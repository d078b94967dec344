//! `heysummon`: ask a human expert from the shell (PROTOCOL G1). All logic lives in the library
//! ([`heysummon_guard::command`]).

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = heysummon_guard::command::Args::parse();
    let exit = heysummon_guard::command::run(args, |name| std::env::var(name).ok());
    std::process::ExitCode::from(exit.code())
}
