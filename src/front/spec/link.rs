//! A `[[links]]` entry as written: two endpoints, or a node and a switch.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Impairment;

/// A veth pair. Endpoints are "node:iface" or a switch name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Link {
    /// The two ends: "node:iface" or the name of a switch.
    #[schemars(length(min = 1, max = 2))]
    pub endpoints: Vec<String>,
    /// One address per node endpoint, in the order of `endpoints` (switches take none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// MTU of both ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Impairments on the link: on both directions, or on the egress of the endpoint
    /// named by `from`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impair: Vec<Impairment>,
}
