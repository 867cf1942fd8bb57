//! `topolab grade`: an exercise lab, a directory of student submissions, one grade each.
//!
//! A submission is a directory holding the exercise's files. Each file is applied to the
//! lab (see `patch`) and the lab's checks run; the grade is the share of checks that pass.
//! A submission that cannot be applied or built (an invalid file, a ruleset the kernel
//! refuses, a failing setup command) is graded 0 with its error; it never stops the
//! grading of the others.

pub(crate) mod html;
pub(crate) mod merge;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::front::lab::Lab;
use crate::front::patch::{Addition, Edit};
use crate::front::source::SourceFile;
use crate::front::spec::{Exercise, ExerciseFile, ExerciseFileKind};
use crate::runner::results::{LabResult, LabStatus};

/// Top-level keys a submitted patch may not set: they are what it is graded against.
pub const GOAL_KEYS: &[&str] = &["checks", "matrix", "steps", "exercise", "defaults"];

/// A student's submission directory.
#[derive(Debug, Clone)]
pub struct Submission {
    pub student: String,
    pub dir: PathBuf,
}

/// Every subdirectory of `dir`, by name; hidden ones are skipped.
pub fn submissions(dir: &Path) -> Result<Vec<Submission>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.path().is_dir() {
            continue;
        }
        out.push(Submission {
            student: name,
            dir: e.path(),
        });
    }
    out.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(out)
}

/// What a submission turned into before anything ran.
pub enum Prepared {
    /// The lab with the submission applied, and the submitted nft files by node.
    Lab(Box<Lab>, Vec<(String, PathBuf)>),
    /// Nothing could be built: the rendered errors.
    Broken(String),
    /// None of the exercise's files is in the directory.
    Empty,
}

fn node_keys(node: &str, key: &str) -> Vec<String> {
    vec!["nodes".into(), node.into(), key.into()]
}

fn edit(f: &ExerciseFile) -> Option<Edit> {
    let node = f.node.as_deref();
    Some(match f.kind {
        ExerciseFileKind::Patch => Edit::Merge { locked: GOAL_KEYS },
        ExerciseFileKind::Nft => Edit::Text(node_keys(node?, "nft")),
        ExerciseFileKind::Routes => Edit::AppendItems {
            item_key: "routes",
            to: node_keys(node?, "routes"),
        },
        ExerciseFileKind::Exec => Edit::AppendLines(node_keys(node?, "exec")),
        ExerciseFileKind::File => Edit::NodeFile(vec![
            "nodes".into(),
            node?.into(),
            "files".into(),
            f.target.clone()?,
        ]),
    })
}

/// Apply a submission's files to the exercise lab and validate the result. `notes` gets a
/// line for each file the submission lacks (the lab's own configuration stays).
pub fn prepare(
    exercise_file: &SourceFile,
    exercise: &Exercise,
    sub: &Submission,
    notes: &mut Vec<String>,
) -> Prepared {
    let mut additions = Vec::new();
    let mut nft_files = Vec::new();
    for f in &exercise.files {
        let path = sub.dir.join(&f.path);
        if !path.exists() {
            notes.push(format!(
                "{} was not submitted: the lab's own configuration was used",
                f.path
            ));
            continue;
        }
        let Some(edit) = edit(f) else {
            return Prepared::Broken(format!(
                "{}: the exercise names no node (or no target) for it",
                f.path
            ));
        };
        if let (ExerciseFileKind::Nft, Some(node)) = (f.kind, &f.node) {
            nft_files.push((node.clone(), path.clone()));
        }
        match Addition::read(&path, edit) {
            Ok(a) => additions.push(a),
            Err(e) => return Prepared::Broken(format!("{}: {e}", path.display())),
        }
    }
    if additions.is_empty() {
        return Prepared::Empty;
    }
    let loaded = crate::front::patch::compose(exercise_file.clone(), additions);
    match loaded.lab {
        Some(lab) => Prepared::Lab(Box::new(lab), nft_files),
        None => Prepared::Broken(loaded.render(false)),
    }
}

/// `nft` reads a ruleset from stdin and reports errors at "/dev/stdin:LINE:COL"; the
/// ruleset is the student's file, unchanged, so those are lines and columns of that file.
pub fn locate_nft_errors(message: &str, nft_files: &[(String, PathBuf)]) -> String {
    for (node, path) in nft_files {
        if message.contains(&format!("node `{node}`: load nft ruleset")) {
            return message.replace("/dev/stdin:", &format!("{}:", path.display()));
        }
    }
    message.to_string()
}

/// One graded check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// The check's name; step checks as "step / check", a matrix by its name.
    pub name: String,
    pub passed: bool,
    pub expected: String,
    pub observed: String,
    /// Whether the lab as handed out passed this check (a student's items only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub baseline: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Status {
    /// The lab was built with the submission and its checks ran.
    Graded,
    /// The submission could not be applied or the lab not built: graded 0.
    Broken { error: String },
    /// None of the exercise's files was submitted: graded 0.
    Empty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grade {
    pub student: String,
    /// What the student changed, in percent, rounded down: of the checks the lab as
    /// handed out fails (`to_fix`), those that pass now (`fixed`), less those the lab
    /// passed and fails now (`broke`), at least 0. Handing in nothing, or a change that
    /// fixes nothing, scores 0 however many checks pass anyway. When the handed-out lab
    /// fails no check, the raw share. 0 for a broken submission.
    pub score: u32,
    /// Percentage of all checks passed, rounded down (what `score` was before it was
    /// measured against the handed-out lab).
    pub raw_score: u32,
    pub passed: usize,
    pub total: usize,
    /// Checks the handed-out lab fails.
    pub to_fix: usize,
    /// Of those, the ones that pass now.
    pub fixed: usize,
    /// Checks the handed-out lab passes that fail now.
    pub broke: usize,
    #[serde(flatten)]
    pub status: Status,
    pub checks: Vec<Item>,
    /// About the submission's files (missing ones).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
    #[serde(serialize_with = "secs", deserialize_with = "from_secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// A grade read back from a shard's report (`merge-reports`).
fn from_secs<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

/// The checks of a run, in lab order, as grading items.
pub fn items(r: &LabResult) -> Vec<Item> {
    let mut out: Vec<Item> = r
        .checks
        .iter()
        .map(|c| Item {
            name: c.name.clone(),
            passed: c.passed,
            expected: c.expected.clone(),
            observed: c.observed_summary(),
            baseline: None,
        })
        .collect();
    for m in &r.matrices {
        let bad = m.cells.iter().filter(|c| !c.passed).count();
        out.push(Item {
            name: m.name.clone(),
            passed: m.passed,
            expected: format!("{} cells as listed", m.cells.len()),
            observed: if bad == 0 {
                "all cells as expected".into()
            } else {
                format!("{bad} of {} cells differ", m.cells.len())
            },
            baseline: None,
        });
    }
    for s in &r.steps {
        for a in s.actions.iter().filter(|a| !a.ok) {
            out.push(Item {
                name: format!("{} / {}", s.name, a.action),
                passed: false,
                expected: "the action succeeds".into(),
                observed: a.error.clone().unwrap_or_else(|| "failed".into()),
                baseline: None,
            });
        }
        for c in &s.checks {
            out.push(Item {
                name: format!("{} / {}", s.name, c.name),
                passed: c.passed,
                expected: c.expected.clone(),
                observed: c.observed_summary(),
                baseline: None,
            });
        }
    }
    out
}

/// The grade of a run (or of a submission that never ran). `goal` lists the exercise's
/// items, so that a broken submission still shows every check, failed.
pub fn grade(
    student: &str,
    run: std::result::Result<LabResult, Status>,
    goal: &[Item],
    notes: Vec<String>,
) -> Grade {
    let failed_goal = || -> Vec<Item> {
        goal.iter()
            .map(|i| Item {
                passed: false,
                observed: "not run".into(),
                ..i.clone()
            })
            .collect()
    };
    let (status, checks, duration) = match run {
        Err(status) => (status, failed_goal(), Duration::ZERO),
        Ok(r) => match &r.status {
            LabStatus::Error { message, .. } => (
                Status::Broken {
                    error: message.clone(),
                },
                failed_goal(),
                r.duration,
            ),
            LabStatus::Skipped { reasons } => (
                Status::Broken {
                    error: format!("the lab could not run: {}", reasons.join("; ")),
                },
                failed_goal(),
                r.duration,
            ),
            LabStatus::Passed | LabStatus::Failed => (Status::Graded, items(&r), r.duration),
        },
    };
    let graded = status == Status::Graded;
    let checks: Vec<Item> = checks
        .into_iter()
        .map(|c| Item {
            baseline: goal.iter().find(|g| g.name == c.name).map(|g| g.passed),
            // Nothing passes in a submission that did not run.
            passed: c.passed && graded,
            ..c
        })
        .collect();
    let total = checks.len();
    let passed = checks.iter().filter(|c| c.passed).count();
    let to_fix = goal.iter().filter(|g| !g.passed).count();
    let fixed = checks
        .iter()
        .filter(|c| c.passed && c.baseline == Some(false))
        .count();
    let broke = checks
        .iter()
        .filter(|c| !c.passed && c.baseline == Some(true))
        .count();
    let percent =
        |n: usize, of: usize| u32::try_from((n * 100).checked_div(of).unwrap_or(0)).unwrap_or(0);
    let raw_score = percent(passed, total);
    let score = if to_fix == 0 {
        raw_score
    } else {
        percent(fixed.saturating_sub(broke), to_fix)
    };
    Grade {
        student: student.to_string(),
        score,
        raw_score,
        passed,
        total,
        to_fix,
        fixed,
        broke,
        status,
        checks,
        notes,
        duration,
    }
}

/// Everything a grading run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grading {
    pub exercise: String,
    pub title: String,
    pub goal: String,
    /// The lab as handed out, before any submission: which checks a student has to fix.
    pub baseline: Vec<Item>,
    pub grades: Vec<Grade>,
    /// Doubts about every grade (the host's neighbour table overflowed while grading).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// The part of the submissions this run graded (`grade --shard K/N`); absent for all
    /// of them, including a grading merged from its shards.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<crate::runner::shard::Shard>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::results::{CheckResult, Observed};

    fn check(name: &str, passed: bool) -> CheckResult {
        CheckResult {
            name: name.into(),
            from: "a".into(),
            probe: "ping 10.0.0.2".into(),
            expected: "ok".into(),
            passed,
            observed: Some(Observed {
                outcome: if passed {
                    crate::front::lab::Outcome::Ok
                } else {
                    crate::front::lab::Outcome::Timeout
                },
                from: None,
                mtu: None,
                route: None,
                detail: None,
                command: None,
                path: None,
                drop: None,
            }),
            error: None,
            attempts: 1,
            duration: Duration::ZERO,
        }
    }

    fn result(status: LabStatus, checks: Vec<CheckResult>) -> LabResult {
        LabResult {
            lab: "x".into(),
            file: "x.toml".into(),
            status,
            checks,
            matrices: Vec::new(),
            steps: Vec::new(),
            snapshot: crate::runner::results::SnapshotStatus::NotCompared,
            services: Vec::new(),
            warnings: Vec::new(),
            kernel: "6.1.0-test".into(),
            build: Duration::ZERO,
            duration: Duration::ZERO,
            capture: None,
        }
    }

    #[test]
    fn score_is_the_share_of_passed_checks_rounded_down() {
        let r = result(
            LabStatus::Failed,
            vec![check("a", true), check("b", true), check("c", false)],
        );
        let goal = items(&r);
        let g = grade("ann", Ok(r), &goal, Vec::new());
        assert_eq!((g.raw_score, g.passed, g.total), (66, 2, 3));
        // Nothing changed: the one check to fix still fails.
        assert_eq!((g.score, g.to_fix, g.fixed, g.broke), (0, 1, 0, 0));
        assert_eq!(g.status, Status::Graded);
    }

    /// A wrong fix used to score what handing in nothing scored (75 %): the score now
    /// counts only the checks the handed-out lab fails, less those a change broke.
    #[test]
    fn the_score_is_what_the_student_changed() {
        let handed_out = result(
            LabStatus::Failed,
            vec![
                check("a", true),
                check("b", true),
                check("c", true),
                check("d", false),
            ],
        );
        let goal = items(&handed_out);
        let nothing = grade("nil", Ok(handed_out.clone()), &goal, Vec::new());
        assert_eq!((nothing.score, nothing.raw_score), (0, 75));
        let right = result(
            LabStatus::Passed,
            vec![
                check("a", true),
                check("b", true),
                check("c", true),
                check("d", true),
            ],
        );
        let g = grade("ann", Ok(right), &goal, Vec::new());
        assert_eq!((g.score, g.raw_score, g.fixed, g.to_fix), (100, 100, 1, 1));
        // Fixes d by breaking c: no credit.
        let traded = result(
            LabStatus::Failed,
            vec![
                check("a", true),
                check("b", true),
                check("c", false),
                check("d", true),
            ],
        );
        let g = grade("bob", Ok(traded), &goal, Vec::new());
        assert_eq!((g.score, g.raw_score, g.fixed, g.broke), (0, 75, 1, 1));
        assert_eq!(
            g.checks.iter().map(|c| c.baseline).collect::<Vec<_>>(),
            vec![Some(true), Some(true), Some(true), Some(false)]
        );
    }

    #[test]
    fn a_broken_submission_gets_zero_and_keeps_every_check() {
        let r = result(LabStatus::Passed, vec![check("a", true), check("b", true)]);
        let goal = items(&r);
        let broken = result(
            LabStatus::Error {
                exit: crate::error::Exit::Kernel,
                message: "nft failed".into(),
            },
            Vec::new(),
        );
        let g = grade("bob", Ok(broken), &goal, Vec::new());
        assert_eq!((g.score, g.passed, g.total), (0, 0, 2));
        assert!(matches!(g.status, Status::Broken { ref error } if error == "nft failed"));
        let g = grade("cid", Err(Status::Empty), &goal, Vec::new());
        assert_eq!((g.score, g.total), (0, 2));
        assert!(
            g.checks
                .iter()
                .all(|c| !c.passed && c.observed == "not run")
        );
    }

    #[test]
    fn nft_errors_point_at_the_submitted_file() {
        let files = vec![("gw".to_string(), PathBuf::from("ann/fw.nft"))];
        let m = "node `gw`: load nft ruleset (3 lines): nft failed:\n  /dev/stdin:2:5-9: Error: x";
        assert!(locate_nft_errors(m, &files).contains("ann/fw.nft:2:5-9: Error"));
        let other =
            "node `r2`: load nft ruleset (3 lines): nft failed:\n  /dev/stdin:2:5-9: Error: x";
        assert_eq!(locate_nft_errors(other, &files), other);
    }
}
