//! A validated check: who probes what, how, and the outcome (or path, or drop) expected.

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
    /// `sh -c cmd` inside the node.
    Command { cmd: String },
    Trace {
        dst: IpAddr,
        proto: TraceProto,
        /// Destination port of udp and tcp traces.
        port: u16,
        max_hops: u8,
        source: Option<IpAddr>,
    },
}

impl Check {
    /// A command check run in node `id`.
    pub fn runs_command_in(&self, id: NodeId) -> bool {
        self.from == id && matches!(self.probe, Probe::Command { .. })
    }
}

/// What a trace sends at each TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceProto {
    Icmp,
    Udp,
    Tcp,
}

impl TraceProto {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceProto::Icmp => "icmp",
            TraceProto::Udp => "udp",
            TraceProto::Tcp => "tcp",
        }
    }
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping { .. } => "ping",
            Probe::Tcp { .. } => "tcp",
            Probe::Udp { .. } => "udp",
            Probe::Route { .. } => "route",
            Probe::Command { .. } => "command",
            Probe::Trace { .. } => "trace",
        }
    }

    /// "ping 10.0.0.2", "tcp 10.0.0.2:80": the probe as written.
    pub fn target(&self) -> String {
        match self {
            Probe::Ping { dst, .. } | Probe::Route { dst, .. } => dst.to_string(),
            Probe::Trace {
                dst,
                proto: TraceProto::Icmp,
                ..
            } => dst.to_string(),
            Probe::Trace {
                dst, proto, port, ..
            } => format!("{} {}", proto.as_str(), SocketAddr::new(*dst, *port)),
            Probe::Tcp { dst, .. } | Probe::Udp { dst, .. } => dst.to_string(),
            Probe::Command { cmd } => cmd.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Outcome(Outcome),
    Route(RouteExpect),
    Command(CommandExpect),
    /// A trace's path, hop by hop, and optionally the outcome at its end.
    Path {
        outcome: Option<Outcome>,
        path: Vec<Hop>,
    },
}

/// What a command check expects. Patterns were compiled once at validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandExpect {
    pub exit: Option<ExitStatus>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// (JSON pointer, pattern for its value).
    pub json: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Nonzero,
}

/// One element of an expected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hop {
    /// This address answered at this TTL.
    Addr(IpAddr),
    /// `"*"`: nothing answered at this TTL.
    Silent,
    /// A trailing `"..."`: any rest of the path, including none.
    Rest,
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hop::Addr(a) => write!(f, "{a}"),
            Hop::Silent => f.write_str("*"),
            Hop::Rest => f.write_str("..."),
        }
    }
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
