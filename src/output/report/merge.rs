//! One report from the reports of several runs, typically the shards of one suite run by
//! a CI matrix. The merged report has the shape of a single run's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::runner::shard::Shard;

use super::json::{Report, VERSION};

/// Merge reports read from files (the paths are for messages). Shard reports must form a
/// whole suite: the same N, each index 1..=N exactly once, no lab in two shards; a
/// missing shard would otherwise pass for a green suite.
pub fn merge(inputs: Vec<(PathBuf, Report)>) -> Result<Report, String> {
    for (path, r) in &inputs {
        if r.version != VERSION {
            return Err(format!(
                "{}: report version {}; this topolab reads version {VERSION}",
                path.display(),
                r.version
            ));
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
    command: &str,
    what: &str,
) -> Result<bool, String> {
    let sharded = inputs.iter().filter(|(_, s)| s.is_some()).count();
    if sharded == 0 {
        return Ok(false);
    }
    if sharded < inputs.len() {
        return Err(format!(
            "some reports are shards ({command} --shard) and some are not: merge the shards of one run"
        ));
    }
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    let mut total = None;
    for (path, s) in inputs {
        let Some(s) = s else { continue };
        match total {
            None => total = Some((s.total, path)),
            Some((t, first)) if t != s.total => {
                return Err(format!(
                    "{} is shard {s} but {} is a shard of {t}: merge the shards of one run",
                    path.display(),
                    first.display()
                ));
            }
            Some(_) => {}
        }
        if let Some(other) = by_index.insert(s.index, path) {
            return Err(format!(
                "{} and {} are both shard {s}",
                other.display(),
                path.display()
            ));
        }
    }
    if let Some((total, _)) = total {
        let missing: Vec<String> = (1..=total)
            .filter(|i| !by_index.contains_key(i))
            .map(|i| format!("{i}/{total}"))
            .collect();
        if !missing.is_empty() {
            return Err(if missing.len() == 1 {
                format!(
                    "shard {} is missing: its {what} would go unreported",
                    missing[0]
                )
            } else {
                format!(
                    "shards {} are missing: their {what} would go unreported",
                    missing.join(", ")
                )
            });
        }
    }
    Ok(true)
}

fn check_disjoint(inputs: &[(PathBuf, Report)]) -> Result<(), String> {
    let mut seen: BTreeMap<&PathBuf, &PathBuf> = BTreeMap::new();
    for (path, r) in inputs {
        for lab in &r.labs {
            if let Some(other) = seen.insert(&lab.file, path) {
                return Err(format!(
                    "lab {} is in both {} and {}: were the shards run on the same lab list?",
                    lab.file.display(),
                    other.display(),
                    path.display()
                ));
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
        assert_eq!(e, "shard 2/3 is missing: its labs would go unreported");
        let e = merge(vec![shard(1, 2, vec![], 1.0), shard(1, 2, vec![], 1.0)]).unwrap_err();
        assert!(e.contains("are both shard 1/2"), "{e}");
        let e = merge(vec![shard(1, 2, vec![], 1.0), shard(2, 3, vec![], 1.0)]).unwrap_err();
        assert!(e.contains("is a shard of 2"), "{e}");
        let a = lab("a.toml", LabStatus::Passed);
        let e = merge(vec![
            shard(1, 2, vec![a.clone()], 1.0),
            shard(2, 2, vec![a], 1.0),
        ])
        .unwrap_err();
        assert!(e.contains("lab a.toml is in both"), "{e}");
        let mut old = Report::new(&[]);
        old.version = 99;
        let e = merge(vec![("old.json".into(), old)]).unwrap_err();
        assert!(e.starts_with("old.json: report version 99"), "{e}");
    }
}
