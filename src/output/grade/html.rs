//! A self-contained HTML grade report: no script, no stylesheet or font fetched from
//! anywhere, so it opens the same offline, from a mail attachment or a CI artifact. The
//! topology is an SVG drawn by Graphviz when `dot` is installed, else its Mermaid source.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use super::report::{headline, status_word};
use super::{Grading, Status};
use crate::front::lab::Lab;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The lab drawn by `dot -Tsvg`, or None when Graphviz is missing or fails.
fn svg(lab: &Lab) -> Option<String> {
    let source = crate::plan::graph::render(lab, crate::plan::graph::Format::Dot);
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Written before reading: dot reads all of its input before it draws anything.
    child.stdin.take()?.write_all(source.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    // Inline SVG takes no XML prolog or doctype.
    let start = text.find("<svg")?;
    Some(text[start..].to_string())
}

/// The topology picture for the report.
pub fn topology(lab: &Lab) -> String {
    match svg(lab) {
        Some(svg) => format!("<figure class=\"topology\">{svg}</figure>"),
        None => format!(
            "<p class=\"note\">Graphviz (<code>dot</code>) was not available to draw the \
             topology; this is its Mermaid source (paste it into any Mermaid viewer).</p>\
             <pre class=\"mermaid-source\">{}</pre>",
            esc(&crate::plan::graph::render(
                lab,
                crate::plan::graph::Format::Mermaid
            ))
        ),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.pass{background:#e6f4e6}.fail{background:#fbe3e3}.score{text-align:right}\
pre{background:#f6f6f6;padding:.8em;overflow:auto}.topology svg{max-width:100%;height:auto}\
.note{color:#555}details{margin:.6em 0}summary{cursor:pointer;font-weight:600}";

pub fn render(g: &Grading, picture: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Grades: {title}</title><style>{STYLE}</style></head><body>\n\
         <h1>Grades: {title}</h1>\n<p>Exercise: <code>{file}</code></p>\n<p>Goal: {goal}</p>\n",
        title = esc(&g.title),
        file = esc(&g.exercise),
        goal = esc(&g.goal),
    );
    for w in &g.warnings {
        let _ = writeln!(
            out,
            "<p class=\"fail\"><strong>Warning:</strong> {}</p>",
            esc(w)
        );
    }
    let _ = writeln!(out, "<h2>Topology</h2>\n{picture}");

    let _ = writeln!(
        out,
        "<h2>Students</h2>\n<table><tr><th>Student</th><th>Score</th><th>Checks passed</th><th>Status</th>"
    );
    // One column per check: who passed what, at a glance.
    for (i, c) in g.baseline.iter().enumerate() {
        let _ = write!(out, "<th title=\"{}\">{}</th>", esc(&c.name), i + 1);
    }
    let _ = writeln!(out, "</tr>");
    for s in &g.grades {
        let status = match &s.status {
            Status::Broken { .. } => format!("broken: {}", esc(&headline(&s.status))),
            other => status_word(other).to_string(),
        };
        let _ = write!(
            out,
            "<tr><td><a href=\"#student-{i}\">{name}</a></td><td class=\"score\">{score}%</td>\
             <td class=\"score\">{p}/{t}</td><td>{status}</td>",
            i = esc(&super::report::file_safe(&s.student)),
            name = esc(&s.student),
            score = s.score,
            p = s.passed,
            t = s.total,
        );
        for goal in &g.baseline {
            let passed = s.status == Status::Graded
                && s.checks.iter().any(|c| c.name == goal.name && c.passed);
            let _ = write!(
                out,
                "<td class=\"{}\">{}</td>",
                if passed { "pass" } else { "fail" },
                if passed { "pass" } else { "fail" }
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table>");

    let _ = writeln!(
        out,
        "<h2>Checks</h2>\n<table><tr><th>#</th><th>Check</th><th>Expected</th><th>Lab as handed out</th></tr>"
    );
    for (i, c) in g.baseline.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            i + 1,
            esc(&c.name),
            esc(&c.expected),
            if c.passed { "pass" } else { "fail" },
            esc(&c.observed)
        );
    }
    let _ = writeln!(out, "</table>\n<h2>Submissions</h2>");
    for s in &g.grades {
        let _ = writeln!(
            out,
            "<details id=\"student-{}\"><summary>{}: {}%</summary>",
            esc(&super::report::file_safe(&s.student)),
            esc(&s.student),
            s.score
        );
        if let Status::Broken { error } = &s.status {
            let _ = writeln!(
                out,
                "<p>The submission could not be applied or built; no check ran.</p><pre>{}</pre>",
                esc(error.trim_end())
            );
        }
        for n in &s.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(n));
        }
        let _ = writeln!(
            out,
            "<table><tr><th>Check</th><th>Expected</th><th>Observed</th></tr>"
        );
        for c in &s.checks {
            let _ = writeln!(
                out,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                if c.passed { "pass" } else { "fail" },
                esc(&c.name),
                esc(&c.expected),
                esc(&c.observed)
            );
        }
        let _ = writeln!(out, "</table></details>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
