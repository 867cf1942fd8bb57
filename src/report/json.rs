//! The JSON report. Its shape is versioned: fields are only ever added within a version,
//! and schemas/report.schema.json describes it.

use crate::results::LabResult;

/// Bumped only when a field changes meaning or disappears.
pub const VERSION: u32 = 1;

#[derive(serde::Serialize)]
struct Report<'a> {
    version: u32,
    summary: super::Summary,
    labs: &'a [LabResult],
}

pub fn render(results: &[LabResult]) -> String {
    let r = Report {
        version: VERSION,
        summary: super::summary(results),
        labs: results,
    };
    let mut s =
        serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
