//! A validated lab turned into the plan: one `Builder` method per stage (namespaces,
//! switches, links, interfaces, structure, sysctls, addresses, forwarding, tunnels and
//! firewall, impairments, processes).

use std::collections::HashMap;

use super::op::{NewInterface, NsId, Op, OpId, OpKind, VethEnd};
use super::{IFINDEX_BASE, Namespace, NsOwner, Plan};
use crate::front::lab::{Endpoint, IfaceKind, Interface, Lab, Link, NodeId, SwitchId};

/// The plan as it grows. Each stage of the plan is one method, called in the order of
/// `build`; the order of the ops (and so of `topolab plan`) is that order.
struct Builder<'a> {
    lab: &'a Lab,
    ops: Vec<Op>,
    namespaces: Vec<Namespace>,
    /// The op creating each namespace, nodes first, then switches.
    ns_op: Vec<OpId>,
    /// The op bringing up each node's loopback.
    lo_op: Vec<OpId>,
    /// ifindex of every interface of every node, by name.
    indexes: Vec<HashMap<String, u32>>,
    /// Next free ifindex in the lab.
    next: u32,
    /// The op creating each switch's bridge, and the bridge's ifindex.
    bridge: Vec<(OpId, u32)>,
    /// The op that creates each (node, iface).
    created: HashMap<(usize, String), OpId>,
    /// The op that creates each switch port, and the port's ifindex.
    port_op: HashMap<(usize, String), (OpId, u32)>,
}

fn node_ns(n: NodeId) -> NsId {
    NsId(n.0)
}

/// ifindex of every interface of a node, in `node.interfaces` order, from the lab-wide
/// counter `next`.
fn node_ifindexes(lab: &Lab, node: NodeId, next: &mut u32) -> HashMap<String, u32> {
    let mut map = HashMap::new();
    map.insert("lo".to_string(), 1);
    for iface in &lab.node(node).interfaces {
        if iface.kind == IfaceKind::Loopback {
            continue;
        }
        map.insert(iface.name.clone(), *next);
        *next += 1;
    }
    map
}

pub fn build(lab: &Lab) -> Plan {
    let mut b = Builder::new(lab);
    b.node_namespaces();
    b.switches();
    for link in &lab.links {
        b.link(link);
    }
    for ni in 0..lab.nodes.len() {
        b.interfaces(ni);
    }
    for ni in 0..lab.nodes.len() {
        let structure = b.structure(ni);
        let configured = b.sysctls(ni, structure);
        let addressed = b.addresses(ni, configured);
        let routed = b.forwarding(ni, addressed);
        b.tunnels_and_firewall(ni, routed);
    }
    for link in &lab.links {
        b.impairments(link);
    }
    b.processes();
    Plan {
        lab: lab.name.clone(),
        namespaces: b.namespaces,
        ops: b.ops,
    }
}

impl<'a> Builder<'a> {
    fn new(lab: &'a Lab) -> Self {
        Builder {
            lab,
            ops: Vec::new(),
            namespaces: Vec::new(),
            ns_op: Vec::new(),
            lo_op: Vec::new(),
            indexes: Vec::new(),
            next: IFINDEX_BASE,
            bridge: Vec::new(),
            created: HashMap::new(),
            port_op: HashMap::new(),
        }
    }

    fn push(&mut self, ns: NsId, kind: OpKind, mut deps: Vec<OpId>) -> OpId {
        deps.sort();
        deps.dedup();
        self.ops.push(Op { ns, kind, deps });
        OpId(self.ops.len() - 1)
    }

    fn switch_ns(&self, s: SwitchId) -> NsId {
        NsId(self.lab.nodes.len() + s.0)
    }

    /// A namespace per node with its loopback up, and the ifindex of every node
    /// interface.
    fn node_namespaces(&mut self) {
        let lab = self.lab;
        for (i, node) in lab.nodes.iter().enumerate() {
            self.namespaces.push(Namespace {
                name: node.name.clone(),
                owner: NsOwner::Node(NodeId(i)),
            });
            let ns = NsId(i);
            let created = self.push(ns, OpKind::CreateNamespace, vec![]);
            self.ns_op.push(created);
            let lo = self.push(ns, OpKind::LoopbackUp, vec![created]);
            self.lo_op.push(lo);
        }
        // Indexes are unique in the whole lab, though each namespace has its own index
        // space: the kernel treats a device whose link index equals its own as a
        // non-stacked device and processes its carrier events up to a second late, so
        // veth peers must differ.
        self.indexes = (0..self.lab.nodes.len())
            .map(|i| node_ifindexes(self.lab, NodeId(i), &mut self.next))
            .collect();
    }

    /// A namespace per switch with its bridge.
    fn switches(&mut self) {
        let lab = self.lab;
        for (j, sw) in lab.switches.iter().enumerate() {
            self.namespaces.push(Namespace {
                name: format!("switch:{}", sw.name),
                owner: NsOwner::Switch(SwitchId(j)),
            });
            let ns = self.switch_ns(SwitchId(j));
            let created = self.push(ns, OpKind::CreateNamespace, vec![]);
            self.ns_op.push(created);
            let ifindex = self.next;
            self.next += 1;
            let bridge = NewInterface {
                name: super::SWITCH_BRIDGE.into(),
                ifindex,
                kind: IfaceKind::Bridge,
                parent: None,
                mtu: sw.mtu,
                mac: None,
                up: true,
                vlan_filtering: sw.vlan_filtering,
            };
            let op = self.push(ns, OpKind::CreateInterface(bridge), vec![created]);
            self.bridge.push((op, ifindex));
        }
    }

    /// The veth end `ep` becomes, and the op it waits for.
    fn veth_end(&mut self, link: &Link, ep: &Endpoint) -> (VethEnd, OpId) {
        match ep {
            Endpoint::Node { node, iface } => {
                let i = self
                    .lab
                    .node(*node)
                    .interface(iface)
                    .expect("validated link end");
                let end = VethEnd {
                    ns: node_ns(*node),
                    name: iface.clone(),
                    ifindex: self.indexes[node.0][iface],
                    mtu: i.mtu,
                    mac: i.mac,
                    up: i.up,
                    master: None,
                };
                (end, self.ns_op[node.0])
            }
            Endpoint::Switch { switch, port } => {
                let (bridge_op, bridge_ifindex) = self.bridge[switch.0];
                let end = VethEnd {
                    ns: self.switch_ns(*switch),
                    name: port.clone(),
                    ifindex: self.next,
                    mtu: link.mtu,
                    mac: None,
                    up: true,
                    master: Some(bridge_ifindex),
                };
                self.next += 1;
                (end, bridge_op)
            }
        }
    }

    /// The veth pair of a link, and bringing up its second end.
    fn link(&mut self, link: &Link) {
        let (mut a, dep_a) = self.veth_end(link, &link.ends[0]);
        let (mut b, dep_b) = self.veth_end(link, &link.ends[1]);
        // The kernel enslaves only the device the request creates, not its peer: a switch
        // port must be the first end.
        if b.master.is_some() {
            std::mem::swap(&mut a, &mut b);
        }
        let port_ifindex = a.ifindex;
        let peer_up = std::mem::replace(&mut b.up, false);
        let peer = (b.ns, b.name.clone(), b.ifindex);
        let mut op = self.push(
            a.ns,
            OpKind::CreateVeth { ends: [a, b] },
            vec![dep_a, dep_b],
        );
        if peer_up {
            let (ns, name, ifindex) = peer;
            op = self.push(ns, OpKind::SetUp { name, ifindex }, vec![op]);
        }
        for ep in &link.ends {
            match ep {
                Endpoint::Node { node, iface } => {
                    self.created.insert((node.0, iface.clone()), op);
                }
                Endpoint::Switch { switch, port } => {
                    self.port_op
                        .insert((switch.0, port.clone()), (op, port_ifindex));
                }
            }
        }
    }

    /// A node's interfaces other than veths and the loopback, each after its parent.
    fn interfaces(&mut self, ni: usize) {
        let lab = self.lab;
        let mut pending: Vec<&Interface> = lab.nodes[ni]
            .interfaces
            .iter()
            .filter(|i| !matches!(i.kind, IfaceKind::Veth { .. } | IfaceKind::Loopback))
            .collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|iface| !self.interface(ni, iface));
            if pending.len() == before {
                // Parent cycles are rejected by validation; never loop forever regardless.
                break;
            }
        }
    }

    /// Create `iface` if its parent is created already; whether it was.
    fn interface(&mut self, ni: usize, iface: &Interface) -> bool {
        let parent_op = match iface.kind.parent() {
            None => None,
            Some(p) => match self.created.get(&(ni, p.to_string())) {
                Some(op) => Some(*op),
                None => return false,
            },
        };
        let mut deps = vec![self.ns_op[ni]];
        deps.extend(parent_op);
        let indexes = &self.indexes[ni];
        let new = NewInterface {
            name: iface.name.clone(),
            ifindex: indexes[&iface.name],
            kind: iface.kind.clone(),
            parent: iface.kind.parent().map(|p| indexes[p]),
            mtu: iface.mtu,
            mac: iface.mac,
            up: iface.up,
            vlan_filtering: false,
        };
        let op = self.push(NsId(ni), OpKind::CreateInterface(new), deps);
        self.created.insert((ni, iface.name.clone()), op);
        true
    }

    /// Enslaving and the loopback's MTU: the node's interfaces as they are meant to be.
    /// Returns every op the node's configuration waits for.
    fn structure(&mut self, ni: usize) -> Vec<OpId> {
        let lab = self.lab;
        let node = &lab.nodes[ni];
        let ns = NsId(ni);
        let mut structure: Vec<OpId> = vec![self.lo_op[ni]];
        structure.extend(
            node.interfaces
                .iter()
                .filter_map(|i| self.created.get(&(ni, i.name.clone())).copied()),
        );
        for iface in &node.interfaces {
            let Some(master) = &iface.master else {
                continue;
            };
            let deps = vec![
                self.created[&(ni, iface.name.clone())],
                self.created[&(ni, master.clone())],
            ];
            let kind = OpKind::SetMaster {
                name: iface.name.clone(),
                ifindex: self.indexes[ni][&iface.name],
                master: master.clone(),
                master_ifindex: self.indexes[ni][master],
            };
            structure.push(self.push(ns, kind, deps));
        }
        // The loopback is not created, only configured.
        if let Some(lo) = node.interface("lo")
            && let Some(mtu) = lo.mtu
        {
            let kind = OpKind::SetMtu {
                name: "lo".into(),
                ifindex: 1,
                mtu,
            };
            structure.push(self.push(ns, kind, vec![self.lo_op[ni]]));
        }
        structure
    }

    /// Sysctls in the order written, after the interfaces they may name.
    fn sysctls(&mut self, ni: usize, structure: Vec<OpId>) -> Vec<OpId> {
        let lab = self.lab;
        let node = &lab.nodes[ni];
        let mut last = structure;
        let mut sysctls: Vec<(String, String)> = Vec::new();
        if let Some(f) = node.forward {
            let v = if f { "1" } else { "0" };
            sysctls.push(("net.ipv4.ip_forward".into(), v.into()));
            sysctls.push(("net.ipv6.conf.all.forwarding".into(), v.into()));
        }
        sysctls.extend(node.sysctls.iter().cloned());
        for (key, value) in sysctls {
            last = vec![self.push(NsId(ni), OpKind::Sysctl { key, value }, last)];
        }
        last
    }

    /// Every address, each after the sysctls and its interface. Returns what the routes
    /// wait for.
    fn addresses(&mut self, ni: usize, last: Vec<OpId>) -> Vec<OpId> {
        let lab = self.lab;
        let node = &lab.nodes[ni];
        let mut addressed = last.clone();
        for iface in &node.interfaces {
            for a in &iface.addresses {
                let mut deps = last.clone();
                deps.extend(self.created.get(&(ni, iface.name.clone())));
                let kind = OpKind::AddAddress {
                    dev: iface.name.clone(),
                    ifindex: self.indexes[ni][&iface.name],
                    address: *a,
                };
                addressed.push(self.push(NsId(ni), kind, deps));
            }
        }
        addressed
    }

    /// Routes, rules, fdb and neighbour entries, one after the other. Returns the last.
    fn forwarding(&mut self, ni: usize, addressed: Vec<OpId>) -> Vec<OpId> {
        let lab = self.lab;
        let node = &lab.nodes[ni];
        let indexes = &self.indexes[ni];
        // In order: a later route may use a gateway an earlier one made reachable.
        let mut kinds: Vec<OpKind> = node
            .routes
            .iter()
            .map(|r| OpKind::AddRoute {
                route: r.clone(),
                dev_ifindex: r.dev.as_ref().map(|d| indexes[d]),
            })
            .collect();
        kinds.extend(
            node.rules
                .iter()
                .map(|r| OpKind::AddRule { rule: r.clone() }),
        );
        kinds.extend(node.fdb.iter().map(|f| OpKind::AddFdb {
            fdb: f.clone(),
            ifindex: indexes[&f.dev],
        }));
        kinds.extend(node.neighbours.iter().map(|n| OpKind::AddNeighbour {
            neighbour: n.clone(),
            ifindex: indexes[&n.dev],
        }));
        self.chain(ni, addressed, kinds)
    }

    /// WireGuard keys and peers, IPsec tunnels, then the nft ruleset.
    fn tunnels_and_firewall(&mut self, ni: usize, routed: Vec<OpId>) {
        let lab = self.lab;
        let node = &lab.nodes[ni];
        let mut kinds: Vec<OpKind> = node
            .interfaces
            .iter()
            .filter(|i| matches!(i.kind, IfaceKind::Wireguard { .. }))
            .map(|i| OpKind::Wireguard {
                name: i.name.clone(),
                ifindex: self.indexes[ni][&i.name],
            })
            .collect();
        kinds.extend(
            node.ipsec
                .iter()
                .map(|t| OpKind::Ipsec { tunnel: t.clone() }),
        );
        kinds.extend(node.nft.iter().map(|r| OpKind::Nft { ruleset: r.clone() }));
        self.chain(ni, routed, kinds);
    }

    /// Ops of one node, each after the one before; the first after `after`.
    fn chain(&mut self, ni: usize, after: Vec<OpId>, kinds: Vec<OpKind>) -> Vec<OpId> {
        let mut chain = after;
        for kind in kinds {
            chain = vec![self.push(NsId(ni), kind, chain)];
        }
        chain
    }

    /// Impairments go on the egress of each impaired end, in that end's namespace.
    fn impairments(&mut self, link: &Link) {
        for imp in &link.impair {
            for (side, ep) in link.ends.iter().enumerate() {
                if imp.side.is_some_and(|s| s != side) {
                    continue;
                }
                let (ns, dev, ifindex, dep) = match ep {
                    Endpoint::Node { node, iface } => (
                        node_ns(*node),
                        iface.clone(),
                        self.indexes[node.0][iface],
                        self.created[&(node.0, iface.clone())],
                    ),
                    Endpoint::Switch { switch, port } => {
                        let (op, ifindex) = self.port_op[&(switch.0, port.clone())];
                        (self.switch_ns(*switch), port.clone(), ifindex, op)
                    }
                };
                let kind = OpKind::Impair {
                    dev,
                    ifindex,
                    impairment: imp.impairment.clone(),
                };
                self.push(ns, kind, vec![dep]);
            }
        }
    }

    /// After everything is configured everywhere: setup commands in order, then the
    /// responders and services of each node.
    fn processes(&mut self) {
        let all: Vec<OpId> = (0..self.ops.len()).map(OpId).collect();
        let barrier = self.push(NsId(0), OpKind::Barrier, all);
        let lab = self.lab;
        for (ni, node) in lab.nodes.iter().enumerate() {
            let ns = NsId(ni);
            let mut chain = vec![barrier];
            for cmd in &node.exec {
                chain = vec![self.push(ns, OpKind::Exec { cmd: cmd.clone() }, chain)];
            }
            for l in &node.listen {
                self.push(ns, OpKind::Listen { listen: l.clone() }, chain.clone());
            }
            for s in &node.services {
                self.push(ns, OpKind::Service { service: s.clone() }, chain.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::front::source::SourceFile;
    use crate::plan::{OpKind, VethEnd};

    /// Both ends of a switch link take the MTU validation resolved: the link's own, else
    /// the switch's.
    #[test]
    fn switch_links_take_the_resolved_mtu_on_both_ends() {
        let text = r#"name = "t"
[switches.lan]
mtu = 9000
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "lan"]
[[links]]
endpoints = ["lan", "b:eth0"]
mtu = 1400
"#;
        let lab = crate::front::validate::load_source(SourceFile::new("t.toml", text))
            .lab
            .expect("valid lab");
        let plan = super::build(&lab);
        let ends: Vec<(String, Option<u32>)> = plan
            .ops
            .iter()
            .filter_map(|op| match &op.kind {
                OpKind::CreateVeth { ends } => Some(ends.clone()),
                _ => None,
            })
            .flatten()
            .map(|e: VethEnd| (e.name, e.mtu))
            .collect();
        let expected = [("p0", 9000), ("eth0", 9000), ("p1", 1400), ("eth0", 1400)]
            .map(|(n, m)| (n.to_string(), Some(m)));
        assert_eq!(ends, expected);
    }
}
