//! What a topology picture shows, decided once for every output format: the DOT and
//! Mermaid renderers only differ in syntax, never in which boxes and lines exist.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::front::lab::{Endpoint, IfaceKind, Impairment, Interface, Lab, MacvlanMode, NodeId};

/// The drawable topology of a lab, in lab order so the output is deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub lab: String,
    pub nodes: Vec<NodeBox>,
    pub switches: Vec<SwitchBox>,
    pub edges: Vec<Edge>,
}

/// A node: a group of interface boxes under a title (a single box when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBox {
    pub name: String,
    pub title: String,
    pub ifaces: Vec<IfaceBox>,
}

/// One interface: its name (with the kind when it is not a veth end) and then its
/// settings and addresses, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceBox {
    pub name: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchBox {
    pub name: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vertex {
    /// Interface `iface` (index into `NodeBox::ifaces`) of node `node`.
    Iface {
        node: usize,
        iface: usize,
    },
    Switch(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A veth pair: the only edges that are cables.
    Link,
    /// A port enslaved to a bridge or VRF of the same node.
    Master,
    /// A vlan / macvlan / tunnel created on top of a lower interface.
    Parent,
    /// A tunnel whose far end is another node's interface of the same kind.
    Tunnel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub a: Vertex,
    pub b: Vertex,
    pub kind: EdgeKind,
    pub label: Option<String>,
}

impl Topology {
    pub fn of(lab: &Lab) -> Topology {
        let nodes = lab
            .nodes
            .iter()
            .map(|n| NodeBox {
                name: n.name.clone(),
                title: if n.forward == Some(true) {
                    format!("{} (forwarding)", n.name)
                } else {
                    n.name.clone()
                },
                ifaces: n.interfaces.iter().map(iface_box).collect(),
            })
            .collect();
        let switches = lab
            .switches
            .iter()
            .map(|s| {
                let mut lines = vec![s.name.clone(), "switch".to_string()];
                if let Some(m) = s.mtu {
                    lines.push(format!("mtu {m}"));
                }
                if s.vlan_filtering {
                    lines.push("vlan filtering".to_string());
                }
                SwitchBox {
                    name: s.name.clone(),
                    lines,
                }
            })
            .collect();
        let mut topo = Topology {
            lab: lab.name.clone(),
            nodes,
            switches,
            edges: Vec::new(),
        };
        topo.edges = links(lab)
            .chain(local_edges(lab))
            .chain(tunnels(lab))
            .collect();
        topo
    }
}

fn iface_box(i: &Interface) -> IfaceBox {
    let mut lines = vec![match &i.kind {
        IfaceKind::Veth { .. } | IfaceKind::Loopback => i.name.clone(),
        k => format!("{} ({})", i.name, k.name()),
    }];
    match &i.kind {
        IfaceKind::Vxlan {
            vni,
            remote,
            group,
            dstport,
            ..
        } => {
            let mut s = format!("vni {vni}");
            if let Some(r) = remote {
                s.push_str(&format!(" remote {r}"));
            }
            if let Some(g) = group {
                s.push_str(&format!(" group {g}"));
            }
            if *dstport != 4789 {
                s.push_str(&format!(" port {dstport}"));
            }
            lines.push(s);
        }
        IfaceKind::Ipip(ends) | IfaceKind::Gre { ends, .. } | IfaceKind::Gretap { ends, .. } => {
            if let Some(r) = ends.remote {
                lines.push(format!("remote {r}"));
            }
        }
        IfaceKind::Vlan { id, .. } => lines.push(format!("vlan {id}")),
        IfaceKind::Macvlan { mode, .. } if *mode != MacvlanMode::Bridge => {
            lines.push(format!("mode {}", macvlan_mode(*mode)));
        }
        IfaceKind::Vrf { table } => lines.push(format!("table {table}")),
        IfaceKind::Wireguard {
            listen_port: Some(p),
            ..
        } => lines.push(format!("port {p}")),
        _ => {}
    }
    if let Some(m) = i.mtu {
        lines.push(format!("mtu {m}"));
    }
    if !i.up {
        lines.push("down".to_string());
    }
    lines.extend(i.addresses.iter().map(ToString::to_string));
    IfaceBox {
        name: i.name.clone(),
        lines,
    }
}

fn macvlan_mode(m: MacvlanMode) -> &'static str {
    match m {
        MacvlanMode::Bridge => "bridge",
        MacvlanMode::Private => "private",
        MacvlanMode::Vepa => "vepa",
        MacvlanMode::Passthru => "passthru",
    }
}

/// The vertex of interface `name` of a node, if it exists.
fn iface_vertex(lab: &Lab, node: NodeId, name: &str) -> Option<Vertex> {
    lab.node(node)
        .interfaces
        .iter()
        .position(|i| i.name == name)
        .map(|iface| Vertex::Iface {
            node: node.0,
            iface,
        })
}

fn endpoint_vertex(lab: &Lab, ep: &Endpoint) -> Option<Vertex> {
    match ep {
        Endpoint::Node { node, iface } => iface_vertex(lab, *node, iface),
        Endpoint::Switch { switch, .. } => Some(Vertex::Switch(switch.0)),
    }
}

fn links(lab: &Lab) -> impl Iterator<Item = Edge> + '_ {
    lab.links.iter().filter_map(|l| {
        let label: Vec<String> = l
            .impair
            .iter()
            .map(|imp| match imp.side {
                Some(side) => format!(
                    "{} from {}",
                    impairment_label(&imp.impairment),
                    lab.endpoint_label(&l.ends[side])
                ),
                None => impairment_label(&imp.impairment),
            })
            .collect();
        Some(Edge {
            a: endpoint_vertex(lab, &l.ends[0])?,
            b: endpoint_vertex(lab, &l.ends[1])?,
            kind: EdgeKind::Link,
            label: (!label.is_empty()).then(|| label.join(", ")),
        })
    })
}

/// Like `Impairment::describe`, with the rate in the unit a lab author would write: a
/// picture is read at a glance, "10000000bit" is not.
fn impairment_label(imp: &Impairment) -> String {
    let netem = Impairment {
        rate: None,
        ..imp.clone()
    }
    .describe();
    let rate = imp.rate.map(|r| {
        let (div, unit) = [
            (1_000_000_000, "gbit"),
            (1_000_000, "mbit"),
            (1_000, "kbit"),
        ]
        .into_iter()
        .find(|(d, _)| r % d == 0)
        .unwrap_or((1, "bit"));
        format!("rate {}{unit}", r / div)
    });
    [Some(netem), rate]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bridge ports and stacked interfaces inside each node.
fn local_edges(lab: &Lab) -> impl Iterator<Item = Edge> + '_ {
    lab.nodes.iter().enumerate().flat_map(move |(n, node)| {
        let id = NodeId(n);
        node.interfaces
            .iter()
            .enumerate()
            .flat_map(move |(i, iface)| {
                let this = Vertex::Iface { node: n, iface: i };
                let master = iface
                    .master
                    .as_deref()
                    .and_then(|m| iface_vertex(lab, id, m))
                    .map(|m| Edge {
                        a: this,
                        b: m,
                        kind: EdgeKind::Master,
                        label: Some("master".to_string()),
                    });
                let parent = iface
                    .kind
                    .parent()
                    .and_then(|p| iface_vertex(lab, id, p))
                    .map(|p| Edge {
                        a: this,
                        b: p,
                        kind: EdgeKind::Parent,
                        label: Some("parent".to_string()),
                    });
                master.into_iter().chain(parent)
            })
    })
}

/// Tunnel overlays between nodes: each pair once, in the order the first end appears.
fn tunnels(lab: &Lab) -> impl Iterator<Item = Edge> + '_ {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (n, node) in lab.nodes.iter().enumerate() {
        for (i, iface) in node.interfaces.iter().enumerate() {
            for (peer, label) in tunnel_peers(lab, NodeId(n), iface) {
                let this = (n, i);
                let key = if this < peer {
                    (this, peer)
                } else {
                    (peer, this)
                };
                if peer != this && seen.insert(key) {
                    out.push(Edge {
                        a: Vertex::Iface { node: n, iface: i },
                        b: Vertex::Iface {
                            node: peer.0,
                            iface: peer.1,
                        },
                        kind: EdgeKind::Tunnel,
                        label: Some(label),
                    });
                }
            }
        }
    }
    out.into_iter()
}

/// The far ends of a tunnel interface that are in the lab, as (node, interface) indexes,
/// with the edge label.
fn tunnel_peers(lab: &Lab, node: NodeId, iface: &Interface) -> Vec<((usize, usize), String)> {
    let same_kind = |addr: IpAddr, label: String, pred: &dyn Fn(&IfaceKind) -> bool| {
        let owner = lab.nodes.iter().position(|n| n.has_address(addr))?;
        let i = lab.nodes[owner]
            .interfaces
            .iter()
            .position(|i| pred(&i.kind))?;
        Some(((owner, i), label))
    };
    match &iface.kind {
        IfaceKind::Vxlan { vni, remote, .. } => {
            let this_vni = *vni;
            let is_peer =
                |k: &IfaceKind| matches!(k, IfaceKind::Vxlan { vni, .. } if *vni == this_vni);
            // Without learning the far ends are the fdb destinations, not `remote`.
            let fdb = lab
                .node(node)
                .fdb
                .iter()
                .filter(|f| f.dev == iface.name)
                .filter_map(|f| f.dst);
            remote
                .iter()
                .copied()
                .chain(fdb)
                .filter_map(|a| same_kind(a, format!("vxlan {this_vni}"), &is_peer))
                .collect()
        }
        IfaceKind::Ipip(ends) | IfaceKind::Gre { ends, .. } | IfaceKind::Gretap { ends, .. } => {
            let kind = iface.kind.name();
            let is_peer = |k: &IfaceKind| k.name() == kind;
            ends.remote
                .and_then(|a| same_kind(a, kind.to_string(), &is_peer))
                .into_iter()
                .collect()
        }
        IfaceKind::Wireguard { peers, .. } => peers
            .iter()
            .filter_map(|p| p.node.as_ref())
            .filter_map(|(n, i)| {
                let owner = lab.node_id(n)?;
                let idx = lab
                    .node(owner)
                    .interfaces
                    .iter()
                    .position(|x| x.name == *i)?;
                Some(((owner.0, idx), "wireguard".to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}
