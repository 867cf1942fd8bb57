//! The lab file as written: serde types that mirror the TOML one to one.
//!
//! Values stay close to their textual form (addresses and durations are strings here) so
//! that deserialisation rarely fails and `validate` can report every problem at once with
//! the exact span of the offending value. Doc comments become the JSON Schema descriptions
//! and the generated format reference, so they are written for lab authors.

mod check;
mod exercise;
mod impair;
mod interface;
mod ipsec;
mod link;
mod node;
mod route;
mod service;
mod snapshot;
mod step;

pub use check::{
    Check, CommandExpect, Dropped, ExitExpect, Expect, Matrix, MatrixException, RouteExpect,
};
pub use exercise::{Exercise, ExerciseFile, ExerciseFileKind};
pub use impair::Impairment;
pub use interface::{Interface, InterfaceKind, WireguardPeer};
pub use ipsec::Ipsec;
pub use link::Link;
pub use node::{Fdb, Listen, ListenMode, Neighbour, Node, NodeFile, SysctlValue};
pub use route::{Route, RouteType, Rule, RuleAction};
pub use service::{Readiness, Service};
pub use snapshot::{SnapshotSelection, StateKind};
pub use step::{Action, Step};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A topolab lab: nodes (network namespaces), the links and switches between them, and
/// the checks that describe how traffic must behave.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields, title = "topolab lab")]
pub struct LabFile {
    /// Lab name: lowercase letters, digits and `-`, at most 32 characters.
    #[schemars(extend("pattern" = "^[a-z0-9][a-z0-9-]{0,31}$"))]
    pub name: String,
    /// One paragraph: the incident, change or exercise this lab reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the kernel must offer; a lab whose needs are not met is skipped, not failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Requires>,
    /// Defaults for every check of the lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// Nodes: one network namespace each, keyed by node name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9_-]{0,31}$"}))]
    pub nodes: IndexMap<String, Node>,
    /// Shared L2 segments: a bridge in a hidden namespace, keyed by switch name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9_-]{0,31}$"}))]
    pub switches: IndexMap<String, Switch>,
    /// veth pairs between two nodes, or between a node and a switch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Probes run once the lab is built.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// All-pairs reachability tables, reported as one table each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matrix: Vec<Matrix>,
    /// Changes applied to the running lab in order, each followed by its own checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Per-node kernel state recorded in the snapshot besides the check outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotSelection>,
    /// Workshop exercise: the goal, hints and the files a student edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<Exercise>,
}

/// Kernel requirements of a lab.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Requires {
    /// Minimum kernel version, e.g. "5.14".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Kernel features the lab needs beyond what its own content implies, e.g. "vxlan",
    /// "nftables", "netem", "wireguard", "xfrm".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// Defaults applied to every check that does not set its own value.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Defaults {
    /// How long a single probe waits for an answer, e.g. "4s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// How long a positive expectation may take to converge, e.g. "10s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
}

/// An L2 segment. Links name the switch as an endpoint; it takes no address.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Switch {
    /// MTU of the bridge and of every port attached to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Enable 802.1Q VLAN filtering on the bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_filtering: Option<bool>,
}
