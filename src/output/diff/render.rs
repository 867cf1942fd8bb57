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
        let widths = column_widths(&header, &rows);
        let _ = writeln!(
            out,
            "{}",
            p.bold(table_lines(&header, &widths)[0].trim_end())
        );
        for (row, f) in rows.iter().zip(&d.flows) {
            for line in table_lines(row, &widths) {
                let line = line.trim_end();
                let _ = writeln!(
                    out,
                    "{}",
                    if f.changed {
                        p.yellow(line)
                    } else {
                        line.into()
                    }
                );
            }
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

/// The width the table keeps to; JSON has every text in full.
pub const TABLE_WIDTH: usize = 120;
const GAP: usize = 2;
/// No column is squeezed below this, so that a word or an address stays whole.
const MIN_COLUMN: usize = 16;

/// Column widths that fit `TABLE_WIDTH`: every column its natural width when they all fit;
/// otherwise the evidence columns first (each up to a third of the table), the flow's
/// label the rest, and cells wrap within their column.
fn column_widths(header: &[String; 3], rows: &[[String; 3]]) -> [usize; 3] {
    let natural = |i: usize| {
        rows.iter()
            .chain([header])
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let want = [natural(0), natural(1), natural(2)];
    let room = TABLE_WIDTH - 2 * GAP;
    if want.iter().sum::<usize>() <= room {
        return want;
    }
    let third = room / 3;
    let w1 = want[1].min(third).max(MIN_COLUMN);
    let w2 = want[2].min(third).max(MIN_COLUMN);
    let w0 = room.saturating_sub(w1 + w2).max(MIN_COLUMN).min(want[0]);
    // What the label does not need goes back to the evidence.
    let spare = room.saturating_sub(w0 + w1 + w2);
    let w1 = (w1 + spare / 2).min(want[1]);
    let w2 = (w2 + room.saturating_sub(w0 + w1 + w2)).min(want[2]);
    [w0, w1, w2]
}

/// Words of `text` in lines of at most `width` characters; a longer word is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// One row as terminal lines, each cell wrapped in its column.
fn table_lines(row: &[String; 3], widths: &[usize; 3]) -> Vec<String> {
    let cells: Vec<Vec<String>> = (0..3).map(|i| wrap(&row[i], widths[i])).collect();
    let height = cells.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|k| {
            let cell = |i: usize| cells[i].get(k).map_or("", String::as_str);
            format!(
                "{:w0$}{:GAP$}{:w1$}{:GAP$}{}",
                cell(0),
                "",
                cell(1),
                "",
                cell(2),
                w0 = widths[0],
                w1 = widths[1],
            )
        })
        .collect()
}

pub fn json(d: &DiffResult) -> String {
    let mut s =
        serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_rows_wrap_within_120_columns_and_keep_every_word() {
        let header = ["FLOW", "BASE", "CANDIDATE"].map(String::from);
        let rows = [[
            "check \"the analytics subnet reaches the office file server through the tunnel\": analytics trace 10.200.1.15".to_string(),
            "loop from 10.100.1.18 path 10.64.0.1 10.100.1.18 10.64.0.1 ...".to_string(),
            "ok path 10.64.0.1 10.100.1.18 198.51.100.1 203.0.113.2 10.200.1.15".to_string(),
        ]];
        let widths = column_widths(&header, &rows);
        assert!(
            widths.iter().sum::<usize>() + 2 * GAP <= TABLE_WIDTH,
            "{widths:?}"
        );
        let lines = table_lines(&rows[0], &widths);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(l.trim_end().chars().count() <= TABLE_WIDTH, "{l:?}");
        }
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let mut all: Vec<String> = lines.iter().flat_map(|l| words(l)).collect();
        let mut want: Vec<String> = rows[0].iter().flat_map(|c| words(c)).collect();
        all.sort();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn short_rows_keep_their_natural_widths() {
        let header = ["FLOW", "BASE", "CANDIDATE"].map(String::from);
        let rows = [["a ping 10.0.0.2".to_string(), "timeout".into(), "ok".into()]];
        assert_eq!(column_widths(&header, &rows), [15, 7, 9]);
        assert_eq!(
            table_lines(&rows[0], &[15, 7, 9]),
            ["a ping 10.0.0.2  timeout  ok"]
        );
    }

    #[test]
    fn a_word_longer_than_its_column_is_cut() {
        assert_eq!(wrap("abcdefghij kl", 4), ["abcd", "efgh", "ij", "kl"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
