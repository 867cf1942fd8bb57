//! Grade reports as CSV (one row per student, one column per check) and Markdown (a
//! combined page and one page per student).

use std::fmt::Write as _;

use super::{Grade, Grading, Item, Status};

pub fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Graded => "graded",
        Status::Broken { .. } => "broken",
        Status::Empty => "nothing submitted",
    }
}

/// An error in one line, for places with room for one: its first line, and the next one
/// too when the first only announces it ("nft failed:").
pub fn headline(s: &Status) -> String {
    let Status::Broken { error } = s else {
        return String::new();
    };
    let mut lines = error.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("").to_string();
    match lines.next() {
        Some(next) if first.ends_with(':') => format!("{first} {next}"),
        _ => first,
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

pub fn csv(g: &Grading) -> String {
    let mut header: Vec<String> = [
        "student",
        "score",
        "raw_score",
        "fixed",
        "to_fix",
        "broke",
        "passed",
        "total",
        "status",
        "error",
    ]
    .map(String::from)
    .to_vec();
    header.extend(g.baseline.iter().map(|i| i.name.clone()));
    let mut out = csv_row(&header);
    for s in &g.grades {
        let mut row = vec![
            s.student.clone(),
            s.score.to_string(),
            s.raw_score.to_string(),
            s.fixed.to_string(),
            s.to_fix.to_string(),
            s.broke.to_string(),
            s.passed.to_string(),
            s.total.to_string(),
            status_word(&s.status).to_string(),
            headline(&s.status),
        ];
        row.extend(g.baseline.iter().map(
            |goal| match s.checks.iter().find(|c| c.name == goal.name) {
                Some(c) if s.status == Status::Graded => {
                    if c.passed { "pass" } else { "fail" }.to_string()
                }
                _ => "fail".to_string(),
            },
        ));
        out.push_str(&csv_row(&row));
    }
    out
}

/// A Markdown table cell: pipes escaped, one line.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn result_word(i: &Item) -> &'static str {
    if i.passed { "pass" } else { "FAIL" }
}

/// Where a student's page is, relative to the combined report.
pub fn student_page(student: &str) -> String {
    format!("students/{}.md", file_safe(student))
}

/// A student name as a file name: directory names are already file names, but a report
/// must not be written outside its directory whatever the name.
pub fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => "_".to_string(),
        s => s.to_string(),
    }
}

pub fn markdown(g: &Grading) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Grades: {}\n", md(&g.title));
    let _ = writeln!(out, "Exercise: `{}`  ", g.exercise);
    let _ = writeln!(out, "Goal: {}\n", md(&g.goal));
    for w in &g.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", md(w));
    }
    let _ = writeln!(
        out,
        "The score counts the checks the lab as handed out fails, less those a submission \
         broke; the raw share of all checks passed is beside it.\n"
    );
    let _ = writeln!(
        out,
        "| Student | Score | Fixed | Broke | Raw | Checks passed | Status |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    for s in &g.grades {
        let status = match &s.status {
            Status::Broken { .. } => format!("broken: {}", md(&headline(&s.status))),
            other => status_word(other).to_string(),
        };
        let _ = writeln!(
            out,
            "| [{}]({}) | {}% | {}/{} | {} | {}% | {}/{} | {} |",
            md(&s.student),
            student_page(&s.student),
            s.score,
            s.fixed,
            s.to_fix,
            s.broke,
            s.raw_score,
            s.passed,
            s.total,
            status
        );
    }
    let _ = writeln!(out, "\n## Checks\n");
    let _ = writeln!(out, "| Check | Expected | Lab as handed out | Passed by |");
    let _ = writeln!(out, "|---|---|---|---:|");
    for goal in &g.baseline {
        let by = g
            .grades
            .iter()
            .filter(|s| {
                s.status == Status::Graded
                    && s.checks.iter().any(|c| c.name == goal.name && c.passed)
            })
            .count();
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) | {by}/{} |",
            md(&goal.name),
            md(&goal.expected),
            result_word(goal).to_lowercase(),
            md(&goal.observed),
            g.grades.len()
        );
    }
    out
}

pub fn student_markdown(g: &Grading, s: &Grade) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}%\n", md(&s.student), s.score);
    let _ = writeln!(out, "Exercise: {}  ", md(&g.title));
    let _ = writeln!(out, "Goal: {}\n", md(&g.goal));
    match &s.status {
        Status::Graded => {
            let _ = writeln!(
                out,
                "Fixed {} of the {} checks the lab as handed out fails, broke {} that it passed; {} of {} checks pass ({}%).\n",
                s.fixed, s.to_fix, s.broke, s.passed, s.total, s.raw_score
            );
        }
        Status::Broken { error } => {
            let _ = writeln!(
                out,
                "The submission could not be applied or the lab could not be built, so no \
                 check ran and the grade is 0.\n\n```text\n{}\n```\n",
                error.trim_end()
            );
        }
        Status::Empty => {
            let _ = writeln!(
                out,
                "None of the exercise's files was submitted; the grade is 0.\n"
            );
        }
    }
    for n in &s.notes {
        let _ = writeln!(out, "- note: {}", md(n));
    }
    if !s.notes.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "| Check | Expected | Observed | Result | Handed out |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for c in &s.checks {
        let handed_out = match c.baseline {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "-",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {handed_out} |",
            md(&c.name),
            md(&c.expected),
            md(&c.observed),
            result_word(c)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn student_names_stay_inside_the_report_directory() {
        assert_eq!(file_safe("ann-marie"), "ann-marie");
        assert_eq!(file_safe("../etc"), "_etc");
        assert_eq!(file_safe(".."), "_");
        assert!(!file_safe("a/b").contains('/'));
    }
}
