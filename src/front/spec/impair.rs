//! An `impair` table as written.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Network impairment (netem, or tbf for a bare `rate`). Times like "20ms", percentages
/// like "5%", rates like "1mbit".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Impairment {
    /// Only the egress of this endpoint ("node:iface"); both directions when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Added one-way delay, e.g. "20ms" (netem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Random variation of the delay, e.g. "5ms"; needs `delay` (netem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// Share of packets dropped, e.g. "5%" (netem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// Share of packets sent twice, e.g. "1%" (netem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<String>,
    /// Share of packets sent without the delay, so out of order; needs `delay` (netem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder: Option<String>,
    /// Share of packets with a flipped bit, e.g. "0.1%" (netem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<String>,
    /// Bandwidth limit, e.g. "10mbit", "500kbit" or "1mbps" (bytes); alone it uses tbf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
}
