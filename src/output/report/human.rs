//! The terminal report: one line per check (pass/fail, expected vs observed with the ICMP
//! source, duration), per-lab summary, colour only when asked for.

use std::fmt::Write as _;
use std::time::Duration;

use crate::runner::results::{CheckResult, LabResult, LabStatus, SnapshotStatus};
use crate::term::Paint;

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

fn check(out: &mut String, p: Paint, c: &CheckResult, indent: &str) {
    let tag = if c.passed {
        p.green("PASS")
    } else {
        p.red("FAIL")
    };
    // A trace's path gets a line per hop below; the check's line keeps its outcome and
    // where its packets died.
    let (seen, hops) = match (&c.observed, &c.error) {
        (Some(o), None) if o.path.is_some() => (c.with_drop(o.head()), o.hop_lines()),
        _ => (c.evidence(), Vec::new()),
    };
    let converged = if c.passed && c.attempts > 1 {
        format!(", converged after {} attempts", c.attempts)
    } else {
        String::new()
    };
    if c.passed {
        let _ = writeln!(
            out,
            "{indent}{tag} {}  {}",
            c.name,
            p.dim(&format!("{seen} ({}{converged})", secs(c.duration)))
        );
    } else {
        // A named check also says what it probes: the name alone may not.
        let probe = format!("{} {}", c.from, c.probe);
        let what = if c.name == probe {
            String::new()
        } else {
            format!("  {}", p.dim(&format!("({probe})")))
        };
        let _ = writeln!(out, "{indent}{tag} {}{what}", c.name);
        let _ = writeln!(out, "{indent}       expected {}", c.expected);
        let _ = writeln!(
            out,
            "{indent}       observed {seen} ({}, {} attempt{})",
            secs(c.duration),
            c.attempts,
            if c.attempts == 1 { "" } else { "s" }
        );
    }
    for h in hops {
        let _ = writeln!(out, "{indent}       {}", p.dim(&h));
    }
}

/// "capture: topolab-artifacts/x.pcapng (12 packets on 4 interfaces, 3.1 KiB)", and what
/// is missing from it: packets after the size cap, packets the kernel dropped.
fn capture(out: &mut String, p: Paint, r: &LabResult) {
    use crate::kernel::capture::limit::human;
    let Some(c) = &r.capture else { return };
    if let Some(f) = &c.file {
        let _ = writeln!(
            out,
            "  capture: {} ({} packet{} on {} interface{}, {})",
            f.display(),
            c.packets,
            if c.packets == 1 { "" } else { "s" },
            c.interfaces,
            if c.interfaces == 1 { "" } else { "s" },
            human(c.bytes)
        );
    }
    if c.cut > 0 {
        let _ = writeln!(
            out,
            "    {} the file reached its {} limit: {} later packet{} not in it (--capture-limit)",
            p.yellow("cut:"),
            human(c.limit),
            c.cut,
            if c.cut == 1 { "" } else { "s" }
        );
    }
    if c.dropped > 0 {
        let _ = writeln!(
            out,
            "    {} the kernel dropped {} packet{} before they could be recorded",
            p.yellow("incomplete:"),
            c.dropped,
            if c.dropped == 1 { "" } else { "s" }
        );
    }
    if let Some(e) = &c.error {
        let _ = writeln!(out, "  {} {e}", p.yellow("capture failed:"));
    }
}

pub fn lab(r: &LabResult, p: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        p.bold(&format!("lab {}", r.lab)),
        p.dim(&format!("({})", r.file.display()))
    );
    for w in &r.warnings {
        for l in w.lines() {
            let _ = writeln!(out, "  {}", p.yellow(l));
        }
    }
    match &r.status {
        LabStatus::Error { message, .. } => {
            for l in message.trim_end().lines() {
                let _ = writeln!(out, "  {l}");
            }
            capture(&mut out, p, r);
            let _ = writeln!(out, "{} {}", p.red("ERROR"), r.lab);
            return out;
        }
        LabStatus::Skipped { reasons } => {
            for reason in reasons {
                let _ = writeln!(out, "  {}", p.yellow(reason));
            }
            let _ = writeln!(
                out,
                "{} {}: this kernel lacks what the lab needs",
                p.yellow("SKIP"),
                r.lab
            );
            let _ = writeln!(
                out,
                "  = help: `topolab test --vm-fallback {}` runs it in a VM on a full kernel; `--strict` makes a skip fail",
                r.file.display()
            );
            return out;
        }
        _ => {}
    }
    let _ = writeln!(out, "  {}", p.dim(&format!("built in {}", secs(r.build))));
    for c in &r.checks {
        check(&mut out, p, c, "  ");
    }
    for m in &r.matrices {
        let ok = m.cells.iter().filter(|c| c.passed).count();
        let tag = if m.passed {
            p.green("PASS")
        } else {
            p.red("FAIL")
        };
        let _ = writeln!(
            out,
            "  {tag} matrix {} ({}): {ok}/{} pairs as expected  {}",
            m.name,
            m.probe,
            m.cells.len(),
            p.dim(&secs(m.duration))
        );
        for c in m.cells.iter().filter(|c| !c.passed) {
            let seen = match (&c.observed, &c.error) {
                (_, Some(e)) => format!("error: {e}"),
                (Some(o), None) => o.summary(),
                (None, None) => "nothing".into(),
            };
            let _ = writeln!(
                out,
                "       {} -> {} ({}): expected {}, observed {seen}",
                c.from, c.to, c.addr, c.expected
            );
        }
    }
    for s in &r.steps {
        let tag = if s.passed {
            p.green("step")
        } else {
            p.red("step")
        };
        let _ = writeln!(out, "  {tag} {}", s.name);
        for a in &s.actions {
            match &a.error {
                None => {
                    let _ = writeln!(out, "    {} {}", p.dim("did"), a.action);
                }
                Some(e) => {
                    let _ = writeln!(out, "    {} {}: {e}", p.red("FAILED"), a.action);
                }
            }
        }
        for c in &s.checks {
            check(&mut out, p, c, "    ");
        }
    }
    match &r.snapshot {
        SnapshotStatus::Matched => {
            let _ = writeln!(out, "  {}", p.dim("snapshot matches"));
        }
        SnapshotStatus::Accepted => {
            let _ = writeln!(out, "  snapshot accepted");
        }
        SnapshotStatus::New { pending } => {
            let _ = writeln!(out, "  {} no reviewed snapshot yet", p.yellow("snapshot:"));
            if let Some(p) = pending {
                let _ = writeln!(
                    out,
                    "    wrote {}; accept it with `topolab review` (or `topolab test --accept`)",
                    p.display()
                );
            } else {
                let _ = writeln!(
                    out,
                    "    under CI snapshots are never written: run the lab locally and commit its .snap"
                );
            }
        }
        SnapshotStatus::Changed { diff, pending } => {
            let _ = writeln!(
                out,
                "  {} the results differ from the reviewed snapshot:",
                p.red("snapshot:")
            );
            for l in diff.lines() {
                let line = if l.starts_with('+') && !l.starts_with("+++") {
                    p.green(l)
                } else if l.starts_with('-') && !l.starts_with("---") {
                    p.red(l)
                } else {
                    l.to_string()
                };
                let _ = writeln!(out, "    {line}");
            }
            if let Some(p) = pending {
                let _ = writeln!(
                    out,
                    "    wrote {}; review it with `topolab review`",
                    p.display()
                );
            }
        }
        SnapshotStatus::NotCompared => {}
    }
    capture(&mut out, p, r);
    let failed = r.failed_checks();
    let total = r.total_checks();
    let verdict = match r.status {
        LabStatus::Passed => p.green("PASS"),
        _ => p.red("FAIL"),
    };
    let _ = writeln!(
        out,
        "{verdict} {}: {}/{total} checks passed in {}",
        r.lab,
        total - failed,
        secs(r.duration)
    );
    out
}

pub fn summary(results: &[LabResult], elapsed: Duration, p: Paint) -> String {
    let s = super::summary(results);
    let mut parts = vec![format!("{} passed", s.passed)];
    if s.failed > 0 {
        parts.push(p.red(&format!("{} failed", s.failed)));
    }
    if s.skipped > 0 {
        parts.push(p.yellow(&format!("{} skipped", s.skipped)));
    }
    if s.errors > 0 {
        parts.push(p.red(&format!("{} could not run", s.errors)));
    }
    format!(
        "\n{} lab{}: {} ({} checks, {})\n",
        s.labs,
        if s.labs == 1 { "" } else { "s" },
        parts.join(", "),
        s.checks,
        secs(elapsed)
    )
}
