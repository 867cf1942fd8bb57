//! One report from the reports of several runs, typically the shards of one suite run by
//! a CI matrix. The merged report has the shape of a single run's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::json::{Report, VERSION};
use crate::runner::shard::Shard;

/// Why reports cannot be merged into one.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: report version {version}; this topolab reads version {VERSION}", .path.display())]
    Version { path: PathBuf, version: u32 },
    #[error("some reports are shards (test --shard) and some are not: merge the shards of one run")]
    Mixed,
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
    /// Shards absent from a run, as `K/N`.
    #[error("{}", missing_text(.0))]
    Missing(Vec<String>),
    #[error(
        "lab {} is in both {} and {}: were the shards run on the same lab list?",
        .lab.display(),
        .first.display(),
        .second.display()
    )]
    LabTwice {
        lab: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
}

fn missing_text(missing: &[String]) -> String {
    match missing {
        [one] => format!("shard {one} is missing: its labs would go unreported"),
        _ => format!(
            "shards {} are missing: their labs would go unreported",
            missing.join(", ")
        ),
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
                version: r.version,
            });
        }
    }
    let sharded = inputs.iter().filter(|(_, r)| r.shard.is_some()).count();
    if sharded > 0 && sharded < inputs.len() {
        return Err(MergeError::Mixed);
    }
    if sharded > 0 {
        check_shards(&inputs)?;
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

fn check_shards(inputs: &[(PathBuf, Report)]) -> Result<(), MergeError> {
    let mut by_index: BTreeMap<u32, &PathBuf> = BTreeMap::new();
    let mut total = None;
    for (path, r) in inputs {
        let Some(s) = r.shard else { continue };
        match total {
            None => total = Some((s.total, path)),
            Some((t, first)) if t != s.total => {
                return Err(MergeError::Total {
                    path: path.clone(),
                    shard: s,
                    first: first.clone(),
                    total: t,
                });
            }
            Some(_) => {}
        }
        if let Some(other) = by_index.insert(s.index, path) {
            return Err(MergeError::Twice {
                first: other.clone(),
                second: path.clone(),
                shard: s,
            });
        }
    }
    if let Some((total, _)) = total {
        let missing: Vec<String> = (1..=total)
            .filter(|i| !by_index.contains_key(i))
            .map(|i| format!("{i}/{total}"))
            .collect();
        if !missing.is_empty() {
            return Err(MergeError::Missing(missing));
        }
    }
    let mut seen: BTreeMap<&PathBuf, &PathBuf> = BTreeMap::new();
    for (path, r) in inputs {
        for lab in &r.labs {
            if let Some(other) = seen.insert(&lab.file, path) {
                return Err(MergeError::LabTwice {
                    lab: lab.file.clone(),
                    first: other.clone(),
                    second: path.clone(),
                });
            }
        }
    }
    Ok(())
}

impl crate::error::Classified for MergeError {
    fn exit(&self) -> crate::error::Exit {
        crate::error::Exit::Invalid
    }
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
        let e = |inputs| merge(inputs).unwrap_err().to_string();
        let m = e(vec![shard(1, 3, vec![], 1.0), shard(3, 3, vec![], 1.0)]);
        assert_eq!(m, "shard 2/3 is missing: its labs would go unreported");
        let m = e(vec![shard(1, 4, vec![], 1.0), shard(3, 4, vec![], 1.0)]);
        assert_eq!(
            m,
            "shards 2/4, 4/4 are missing: their labs would go unreported"
        );
        let m = e(vec![shard(1, 2, vec![], 1.0), shard(1, 2, vec![], 1.0)]);
        assert!(m.contains("are both shard 1/2"), "{m}");
        let m = e(vec![shard(1, 2, vec![], 1.0), shard(2, 3, vec![], 1.0)]);
        assert!(m.contains("is a shard of 2"), "{m}");
        let a = lab("a.toml", LabStatus::Passed);
        let m = e(vec![
            shard(1, 2, vec![a.clone()], 1.0),
            shard(2, 2, vec![a], 1.0),
        ]);
        assert!(m.contains("lab a.toml is in both"), "{m}");
        let mut old = Report::new(&[]);
        old.version = 99;
        let m = e(vec![("old.json".into(), old)]);
        assert!(m.starts_with("old.json: report version 99"), "{m}");
    }
}
