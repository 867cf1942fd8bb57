//! The `[snapshot]` table: which kinds of node state a snapshot records.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which per-node kernel state the snapshot records besides check outcomes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SnapshotSelection {
    /// Kinds of state: routes, addresses, rules, neighbours, nft.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<StateKind>,
    /// Nodes whose state is recorded; all nodes when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<String>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    Routes,
    Addresses,
    Rules,
    Neighbours,
    Nft,
}

impl StateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Routes => "routes",
            StateKind::Addresses => "addresses",
            StateKind::Rules => "rules",
            StateKind::Neighbours => "neighbours",
            StateKind::Nft => "nft",
        }
    }
}
