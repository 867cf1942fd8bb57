//! The diff in words (flows side by side) and as JSON.

use std::fmt::Write as _;

use super::DiffResult;
use crate::term::Paint;

/// What a diff covers, said every time: a diff proves nothing about flows it did not probe.
fn coverage(d: &DiffResult) -> String {
    let mut parts = vec![plural(d.checks, "check")];
    if d.matrix > 0 {
        parts.push(plural(d.matrix, "matrix cell"));
    }
    if d.auto > 0 {
        parts.push(format!(
            "{} (ping between all lab addresses, tcp/udp to every listener)",
            plural(d.auto, "automatic flow")
        ));
    }
    format!("{} probed: {}", plural(d.probed, "flow"), parts.join(", "))
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

pub fn human(d: &DiffResult, p: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "base:      {}", d.base);
    let _ = writeln!(out, "candidate: {}", d.candidate);
    out.push('\n');
    if !d.flows.is_empty() {
        let rows: Vec<[String; 3]> = d
            .flows
            .iter()
            .map(|f| {
                [
                    f.label(),
                    f.base.evidence(),
                    if f.changed {
                        f.candidate.evidence()
                    } else {
                        "(same)".to_string()
                    },
                ]
            })
            .collect();
        let header = ["FLOW", "BASE", "CANDIDATE"].map(String::from);
        let w0 = rows
            .iter()
            .chain([&header])
            .map(|r| r[0].chars().count())
            .max();
        let w1 = rows
            .iter()
            .chain([&header])
            .map(|r| r[1].chars().count())
            .max();
        let (w0, w1) = (w0.unwrap_or(0), w1.unwrap_or(0));
        let _ = writeln!(
            out,
            "{}",
            p.bold(&format!(
                "{:w0$}  {:w1$}  {}",
                header[0], header[1], header[2]
            ))
            .trim_end()
        );
        for (row, f) in rows.iter().zip(&d.flows) {
            let line = format!("{:w0$}  {:w1$}  {}", row[0], row[1], row[2]);
            let _ = writeln!(out, "{}", if f.changed { p.yellow(&line) } else { line });
        }
        out.push('\n');
    }
    let settled = if d.settled_on_retry > 0 {
        format!(
            " ({} differed at first and agreed when probed again)",
            plural(d.settled_on_retry, "flow")
        )
    } else {
        String::new()
    };
    if d.changed == 0 {
        let _ = writeln!(
            out,
            "{}{settled}",
            p.green(&format!("no change in the {} probed flows", d.probed))
        );
    } else {
        let _ = writeln!(
            out,
            "{}{settled}",
            p.red(&format!(
                "{} of {} probed flows changed",
                d.changed, d.probed
            ))
        );
    }
    let _ = writeln!(out, "{}.", coverage(d));
    if d.one_at_a_time {
        let _ = writeln!(
            out,
            "The labs were probed one after the other: the host's neighbour table, shared by \
             every namespace, could not hold both."
        );
    }
    let _ = writeln!(out, "This covers {}.", super::SCOPE);
    for w in &d.warnings {
        let _ = writeln!(out, "{}", p.yellow(&format!("warning: {w}")));
    }
    out
}

pub fn json(d: &DiffResult) -> String {
    let mut s =
        serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
