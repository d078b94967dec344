//! `heysummon` (PROTOCOL G1): ask a human from a shell script or a CI job.
//!
//! ```sh
//! heysummon "Deploy to production?" --approval --timeout 10m && ./deploy.sh
//! ```
//!
//! Compatible with HeySummon's CLI contract: the answer on stdout, progress on stderr (a live
//! indicator when stderr is a terminal), `--json` for one JSON object on stdout, and exit codes
//! that a script can act on ([`Exit`]). It asks the server directly (`HEYSUMMON_BASE_URL`,
//! `HEYSUMMON_API_KEY`), sealing the question when the expert has published keys, or through a
//! running guard (`HEYSUMMON_GUARD_URL`), which holds the key. Ctrl-C leaves the request to
//! expire and exits 130. Approvals fail closed: only the expert's explicit approval exits 0.

mod args;
mod direct;
mod outcome;
mod via_guard;

use std::io::IsTerminal as _;
use std::time::Duration;

pub use args::{Args, parse_duration};
pub use outcome::{Exit, Finished};

/// Runs the command to its exit code, on its own runtime.
pub fn run(args: Args, env: impl Fn(&str) -> Option<String>) -> Exit {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return outcome::fail(Exit::Network, &format!("cannot start: {error}"), &args);
        }
    };
    let question = args.question();
    if question.trim().is_empty() {
        return outcome::fail(Exit::Configuration, "the question is empty", &args);
    }
    let guard = env("HEYSUMMON_GUARD_URL").filter(|url| !url.is_empty());
    let direct = (
        env("HEYSUMMON_BASE_URL").filter(|url| !url.is_empty()),
        env("HEYSUMMON_API_KEY").filter(|key| !key.is_empty()),
    );
    let progress = std::sync::Arc::new(Progress::new(&args));
    let asked = runtime.block_on(async {
        // The live indicator runs beside the waits, which keep their full length.
        let ticker = progress.live.then(|| {
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    every.tick().await;
                    progress.tick();
                }
            })
        });
        let asking = async {
            match (guard, direct) {
                (Some(guard), _) => via_guard::ask(&guard, &question, &args, &progress).await,
                (None, (Some(base), Some(key))) => {
                    direct::ask(&base, &key, &question, &args, &progress).await
                }
                _ => Err(Finished::error(
                    Exit::Configuration,
                    "set HEYSUMMON_BASE_URL and HEYSUMMON_API_KEY, or HEYSUMMON_GUARD_URL",
                )),
            }
        };
        let finished = tokio::select! {
            finished = asking => Some(finished.unwrap_or_else(|error| error)),
            Ok(()) = tokio::signal::ctrl_c() => None,
        };
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        finished
    });
    progress.clear();
    match asked {
        Some(finished) => finished.report(&args),
        None => {
            let reference = progress.reference();
            let message = match reference {
                Some(reference) => format!("interrupted; request {reference} is left to expire"),
                None => "interrupted".to_owned(),
            };
            outcome::fail(Exit::Interrupted, &message, &args)
        }
    }
}

/// What the user sees on stderr while waiting.
#[derive(Debug)]
pub(crate) struct Progress {
    quiet: bool,
    live: bool,
    reference: std::sync::Mutex<Option<String>>,
    started: std::time::Instant,
}

/// The least time between two waits: a wait that returns early (a clock ahead of the server's,
/// say) never turns the loop into a stream of requests.
pub(crate) const MIN_STEP: Duration = Duration::from_secs(1);

/// Sleeps out the rest of [`MIN_STEP`] after a wait that began at `began`.
pub(crate) async fn pace(began: std::time::Instant) {
    if let Some(rest) = MIN_STEP.checked_sub(began.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

impl Progress {
    fn new(args: &Args) -> Self {
        Self {
            quiet: args.quiet,
            live: !args.quiet && std::io::stderr().is_terminal(),
            reference: std::sync::Mutex::new(None),
            started: std::time::Instant::now(),
        }
    }

    /// The request exists: say so once.
    pub(crate) fn asked(&self, reference: &str, timeout: Duration) {
        if let Ok(mut known) = self.reference.lock() {
            *known = Some(reference.to_owned());
        }
        if !self.quiet {
            eprintln!(
                "heysummon: asked {reference}; waiting up to {} for the expert",
                humanize(timeout)
            );
        }
    }

    /// Still waiting: the live indicator on a terminal, nothing elsewhere.
    fn tick(&self) {
        if self.live && self.reference().is_some() {
            let spinner = ['|', '/', '-', '\\'];
            let elapsed = self.started.elapsed().as_secs();
            let frame = spinner[usize::try_from(elapsed % 4).unwrap_or(0)];
            eprint!(
                "\r{frame} waiting for the expert… {}",
                humanize(Duration::from_secs(elapsed))
            );
        }
    }

    fn clear(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }

    fn reference(&self) -> Option<String> {
        self.reference.lock().ok().and_then(|known| known.clone())
    }
}

/// `90s` → `1m30s`.
fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}
