//! One report from the reports of several runs, typically the shards of one suite run by
//! a CI matrix. The merged report has the shape of a single run's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::runner::shard::Shard;

use super::json::{Report, VERSION};

/// Why reports cannot be merged into one: the reports of `test`, `grade` and `diff`
/// (and grades.csv files) are merged only when they are the shards of one run.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: {what} version {version}; this topolab reads version {supported}", .path.display())]
    Version {
        path: PathBuf,
        what: &'static str,
        version: u32,
        supported: u32,
    },
    #[error("no {0} to merge")]
    Empty(&'static str),
    #[error(
        "some reports are shards ({command} --shard) and some are not: merge the shards of one run"
    )]
    Mixed { command: &'static str },
    #[error(
        "{} is shard {shard} but {} is a shard of {total}: merge the shards of one run",
        .path.display(),
        .first.display()
    )]
    Total {
        path: PathBuf,
        shard: Shard,
        first: PathBuf,
        total: u32,
    },
    #[error("{} and {} are both shard {shard}", .first.display(), .second.display())]
    Twice {
        first: PathBuf,
        second: PathBuf,
        shard: Shard,
    },
    /// Shards absent from a run, as `K/N`, and what they held (labs, submissions, flows).
    #[error("{}", missing_text(.missing, .what))]
    Missing {
        missing: Vec<String>,
        what: &'static str,
    },
    /// The same lab, student or flow in two reports.
    #[error(
        "{item} is in both {} and {}: were the shards run on the same {inputs}?",
        .first.display(),
        .second.display()
    )]
    InBoth {
        item: String,
        first: PathBuf,
        second: PathBuf,
        inputs: &'static str,
    },
    /// Reports of different runs: what differs, in words.
    #[error("{0}")]
    NotOneRun(String),
    #[error("{}:1:1: not a grades.csv: its header does not start with `student,score,`", .0.display())]
    NotGradesCsv(PathBuf),
    /// A file that is not the report it should be: what is wrong with it.
    #[error("{}: {problem}", .path.display())]
    NotAReport { path: PathBuf, problem: String },
}

fn missing_text(missing: &[String], what: &str) -> String {
    match missing {
        [one] => format!("shard {one} is missing: its {what} would go unreported"),
        _ => format!(
            "shards {} are missing: their {what} would go unreported",
            missing.join(", ")
        ),
    }
}

/// Reports that cannot be merged are the user's input, not the machine's.
impl crate::error::Classified for MergeError {
    fn exit(&self) -> crate::error::Exit {
        crate::error::Exit::Invalid
    }
}

/// Merge reports read from files (the paths are for messages). Shard reports must form a
/// whole suite: the same N, each index 1..=N exactly once, no lab in two shards; a
/// missing shard would otherwise pass for a green suite.
pub fn merge(inputs: Vec<(PathBuf, Report)>) -> Result<Report, MergeError> {
    for (path, r) in &inputs {
        if r.version != VERSION {
            return Err(MergeError::Version {
                path: path.clone(),
                what: "report",
                version: r.version,
                supported: VERSION,
            });
        }
    }
    let shards: Vec<(&Path, Option<Shard>)> =
        inputs.iter().map(|(p, r)| (p.as_path(), r.shard)).collect();
    if shard_set(&shards, "test", "labs")? {
        check_disjoint(&inputs)?;
    }
    let duration = inputs
        .iter()
        .filter_map(|(_, r)| r.duration)
        .reduce(f64::max);
    let mut labs: Vec<_> = inputs.into_iter().flat_map(|(_, r)| r.labs).collect();
    // The order an unsharded run reports a directory in.
    labs.sort_by(|a, b| a.file.cmp(&b.file));
    let mut merged = Report::new(&labs);
    merged.duration = duration;
    Ok(merged)
}

/// Whether these reports are shards (`COMMAND --shard K/N`) and, if so, whether they form
/// one whole run: all of them shards, the same N, each index 1..=N exactly once. A missing
/// shard would otherwise pass for a green run. Shared by the reports of `test`, `grade`
/// and `diff`.
pub fn shard_set(
    inputs: &[(&Path, Option<Shard>)],
    command: &'static str,
    what: &'static str,
) -> Result<bool, MergeError> {
    let sharded = inputs.iter().filter(|(_, s)| s.is_some()).count();
    if sharded == 0 {
        return Ok(false);
    }
    if sharded < inputs.len() {
        return Err(MergeError::Mixed { command });
    }
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    let mut total = None;
    for (path, s) in inputs {
        let Some(s) = s else { continue };
        match total {
            None => total = Some((s.total, path)),
            Some((t, first)) if t != s.total => {
                return Err(MergeError::Total {
                    path: path.to_path_buf(),
                    shard: *s,
                    first: first.to_path_buf(),
                    total: t,
                });
            }
            Some(_) => {}
        }
        if let Some(other) = by_index.insert(s.index, path) {
            return Err(MergeError::Twice {
                first: other.to_path_buf(),
                second: path.to_path_buf(),
                shard: *s,
            });
        }
    }
    if let Some((total, _)) = total {
        let missing: Vec<String> = (1..=total)
            .filter(|i| !by_index.contains_key(i))
            .map(|i| format!("{i}/{total}"))
            .collect();
        if !missing.is_empty() {
            return Err(MergeError::Missing { missing, what });
        }
    }
    Ok(true)
}

fn check_disjoint(inputs: &[(PathBuf, Report)]) -> Result<(), MergeError> {
    let mut seen: BTreeMap<&PathBuf, &PathBuf> = BTreeMap::new();
    for (path, r) in inputs {
        for lab in &r.labs {
            if let Some(other) = seen.insert(&lab.file, path) {
                return Err(MergeError::InBoth {
                    item: format!("lab {}", lab.file.display()),
                    first: other.to_path_buf(),
                    second: path.to_path_buf(),
                    inputs: "lab list",
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::results::{LabResult, LabStatus, SnapshotStatus};
    use crate::runner::shard::Shard;
    use std::time::Duration;

    fn lab(file: &str, status: LabStatus) -> LabResult {
        LabResult {
            lab: file.trim_end_matches(".toml").into(),
            file: file.into(),
            status,
            checks: Vec::new(),
            matrices: Vec::new(),
            steps: Vec::new(),
            snapshot: SnapshotStatus::Matched,
            services: Vec::new(),
            warnings: Vec::new(),
            kernel: "6.1.0-test".into(),
            build: Duration::ZERO,
            duration: Duration::from_millis(100),
            capture: None,
        }
    }

    fn shard(index: u32, total: u32, labs: Vec<LabResult>, secs: f64) -> (PathBuf, Report) {
        let mut r = Report::new(&labs);
        r.shard = Some(Shard { index, total });
        r.duration = Some(secs);
        (format!("shard-{index}.json").into(), r)
    }

    #[test]
    fn shards_merge_into_one_sorted_report() {
        let m = merge(vec![
            shard(2, 2, vec![lab("b.toml", LabStatus::Failed)], 3.0),
            shard(
                1,
                2,
                vec![
                    lab("c.toml", LabStatus::Passed),
                    lab("a.toml", LabStatus::Passed),
                ],
                5.0,
            ),
        ])
        .unwrap();
        let files: Vec<_> = m
            .labs
            .iter()
            .map(|l| l.file.display().to_string())
            .collect();
        assert_eq!(files, ["a.toml", "b.toml", "c.toml"]);
        assert_eq!(
            (m.summary.labs, m.summary.passed, m.summary.failed),
            (3, 2, 1)
        );
        assert_eq!(m.shard, None);
        assert_eq!(m.duration, Some(5.0));
    }

    #[test]
    fn an_incomplete_or_inconsistent_set_of_shards_is_refused() {
        let e = merge(vec![shard(1, 3, vec![], 1.0), shard(3, 3, vec![], 1.0)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shard 2/3 is missing: its labs would go unreported"
        );
        let e = merge(vec![shard(1, 2, vec![], 1.0), shard(1, 2, vec![], 1.0)]).unwrap_err();
        assert!(e.to_string().contains("are both shard 1/2"), "{e}");
        let e = merge(vec![shard(1, 2, vec![], 1.0), shard(2, 3, vec![], 1.0)]).unwrap_err();
        assert!(e.to_string().contains("is a shard of 2"), "{e}");
        let a = lab("a.toml", LabStatus::Passed);
        let e = merge(vec![
            shard(1, 2, vec![a.clone()], 1.0),
            shard(2, 2, vec![a], 1.0),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("lab a.toml is in both"), "{e}");
        let mut old = Report::new(&[]);
        old.version = 99;
        let e = merge(vec![("old.json".into(), old)]).unwrap_err();
        assert!(
            e.to_string().starts_with("old.json: report version 99"),
            "{e}"
        );
    }
}
