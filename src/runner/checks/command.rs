//! Command checks: run `sh -c` inside the node (its network, mount, UTS and pid
//! namespaces) and compare exit status, output and JSON values with the expectation.
//! With `within`, the command is run again until the expectation holds: routing daemons
//! converge in seconds, not at once.

use std::time::{Duration, Instant};

use crate::front::lab::{Check, CommandExpect, ExitStatus, Expectation, Outcome, Probe};
use crate::kernel::engine::{LiveLab, command};
use crate::runner::results::{CheckResult, CommandObserved, Observed};

/// Pause between runs while converging: long enough not to busy a daemon's vty.
const RETRY: Duration = Duration::from_millis(500);
/// How much of each stream reports keep (the end, where errors are).
const KEEP: usize = 4096;

pub fn describe(e: &CommandExpect) -> String {
    let mut parts = Vec::new();
    match e.exit {
        Some(ExitStatus::Code(c)) => parts.push(format!("exit {c}")),
        Some(ExitStatus::Nonzero) => parts.push("exit nonzero".into()),
        None => {}
    }
    if let Some(re) = &e.stdout {
        parts.push(format!("stdout /{re}/"));
    }
    if let Some(re) = &e.stderr {
        parts.push(format!("stderr /{re}/"));
    }
    for (ptr, re) in &e.json {
        parts.push(format!("json {ptr} /{re}/"));
    }
    parts.join(", ")
}

/// The parts of `e` that the command's result does not meet.
pub fn mismatches(e: &CommandExpect, exit: Option<i32>, stdout: &str, stderr: &str) -> Vec<String> {
    let mut out = Vec::new();
    match (e.exit, exit) {
        (Some(ExitStatus::Code(want)), got) if got != Some(want) => {
            out.push(format!("expected exit {want}"))
        }
        (Some(ExitStatus::Nonzero), Some(0)) => out.push("expected a nonzero exit".into()),
        (Some(ExitStatus::Nonzero), None) => out.push("expected a nonzero exit".into()),
        _ => {}
    }
    let matches = |re: &str, text: &str| regex::Regex::new(re).is_ok_and(|r| r.is_match(text));
    if let Some(re) = &e.stdout
        && !matches(re, stdout)
    {
        out.push(format!("stdout does not match /{re}/"));
    }
    if let Some(re) = &e.stderr
        && !matches(re, stderr)
    {
        out.push(format!("stderr does not match /{re}/"));
    }
    if !e.json.is_empty() {
        match serde_json::from_str::<serde_json::Value>(stdout) {
            Err(_) => out.push("stdout is not JSON".into()),
            Ok(v) => {
                for (ptr, re) in &e.json {
                    match v.pointer(ptr) {
                        None => out.push(format!("json {ptr} is missing")),
                        Some(val) => {
                            let text = match val {
                                serde_json::Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            if !matches(re, &text) {
                                out.push(format!("json {ptr} does not match /{re}/"));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn tail(s: &str) -> String {
    if s.len() <= KEEP {
        return s.to_string();
    }
    let mut start = s.len() - KEEP;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

pub async fn run(live: &LiveLab, check: &Check) -> CheckResult {
    let (Probe::Command { cmd }, Expectation::Command(expect)) = (&check.probe, &check.expect)
    else {
        unreachable!("checks::command::run is only called for command checks")
    };
    let ns = live.node_ns(check.from);
    let start = Instant::now();
    let deadline = check.within.map(|w| start + w);
    let mut result = CheckResult {
        name: check.name.clone(),
        from: live.lab.node(check.from).name.clone(),
        probe: format!("command {cmd}"),
        expected: describe(expect),
        passed: false,
        observed: None,
        error: None,
        attempts: 0,
        duration: Duration::ZERO,
    };
    loop {
        result.attempts += 1;
        match command::run_shell(ns, cmd, None, check.timeout).await {
            Ok(out) => {
                let mismatches = mismatches(expect, out.status, &out.stdout, &out.stderr);
                result.error = None;
                result.passed = mismatches.is_empty();
                result.observed = Some(observed(
                    Outcome::Ok,
                    CommandObserved {
                        exit: out.status,
                        mismatches,
                        stdout: tail(&out.stdout),
                        stderr: tail(&out.stderr),
                    },
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                result.error = None;
                result.passed = false;
                result.observed = Some(observed(
                    Outcome::Timeout,
                    CommandObserved {
                        exit: None,
                        mismatches: Vec::new(),
                        stdout: String::new(),
                        stderr: String::new(),
                    },
                ));
            }
            Err(e) => {
                result.error = Some(format!("cannot run the command: {e}"));
                break;
            }
        }
        if result.passed {
            break;
        }
        match deadline {
            Some(d) if Instant::now() + RETRY < d => tokio::time::sleep(RETRY).await,
            _ => break,
        }
    }
    result.duration = start.elapsed();
    result
}

fn observed(outcome: Outcome, c: CommandObserved) -> Observed {
    Observed {
        outcome,
        from: None,
        mtu: None,
        route: None,
        detail: None,
        command: Some(Box::new(c)),
        path: None,
        drop: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(
        exit: Option<ExitStatus>,
        stdout: Option<&str>,
        json: &[(&str, &str)],
    ) -> CommandExpect {
        CommandExpect {
            exit,
            stdout: stdout.map(str::to_string),
            stderr: None,
            json: json
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    #[test]
    fn exit_status_and_patterns() {
        let e = expect(
            Some(ExitStatus::Code(0)),
            Some("(?m)^2\\.2\\.2\\.2 .*Full"),
            &[],
        );
        assert!(mismatches(&e, Some(0), "2.2.2.2  1 Full/DR\n", "").is_empty());
        assert_eq!(
            mismatches(&e, Some(1), "2.2.2.2  1 Init\n", ""),
            [
                "expected exit 0",
                "stdout does not match /(?m)^2\\.2\\.2\\.2 .*Full/"
            ]
        );
        let nz = expect(Some(ExitStatus::Nonzero), None, &[]);
        assert!(mismatches(&nz, Some(3), "", "").is_empty());
        assert_eq!(
            mismatches(&nz, Some(0), "", ""),
            ["expected a nonzero exit"]
        );
        assert_eq!(mismatches(&nz, None, "", ""), ["expected a nonzero exit"]);
    }

    #[test]
    fn json_pointers() {
        let out = r#"{"neighbors":{"2.2.2.2":[{"nbrState":"Full/DR","priority":1}]}}"#;
        let e = expect(
            None,
            None,
            &[
                ("/neighbors/2.2.2.2/0/nbrState", "^Full"),
                ("/neighbors/2.2.2.2/0/priority", "^1$"),
            ],
        );
        assert!(mismatches(&e, Some(0), out, "").is_empty());
        let missing = expect(None, None, &[("/neighbors/3.3.3.3/0/nbrState", "Full")]);
        assert_eq!(
            mismatches(&missing, Some(0), out, ""),
            ["json /neighbors/3.3.3.3/0/nbrState is missing"]
        );
        assert_eq!(
            mismatches(&missing, Some(0), "Init", ""),
            ["stdout is not JSON"]
        );
    }

    #[test]
    fn summaries_are_stable() {
        let c = CommandObserved {
            exit: Some(1),
            mismatches: vec!["stdout does not match /Full/".into()],
            stdout: "uptime 00:00:07".into(),
            stderr: String::new(),
        };
        assert_eq!(
            crate::runner::results::command_summary(Outcome::Ok, &c),
            "exit 1, stdout does not match /Full/"
        );
        assert_eq!(
            describe(&expect(
                Some(ExitStatus::Code(0)),
                Some("Full"),
                &[("/a", "b")]
            )),
            "exit 0, stdout /Full/, json /a /b/"
        );
    }
}
