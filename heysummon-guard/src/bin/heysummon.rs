//! `heysummon`: ask a human expert from the shell (PROTOCOL G1). All logic lives in the library
//! ([`heysummon_guard::command`]).

use clap::Parser as _;
use heysummon_guard::command::{Args, Exit};

fn main() -> std::process::ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            // Help and version are answers; every other mistake on the command line is a
            // configuration error (3), never clap's own 2, which means a timeout here.
            let _ = error.print();
            let exit = if error.use_stderr() {
                Exit::Configuration
            } else {
                Exit::Answered
            };
            return std::process::ExitCode::from(exit.code());
        }
    };
    let exit = heysummon_guard::command::run(args, |name| std::env::var(name).ok());
    std::process::ExitCode::from(exit.code())
}
