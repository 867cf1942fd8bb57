//! What a probe observed.

use std::net::IpAddr;
use std::time::Duration;

use crate::front::lab::Outcome;

use super::ProbeError;
use super::classify::{self, Finding};

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
    /// Trace probes: what answered at each TTL, from 1 on.
    pub path: Option<Vec<TraceHop>>,
}

/// One TTL of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHop {
    pub ttl: u8,
    /// Who answered; `None` when nothing did before the deadline.
    pub from: Option<IpAddr>,
    /// What the answer was (`ttl-exceeded` from a router on the way, the end of the path
    /// otherwise); `Timeout` for silence.
    pub outcome: Outcome,
    pub rtt: Option<Duration>,
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
            path: None,
        }
    }

    pub(crate) fn ok(from: IpAddr, elapsed: Duration) -> Observation {
        Observation {
            from: Some(from),
            ..Observation::new(crate::front::lab::Outcome::Ok, elapsed)
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
            path: None,
        }
    }

    /// A synchronous failure of connect/send: an outcome if the node's own kernel refused
    /// to route the packet, otherwise the probe could not be made.
    pub(crate) fn local_failure(
        e: std::io::Error,
        what: &'static str,
        mtu: Option<u32>,
        start: tokio::time::Instant,
    ) -> Result<Observation, ProbeError> {
        match e
            .raw_os_error()
            .and_then(|errno| classify::local(errno, mtu))
        {
            Some(f) => Ok(Observation::found(f, start.elapsed())),
            None => Err(ProbeError::Os { what, source: e }),
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Observation {
        self.detail = Some(detail.into());
        self
    }
}
