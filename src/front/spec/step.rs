//! A `[[steps]]` entry as written: actions, then the checks that follow them.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Check, Impairment, Route, SysctlValue};

/// A change to the running lab followed by its own checks.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Step {
    /// Name of the step in reports.
    pub name: String,
    /// Actions applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Checks run after the actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// One change. Exactly one verb key per action:
/// `down`/`up`/`flap`/`clear`/`set_mtu` take "node:iface"; `impair` takes "node:iface"
/// plus impairment keys; `exec`, `nft`, `route_add`, `route_del`, `sysctl`, `start`,
/// `stop` and `kill` need `node`; `partition`/`heal` take two node names.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Action {
    /// Node the action applies to (exec, nft, route_add, route_del, sysctl, start, stop, kill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,

    /// Set the interface "node:iface" administratively down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<String>,
    /// Set the interface "node:iface" up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<String>,
    /// Take "node:iface" down and up `times` times, `period` apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<String>,
    /// flap: how many down-up cycles (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// flap: time between two state changes (default "500ms").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Set the MTU of "node:iface" to `mtu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_mtu: Option<String>,
    /// set_mtu: the new MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Impair the egress of "node:iface" with the keys of `with`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impair: Option<String>,
    /// impair: the impairment to apply, e.g. `{ rate = "1mbit" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Impairment>,
    /// Remove every impairment of "node:iface".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<String>,
    /// Drop all traffic between two nodes (an nft table in both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<String>>,
    /// Undo a partition between two nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<Vec<String>>,

    /// Run a command (sh -c) in `node`; a non-zero exit fails the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// Replace the nft ruleset of `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nft: Option<String>,
    /// Add a route to `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_add: Option<Route>,
    /// Delete a route from `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_del: Option<Route>,
    /// Write sysctls of `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctl: Option<IndexMap<String, SysctlValue>>,
    /// Start the named service of `node` (again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Stop the named service of `node` with SIGTERM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// Kill the named service of `node` with SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<String>,
}
