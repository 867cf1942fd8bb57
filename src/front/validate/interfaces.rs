//! Interfaces of nodes: the `[nodes.N.interfaces.I]` tables, their addresses, masters and
//! parents.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::ctx::{Ctx, Help};
use super::kinds::{kind_of, misplaced_keys};
use super::{Names, values};
use crate::front::lab::{IfaceKind, Interface, Node};
use crate::front::source::TomlPath;
use crate::front::spec::LabFile;

pub fn resolve(
    ctx: &mut Ctx,
    spec: &LabFile,
    names: &Names,
    nodes: &mut [Node],
    sites: &mut AddressSites,
) {
    for (node_name, node_spec) in &spec.nodes {
        let Some(id) = names.nodes.get(node_name) else {
            continue;
        };
        let node = &mut nodes[id.0];
        let npath = TomlPath::root()
            .key("nodes")
            .key(node_name)
            .key("interfaces");
        // Interfaces whose own settings are in error: still declared (so references to
        // them do not cascade), but not checked as masters or parents.
        let mut broken: HashSet<String> = HashSet::new();
        for (name, ispec) in &node_spec.interfaces {
            let path = npath.key(name);
            if let Err(b) = values::interface_name(name) {
                let d = ctx.name_error(&path, b.message);
                if let Some(h) = b.help {
                    d.help(h);
                }
            }
            if misplaced_keys(ctx, &path, ispec) {
                broken.insert(name.clone());
            }
            let kind = match ispec.kind {
                None if name == "lo" => Some(IfaceKind::Loopback),
                None => {
                    if node.interface(name).is_some() {
                        None
                    } else {
                        ctx.error(&path, format!("interface `{name}` of node `{node_name}` has no kind and no link creates it"))
                            .help(format!("add kind = \"bridge\" (or another kind), or a [[links]] entry with endpoint \"{node_name}:{name}\""));
                        broken.insert(name.clone());
                        Some(IfaceKind::Dummy)
                    }
                }
                Some(k) => {
                    if name == "lo" {
                        ctx.error(
                            &path.key("kind"),
                            "`lo` exists in every node and cannot be created",
                        )
                        .help("remove `kind` to configure the loopback");
                        continue;
                    }
                    if node.interface(name).is_some() {
                        ctx.key_error(&path.key("kind"), format!("`{node_name}:{name}` is a link end (a veth), it cannot also be a {k}"))
                            .help("remove `kind` to configure the link end, or give this interface another name");
                        continue;
                    }
                    Some(kind_of(ctx, &path, k, ispec).unwrap_or_else(|| {
                        broken.insert(name.clone());
                        IfaceKind::Dummy
                    }))
                }
            };
            if let Some(mtu) = ispec.mtu {
                super::links::check_mtu(ctx, &path.key("mtu"), mtu);
            }
            let mac = ispec
                .mac
                .as_ref()
                .and_then(|m| ctx.value(&path.key("mac"), m, values::unicast_mac));
            match kind {
                Some(kind) => node.interfaces.push(Interface {
                    name: name.clone(),
                    kind,
                    addresses: Vec::new(),
                    mtu: ispec.mtu,
                    mac,
                    up: ispec.up.unwrap_or(true),
                    master: ispec.master.clone(),
                }),
                None => {
                    if let Some(iface) = node.interfaces.iter_mut().find(|i| i.name == *name) {
                        if ispec.mtu.is_some() {
                            iface.mtu = ispec.mtu;
                        }
                        iface.mac = mac.or(iface.mac);
                        iface.up = ispec.up.unwrap_or(iface.up);
                        iface.master = ispec.master.clone();
                    }
                }
            }
            for (j, a) in ispec.addresses.iter().enumerate() {
                let apath = path.key("addresses").idx(j);
                if let Some(n) = ctx.value(&apath, a, values::interface_address) {
                    add_address(ctx, sites, node, name, n, &apath);
                }
            }
        }
        check_references(ctx, &npath, node, &broken);
    }
}

/// Where each address of each interface is written, so that a diagnostic about two of
/// them can point at the later one in the file and name the other.
#[derive(Default)]
pub struct AddressSites(HashMap<(String, String, IpAddr), TomlPath>);

/// Put `net`, written at `path`, on interface `iface` of `node`.
pub fn add_address(
    ctx: &mut Ctx,
    sites: &mut AddressSites,
    node: &mut Node,
    iface: &str,
    net: IpNet,
    path: &TomlPath,
) {
    let Some(target) = node.interfaces.iter().position(|i| i.name == iface) else {
        return;
    };
    let site = |iface: &str| (node.name.clone(), iface.to_string(), net.addr());
    // Link addresses are resolved before interface tables: of two sites, report at the
    // one written later and name the other.
    let pair = |ctx: &Ctx, other: &TomlPath| -> (TomlPath, TomlPath) {
        if ctx.start(other) > ctx.start(path) {
            (other.clone(), path.clone())
        } else {
            (path.clone(), other.clone())
        }
    };
    let same = node.interfaces[target]
        .addresses
        .iter()
        .find(|a| a.addr() == net.addr());
    match same {
        // The kernel keys IPv6 addresses by address alone and IPv4 ones by address and
        // prefix: both refuse an exact repeat with "File exists".
        Some(a) if net.addr().is_ipv6() || a.prefix_len() == net.prefix_len() => {
            let first = sites.0.get(&site(iface)).cloned().unwrap_or_default();
            let (at, other) = pair(ctx, &first);
            ctx.error(
                &at,
                format!("`{}` is already on `{}:{iface}`", net.addr(), node.name),
            )
            .help(format!("it is also given at {other}; the kernel refuses the same address twice on one interface: remove one"));
            return;
        }
        Some(a) => {
            let first = sites.0.get(&site(iface)).cloned().unwrap_or_default();
            let (at, other) = pair(ctx, &first);
            let prefixes = if at == *path {
                (a.prefix_len(), net.prefix_len())
            } else {
                (net.prefix_len(), a.prefix_len())
            };
            ctx.warning(
                &at,
                format!(
                    "`{}` is on `{}:{iface}` twice, as /{} and /{}",
                    net.addr(),
                    node.name,
                    prefixes.0,
                    prefixes.1
                ),
            )
            .help(format!("the other is at {other}; Linux accepts this (two subnets): remove one unless that is the point"));
        }
        // Every IPv6 interface has a link-local address; the same one on two is normal.
        None if matches!(net.addr(), IpAddr::V6(a) if a.is_unicast_link_local()) => {}
        None => {
            let other = node
                .interfaces
                .iter()
                .find(|i| i.name != iface && i.addresses.iter().any(|a| a.addr() == net.addr()));
            if let Some(other) = other {
                let first = sites.0.get(&site(&other.name)).cloned().unwrap_or_default();
                let (at, elsewhere) = pair(ctx, &first);
                let (here, there) = if at == *path {
                    (iface, other.name.as_str())
                } else {
                    (other.name.as_str(), iface)
                };
                ctx.warning(
                    &at,
                    format!("`{}` is also on `{}:{there}`", net.addr(), node.name),
                )
                .help(format!("given to `{here}` here and at {elsewhere}: legal, but the node answers for it on both; remove one unless that is the point"));
            }
        }
    }
    sites.0.entry(site(iface)).or_insert_with(|| path.clone());
    node.interfaces[target].addresses.push(net);
}

/// Masters and parents name interfaces of the same node, of a fitting kind, without cycles.
fn check_references(ctx: &mut Ctx, npath: &TomlPath, node: &Node, broken: &HashSet<String>) {
    let mut port_counts: HashMap<&str, usize> = HashMap::new();
    for iface in &node.interfaces {
        if let Some(m) = &iface.master {
            let n = port_counts.entry(m.as_str()).or_default();
            *n += 1;
            if *n == super::links::MAX_BRIDGE_PORTS + 1 {
                ctx.error(
                    &npath.key(&iface.name).key("master"),
                    format!(
                        "`{m}` gets more than {} ports here, the kernel's limit for one bridge",
                        super::links::MAX_BRIDGE_PORTS
                    ),
                )
                .help("split the ports over several bridges");
            }
        }
    }
    let by_name: HashMap<&str, &Interface> = node
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let suggest = |d: &mut crate::front::diag::Diagnostic, wanted: &str, otherwise: String| {
        let known = node.interfaces.iter().map(|i| i.name.as_str());
        match crate::front::diag::did_you_mean(wanted, known) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(otherwise),
        }
    };
    for iface in &node.interfaces {
        if broken.contains(&iface.name) {
            continue;
        }
        let path = npath.key(&iface.name);
        if let Some(m) = &iface.master {
            match by_name.get(m.as_str()) {
                _ if m == &iface.name => {
                    ctx.error(&path.key("master"), "an interface cannot be its own master")
                        .help("`master` names a bridge or vrf of the same node");
                }
                None => {
                    let d = ctx.error(
                        &path.key("master"),
                        format!("node `{}` has no interface `{m}`", node.name),
                    );
                    suggest(
                        d,
                        m,
                        format!(
                            "declare [nodes.{}.interfaces.{m}] with kind = \"bridge\" or \"vrf\"",
                            node.name
                        ),
                    );
                }
                Some(_) if broken.contains(m.as_str()) => {}
                Some(mi) if !matches!(mi.kind, IfaceKind::Bridge | IfaceKind::Vrf { .. }) => {
                    ctx.error(
                        &path.key("master"),
                        format!(
                            "`{m}` is a {}, only a bridge or a vrf can be a master",
                            mi.kind.name()
                        ),
                    )
                    .help(format!(
                        "make `{m}` a bridge, or name a bridge of `{}`",
                        node.name
                    ));
                }
                // The kernel refuses a bridge in a bridge (ELOOP) and a vrf in anything.
                Some(mi) if matches!(iface.kind, IfaceKind::Vrf { .. }) => {
                    ctx.error(
                        &path.key("master"),
                        format!(
                            "`{}` is a vrf: a vrf cannot be enslaved (here to the {} `{m}`)",
                            iface.name,
                            mi.kind.name()
                        ),
                    )
                    .help("remove `master`; enslave the bridge or the ports to the vrf instead");
                }
                Some(mi)
                    if matches!(iface.kind, IfaceKind::Bridge)
                        && matches!(mi.kind, IfaceKind::Bridge) =>
                {
                    ctx.error(
                        &path.key("master"),
                        format!(
                            "`{}` and `{m}` are both bridges: the kernel cannot enslave a bridge to a bridge",
                            iface.name
                        ),
                    )
                    .help("connect the two bridges with a veth pair, or make one bridge of them");
                }
                Some(_) => {}
            }
        }
        let Some(parent) = iface.kind.parent() else {
            continue;
        };
        if !by_name.contains_key(parent) {
            let d = ctx.error(
                &path.key("parent"),
                format!("node `{}` has no interface `{parent}`", node.name),
            );
            suggest(
                d,
                parent,
                "`parent` names another interface of the same node".to_string(),
            );
            continue;
        }
        let mut cur = parent;
        for _ in 0..=by_name.len() {
            if cur == iface.name {
                ctx.error(
                    &path.key("parent"),
                    format!("`{}` is its own parent through `{parent}`", iface.name),
                )
                .help("a chain of `parent` keys must end at an interface without one");
                break;
            }
            match by_name.get(cur).and_then(|i| i.kind.parent()) {
                Some(next) => cur = next,
                None => break,
            }
        }
    }
}
