//! One grading from the gradings of its shards (`grade --shard K/N`, one CI job each):
//! the same shape as a grading of every submission in one run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Grading, Item};
use crate::output::report::merge::MergeError;

/// The goal a grading was measured against: each check of the lab as handed out and
/// whether it passed. Shards that disagree on it graded against different exercises (or
/// one whose baseline is flaky), and their scores cannot be put side by side.
fn goal(items: &[Item]) -> Vec<(&str, bool)> {
    items.iter().map(|i| (i.name.as_str(), i.passed)).collect()
}

/// Merge gradings read from files (the paths are for messages). Shards must form a whole
/// run (see `report::merge::shard_set`), of the same exercise with the same baseline, and
/// no student may be in two of them.
pub fn merge(inputs: Vec<(PathBuf, Grading)>) -> Result<Grading, MergeError> {
    let shards: Vec<(&Path, _)> = inputs.iter().map(|(p, g)| (p.as_path(), g.shard)).collect();
    crate::output::report::merge::shard_set(&shards, "grade", "submissions")?;
    let Some((first_path, first)) = inputs.first() else {
        return Err(MergeError::Empty("grading"));
    };
    for (path, g) in &inputs[1..] {
        if g.exercise != first.exercise || g.title != first.title {
            return Err(MergeError::NotOneRun(format!(
                "{} grades `{}` but {} grades `{}`: merge the shards of one exercise",
                path.display(),
                g.exercise,
                first_path.display(),
                first.exercise
            )));
        }
        if goal(&g.baseline) != goal(&first.baseline) {
            return Err(MergeError::NotOneRun(format!(
                "the lab as handed out did not give the same results in {} and {}: \
                 their scores were measured against different baselines; grade again",
                first_path.display(),
                path.display()
            )));
        }
    }
    let mut seen: BTreeMap<String, &PathBuf> = BTreeMap::new();
    for (path, g) in &inputs {
        for s in &g.grades {
            if let Some(other) = seen.insert(s.student.clone(), path) {
                return Err(MergeError::InBoth {
                    item: format!("student {}", s.student),
                    first: other.to_path_buf(),
                    second: path.clone(),
                    inputs: "submissions",
                });
            }
        }
    }
    let mut inputs = inputs.into_iter();
    let Some((_, mut merged)) = inputs.next() else {
        return Err(MergeError::Empty("grading"));
    };
    for (_, g) in inputs {
        merged.grades.extend(g.grades);
        for w in g.warnings {
            if !merged.warnings.contains(&w) {
                merged.warnings.push(w);
            }
        }
    }
    // The order of a run over the whole directory (`submissions` sorts by name).
    merged.grades.sort_by(|a, b| a.student.cmp(&b.student));
    merged.shard = None;
    Ok(merged)
}

/// The records of a CSV text (`grades.csv`), each with its line ending; a quoted field
/// may span lines (an error message).
fn records(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => {
                out.push(&text[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// A record's first field (the student), unquoted.
fn first_field(record: &str) -> String {
    match record.strip_prefix('"') {
        Some(rest) => {
            let mut out = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(c);
            }
            out
        }
        None => record
            .split([',', '\n', '\r'])
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Merge the `grades.csv` files of a grading's shards: one header (they must agree: the
/// same exercise's checks), the rows sorted by student as in a whole run. A CSV file does
/// not say which shard it is, so unlike the JSON reports a missing shard goes unnoticed.
pub fn merge_csv(inputs: &[(PathBuf, String)]) -> Result<String, MergeError> {
    let mut header: Option<(&str, &PathBuf)> = None;
    let mut rows: BTreeMap<String, (&str, &PathBuf)> = BTreeMap::new();
    for (path, text) in inputs {
        let recs = records(text);
        let Some((head, body)) = recs.split_first() else {
            return Err(MergeError::NotAReport {
                path: path.clone(),
                problem: "empty: expected a grades.csv".into(),
            });
        };
        if !head.starts_with("student,score,") {
            return Err(MergeError::NotGradesCsv(path.clone()));
        }
        match header {
            None => header = Some((*head, path)),
            Some((h, first)) if h.trim_end() != head.trim_end() => {
                return Err(MergeError::NotOneRun(format!(
                    "{} and {} have different columns: merge the shards of one exercise",
                    first.display(),
                    path.display()
                )));
            }
            Some(_) => {}
        }
        for row in body.iter().filter(|r| !r.trim().is_empty()) {
            let student = first_field(row);
            if let Some((_, other)) = rows.insert(student.clone(), (*row, path)) {
                return Err(MergeError::InBoth {
                    item: format!("student {student}"),
                    first: other.to_path_buf(),
                    second: path.clone(),
                    inputs: "submissions",
                });
            }
        }
    }
    let Some((head, _)) = header else {
        return Err(MergeError::Empty("grades.csv"));
    };
    let mut out = String::new();
    for line in std::iter::once(head).chain(rows.values().map(|(r, _)| *r)) {
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::grade::{Grade, Status};
    use crate::runner::shard::Shard;
    use std::time::Duration;

    fn item(name: &str, passed: bool) -> Item {
        Item {
            name: name.into(),
            passed,
            expected: "ok".into(),
            observed: if passed { "ok" } else { "timeout" }.into(),
            baseline: None,
        }
    }

    fn grade(student: &str) -> Grade {
        Grade {
            student: student.into(),
            score: 100,
            raw_score: 100,
            passed: 1,
            total: 1,
            to_fix: 1,
            fixed: 1,
            broke: 0,
            status: Status::Graded,
            checks: vec![item("web", true)],
            notes: Vec::new(),
            duration: Duration::from_millis(1500),
        }
    }

    fn shard(index: u32, total: u32, students: &[&str]) -> (PathBuf, Grading) {
        let g = Grading {
            exercise: "ex.toml".into(),
            title: "Open the web server".into(),
            goal: "reach it".into(),
            baseline: vec![item("web", false)],
            grades: students.iter().map(|s| grade(s)).collect(),
            warnings: Vec::new(),
            shard: Some(Shard { index, total }),
        };
        (format!("grades-{index}.json").into(), g)
    }

    #[test]
    fn shards_merge_into_one_grading_sorted_by_student() {
        let m = merge(vec![
            shard(2, 2, &["bob"]),
            shard(1, 2, &["carol", "alice"]),
        ])
        .unwrap();
        let names: Vec<&str> = m.grades.iter().map(|g| g.student.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        assert_eq!(m.shard, None);
        // A grading survives its JSON (what the merge reads).
        let text = serde_json::to_string(&m).unwrap();
        let back: Grading = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn shards_of_different_runs_are_refused() {
        let e = merge(vec![shard(1, 2, &["a"])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shard 2/2 is missing: its submissions would go unreported"
        );
        let e = merge(vec![shard(1, 2, &["a"]), shard(2, 2, &["a"])]).unwrap_err();
        assert!(e.to_string().contains("student a is in both"), "{e}");
        let (p, mut other) = shard(2, 2, &["b"]);
        other.baseline[0].passed = true;
        let e = merge(vec![shard(1, 2, &["a"]), (p.clone(), other.clone())]).unwrap_err();
        assert!(e.to_string().contains("different baselines"), "{e}");
        other.baseline[0].passed = false;
        other.exercise = "other.toml".into();
        let e = merge(vec![shard(1, 2, &["a"]), (p, other)]).unwrap_err();
        assert!(
            e.to_string().contains("merge the shards of one exercise"),
            "{e}"
        );
    }

    #[test]
    fn csv_files_merge_by_student() {
        let head = "student,score,raw_score,fixed,to_fix,broke,passed,total,status,error,web\n";
        let one = format!("{head}dave,0,0,0,1,0,0,1,broken,\"line one\nline \"\"two\"\"\",fail\n");
        let two = format!(
            "{head}\"b,ob\",100,100,1,1,0,1,1,graded,,pass\nalice,0,0,0,1,0,0,1,empty,,fail\n"
        );
        let m = merge_csv(&[("1.csv".into(), one.clone()), ("2.csv".into(), two)]).unwrap();
        let students: Vec<String> = records(&m).iter().map(|r| first_field(r)).collect();
        assert_eq!(students, ["student", "alice", "b,ob", "dave"]);
        assert!(m.contains("\"line one\nline \"\"two\"\"\",fail\n"), "{m}");
        let e = merge_csv(&[("1.csv".into(), one.clone()), ("3.csv".into(), one)]).unwrap_err();
        assert!(e.to_string().contains("student dave is in both"), "{e}");
        let e = merge_csv(&[("x.csv".into(), "name,grade\n".into())]).unwrap_err();
        assert!(
            e.to_string().starts_with("x.csv:1:1: not a grades.csv"),
            "{e}"
        );
    }
}
