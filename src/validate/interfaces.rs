use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::ctx::{Ctx, Help};
use super::{Names, values};
use crate::lab::{IfaceKind, Interface, MacvlanMode, Node, TunnelEnds, WgPeer};
use crate::source::TomlPath;
use crate::spec::{self, InterfaceKind, LabFile};

/// Which kinds accept each kind-specific key.
const KIND_KEYS: &[(&str, &[InterfaceKind])] = {
    use InterfaceKind::*;
    &[
        ("parent", &[Vxlan, Ipip, Gre, Gretap, Macvlan, Vlan]),
        ("vlan_id", &[Vlan]),
        ("mode", &[Macvlan]),
        ("table", &[Vrf]),
        ("vni", &[Vxlan]),
        ("local", &[Vxlan, Ipip, Gre, Gretap]),
        ("remote", &[Vxlan, Ipip, Gre, Gretap]),
        ("group", &[Vxlan]),
        ("dstport", &[Vxlan]),
        ("learning", &[Vxlan]),
        ("ttl", &[Ipip, Gre, Gretap]),
        ("key", &[Gre, Gretap]),
        ("private_key", &[Wireguard]),
        ("listen_port", &[Wireguard]),
        ("peers", &[Wireguard]),
    ]
};

fn set_keys(i: &spec::Interface) -> Vec<&'static str> {
    let mut v = Vec::new();
    let checks: [(&'static str, bool); 15] = [
        ("parent", i.parent.is_some()),
        ("vlan_id", i.vlan_id.is_some()),
        ("mode", i.mode.is_some()),
        ("table", i.table.is_some()),
        ("vni", i.vni.is_some()),
        ("local", i.local.is_some()),
        ("remote", i.remote.is_some()),
        ("group", i.group.is_some()),
        ("dstport", i.dstport.is_some()),
        ("learning", i.learning.is_some()),
        ("ttl", i.ttl.is_some()),
        ("key", i.key.is_some()),
        ("private_key", i.private_key.is_some()),
        ("listen_port", i.listen_port.is_some()),
        ("peers", !i.peers.is_empty()),
    ];
    for (k, set) in checks {
        if set {
            v.push(k);
        }
    }
    v
}

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

/// Kind-specific keys on the wrong kind (or on a link end) are errors, not ignored.
fn misplaced_keys(ctx: &mut Ctx, path: &TomlPath, ispec: &spec::Interface) -> bool {
    let mut misplaced = false;
    for key in set_keys(ispec) {
        let allowed = KIND_KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, kinds)| *kinds)
            .unwrap_or(&[]);
        if ispec.kind.is_none_or(|k| !allowed.contains(&k)) {
            let kinds: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
            let what = match ispec.kind {
                Some(k) => format!("kind = \"{k}\""),
                None => "a link end (an interface without kind)".to_string(),
            };
            ctx.key_error(&path.key(key), format!("`{key}` does not apply to {what}"))
                .help(format!("`{key}` is a key of kind {}", kinds.join(" / ")));
            misplaced = true;
        }
    }
    misplaced
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

fn kind_of(
    ctx: &mut Ctx,
    path: &TomlPath,
    kind: InterfaceKind,
    i: &spec::Interface,
) -> Option<IfaceKind> {
    let addr = |ctx: &mut Ctx, key: &str, v: &Option<String>| {
        v.as_ref()
            .and_then(|s| ctx.value(&path.key(key), s, values::address))
    };
    let need = |ctx: &mut Ctx, key: &str, example: &str| {
        ctx.error(path, format!("a {kind} interface needs `{key}`"))
            .help(format!("add {key} = {example}"));
    };
    Some(match kind {
        InterfaceKind::Bridge => IfaceKind::Bridge,
        InterfaceKind::Dummy => IfaceKind::Dummy,
        InterfaceKind::Vxlan => {
            let Some(vni) = i.vni else {
                need(ctx, "vni", "42");
                return None;
            };
            if vni >= 1 << 24 {
                ctx.error(
                    &path.key("vni"),
                    format!("VNI {vni} does not fit in 24 bits"),
                )
                .help("use a VNI from 0 to 16777215");
                return None;
            }
            let local = addr(ctx, "local", &i.local);
            let remote = addr(ctx, "remote", &i.remote);
            let group = addr(ctx, "group", &i.group);
            if remote.is_some() && group.is_some() {
                ctx.error(
                    &path.key("group"),
                    "a vxlan has either `remote` or `group`, not both",
                )
                .help("use `remote` for unicast, `group` for multicast flooding");
            }
            if let Some(g) = group
                && !g.is_multicast()
            {
                ctx.error(
                    &path.key("group"),
                    format!("`{g}` is not a multicast address"),
                )
                .help("use e.g. \"239.1.1.1\", or `remote` for a unicast peer");
            }
            IfaceKind::Vxlan {
                vni,
                local,
                remote,
                group,
                parent: i.parent.clone(),
                dstport: i.dstport.unwrap_or(4789),
                learning: i.learning.unwrap_or(true),
            }
        }
        InterfaceKind::Ipip | InterfaceKind::Gre | InterfaceKind::Gretap => {
            let local = addr(ctx, "local", &i.local);
            let Some(remote) = addr(ctx, "remote", &i.remote) else {
                if i.remote.is_none() {
                    need(ctx, "remote", "\"203.0.113.2\"");
                }
                return None;
            };
            if let Some(l) = local
                && l.is_ipv4() != remote.is_ipv4()
            {
                let fam = |a: IpAddr| if a.is_ipv4() { "IPv4" } else { "IPv6" };
                ctx.error(
                    &path.key("local"),
                    format!(
                        "local `{l}` is {} but remote `{remote}` is {}",
                        fam(l),
                        fam(remote)
                    ),
                )
                .help("the outer addresses of a tunnel are of one family");
            }
            if kind == InterfaceKind::Ipip && !remote.is_ipv4() {
                ctx.error(
                    &path.key("remote"),
                    format!("remote `{remote}` is IPv6, and ipip carries IPv4 over IPv4"),
                )
                .help("use an IPv4 remote, or kind = \"gre\" over IPv6");
            }
            let ends = TunnelEnds {
                local,
                remote: Some(remote),
                parent: i.parent.clone(),
                ttl: i.ttl,
            };
            match kind {
                InterfaceKind::Ipip => IfaceKind::Ipip(ends),
                InterfaceKind::Gre => IfaceKind::Gre { ends, key: i.key },
                _ => IfaceKind::Gretap { ends, key: i.key },
            }
        }
        InterfaceKind::Wireguard => {
            if let Some(k) = &i.private_key {
                check_wg_key(ctx, &path.key("private_key"), k);
            }
            let mut peers = Vec::new();
            for (j, p) in i.peers.iter().enumerate() {
                let pp = path.key("peers").idx(j);
                let node = match &p.node {
                    Some(n) => match n.split_once(':') {
                        Some((a, b)) => Some((a.to_string(), b.to_string())),
                        None => {
                            ctx.error(&pp.key("node"), format!("`{n}` does not name an interface"))
                                .help("write \"node:wg0\"");
                            None
                        }
                    },
                    None => None,
                };
                match (&p.node, &p.public_key) {
                    (None, None) => {
                        ctx.error(
                            &pp,
                            "a peer needs `node` (its interface in this lab) or `public_key`",
                        )
                        .help("add node = \"b:wg0\"");
                    }
                    (Some(_), Some(_)) => {
                        ctx.key_error(
                            &pp.key("public_key"),
                            "give either `node` or `public_key`, not both",
                        )
                        .help("with `node` the key is taken from that interface");
                    }
                    _ => {}
                }
                if let Some(k) = &p.public_key {
                    check_wg_key(ctx, &pp.key("public_key"), k);
                }
                let endpoint = p
                    .endpoint
                    .as_ref()
                    .and_then(|e| ctx.value(&pp.key("endpoint"), e, values::socket_address));
                let mut allowed_ips = Vec::new();
                for (k, a) in p.allowed_ips.iter().enumerate() {
                    if let Some(n) = ctx.value(&pp.key("allowed_ips").idx(k), a, values::prefix) {
                        allowed_ips.push(n);
                    }
                }
                peers.push(WgPeer {
                    node,
                    public_key: p.public_key.clone(),
                    endpoint,
                    allowed_ips,
                    keepalive: p.keepalive,
                });
            }
            IfaceKind::Wireguard {
                private_key: i.private_key.clone(),
                listen_port: i.listen_port,
                peers,
            }
        }
        InterfaceKind::Macvlan => {
            let Some(parent) = i.parent.clone() else {
                need(ctx, "parent", "\"eth0\"");
                return None;
            };
            let mode = match i.mode.as_deref() {
                None | Some("bridge") => MacvlanMode::Bridge,
                Some("private") => MacvlanMode::Private,
                Some("vepa") => MacvlanMode::Vepa,
                Some("passthru") => MacvlanMode::Passthru,
                Some(m) => {
                    ctx.error(&path.key("mode"), format!("unknown macvlan mode `{m}`"))
                        .help("use bridge, private, vepa or passthru");
                    return None;
                }
            };
            IfaceKind::Macvlan { parent, mode }
        }
        InterfaceKind::Vlan => {
            let Some(parent) = i.parent.clone() else {
                need(ctx, "parent", "\"eth0\"");
                return None;
            };
            let Some(id) = i.vlan_id else {
                need(ctx, "vlan_id", "100");
                return None;
            };
            if !(1..=4094).contains(&id) {
                ctx.error(
                    &path.key("vlan_id"),
                    format!("VLAN id {id} is out of range"),
                )
                .help("use 1 to 4094");
                return None;
            }
            IfaceKind::Vlan { parent, id }
        }
        InterfaceKind::Vrf => {
            let Some(table) = i.table else {
                need(ctx, "table", "10");
                return None;
            };
            if table == 0 || table == 253 || table == 254 || table == 255 {
                ctx.error(&path.key("table"), format!("table {table} is reserved"))
                    .help("give the VRF its own table, e.g. 10");
                return None;
            }
            IfaceKind::Vrf { table }
        }
    })
}

fn check_wg_key(ctx: &mut Ctx, path: &TomlPath, key: &str) {
    let valid = key.len() == 44
        && key.ends_with('=')
        && key
            .bytes()
            .take(43)
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
    if !valid {
        ctx.error(path, format!("`{key}` is not a WireGuard key")).help(
            "keys are 32 bytes in base64 (44 characters ending in `=`), as printed by `wg genkey`",
        );
    }
}

/// Masters and parents name interfaces of the same node, of a fitting kind, without cycles.
fn check_references(ctx: &mut Ctx, npath: &TomlPath, node: &Node, broken: &HashSet<String>) {
    let by_name: HashMap<&str, &Interface> = node
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let suggest = |d: &mut crate::diag::Diagnostic, wanted: &str, otherwise: String| {
        let known = node.interfaces.iter().map(|i| i.name.as_str());
        match crate::diag::did_you_mean(wanted, known) {
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
