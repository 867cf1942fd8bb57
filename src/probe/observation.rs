//! What a probe observed.

use std::net::IpAddr;
use std::time::Duration;

use crate::lab::Outcome;

use super::classify::Finding;

#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub outcome: Outcome,
    /// Who answered: the ICMP error's sender, or the address that replied.
    pub from: Option<IpAddr>,
    /// The MTU a frag-needed / packet-too-big carried, or the local path MTU.
    pub mtu: Option<u32>,
    /// From the first packet (or lookup) to the outcome.
    pub elapsed: Duration,
    /// Route probes: the route the kernel chose.
    pub route: Option<RouteInfo>,
    /// The raw evidence in words ("ICMP type 3 code 13 from 10.0.0.1").
    pub detail: Option<String>,
}

/// The answer of a route lookup, like one line of `ip route get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub dev: Option<String>,
    pub via: Option<IpAddr>,
    pub src: Option<IpAddr>,
    /// "unicast", "local", "broadcast", "blackhole", "unreachable", "prohibit", ...
    pub kind: String,
    pub table: Option<u32>,
}

impl Observation {
    pub(crate) fn new(outcome: Outcome, elapsed: Duration) -> Observation {
        Observation {
            outcome,
            from: None,
            mtu: None,
            elapsed,
            route: None,
            detail: None,
        }
    }

    pub(crate) fn ok(from: IpAddr, elapsed: Duration) -> Observation {
        Observation {
            from: Some(from),
            ..Observation::new(crate::lab::Outcome::Ok, elapsed)
        }
    }

    pub(crate) fn found(f: Finding, elapsed: Duration) -> Observation {
        Observation {
            outcome: f.outcome,
            from: f.from,
            mtu: f.mtu,
            elapsed,
            route: None,
            detail: f.detail,
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Observation {
        self.detail = Some(detail.into());
        self
    }
}
