//! A service as written: a long-running process of a node and its readiness.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A background command started in the node after setup and kept running while the lab is
/// up; it dies with the lab. Its output is kept for the report.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Service {
    /// Name used by steps (`stop`, `start`, `kill`) and in reports.
    pub name: String,
    /// Command line, run with `sh -c`.
    pub cmd: String,
    /// When the service counts as started; checks wait for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<Readiness>,
    /// How long readiness may take (default "10s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_timeout: Option<String>,
}

/// Readiness probe of a service: exactly one of `tcp` (port open on the node), `udp` (a
/// socket bound to the port) or `cmd` (a command exits 0).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Readiness {
    /// Ready once this TCP port accepts connections on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<u16>,
    /// Ready once a socket is bound to this UDP port on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<u16>,
    /// Ready once this command (sh -c, in the node) exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
}
