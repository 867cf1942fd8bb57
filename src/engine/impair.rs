//! Impairments (netem / tbf) on an interface's egress. The kernel-breadth work replaces
//! this with the real implementation; until then an impairment is a clear error.

use super::netns::Netns;
use crate::lab::Impairment;

pub async fn apply(_ns: &Netns, iface: &str, impairment: &Impairment) -> Result<(), String> {
    Err(format!(
        "impairing {iface} ({}) is not implemented yet in this version of topolab",
        impairment.describe()
    ))
}

pub async fn clear(_ns: &Netns, iface: &str) -> Result<(), String> {
    Err(format!(
        "clearing impairments of {iface} is not implemented yet in this version of topolab"
    ))
}
