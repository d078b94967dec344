//! The command line of `heysummon`: `heysummon [ask] QUESTION… [--timeout D] [--approval]
//! [--quiet] [--json]`, options before or after the question.

use std::time::Duration;

use clap::Parser;

/// heysummon: ask a human expert from the shell and wait for the answer.
///
/// Exit codes: 0 answered or approved (the answer on stdout), 1 denied, 2 timeout, 3
/// configuration or authentication error, 4 network or server error, 130 interrupted.
/// Settings: HEYSUMMON_BASE_URL and HEYSUMMON_API_KEY, or HEYSUMMON_GUARD_URL to ask through a
/// running heysummon-guard.
#[derive(Clone, Debug, Parser)]
#[command(name = "heysummon", version, about)]
pub struct Args {
    /// The question (`ask` in front of it is optional).
    #[arg(required = true, num_args = 1.., value_name = "QUESTION")]
    pub words: Vec<String>,
    /// How long to wait for the expert: `30s`, `10m`, `1h`, or seconds.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Ask for an explicit approve or deny (exit 0 only on approval).
    #[arg(long)]
    pub approval: bool,
    /// With `--approval`: the action, as JSON (the command and its arguments), that the
    /// expert's signed decision must cover.
    #[arg(long, value_name = "JSON", value_parser = parse_action, requires = "approval")]
    pub action: Option<serde_json::Value>,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// One JSON object on stdout instead of the answer's text.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The question: the words, without a leading `ask` subcommand.
    pub fn question(&self) -> String {
        let words = match self.words.split_first() {
            Some((first, rest)) if first == "ask" && !rest.is_empty() => rest,
            _ => &self.words[..],
        };
        words.join(" ")
    }
}

/// `--action`: any JSON value.
fn parse_action(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))
}

/// `30s`, `10m`, `1h`, `2d`, or a number of seconds; from 1 s to 365 days.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration like 30s, 10m or 1h");
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let seconds = number.checked_mul(unit).ok_or_else(bad)?;
    if !(1..=365 * 86_400).contains(&seconds) {
        return Err(format!("{text:?}: the timeout must be from 1s to 365d"));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in [
            "",
            "0s",
            "m",
            "10x",
            "-5s",
            "1.5m",
            "400d",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn options_stand_before_or_after_the_question_and_ask_is_optional() {
        for line in [
            vec!["heysummon", "Deploy now?", "--approval", "--timeout", "30s"],
            vec![
                "heysummon",
                "--approval",
                "ask",
                "Deploy",
                "now?",
                "--timeout=30s",
            ],
        ] {
            let args = Args::try_parse_from(line).unwrap();
            assert_eq!(args.question(), "Deploy now?");
            assert!(args.approval);
            assert_eq!(args.timeout, Duration::from_secs(30));
        }
        let args = Args::try_parse_from(["heysummon", "ask"]).unwrap();
        assert_eq!(args.question(), "ask");
        assert!(Args::try_parse_from(["heysummon"]).is_err());
    }

    #[test]
    fn an_approval_may_name_its_action_as_json() {
        let args = Args::try_parse_from([
            "heysummon",
            "Deploy?",
            "--approval",
            "--action",
            r#"{"tool":"deploy","args":["prod"]}"#,
        ])
        .unwrap();
        assert_eq!(
            args.action,
            Some(serde_json::json!({"tool": "deploy", "args": ["prod"]}))
        );
        // Not JSON, or without --approval: refused.
        assert!(Args::try_parse_from(["heysummon", "Q", "--approval", "--action", "{"]).is_err());
        assert!(Args::try_parse_from(["heysummon", "Q", "--action", "1"]).is_err());
    }
}
