//! Links and switches: endpoints resolved to interfaces, MTUs (a switch's resolved once,
//! into its links), impairments.

use std::collections::HashMap;

use ipnet::IpNet;

use super::ctx::{Ctx, Help};
use super::{Names, node_ref, values};
use crate::front::lab::{
    Endpoint, IfaceKind, Impairment, Interface, Link, LinkImpairment, Node, NodeId, Switch,
};
use crate::front::source::TomlPath;
use crate::front::spec::{self, LabFile};

/// Ports one Linux bridge takes (BR_MAX_PORTS is 1024, and port number 0 is reserved):
/// a switch is a bridge, so the kernel refuses its 1024th link with EXFULL.
pub const MAX_BRIDGE_PORTS: usize = 1023;

/// Whether `mtu` is one Linux accepts; reports it otherwise.
pub fn check_mtu(ctx: &mut Ctx, path: &TomlPath, mtu: u32) -> bool {
    let ok = (68..=65535).contains(&mtu);
    if !ok {
        ctx.error(path, format!("MTU {mtu} is out of range"))
            .help("Linux accepts 68 to 65535 for IPv4 interfaces (1280 or more for IPv6)");
    }
    ok
}

/// Resolve `[[links]]` into links and the veth ends they give each node.
pub fn resolve(
    ctx: &mut Ctx,
    spec: &LabFile,
    names: &Names,
    nodes: &mut [Node],
    switches: &[Switch],
    sites: &mut super::interfaces::AddressSites,
) -> Vec<Link> {
    let mut links = Vec::new();
    let mut used: HashMap<(NodeId, String), usize> = HashMap::new();
    let mut ports = vec![0usize; switches.len()];
    for (i, l) in spec.links.iter().enumerate() {
        let path = TomlPath::root().key("links").idx(i);
        // Each endpoint is resolved on its own: one bad end neither hides the other's
        // mistakes nor makes every later reference to the good end an error too.
        let index = links.len();
        // A switch is one L2 segment: its MTU is that of every link attached to it.
        let switch_mtu = l
            .endpoints
            .iter()
            .find_map(|e| names.switches.get(e).and_then(|s| switches[s.0].mtu));
        let ends: Vec<Option<Endpoint>> = l
            .endpoints
            .iter()
            .enumerate()
            .map(|(side, text)| {
                let ep = End {
                    link: i,
                    index,
                    side,
                    path: path.key("endpoints").idx(side),
                    mtu: l.mtu.or(switch_mtu),
                };
                endpoint(ctx, &ep, text, names, nodes, &mut used, &mut ports)
            })
            .collect();
        let parsed: Vec<Option<IpNet>> = l
            .addresses
            .iter()
            .enumerate()
            .map(|(j, a)| ctx.value(&path.key("addresses").idx(j), a, values::interface_address))
            .collect();
        if let Some(mtu) = l.mtu {
            check_mtu(ctx, &path.key("mtu"), mtu);
        }
        if l.endpoints.len() != 2 {
            ctx.error(&path.key("endpoints"), format!("a link has 2 endpoints, this one has {}", l.endpoints.len()))
                .help("write endpoints = [\"a:eth0\", \"b:eth0\"]; a switch name also counts as an endpoint");
            continue;
        }
        // Counted from the text, so that a wrong count is reported even when an
        // endpoint is in error: anything but a switch name is meant as a node end.
        let is_node_end = |e: &String| !names.switches.contains_key(e);
        let node_ends = l.endpoints.iter().filter(|e| is_node_end(e)).count();
        if node_ends == 0 {
            ctx.error(
                &path.key("endpoints"),
                "a link between two switches is not supported",
            )
            .help("connect switches through a node with a bridge, or merge them into one switch");
            continue;
        }
        let count_ok = l.addresses.is_empty() || l.addresses.len() == node_ends;
        if !count_ok {
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
            } else if l.addresses.len() < node_ends {
                // Usually one end is a bridge port, which has no address of its own.
                let tables: Vec<String> = l
                    .endpoints
                    .iter()
                    .filter_map(|e| e.split_once(':'))
                    .map(|(n, i)| format!("[nodes.{n}.interfaces.{i}]"))
                    .collect();
                d.help(format!(
                    "give one address per node endpoint, in the order of `endpoints`, or none; if an end has no address (a bridge port), leave `addresses` out and give the other end its address in its interface table: {} addresses = [...]",
                    tables.join(" or ")
                ));
            } else {
                d.help("give one address per node endpoint, in the order of `endpoints`, or none");
            }
        }
        let node_sides = l
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| is_node_end(e));
        for ((side, _), addr) in node_sides.zip(parsed) {
            if let (true, Some(net), Some(Some(Endpoint::Node { node, iface }))) =
                (count_ok, addr, ends.get(side))
            {
                let apath = path.key("addresses").idx(
                    l.endpoints[..side]
                        .iter()
                        .filter(|e| is_node_end(e))
                        .count(),
                );
                let node = &mut nodes[node.0];
                super::interfaces::add_address(ctx, sites, node, iface, net, &apath);
            }
        }
        let impair = resolve_impairments(ctx, &path, l);
        let [Some(a), Some(b)] = [&ends[0], &ends[1]] else {
            continue;
        };
        let ends = [a.clone(), b.clone()];
        links.push(Link {
            ends,
            mtu: l.mtu.or(switch_mtu),
            impair,
        });
    }
    links
}

/// Where an endpoint is written and which veth end it becomes.
struct End {
    /// Position of the link in the file.
    link: usize,
    /// Position of the link among the resolved links.
    index: usize,
    side: usize,
    path: TomlPath,
    mtu: Option<u32>,
}

/// Resolve one endpoint; a node end becomes a veth interface of its node at once.
fn endpoint(
    ctx: &mut Ctx,
    ep: &End,
    text: &str,
    names: &Names,
    nodes: &mut [Node],
    used: &mut HashMap<(NodeId, String), usize>,
    ports: &mut [usize],
) -> Option<Endpoint> {
    let Some((node, iface)) = text.split_once(':') else {
        if let Some(sw) = names.switches.get(text) {
            if ports[sw.0] == MAX_BRIDGE_PORTS {
                // Reported once, at the first link too many, before a long build fails.
                ctx.error(
                    &ep.path,
                    format!(
                        "switch `{text}` gets more than {MAX_BRIDGE_PORTS} ports here, the kernel's limit for one bridge"
                    ),
                )
                .help("split the segment: several switches joined by a node that forwards, or a bridge on a node");
            }
            let port = format!("p{}", ports[sw.0]);
            ports[sw.0] += 1;
            return Some(Endpoint::Switch { switch: *sw, port });
        }
        let d = ctx.error(
            &ep.path,
            format!("`{text}` is neither \"node:iface\" nor a switch"),
        );
        if names.nodes.contains_key(text) {
            d.help(format!("name the interface too, e.g. \"{text}:eth0\""));
        } else if let Some(s) =
            crate::front::diag::did_you_mean(text, names.switches.keys().map(String::as_str))
        {
            d.help(format!("did you mean the switch `{s}`?"));
        } else {
            d.help("write \"node:iface\", or declare a switch with [switches.NAME]");
        }
        return None;
    };
    let id = node_ref(ctx, &ep.path, node, names)?;
    // A bad name is reported, but the interface still exists for later references.
    ctx.value(&ep.path, iface, values::interface_name);
    if iface == "lo" {
        ctx.error(&ep.path, "`lo` cannot be a link endpoint")
            .help("name the veth end, e.g. \"eth0\"");
        return None;
    }
    if let Some(&first) = used.get(&(id, iface.to_string())) {
        let d = if first == ep.link {
            ctx.error(&ep.path, format!("both ends of this link are `{text}`"))
        } else {
            ctx.error(
                &ep.path,
                format!("interface `{text}` is already the end of links[{first}]"),
            )
        };
        d.help(
            "an interface is the end of one link only; name this end differently, e.g. \"eth1\"",
        );
        return None;
    }
    used.insert((id, iface.to_string()), ep.link);
    nodes[id.0].interfaces.push(Interface {
        name: iface.to_string(),
        kind: IfaceKind::Veth {
            link: ep.index,
            side: ep.side,
        },
        addresses: Vec::new(),
        mtu: ep.mtu,
        mac: None,
        up: true,
        master: None,
    });
    Some(Endpoint::Node {
        node: id,
        iface: iface.to_string(),
    })
}

fn resolve_impairments(ctx: &mut Ctx, path: &TomlPath, l: &spec::Link) -> Vec<LinkImpairment> {
    let mut out = Vec::new();
    for (i, imp) in l.impair.iter().enumerate() {
        let ip = path.key("impair").idx(i);
        // Matched against the endpoints as written, so that it is checked even when
        // an endpoint is in error.
        let side = match &imp.from {
            None => None,
            Some(from) => {
                match l
                    .endpoints
                    .iter()
                    .position(|e| e == from && e.contains(':'))
                {
                    Some(s) => Some(s),
                    None => {
                        let node_ends: Vec<String> = l
                            .endpoints
                            .iter()
                            .filter(|e| e.contains(':'))
                            .map(|e| format!("\"{e}\""))
                            .collect();
                        ctx.error(
                            &ip.key("from"),
                            format!("`{from}` is not a node endpoint of this link"),
                        )
                        .help(format!(
                            "`from` is one of the link's node endpoints: {}",
                            node_ends.join(" or ")
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
