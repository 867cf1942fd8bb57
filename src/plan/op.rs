//! The plan's operations and their payloads, which the engine consumes as they are.

use std::fmt::Write as _;

use ipnet::IpNet;

use crate::front::lab::{
    Fdb, IfaceKind, Impairment, Ipsec, Listen, ListenProto, Mac, Neighbour, Route, Rule, Service,
};

/// Index of a namespace in `Plan::namespaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsId(pub usize);

/// Index of an operation in `Plan::ops`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub usize);

/// One end of a veth pair as created: the netlink message sets all of this at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethEnd {
    pub ns: NsId,
    pub name: String,
    pub ifindex: u32,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    pub up: bool,
    /// ifindex of a bridge in the same namespace (switch ports).
    pub master: Option<u32>,
}

/// An interface other than a veth or the loopback, as created: the netlink message sets
/// all of this at once.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInterface {
    pub name: String,
    pub ifindex: u32,
    pub kind: IfaceKind,
    /// ifindex of the lower interface (vlan, macvlan, vxlan dev, tunnels).
    pub parent: Option<u32>,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    pub up: bool,
    pub vlan_filtering: bool,
}

/// A kernel operation. Every interface is referred to by the ifindex the plan assigned,
/// so applying never has to look a link up by name.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    CreateNamespace,
    LoopbackUp,
    /// Created from the namespace of `ends[0]`, both ends placed directly in theirs.
    CreateVeth {
        ends: [VethEnd; 2],
    },
    CreateInterface(NewInterface),
    /// Bring up a veth peer: the kernel refuses (ENOTCONN) to open a peer while it creates
    /// the pair, so only the first end can be created up.
    SetUp {
        name: String,
        ifindex: u32,
    },
    SetMaster {
        name: String,
        ifindex: u32,
        master: String,
        master_ifindex: u32,
    },
    SetMtu {
        name: String,
        ifindex: u32,
        mtu: u32,
    },
    Sysctl {
        key: String,
        value: String,
    },
    AddAddress {
        dev: String,
        ifindex: u32,
        address: IpNet,
    },
    AddRoute {
        route: Route,
        dev_ifindex: Option<u32>,
    },
    AddRule {
        rule: Rule,
    },
    AddFdb {
        fdb: Fdb,
        ifindex: u32,
    },
    AddNeighbour {
        neighbour: Neighbour,
        ifindex: u32,
    },
    Nft {
        ruleset: String,
    },
    Ipsec {
        tunnel: Ipsec,
    },
    Wireguard {
        name: String,
        ifindex: u32,
    },
    Impair {
        dev: String,
        ifindex: u32,
        impairment: Impairment,
    },
    /// Everything above is configured in every namespace.
    Barrier,
    Exec {
        cmd: String,
    },
    Listen {
        listen: Listen,
    },
    Service {
        service: Service,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub ns: NsId,
    pub kind: OpKind,
    pub deps: Vec<OpId>,
}

impl OpKind {
    /// Short verb for summaries and progress.
    pub fn verb(&self) -> &'static str {
        match self {
            OpKind::CreateNamespace => "namespace",
            OpKind::LoopbackUp => "loopback",
            OpKind::CreateVeth { .. } => "veth",
            OpKind::CreateInterface(_) => "interface",
            OpKind::SetUp { .. } => "up",
            OpKind::SetMaster { .. } => "master",
            OpKind::SetMtu { .. } => "mtu",
            OpKind::Sysctl { .. } => "sysctl",
            OpKind::AddAddress { .. } => "address",
            OpKind::AddRoute { .. } => "route",
            OpKind::AddRule { .. } => "rule",
            OpKind::AddFdb { .. } => "fdb",
            OpKind::AddNeighbour { .. } => "neighbour",
            OpKind::Nft { .. } => "nft",
            OpKind::Ipsec { .. } => "ipsec",
            OpKind::Wireguard { .. } => "wireguard",
            OpKind::Impair { .. } => "impair",
            OpKind::Barrier => "barrier",
            OpKind::Exec { .. } => "exec",
            OpKind::Listen { .. } => "listen",
            OpKind::Service { .. } => "service",
        }
    }

    /// What the operation does, readably (`ns_name` resolves peer namespaces).
    pub fn describe(&self, ns_name: &dyn Fn(NsId) -> String) -> String {
        let mut s = String::new();
        match self {
            OpKind::CreateNamespace => s.push_str("create network namespace"),
            OpKind::LoopbackUp => s.push_str("set lo up"),
            OpKind::CreateVeth { ends } => {
                let _ = write!(
                    s,
                    "create veth {} <-> {}:{}",
                    end(&ends[0], None),
                    ns_name(ends[1].ns),
                    end(&ends[1], None)
                );
            }
            OpKind::CreateInterface(NewInterface {
                name,
                ifindex,
                kind,
                parent,
                mtu,
                mac,
                up,
                vlan_filtering,
            }) => {
                let _ = write!(s, "create {} {name} #{ifindex}", kind.name());
                match kind {
                    IfaceKind::Vxlan {
                        vni,
                        local,
                        remote,
                        group,
                        dstport,
                        learning,
                        ..
                    } => {
                        let _ = write!(s, " vni {vni}");
                        if let Some(l) = local {
                            let _ = write!(s, " local {l}");
                        }
                        if let Some(r) = remote {
                            let _ = write!(s, " remote {r}");
                        }
                        if let Some(g) = group {
                            let _ = write!(s, " group {g}");
                        }
                        let _ = write!(s, " dstport {dstport}");
                        if !learning {
                            s.push_str(" nolearning");
                        }
                    }
                    IfaceKind::Ipip(e)
                    | IfaceKind::Gre { ends: e, .. }
                    | IfaceKind::Gretap { ends: e, .. } => {
                        if let Some(l) = e.local {
                            let _ = write!(s, " local {l}");
                        }
                        if let Some(r) = e.remote {
                            let _ = write!(s, " remote {r}");
                        }
                        if let Some(t) = e.ttl {
                            let _ = write!(s, " ttl {t}");
                        }
                        if let IfaceKind::Gre { key: Some(k), .. }
                        | IfaceKind::Gretap { key: Some(k), .. } = kind
                        {
                            let _ = write!(s, " key {k}");
                        }
                    }
                    IfaceKind::Macvlan { mode, .. } => {
                        let _ = write!(s, " mode {}", format!("{mode:?}").to_lowercase());
                    }
                    IfaceKind::Vlan { id, .. } => {
                        let _ = write!(s, " id {id}");
                    }
                    IfaceKind::Vrf { table } => {
                        let _ = write!(s, " table {table}");
                    }
                    IfaceKind::Wireguard {
                        listen_port: Some(p),
                        ..
                    } => {
                        let _ = write!(s, " port {p}");
                    }
                    _ => {}
                }
                if let (Some(p), Some(pn)) = (parent, kind.parent()) {
                    let _ = write!(s, " on {pn} #{p}");
                }
                if *vlan_filtering {
                    s.push_str(" vlan_filtering");
                }
                attrs(&mut s, *mtu, *mac, *up, None);
            }
            OpKind::SetUp { name, .. } => {
                let _ = write!(s, "set {name} up");
            }
            OpKind::SetMaster { name, master, .. } => {
                let _ = write!(s, "enslave {name} to {master}");
            }
            OpKind::SetMtu { name, mtu, .. } => {
                let _ = write!(s, "set {name} mtu {mtu}");
            }
            OpKind::Sysctl { key, value } => {
                let _ = write!(s, "sysctl {key} = {value}");
            }
            OpKind::AddAddress { dev, address, .. } => {
                let _ = write!(s, "add address {address} dev {dev}");
            }
            OpKind::AddRoute { route, .. } => {
                let _ = write!(s, "add route {}", route.describe());
            }
            OpKind::AddRule { rule } => {
                let _ = write!(s, "add rule {}", rule.describe());
            }
            OpKind::AddFdb { fdb, .. } => {
                let _ = write!(s, "add fdb {} dev {}", fdb.mac, fdb.dev);
                if let Some(d) = fdb.dst {
                    let _ = write!(s, " dst {d}");
                }
                if fdb.append {
                    s.push_str(" (append)");
                }
            }
            OpKind::AddNeighbour { neighbour, .. } => {
                let _ = write!(
                    s,
                    "add neighbour {} lladdr {} dev {} permanent",
                    neighbour.address, neighbour.mac, neighbour.dev
                );
            }
            OpKind::Nft { ruleset } => {
                let _ = write!(
                    s,
                    "load nft ruleset ({} lines)",
                    ruleset.trim().lines().count()
                );
            }
            OpKind::Ipsec { tunnel } => {
                let subnets = |v: &[IpNet]| {
                    v.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let _ = write!(
                    s,
                    "ipsec {}: esp tunnel {} -> {} spi out {:#x} in {:#x}, {} <-> {}",
                    tunnel.name,
                    tunnel.local,
                    tunnel.remote,
                    tunnel.spi_out,
                    tunnel.spi_in,
                    subnets(&tunnel.local_subnets),
                    subnets(&tunnel.remote_subnets)
                );
            }
            OpKind::Wireguard { name, .. } => {
                let _ = write!(s, "configure wireguard {name} (keys and peers)");
            }
            OpKind::Impair {
                dev, impairment, ..
            } => {
                let _ = write!(s, "impair egress of {dev}: {}", impairment.describe());
            }
            OpKind::Barrier => s.push_str("every namespace configured"),
            OpKind::Exec { cmd } => {
                let _ = write!(s, "exec `{}`", cmd.trim());
            }
            OpKind::Listen { listen } => {
                let proto = if listen.proto == ListenProto::Tcp {
                    "tcp"
                } else {
                    "udp"
                };
                let addr = listen
                    .address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "*".into());
                let _ = write!(s, "listen {proto} {addr}:{}", listen.port);
                if listen.proto == ListenProto::Tcp {
                    let _ = write!(
                        s,
                        " ({})",
                        if listen.mode == crate::front::lab::ListenMode::Echo {
                            "echo"
                        } else {
                            "close"
                        }
                    );
                }
            }
            OpKind::Service { service } => {
                let _ = write!(s, "start service {} `{}`", service.name, service.cmd.trim());
            }
        }
        s
    }
}

/// A veth end: only the first end can be created up (see `SetUp`), so "down" is not
/// worth printing for the second.
fn end(e: &VethEnd, _: Option<()>) -> String {
    let mut s = format!("{} #{}", e.name, e.ifindex);
    let mut parts = Vec::new();
    if let Some(m) = e.mtu {
        parts.push(format!("mtu {m}"));
    }
    if let Some(m) = e.mac {
        parts.push(format!("mac {m}"));
    }
    if let Some(m) = e.master {
        parts.push(format!("master #{m}"));
    }
    if e.up {
        parts.push("up".into());
    }
    if !parts.is_empty() {
        let _ = write!(s, " ({})", parts.join(", "));
    }
    s
}

fn attrs(s: &mut String, mtu: Option<u32>, mac: Option<Mac>, up: bool, master: Option<u32>) {
    let mut parts = Vec::new();
    if let Some(m) = mtu {
        parts.push(format!("mtu {m}"));
    }
    if let Some(m) = mac {
        parts.push(format!("mac {m}"));
    }
    if let Some(m) = master {
        parts.push(format!("master #{m}"));
    }
    parts.push(if up { "up".into() } else { "down".into() });
    let _ = write!(s, " ({})", parts.join(", "));
}
