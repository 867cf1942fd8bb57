//! The `[exercise]` table: what a student hands in for `grade`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A workshop exercise built on the lab: the student edits `files` until the lab's checks
/// (the goal) pass. `topolab grade` applies each submission and runs the checks.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Exercise {
    /// Short title.
    pub title: String,
    /// What the student must achieve.
    pub goal: String,
    /// Hints, revealed one at a time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// Files the student edits; each is applied to the lab before the checks run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ExerciseFile>,
}

/// A file of a submission and what it changes in the lab.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ExerciseFile {
    /// File name inside a submission directory.
    pub path: String,
    /// What the file holds: an nft ruleset, a route list, shell commands, a lab patch, or a
    /// file for inside the node (`file`, with `target`).
    pub kind: ExerciseFileKind,
    /// Node the file applies to (all kinds but `patch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `kind = "file"`: the path inside the node the submitted file becomes, e.g.
    /// "/etc/frr/frr.conf" (it replaces the lab's own file there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExerciseFileKind {
    #[default]
    Nft,
    Routes,
    Exec,
    Patch,
    /// A file inside the node (`target`), e.g. a daemon's configuration.
    File,
}
