//! Kind-specific interface settings: which keys each kind takes, and what each kind
//! needs (a vxlan its VNI, a vlan its parent and id, a tunnel its remote, ...).

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::ctx::{Ctx, Help};
use super::values;
use crate::front::lab::{IfaceKind, MacvlanMode, TunnelEnds, WgPeer};
use crate::front::source::TomlPath;
use crate::front::spec::{self, InterfaceKind};

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

/// Kind-specific keys on the wrong kind (or on a link end) are errors, not ignored.
pub fn misplaced_keys(ctx: &mut Ctx, path: &TomlPath, ispec: &spec::Interface) -> bool {
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

pub fn kind_of(
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
    // Decoded as the engine decodes it (canonical standard base64, as `wg` reads keys), so
    // that a key `check` accepts is one the build accepts.
    let valid = STANDARD.decode(key).is_ok_and(|k| k.len() == 32);
    if !valid {
        ctx.error(path, format!("`{key}` is not a WireGuard key")).help(
            "keys are 32 bytes in base64 (44 characters ending in `=`), as printed by `wg genkey`",
        );
    }
}
