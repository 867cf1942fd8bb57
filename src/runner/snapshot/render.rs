//! The snapshot text: observed outcomes (with ICMP source and MTU), matrix cells, step
//! results and the selected node state. Deterministic: sorted, no timings, no indexes.

use std::fmt::Write as _;

use crate::kernel::state::NodeState;
use crate::runner::results::{CheckResult, LabResult};

fn check_line(c: &CheckResult) -> String {
    format!("{}: {}", c.name, c.snapshot_summary())
}

pub fn render(result: &LabResult, state: &[NodeState]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# topolab snapshot of lab `{}`: what it observed, reviewed with `topolab review`.",
        result.lab
    );
    if !result.checks.is_empty() {
        out.push_str("\n[checks]\n");
        let mut lines: Vec<String> = result.checks.iter().map(check_line).collect();
        lines.sort();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    for m in &result.matrices {
        let _ = writeln!(out, "\n[matrix {}] {}", m.name, m.probe);
        let mut cells: Vec<String> = m
            .cells
            .iter()
            .map(|c| {
                let seen = match (&c.observed, &c.error) {
                    (_, Some(e)) => format!("error: {e}"),
                    (Some(o), None) => o.summary(),
                    (None, None) => "nothing".into(),
                };
                let target = if c.to == c.addr.to_string() {
                    c.to.clone()
                } else {
                    format!("{} {}", c.to, c.addr)
                };
                format!("{} -> {target}: {seen}", c.from)
            })
            .collect();
        cells.sort();
        for l in cells {
            let _ = writeln!(out, "{l}");
        }
    }
    for s in &result.steps {
        let _ = writeln!(out, "\n[step {}]", s.name);
        for a in &s.actions {
            let _ = writeln!(
                out,
                "action {}: {}",
                a.action,
                if a.ok {
                    "ok".to_string()
                } else {
                    format!("failed: {}", a.error.clone().unwrap_or_default())
                }
            );
        }
        let mut lines: Vec<String> = s.checks.iter().map(check_line).collect();
        lines.sort();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    for node in state {
        let _ = writeln!(out, "\n[state {}]", node.node);
        out.push_str(&node.render());
    }
    out
}
