use std::collections::HashMap;

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

pub fn resolve(ctx: &mut Ctx, spec: &LabFile, names: &Names, nodes: &mut [Node]) {
    for (node_name, node_spec) in &spec.nodes {
        let Some(id) = names.nodes.get(node_name) else {
            continue;
        };
        let node = &mut nodes[id.0];
        let npath = TomlPath::root()
            .key("nodes")
            .key(node_name)
            .key("interfaces");
        for (name, ispec) in &node_spec.interfaces {
            let path = npath.key(name);
            if ctx.value(&path, name, values::interface_name).is_none() {
                continue;
            }
            // Kind-specific keys on the wrong kind (or on a link end) are errors, not ignored.
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
                        None => "an interface without kind".to_string(),
                    };
                    ctx.key_error(&path.key(key), format!("`{key}` does not apply to {what}"))
                        .help(format!("`{key}` is a key of kind {}", kinds.join(" / ")));
                    misplaced = true;
                }
            }
            let kind = match ispec.kind {
                None if name == "lo" => Some(IfaceKind::Loopback),
                None => {
                    if node.interface(name).is_none() {
                        ctx.error(&path, format!("interface `{name}` of node `{node_name}` has no kind and no link creates it"))
                            .help(format!("add kind = \"bridge\" (or another kind), or a [[links]] entry with endpoint \"{node_name}:{name}\""));
                        continue;
                    }
                    None
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
                    if misplaced {
                        continue;
                    }
                    kind_of(ctx, &path, k, ispec)
                }
            };
            let mut addresses = Vec::new();
            for (j, a) in ispec.addresses.iter().enumerate() {
                if let Some(n) =
                    ctx.value(&path.key("addresses").idx(j), a, values::interface_address)
                {
                    addresses.push(n);
                }
            }
            if let Some(mtu) = ispec.mtu {
                super::links::check_mtu(ctx, &path.key("mtu"), mtu);
            }
            let mac = ispec
                .mac
                .as_ref()
                .and_then(|m| ctx.value(&path.key("mac"), m, values::mac));
            if let Some(m) = mac
                && m.0[0] & 1 == 1
            {
                ctx.error(
                    &path.key("mac"),
                    format!("`{m}` is a multicast MAC address"),
                )
                .help("the lowest bit of the first byte must be 0, e.g. 02:...");
            }
            match kind {
                Some(kind) => {
                    if kind == IfaceKind::Loopback && node.interface("lo").is_some() {
                        continue;
                    }
                    node.interfaces.push(Interface {
                        name: name.clone(),
                        kind,
                        addresses,
                        mtu: ispec.mtu,
                        mac,
                        up: ispec.up.unwrap_or(true),
                        master: ispec.master.clone(),
                    });
                }
                None => {
                    if let Some(iface) = node.interfaces.iter_mut().find(|i| i.name == *name) {
                        iface.addresses.extend(addresses);
                        if ispec.mtu.is_some() {
                            iface.mtu = ispec.mtu;
                        }
                        iface.mac = mac.or(iface.mac);
                        iface.up = ispec.up.unwrap_or(iface.up);
                        iface.master = ispec.master.clone();
                    }
                }
            }
        }
        check_references(ctx, &npath, node);
    }
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
                ctx.error(
                    &path.key("local"),
                    "`local` and `remote` are of different address families",
                );
            }
            if kind == InterfaceKind::Ipip && !remote.is_ipv4() {
                ctx.error(&path.key("remote"), "ipip carries IPv4 over IPv4")
                    .help("use an IPv4 remote");
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
        && key[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/');
    if !valid {
        ctx.error(path, "not a WireGuard key").help(
            "keys are 32 bytes in base64 (44 characters ending in `=`), as printed by `wg genkey`",
        );
    }
}

/// Masters and parents name interfaces of the same node, of a fitting kind, without cycles;
/// no interface carries the same address twice.
fn check_references(ctx: &mut Ctx, npath: &TomlPath, node: &Node) {
    let by_name: HashMap<&str, &Interface> = node
        .interfaces
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let mut seen_addr: HashMap<std::net::IpAddr, &str> = HashMap::new();
    for iface in &node.interfaces {
        let path = npath.key(&iface.name);
        if let Some(m) = &iface.master {
            match by_name.get(m.as_str()) {
                None => {
                    ctx.error(
                        &path.key("master"),
                        format!(
                            "node `{}` has no interface `{m}` to be the master of `{}`",
                            node.name, iface.name
                        ),
                    )
                    .help(format!(
                        "declare [nodes.{}.interfaces.{m}] with kind = \"bridge\" or \"vrf\"",
                        node.name
                    ));
                }
                Some(mi) if !matches!(mi.kind, IfaceKind::Bridge | IfaceKind::Vrf { .. }) => {
                    ctx.error(
                        &path.key("master"),
                        format!(
                            "`{m}` is a {}, only a bridge or a vrf can be a master",
                            mi.kind.name()
                        ),
                    );
                }
                Some(_) if m == &iface.name => {
                    ctx.error(&path.key("master"), "an interface cannot be its own master");
                }
                Some(_) => {}
            }
        }
        if let Some(parent) = iface.kind.parent() {
            match by_name.get(parent) {
                None => {
                    let d = ctx.error(
                        &path.key("parent"),
                        format!("node `{}` has no interface `{parent}`", node.name),
                    );
                    let known: Vec<&str> = by_name.keys().copied().collect();
                    match crate::diag::did_you_mean(parent, known.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("`parent` names another interface of the same node"),
                    }
                }
                Some(_) => {
                    let mut cur = parent;
                    let mut hops = 0;
                    while let Some(next) = by_name.get(cur).and_then(|i| i.kind.parent()) {
                        hops += 1;
                        if next == iface.name || hops > by_name.len() {
                            ctx.error(
                                &path.key("parent"),
                                format!("`{}` is its own parent through `{parent}`", iface.name),
                            );
                            break;
                        }
                        cur = next;
                    }
                }
            }
        }
        let mut on_this: Vec<&IpNet> = Vec::new();
        for (j, a) in iface.addresses.iter().enumerate() {
            if on_this.iter().any(|b| b.addr() == a.addr()) {
                ctx.error(
                    &address_path(npath, node, iface, j),
                    format!("`{}` is on `{}` twice", a.addr(), iface.name),
                )
                .help("remove one of them");
            } else if let Some(other) = seen_addr.get(&a.addr()) {
                ctx.warning(
                    &address_path(npath, node, iface, j),
                    format!("`{}` is also on `{other}` of this node", a.addr()),
                );
            }
            on_this.push(a);
            seen_addr.entry(a.addr()).or_insert(iface.name.as_str());
        }
    }
}

/// Where an address of an interface is written: in the interface table, or (for veth
/// ends) in its link. Falls back to the interface table.
fn address_path(npath: &TomlPath, node: &Node, iface: &Interface, index: usize) -> TomlPath {
    let _ = node;
    match iface.kind {
        IfaceKind::Veth { link, side } if index == 0 => {
            // The link's own address comes first; its index among the link's addresses is
            // the count of node endpoints before `side`, which is `side` unless the other
            // end is a switch (then there is only one address).
            let _ = side;
            TomlPath::root().key("links").idx(link).key("addresses")
        }
        IfaceKind::Veth { .. } => npath.key(&iface.name).key("addresses").idx(index - 1),
        _ => npath.key(&iface.name).key("addresses").idx(index),
    }
}
