use std::collections::HashMap;

use super::ctx::{Ctx, Help};
use super::{Names, node_ref, values};
use crate::lab::{
    Endpoint, IfaceKind, Impairment, Interface, Link, LinkImpairment, Node, NodeId, Switch,
};
use crate::source::TomlPath;
use crate::spec::{self, LabFile};

pub fn check_mtu(ctx: &mut Ctx, path: &TomlPath, mtu: u32) {
    if !(68..=65535).contains(&mtu) {
        ctx.error(path, format!("MTU {mtu} is out of range"))
            .help("Linux accepts 68 to 65535 for IPv4 interfaces (1280 or more for IPv6)");
    }
}

/// Resolve `[[links]]` into links and the veth ends they give each node.
pub fn resolve(
    ctx: &mut Ctx,
    spec: &LabFile,
    names: &Names,
    nodes: &mut [Node],
    switches: &[Switch],
) -> Vec<Link> {
    let mut links = Vec::new();
    let mut used: HashMap<(NodeId, String), TomlPath> = HashMap::new();
    let mut ports = vec![0usize; switches.len()];
    for (i, l) in spec.links.iter().enumerate() {
        let path = TomlPath::root().key("links").idx(i);
        if l.endpoints.len() != 2 {
            ctx.error(&path.key("endpoints"), format!("a link has 2 endpoints, this one has {}", l.endpoints.len()))
                .help("write endpoints = [\"a:eth0\", \"b:eth0\"]; a switch name also counts as an endpoint");
            continue;
        }
        let mut ends = Vec::new();
        for (side, text) in l.endpoints.iter().enumerate() {
            let ep_path = path.key("endpoints").idx(side);
            if let Some((node, iface)) = text.split_once(':') {
                let Some(id) = node_ref(ctx, &ep_path, node, names) else {
                    continue;
                };
                if ctx.value(&ep_path, iface, values::interface_name).is_none() {
                    continue;
                }
                if iface == "lo" {
                    ctx.error(&ep_path, "`lo` cannot be a link endpoint")
                        .help("name the veth end, e.g. \"eth0\"");
                    continue;
                }
                if let Some(first) = used.get(&(id, iface.to_string())) {
                    ctx.error(&ep_path, format!("interface `{text}` is already used by {}", describe_link(first)))
                        .help("each interface can be the end of one link only; name this end differently, e.g. \"eth1\"");
                    continue;
                }
                used.insert((id, iface.to_string()), path.clone());
                ends.push(Some(Endpoint::Node {
                    node: id,
                    iface: iface.to_string(),
                }));
            } else if let Some(sw) = names.switches.get(text) {
                let port = format!("p{}", ports[sw.0]);
                ports[sw.0] += 1;
                ends.push(Some(Endpoint::Switch { switch: *sw, port }));
            } else {
                let d = ctx.error(
                    &ep_path,
                    format!("`{text}` is neither \"node:iface\" nor a switch"),
                );
                if names.nodes.contains_key(text) {
                    d.help(format!("name the interface too, e.g. \"{text}:eth0\""));
                } else if let Some(s) =
                    crate::diag::did_you_mean(text, names.switches.keys().map(String::as_str))
                {
                    d.help(format!("did you mean the switch `{s}`?"));
                } else {
                    d.help("write \"node:iface\", or declare a switch with [switches.NAME]");
                }
                ends.push(None);
            }
        }
        if ends.len() != 2 || ends.iter().any(Option::is_none) {
            continue;
        }
        let ends: Vec<Endpoint> = ends.into_iter().flatten().collect();
        let node_ends = ends
            .iter()
            .filter(|e| matches!(e, Endpoint::Node { .. }))
            .count();
        if node_ends == 0 {
            ctx.error(
                &path.key("endpoints"),
                "a link between two switches is not supported",
            )
            .help("connect switches through a node with a bridge, or merge them into one switch");
            continue;
        }
        if !l.addresses.is_empty() && l.addresses.len() != node_ends {
            let d = ctx.error(
                &path.key("addresses"),
                format!(
                    "this link has {node_ends} node endpoint{} but {} address{}",
                    if node_ends == 1 { "" } else { "s" },
                    l.addresses.len(),
                    if l.addresses.len() == 1 { "" } else { "es" }
                ),
            );
            if node_ends == 1 {
                d.help("a switch endpoint takes no address: give only the node's address");
            } else {
                d.help("give one address per node endpoint, in the order of `endpoints`, or none");
            }
        }
        if let (Endpoint::Node { node: a, iface: ia }, Endpoint::Node { node: b, iface: ib }) =
            (&ends[0], &ends[1])
            && a == b
            && ia == ib
        {
            ctx.error(
                &path.key("endpoints"),
                "both ends of the link are the same interface",
            );
            continue;
        }
        if let Some(mtu) = l.mtu {
            check_mtu(ctx, &path.key("mtu"), mtu);
        }
        let parsed: Vec<Option<ipnet::IpNet>> = l
            .addresses
            .iter()
            .enumerate()
            .map(|(j, a)| ctx.value(&path.key("addresses").idx(j), a, values::interface_address))
            .collect();
        let mut addrs = parsed.into_iter();
        let index = links.len();
        // A switch is one L2 segment: its MTU is that of every link attached to it.
        let switch_mtu = ends.iter().find_map(|e| match e {
            Endpoint::Switch { switch, .. } => switches[switch.0].mtu,
            Endpoint::Node { .. } => None,
        });
        let mtu = l.mtu.or(switch_mtu);
        for (side, ep) in ends.iter().enumerate() {
            if let Endpoint::Node { node, iface } = ep {
                let addresses = if l.addresses.len() == node_ends {
                    addrs.next().flatten().into_iter().collect()
                } else {
                    Vec::new()
                };
                nodes[node.0].interfaces.push(Interface {
                    name: iface.clone(),
                    kind: IfaceKind::Veth { link: index, side },
                    addresses,
                    mtu,
                    mac: None,
                    up: true,
                    master: None,
                });
            }
        }
        let impair = resolve_impairments(ctx, &path, l, &ends, nodes);
        links.push(Link {
            ends: [ends[0].clone(), ends[1].clone()],
            mtu: l.mtu,
            impair,
        });
    }
    links
}

fn describe_link(path: &TomlPath) -> String {
    match path.0.last() {
        Some(crate::source::Seg::Index(i)) => format!("links[{i}]"),
        _ => path.to_string(),
    }
}

fn resolve_impairments(
    ctx: &mut Ctx,
    path: &TomlPath,
    l: &spec::Link,
    ends: &[Endpoint],
    nodes: &[Node],
) -> Vec<LinkImpairment> {
    let mut out = Vec::new();
    for (i, imp) in l.impair.iter().enumerate() {
        let ip = path.key("impair").idx(i);
        let side = match &imp.from {
            None => None,
            Some(from) => {
                let found = ends.iter().position(|e| match e {
                    Endpoint::Node { node, iface } => {
                        format!("{}:{}", nodes[node.0].name, iface) == *from
                    }
                    Endpoint::Switch { .. } => false,
                });
                match found {
                    Some(s) => Some(s),
                    None => {
                        ctx.error(
                            &ip.key("from"),
                            format!("`{from}` is not a node endpoint of this link"),
                        )
                        .help(format!(
                            "write one of the link's node endpoints: {}",
                            l.endpoints.join(", ")
                        ));
                        continue;
                    }
                }
            }
        };
        if let Some(impairment) = impairment(ctx, &ip, imp) {
            out.push(LinkImpairment { side, impairment });
        }
    }
    out
}

/// Parse the impairment keys of a table (a link's `impair` or a step's `with`).
pub fn impairment(ctx: &mut Ctx, path: &TomlPath, imp: &spec::Impairment) -> Option<Impairment> {
    let mut out = Impairment::default();
    let mut ok = true;
    macro_rules! field {
        ($name:ident, $parser:expr) => {
            if let Some(v) = &imp.$name {
                match ctx.value(&path.key(stringify!($name)), v, $parser) {
                    Some(p) => out.$name = Some(p),
                    None => ok = false,
                }
            }
        };
    }
    field!(delay, values::duration);
    field!(jitter, values::duration);
    field!(loss, values::percent);
    field!(duplicate, values::percent);
    field!(reorder, values::percent);
    field!(corrupt, values::percent);
    field!(rate, values::rate);
    if !ok {
        return None;
    }
    if out == Impairment::default() {
        ctx.error(path, "the impairment sets nothing")
            .help("set at least one of delay, jitter, loss, duplicate, reorder, corrupt, rate");
        return None;
    }
    if out.jitter.is_some() && out.delay.is_none() {
        ctx.error(&path.key("jitter"), "jitter needs a delay")
            .help("add delay = \"...\"; netem varies the delay by the jitter");
        return None;
    }
    if out.reorder.is_some() && out.delay.is_none() {
        ctx.error(&path.key("reorder"), "reorder needs a delay")
            .help("netem reorders by sending some packets without the delay; add delay = \"...\"");
        return None;
    }
    Some(out)
}
