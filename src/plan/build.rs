use std::collections::HashMap;

use super::op::{NewInterface, NsId, Op, OpId, OpKind, VethEnd};
use super::{IFINDEX_BASE, Namespace, NsOwner, Plan};
use crate::front::lab::{Endpoint, IfaceKind, Lab, NodeId, SwitchId};

struct Builder {
    ops: Vec<Op>,
}

impl Builder {
    fn push(&mut self, ns: NsId, kind: OpKind, mut deps: Vec<OpId>) -> OpId {
        deps.sort();
        deps.dedup();
        self.ops.push(Op { ns, kind, deps });
        OpId(self.ops.len() - 1)
    }
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
    let mut b = Builder { ops: Vec::new() };
    let mut namespaces = Vec::new();
    let switch_ns = |s: SwitchId| NsId(lab.nodes.len() + s.0);

    let mut ns_op = Vec::new();
    let mut lo_op = Vec::new();
    for (i, node) in lab.nodes.iter().enumerate() {
        namespaces.push(Namespace {
            name: node.name.clone(),
            owner: NsOwner::Node(NodeId(i)),
        });
        let ns = NsId(i);
        let created = b.push(ns, OpKind::CreateNamespace, vec![]);
        ns_op.push(created);
        lo_op.push(b.push(ns, OpKind::LoopbackUp, vec![created]));
    }
    // Indexes are unique in the whole lab, though each namespace has its own index space:
    // the kernel treats a device whose link index equals its own as a non-stacked device
    // and processes its carrier events up to a second late, so veth peers must differ.
    let mut next = IFINDEX_BASE;
    let indexes: Vec<HashMap<String, u32>> = (0..lab.nodes.len())
        .map(|i| node_ifindexes(lab, NodeId(i), &mut next))
        .collect();
    let mut bridge_op = Vec::new();
    let mut bridge_ifindex = Vec::new();
    for (j, sw) in lab.switches.iter().enumerate() {
        namespaces.push(Namespace {
            name: format!("switch:{}", sw.name),
            owner: NsOwner::Switch(SwitchId(j)),
        });
        let ns = switch_ns(SwitchId(j));
        let created = b.push(ns, OpKind::CreateNamespace, vec![]);
        ns_op.push(created);
        bridge_ifindex.push(next);
        next += 1;
        bridge_op.push(b.push(
            ns,
            OpKind::CreateInterface(NewInterface {
                name: super::SWITCH_BRIDGE.into(),
                ifindex: bridge_ifindex[j],
                kind: IfaceKind::Bridge,
                parent: None,
                mtu: sw.mtu,
                mac: None,
                up: true,
                vlan_filtering: sw.vlan_filtering,
            }),
            vec![created],
        ));
    }

    // The op that creates each (node, iface).
    let mut created: HashMap<(usize, String), OpId> = HashMap::new();
    // The op that creates each switch port, and the port's ifindex.
    let mut port_op: HashMap<(usize, String), (OpId, u32)> = HashMap::new();

    for link in &lab.links {
        let mut ends = Vec::new();
        let mut deps = Vec::new();
        for ep in &link.ends {
            match ep {
                Endpoint::Node { node, iface } => {
                    let i = lab
                        .node(*node)
                        .interface(iface)
                        .expect("validated link end");
                    ends.push(VethEnd {
                        ns: node_ns(*node),
                        name: iface.clone(),
                        ifindex: indexes[node.0][iface],
                        mtu: i.mtu,
                        mac: i.mac,
                        up: i.up,
                        master: None,
                    });
                    deps.push(ns_op[node.0]);
                }
                Endpoint::Switch { switch, port } => {
                    ends.push(VethEnd {
                        ns: switch_ns(*switch),
                        name: port.clone(),
                        ifindex: next,
                        mtu: link.mtu,
                        mac: None,
                        up: true,
                        master: Some(bridge_ifindex[switch.0]),
                    });
                    next += 1;
                    deps.push(bridge_op[switch.0]);
                }
            }
        }
        // The kernel enslaves only the device the request creates, not its peer: a switch
        // port must be the first end.
        if ends[1].master.is_some() {
            ends.swap(0, 1);
        }
        let port_ifindex = ends[0].ifindex;
        let [a, mut b_end]: [VethEnd; 2] = ends.try_into().expect("two ends");
        let peer_up = std::mem::replace(&mut b_end.up, false);
        let peer = (b_end.ns, b_end.name.clone(), b_end.ifindex);
        let mut op = b.push(a.ns, OpKind::CreateVeth { ends: [a, b_end] }, deps);
        if peer_up {
            op = b.push(
                peer.0,
                OpKind::SetUp {
                    name: peer.1,
                    ifindex: peer.2,
                },
                vec![op],
            );
        }
        for ep in &link.ends {
            match ep {
                Endpoint::Node { node, iface } => {
                    created.insert((node.0, iface.clone()), op);
                }
                Endpoint::Switch { switch, port } => {
                    port_op.insert((switch.0, port.clone()), (op, port_ifindex));
                }
            }
        }
    }

    for (ni, node) in lab.nodes.iter().enumerate() {
        let ns = NsId(ni);
        // Create in an order where every parent exists first.
        let mut pending: Vec<&crate::front::lab::Interface> = node
            .interfaces
            .iter()
            .filter(|i| !matches!(i.kind, IfaceKind::Veth { .. } | IfaceKind::Loopback))
            .collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|iface| {
                let parent_op = match iface.kind.parent() {
                    None => Some(None),
                    Some(p) => created.get(&(ni, p.to_string())).map(|op| Some(*op)),
                };
                let Some(parent_op) = parent_op else {
                    return true;
                };
                let mut deps = vec![ns_op[ni]];
                deps.extend(parent_op);
                let op = b.push(
                    ns,
                    OpKind::CreateInterface(NewInterface {
                        name: iface.name.clone(),
                        ifindex: indexes[ni][&iface.name],
                        kind: iface.kind.clone(),
                        parent: iface.kind.parent().map(|p| indexes[ni][p]),
                        mtu: iface.mtu,
                        mac: iface.mac,
                        up: iface.up,
                        vlan_filtering: false,
                    }),
                    deps,
                );
                created.insert((ni, iface.name.clone()), op);
                false
            });
            if pending.len() == before {
                // Parent cycles are rejected by validation; never loop forever regardless.
                break;
            }
        }
    }

    for (ni, node) in lab.nodes.iter().enumerate() {
        let ns = NsId(ni);
        let mut structure: Vec<OpId> = vec![lo_op[ni]];
        structure.extend(
            node.interfaces
                .iter()
                .filter_map(|i| created.get(&(ni, i.name.clone())).copied()),
        );
        for iface in &node.interfaces {
            let Some(master) = &iface.master else {
                continue;
            };
            let deps = vec![
                created[&(ni, iface.name.clone())],
                created[&(ni, master.clone())],
            ];
            structure.push(b.push(
                ns,
                OpKind::SetMaster {
                    name: iface.name.clone(),
                    ifindex: indexes[ni][&iface.name],
                    master: master.clone(),
                    master_ifindex: indexes[ni][master],
                },
                deps,
            ));
        }
        // The loopback is not created, only configured.
        if let Some(lo) = node.interface("lo")
            && let Some(mtu) = lo.mtu
        {
            structure.push(b.push(
                ns,
                OpKind::SetMtu {
                    name: "lo".into(),
                    ifindex: 1,
                    mtu,
                },
                vec![lo_op[ni]],
            ));
        }

        // Sysctls in the order written, after the interfaces they may name.
        let mut last = structure.clone();
        let mut sysctls: Vec<(String, String)> = Vec::new();
        if let Some(f) = node.forward {
            let v = if f { "1" } else { "0" };
            sysctls.push(("net.ipv4.ip_forward".into(), v.into()));
            sysctls.push(("net.ipv6.conf.all.forwarding".into(), v.into()));
        }
        sysctls.extend(node.sysctls.iter().cloned());
        for (key, value) in sysctls {
            last = vec![b.push(ns, OpKind::Sysctl { key, value }, last)];
        }

        let mut addressed = last.clone();
        for iface in &node.interfaces {
            for a in &iface.addresses {
                let mut deps = last.clone();
                deps.extend(created.get(&(ni, iface.name.clone())));
                addressed.push(b.push(
                    ns,
                    OpKind::AddAddress {
                        dev: iface.name.clone(),
                        ifindex: indexes[ni][&iface.name],
                        address: *a,
                    },
                    deps,
                ));
            }
        }

        // Routes in order: a later route may use a gateway an earlier one made reachable.
        let mut chain = addressed.clone();
        for r in &node.routes {
            let dev_ifindex = r.dev.as_ref().map(|d| indexes[ni][d]);
            chain = vec![b.push(
                ns,
                OpKind::AddRoute {
                    route: r.clone(),
                    dev_ifindex,
                },
                chain,
            )];
        }
        for r in &node.rules {
            chain = vec![b.push(ns, OpKind::AddRule { rule: r.clone() }, chain)];
        }
        for f in &node.fdb {
            chain = vec![b.push(
                ns,
                OpKind::AddFdb {
                    fdb: f.clone(),
                    ifindex: indexes[ni][&f.dev],
                },
                chain,
            )];
        }
        for n in &node.neighbours {
            chain = vec![b.push(
                ns,
                OpKind::AddNeighbour {
                    neighbour: n.clone(),
                    ifindex: indexes[ni][&n.dev],
                },
                chain,
            )];
        }
        for iface in &node.interfaces {
            if matches!(iface.kind, IfaceKind::Wireguard { .. }) {
                chain = vec![b.push(
                    ns,
                    OpKind::Wireguard {
                        name: iface.name.clone(),
                        ifindex: indexes[ni][&iface.name],
                    },
                    chain,
                )];
            }
        }
        for t in &node.ipsec {
            chain = vec![b.push(ns, OpKind::Ipsec { tunnel: t.clone() }, chain)];
        }
        if let Some(nft) = &node.nft {
            b.push(
                ns,
                OpKind::Nft {
                    ruleset: nft.clone(),
                },
                chain,
            );
        }
    }

    // Impairments go on the egress of each impaired end, in that end's namespace.
    for link in &lab.links {
        for imp in &link.impair {
            for (side, ep) in link.ends.iter().enumerate() {
                if imp.side.is_some_and(|s| s != side) {
                    continue;
                }
                let (ns, dev, ifindex, dep) = match ep {
                    Endpoint::Node { node, iface } => (
                        node_ns(*node),
                        iface.clone(),
                        indexes[node.0][iface],
                        created[&(node.0, iface.clone())],
                    ),
                    Endpoint::Switch { switch, port } => {
                        let (op, ifindex) = port_op[&(switch.0, port.clone())];
                        (switch_ns(*switch), port.clone(), ifindex, op)
                    }
                };
                b.push(
                    ns,
                    OpKind::Impair {
                        dev,
                        ifindex,
                        impairment: imp.impairment.clone(),
                    },
                    vec![dep],
                );
            }
        }
    }

    let all: Vec<OpId> = (0..b.ops.len()).map(OpId).collect();
    let barrier = b.push(NsId(0), OpKind::Barrier, all);
    for (ni, node) in lab.nodes.iter().enumerate() {
        let ns = NsId(ni);
        let mut chain = vec![barrier];
        for cmd in &node.exec {
            chain = vec![b.push(ns, OpKind::Exec { cmd: cmd.clone() }, chain)];
        }
        for l in &node.listen {
            b.push(ns, OpKind::Listen { listen: l.clone() }, chain.clone());
        }
        for s in &node.services {
            b.push(ns, OpKind::Service { service: s.clone() }, chain.clone());
        }
    }

    Plan {
        lab: lab.name.clone(),
        namespaces,
        ops: b.ops,
    }
}
