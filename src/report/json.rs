//! The JSON report. Its shape is versioned: fields are only ever added within a version,
//! and schemas/report.schema.json (generated from these types) describes it.

use crate::results::LabResult;

/// Bumped only when a field changes meaning or disappears.
pub const VERSION: u32 = 1;

/// The JSON report of a `topolab test` run.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(title = "topolab test report")]
pub struct Report {
    /// Report format version.
    pub version: u32,
    pub summary: super::Summary,
    /// One entry per lab, in the order the labs were given.
    pub labs: Vec<LabResult>,
}

pub fn render(results: &[LabResult]) -> String {
    let r = Report {
        version: VERSION,
        summary: super::summary(results),
        labs: results.to_vec(),
    };
    let mut s =
        serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The JSON Schema of the report, as committed in schemas/report.schema.json.
pub fn schema_text() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
