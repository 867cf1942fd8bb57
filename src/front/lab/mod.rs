//! The resolved lab: every name, address and reference checked and typed. Built by
//! `validate`, consumed by `plan`, the engine and the checks; never by the parser.

mod check;
mod impair;
mod interface;
mod outcome;
mod route;
mod step;

pub use check::{
    Check, CommandExpect, DropExpect, ExitStatus, Expectation, Hop, Matrix, MatrixPair,
    MatrixProbe, Probe, RouteExpect, TraceProto,
};
pub use impair::{Impairment, LinkImpairment};
pub use interface::{IfaceKind, Interface, Mac, MacvlanMode, TunnelEnds, WgPeer};
pub use outcome::Outcome;
pub use route::{Family, Route, Rule};
pub use step::{Action, Step, fmt_duration};

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

pub use crate::front::spec::{
    Exercise, InterfaceKind, ListenMode, RouteType, RuleAction, StateKind, SysctlValue,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwitchId(pub usize);

#[derive(Debug, Clone)]
pub struct Lab {
    pub name: String,
    pub description: Option<String>,
    /// The lab file, for messages and for finding the snapshot beside it.
    pub path: PathBuf,
    pub requires: Requirements,
    pub nodes: Vec<Node>,
    pub switches: Vec<Switch>,
    pub links: Vec<Link>,
    pub checks: Vec<Check>,
    pub matrices: Vec<Matrix>,
    pub steps: Vec<Step>,
    pub snapshot: SnapshotSelection,
    pub exercise: Option<Exercise>,
}

impl Lab {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// Whether the node runs anything (setup commands, services, step commands) or has
    /// files: only such nodes get mount, UTS and pid namespaces of their own, so labs
    /// that only route packets keep building at netlink speed.
    pub fn runs_something(&self, id: NodeId) -> bool {
        let n = self.node(id);
        !n.exec.is_empty()
            || !n.services.is_empty()
            || !n.files.is_empty()
            || self.steps.iter().any(|s| {
                s.actions
                    .iter()
                    .any(|a| matches!(a, Action::Exec { node, .. } if *node == id))
                    || s.checks.iter().any(|c| c.runs_command_in(id))
            })
            || self.checks.iter().any(|c| c.runs_command_in(id))
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).map(NodeId)
    }

    pub fn switch(&self, id: SwitchId) -> &Switch {
        &self.switches[id.0]
    }

    pub fn endpoint_label(&self, ep: &Endpoint) -> String {
        match ep {
            Endpoint::Node { node, iface } => format!("{}:{}", self.node(*node).name, iface),
            Endpoint::Switch { switch, .. } => self.switch(*switch).name.clone(),
        }
    }
}

/// What the kernel must provide. `features` is the union of what the lab asks for
/// explicitly and what its content implies (a vxlan interface needs vxlan, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    pub kernel: Option<(u32, u32)>,
    pub features: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub forward: Option<bool>,
    /// Sysctls in the order written, values rendered as the kernel takes them.
    pub sysctls: Vec<(String, String)>,
    /// Every interface of the node except `lo`: link ends first (in link order), then the
    /// declared ones (in file order).
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
    pub nft: Option<String>,
    pub exec: Vec<String>,
    pub fdb: Vec<Fdb>,
    pub neighbours: Vec<Neighbour>,
    pub listen: Vec<Listen>,
    pub services: Vec<Service>,
    pub ipsec: Vec<Ipsec>,
    /// Files only this node sees, content read at validation.
    pub files: Vec<NodeFile>,
}

/// A file inside one node (`[nodes.X.files]`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFile {
    /// Absolute, normalised path inside the node.
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub mode: u32,
}

impl Node {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    pub fn addresses(&self) -> impl Iterator<Item = (&Interface, &IpNet)> {
        self.interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().map(move |a| (i, a)))
    }

    pub fn has_address(&self, addr: IpAddr) -> bool {
        self.addresses().any(|(_, a)| a.addr() == addr)
    }

    /// The node's own IP addresses, loopback ones included.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.addresses().map(|(_, a)| a.addr()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Switch {
    pub name: String,
    pub mtu: Option<u32>,
    pub vlan_filtering: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Node {
        node: NodeId,
        iface: String,
    },
    /// A port of a switch; `port` is its interface name inside the switch namespace.
    Switch {
        switch: SwitchId,
        port: String,
    },
}

#[derive(Debug, Clone)]
pub struct Link {
    pub ends: [Endpoint; 2],
    /// The link's own MTU, else that of the switch it joins: resolved once, here, for
    /// both veth ends (a switch is one L2 segment).
    pub mtu: Option<u32>,
    pub impair: Vec<LinkImpairment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fdb {
    pub dev: String,
    pub mac: Mac,
    pub dst: Option<IpAddr>,
    pub append: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub dev: String,
    pub address: IpAddr,
    pub mac: Mac,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenProto {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub proto: ListenProto,
    pub port: u16,
    pub address: Option<IpAddr>,
    pub mode: ListenMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Tcp(u16),
    Udp(u16),
    Cmd(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub cmd: String,
    pub ready: Option<Readiness>,
    pub ready_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipsec {
    pub name: String,
    pub local: IpAddr,
    pub remote: IpAddr,
    pub local_subnets: Vec<IpNet>,
    pub remote_subnets: Vec<IpNet>,
    pub spi_out: u32,
    pub spi_in: u32,
    pub secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotSelection {
    pub state: BTreeSet<StateKind>,
    pub nodes: Vec<NodeId>,
}
