//! The JSON report. Its shape is versioned: fields are only ever added within a version,
//! and schemas/report.schema.json (generated from these types) describes it.

use crate::runner::results::LabResult;
use crate::runner::shard::Shard;

/// Bumped only when a field changes meaning or disappears, or a new kind of evidence
/// appears that readers must not ignore (2: `observed.drop`).
pub const VERSION: u32 = 2;

/// The JSON report of a `topolab test` run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(title = "topolab test report")]
pub struct Report {
    /// Report format version.
    pub version: u32,
    pub summary: super::Summary,
    /// The part of the suite this run covered (`test --shard K/N`); absent for a whole
    /// suite, including one merged from its shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Wall-clock time of the run in seconds (of the longest shard, once merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// One entry per lab, in the order the labs were given.
    pub labs: Vec<LabResult>,
}

impl Report {
    pub fn new(results: &[LabResult]) -> Report {
        Report {
            version: VERSION,
            summary: super::summary(results),
            shard: None,
            duration: None,
            labs: results.to_vec(),
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

pub fn render(results: &[LabResult]) -> String {
    Report::new(results).to_text()
}

/// A report that does not parse, in words that say where: "line:col: error: message"
/// (the file's name goes before it).
#[derive(Debug, thiserror::Error)]
#[error("{line}:{column}: error: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A report read back (to merge shards).
pub fn parse(text: &str) -> Result<Report, ParseError> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        // The position leads, as in every file:line:col message; serde_json appends it.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        ParseError {
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

/// The JSON Schema of the report, as committed in schemas/report.schema.json.
pub fn schema_text() -> String {
    let schema = schemars::schema_for!(Report);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
