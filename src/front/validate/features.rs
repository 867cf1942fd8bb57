//! Kernel features a lab needs, named the way `requires.features` and skip messages do.

use crate::front::lab::{Action, IfaceKind, Lab};

/// Every feature name topolab knows how to detect.
pub const KNOWN: [&str; 16] = [
    "veth",
    "bridge",
    "vxlan",
    "macvlan",
    "dummy",
    "ipip",
    "gre",
    "gretap",
    "wireguard",
    "vlan",
    "vrf",
    "nftables",
    "netem",
    "tbf",
    "xfrm",
    "policy-routing",
];

/// Add what the lab's content implies to its explicit requirements.
pub fn add_implied(lab: &mut Lab) {
    let mut need: Vec<&'static str> = Vec::new();
    if !lab.links.is_empty() {
        need.push("veth");
    }
    if !lab.switches.is_empty() {
        need.push("bridge");
    }
    for node in &lab.nodes {
        for iface in &node.interfaces {
            match &iface.kind {
                IfaceKind::Loopback | IfaceKind::Veth { .. } => {}
                // Feature names are the kind names.
                k => need.push(k.name()),
            }
        }
        if node.nft.is_some() {
            need.push("nftables");
        }
        if !node.ipsec.is_empty() {
            need.push("xfrm");
        }
        if !node.rules.is_empty() {
            need.push("policy-routing");
        }
    }
    for link in &lab.links {
        for imp in &link.impair {
            need.push(if imp.impairment.needs_netem() {
                "netem"
            } else {
                "tbf"
            });
        }
    }
    for step in &lab.steps {
        for a in &step.actions {
            match a {
                Action::Impair { impairment, .. } => need.push(if impairment.needs_netem() {
                    "netem"
                } else {
                    "tbf"
                }),
                Action::Partition { .. } | Action::Heal { .. } | Action::Nft { .. } => {
                    need.push("nftables")
                }
                _ => {}
            }
        }
    }
    lab.requires
        .features
        .extend(need.into_iter().map(String::from));
}
