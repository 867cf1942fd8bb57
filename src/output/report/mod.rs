//! Reports of a `topolab test` run: human (one line per check), JSON (stable, versioned
//! schema in schemas/report.schema.json) and JUnit XML.

pub mod human;
pub mod json;
pub mod junit;
pub(crate) mod merge;

use crate::error::Exit;
use crate::runner::results::{LabResult, LabStatus};

/// The exit code of a whole run: the most severe of its labs. Skips pass unless strict.
pub fn exit_code(results: &[LabResult], strict: bool) -> Exit {
    results
        .iter()
        .map(|r| match &r.status {
            LabStatus::Passed => Exit::Pass,
            LabStatus::Failed => Exit::Fail,
            LabStatus::Skipped { .. } if strict => Exit::Environment,
            LabStatus::Skipped { .. } => Exit::Pass,
            LabStatus::Error { exit, .. } => *exit,
        })
        .max()
        .unwrap_or(Exit::Pass)
}

#[derive(
    Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Summary {
    pub labs: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    pub checks: usize,
    pub failed_checks: usize,
}

pub fn summary(results: &[LabResult]) -> Summary {
    let mut s = Summary {
        labs: results.len(),
        ..Summary::default()
    };
    for r in results {
        match r.status {
            LabStatus::Passed => s.passed += 1,
            LabStatus::Failed => s.failed += 1,
            LabStatus::Skipped { .. } => s.skipped += 1,
            LabStatus::Error { .. } => s.errors += 1,
        }
        s.checks += r.total_checks();
        s.failed_checks += r.failed_checks();
    }
    s
}
