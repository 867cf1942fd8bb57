use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{NodeId, Outcome};

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Stable name: as written, or derived from the probe ("a ping 10.0.0.2").
    pub name: String,
    pub from: NodeId,
    pub probe: Probe,
    pub expect: Expectation,
    /// Required source of the ICMP error.
    pub via: Option<IpAddr>,
    /// Required frag-needed MTU.
    pub mtu: Option<u32>,
    /// Convergence deadline for positive expectations.
    pub within: Option<Duration>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Where and why the probe's packets must be dropped.
    pub dropped: Option<DropExpect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropExpect {
    /// The namespace's name as drops report it: the node, or `switch:NAME`.
    pub node: String,
    pub reason: String,
    pub interface: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Ping {
        dst: IpAddr,
        count: u32,
        size: u32,
        dont_fragment: bool,
        ttl: Option<u8>,
        source: Option<IpAddr>,
    },
    Tcp {
        dst: SocketAddr,
        ttl: Option<u8>,
        source: Option<IpAddr>,
        send: Option<u32>,
    },
    Udp {
        dst: SocketAddr,
        size: u32,
        dont_fragment: bool,
        ttl: Option<u8>,
        source: Option<IpAddr>,
    },
    Route {
        dst: IpAddr,
        source: Option<IpAddr>,
        iif: Option<String>,
    },
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping { .. } => "ping",
            Probe::Tcp { .. } => "tcp",
            Probe::Udp { .. } => "udp",
            Probe::Route { .. } => "route",
        }
    }

    /// "ping 10.0.0.2", "tcp 10.0.0.2:80": the probe as written.
    pub fn target(&self) -> String {
        match self {
            Probe::Ping { dst, .. } | Probe::Route { dst, .. } => dst.to_string(),
            Probe::Tcp { dst, .. } | Probe::Udp { dst, .. } => dst.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Outcome(Outcome),
    Route(RouteExpect),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteExpect {
    pub dev: Option<String>,
    pub via: Option<IpAddr>,
    pub src: Option<IpAddr>,
    pub kind: Option<String>,
    pub table: Option<u32>,
    /// `expect = "no-route"` etc. on a route check.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixProbe {
    Ping,
    Tcp(u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatrixPair {
    pub from: NodeId,
    /// Target as shown in the table: "node" or an address.
    pub to: String,
    pub addr: IpAddr,
    pub expect: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub name: String,
    pub probe: MatrixProbe,
    pub pairs: Vec<MatrixPair>,
    pub timeout: Duration,
}
