//! An `ipsec` table as written: a site-to-site ESP tunnel (xfrm states and policies)
//! of a gateway.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A site-to-site ESP tunnel (xfrm state pair + policies) on a gateway node. Write the
/// tunnel on both gateways; their selectors are used as written, so a mismatch behaves
/// as it does in production.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Ipsec {
    /// Name of the tunnel, used in reports and to derive keys.
    pub name: String,
    /// This gateway's outer address.
    pub local: String,
    /// The peer gateway's outer address.
    pub remote: String,
    /// Local selectors: traffic from these prefixes to `remote_subnets` is encrypted.
    pub local_subnets: Vec<String>,
    /// Remote selectors.
    pub remote_subnets: Vec<String>,
    /// SPI of the outbound SA (hex or decimal); the peer's inbound SPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spi_out: Option<u32>,
    /// SPI of the inbound SA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spi_in: Option<u32>,
    /// Shared secret from which both directions' keys are derived; both gateways must
    /// use the same one. Derived from the tunnel name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}
