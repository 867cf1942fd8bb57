//! Imported hosts -> a lab: one node per host, a switch per shared uplink subnet, and with
//! `--lab` a router node owning every default gateway no imported host owns.
//!
//! Normalisations (documented in docs/import.md): what the kernel recreates by itself is
//! left out (the local table, routes of `proto kernel` that an address accounts for,
//! IPv6 link-local addresses, the default rules, the loopback), and sysctls equal to the
//! kernel's defaults are left out.

use std::collections::BTreeSet;
use std::net::IpAddr;

use indexmap::IndexMap;
use ipnet::IpNet;

use super::model::{Host, LOCAL, LinkKind, MAIN};
use crate::front::spec::{
    Fdb, Interface, InterfaceKind, LabFile, Link, Neighbour, Node, Route, RouteType, Rule,
    RuleAction, Switch, SysctlValue, WireguardPeer,
};

/// A lab and, per node, what could not be carried over.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub lab: LabFile,
    pub notes: IndexMap<String, Vec<String>>,
    /// The router node the import made up (`--lab`), if any.
    pub router: Option<String>,
}

/// Network sysctls the import carries, with the value a new network namespace has on a
/// stock kernel. Per-interface (`conf.IFACE.`) keys use the `conf.default.` default.
pub const SYSCTL_DEFAULTS: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv4.ip_nonlocal_bind", "0"),
    ("net.ipv4.fib_multipath_hash_policy", "0"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.conf.all.accept_local", "0"),
    ("net.ipv4.conf.default.accept_local", "0"),
    ("net.ipv4.conf.all.proxy_arp", "0"),
    ("net.ipv4.conf.default.proxy_arp", "0"),
    ("net.ipv4.conf.all.arp_ignore", "0"),
    ("net.ipv4.conf.default.arp_ignore", "0"),
    ("net.ipv4.conf.all.arp_announce", "0"),
    ("net.ipv4.conf.default.arp_announce", "0"),
    ("net.ipv4.conf.all.arp_filter", "0"),
    ("net.ipv4.conf.all.route_localnet", "0"),
    ("net.ipv4.conf.all.src_valid_mark", "0"),
    ("net.ipv4.conf.all.accept_redirects", "1"),
    ("net.ipv4.conf.all.send_redirects", "1"),
    ("net.ipv4.conf.all.log_martians", "0"),
    ("net.ipv6.conf.all.forwarding", "0"),
    ("net.ipv6.conf.default.forwarding", "0"),
    ("net.ipv6.conf.all.disable_ipv6", "0"),
    ("net.ipv6.conf.default.disable_ipv6", "0"),
    ("net.ipv6.conf.all.accept_ra", "1"),
];

/// Per-interface sysctls carried when they differ from the `all`/`default` value.
const PER_IFACE: &[&str] = &[
    "rp_filter",
    "accept_local",
    "proxy_arp",
    "forwarding",
    "arp_ignore",
    "arp_announce",
];

/// Names under which Docker, Kubernetes CNIs and libvirt create bridges: from plain text
/// (which does not say what an interface is) they are imported as bridges.
fn bridge_by_name(name: &str) -> bool {
    name == "docker0"
        || name.starts_with("br-")
        || name == "cni0"
        || name.starts_with("virbr")
        || name.starts_with("lxcbr")
        || name == "cbr0"
}

/// A node name from a host name: lowercase, `[a-z0-9-_]`, at most 32 characters.
pub fn node_name(raw: &str) -> String {
    let mut s: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s.trim_matches(|c| c == '-' || c == '_').to_string();
    s.truncate(32);
    if s.is_empty() { "host".into() } else { s }
}

/// How one host's interface ends up in the lab.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Created(InterfaceKind),
    /// A veth or NIC: the node's end of a link to a switch.
    Uplink,
    /// The namespace's own loopback, with extra addresses.
    Loopback,
    Skipped(String),
}

struct NodeOut {
    node: Node,
    notes: Vec<String>,
    /// (interface, its first address) of every uplink.
    uplinks: Vec<(String, Option<IpNet>)>,
    gateways: Vec<IpAddr>,
    addrs: Vec<IpNet>,
}

fn convert(host: &Host) -> NodeOut {
    let mut notes: Vec<String> = host.skipped.clone();
    notes.extend(host.nft_notes.iter().cloned());
    let mut node = Node::default();

    // Interfaces named only by routes (route -n, ip route) exist too.
    let mut links = host.links.clone();
    for r in &host.routes {
        if let Some(d) = &r.dev {
            links.entry(d.clone()).or_default();
        }
    }
    for a in &host.addrs {
        links.entry(a.dev.clone()).or_default();
    }
    let masters: BTreeSet<&str> = links.values().filter_map(|l| l.master.as_deref()).collect();

    // Addresses, and those that only `proto kernel ... src X` routes reveal (route output
    // without `ip addr`): the source of a connected route is an address of its device.
    let mut addrs: Vec<(String, IpNet)> = host
        .addrs
        .iter()
        .filter_map(|a| a.cidr.parse().ok().map(|n| (a.dev.clone(), n)))
        .collect();
    for r in &host.routes {
        let (Some(dev), Some(src)) = (&r.dev, &r.src) else {
            continue;
        };
        if r.proto.as_deref() != Some("kernel") || r.table != MAIN {
            continue;
        }
        let Ok(src) = src.parse::<IpAddr>() else {
            continue;
        };
        if addrs.iter().any(|(_, n)| n.addr() == src) {
            continue;
        }
        let net = r.dst.parse::<IpNet>().ok().filter(|n| n.contains(&src));
        let cidr = match net {
            Some(n) => IpNet::new(src, n.prefix_len()).ok(),
            None => IpNet::new(src, if src.is_ipv4() { 32 } else { 128 }).ok(),
        };
        if let Some(c) = cidr {
            notes.push(format!(
                "{dev}: address {c} inferred from the route `{} ... src {src}` (no `ip addr` output)",
                r.dst
            ));
            addrs.push((dev.clone(), c));
        }
    }

    let mut roles: IndexMap<String, Role> = IndexMap::new();
    for (ifname, l) in &links {
        let has_addr = addrs.iter().any(|(d, _)| d == ifname);
        let role = match &l.kind {
            // The loopback exists in every namespace; it is listed only for addresses
            // beyond 127.0.0.1/8 and ::1 (a load balancer's VIP, a router id).
            LinkKind::Loopback if has_addr => Role::Loopback,
            LinkKind::Loopback => Role::Skipped(String::new()),
            LinkKind::Bridge => Role::Created(InterfaceKind::Bridge),
            LinkKind::Vxlan => Role::Created(InterfaceKind::Vxlan),
            LinkKind::Macvlan => Role::Created(InterfaceKind::Macvlan),
            LinkKind::Vlan => Role::Created(InterfaceKind::Vlan),
            LinkKind::Vrf => Role::Created(InterfaceKind::Vrf),
            LinkKind::Dummy => Role::Created(InterfaceKind::Dummy),
            LinkKind::Wireguard => Role::Created(InterfaceKind::Wireguard),
            LinkKind::Ipip => Role::Created(InterfaceKind::Ipip),
            LinkKind::Gre => Role::Created(InterfaceKind::Gre),
            LinkKind::Gretap => Role::Created(InterfaceKind::Gretap),
            LinkKind::Other(k) => Role::Skipped(format!("kind {k} has no lab equivalent")),
            LinkKind::Unknown if masters.contains(ifname.as_str()) || bridge_by_name(ifname) => {
                notes.push(format!(
                    "{ifname}: imported as a bridge (the source does not give kinds; {})",
                    if masters.contains(ifname.as_str()) {
                        "it has ports"
                    } else {
                        "Docker/CNI bridge name"
                    }
                ));
                Role::Created(InterfaceKind::Bridge)
            }
            LinkKind::Unknown | LinkKind::Veth | LinkKind::Physical => {
                if let Some(m) = &l.master {
                    notes.push(format!(
                        "{ifname}: port of {m}; its other end (a container or VM) was not imported, so it joins a switch of its own"
                    ));
                    Role::Uplink
                } else if has_addr
                    || host
                        .routes
                        .iter()
                        .any(|r| r.dev.as_deref() == Some(ifname.as_str()) && r.table != LOCAL)
                {
                    Role::Uplink
                } else {
                    Role::Skipped("no address and no route: nothing to connect it to".into())
                }
            }
        };
        if let Role::Skipped(why) = &role
            && !why.is_empty()
        {
            notes.push(format!("{ifname}: not imported ({why})"));
        }
        if l.kind == LinkKind::Physical {
            notes.push(format!(
                "{ifname}: a physical NIC, imported as a veth; driver settings (offloads, rings, speed) are not carried over"
            ));
        }
        roles.insert(ifname.clone(), role);
    }
    let usable = |d: &str| {
        matches!(
            roles.get(d),
            Some(Role::Created(_) | Role::Uplink | Role::Loopback)
        )
    };

    let mut uplinks = Vec::new();
    for (ifname, role) in &roles {
        let l = &links[ifname];
        let mut i = Interface::default();
        match role {
            Role::Skipped(_) => continue,
            Role::Loopback => {}
            Role::Uplink => {
                let addr = addrs
                    .iter()
                    .find(|(d, n)| d == ifname && n.addr().is_ipv4())
                    .map(|(_, n)| *n);
                // A host-length address (inferred from a route's src) sits on the prefix
                // of the device route that names it.
                let segment = addr.map(|a| {
                    if a.prefix_len() < a.max_prefix_len() {
                        return a;
                    }
                    host.routes
                        .iter()
                        .filter(|r| {
                            r.dev.as_deref() == Some(ifname.as_str())
                                && r.via.is_none()
                                && r.table == MAIN
                        })
                        .filter(|r| r.src.as_deref() == Some(a.addr().to_string().as_str()))
                        .find_map(|r| r.dst.parse::<IpNet>().ok())
                        .unwrap_or(a)
                });
                // No address at all (`route -n`): the connected route still names the
                // segment, so hosts on it share a switch.
                let segment = segment.or_else(|| {
                    host.routes
                        .iter()
                        .filter(|r| {
                            r.dev.as_deref() == Some(ifname.as_str())
                                && r.via.is_none()
                                && r.table == MAIN
                                && r.proto.as_deref() == Some("kernel?")
                        })
                        .filter_map(|r| r.dst.parse::<IpNet>().ok())
                        .find(|n| n.addr().is_ipv4() && n.prefix_len() < 32)
                });
                uplinks.push((ifname.clone(), segment));
            }
            Role::Created(k) => {
                i.kind = Some(*k);
                i.parent = l.parent.clone().filter(|p| usable(p));
                i.vlan_id = l.vlan_id;
                i.mode = l.mode.clone();
                i.table = l.table;
                i.vni = l.vni;
                i.local = l.local.clone();
                i.remote = l.remote.clone();
                i.group = l.group.clone();
                i.dstport = l.dstport.filter(|p| *p != 4789);
                i.learning = l.learning.filter(|x| !x);
                i.ttl = l.ttl;
                i.key = l.key;
                i.listen_port = l.listen_port;
                if *k == InterfaceKind::Wireguard {
                    i.peers = l
                        .peers
                        .iter()
                        .map(|p| WireguardPeer {
                            node: None,
                            public_key: Some(p.public_key.clone()),
                            endpoint: p.endpoint.clone(),
                            allowed_ips: p.allowed_ips.clone(),
                            keepalive: p.keepalive,
                        })
                        .collect();
                    notes.push(format!(
                        "{ifname}: the private key is never imported: a key is generated for the run, so peers that know this host by its public key need the run's; preshared keys are not carried either"
                    ));
                    if l.peers.is_empty() {
                        notes.push(format!(
                            "{ifname}: no peers known (collect `wg show all dump`, or import with --live)"
                        ));
                    }
                }
                // MACs of created interfaces are random unless someone set them; keep a
                // bridge's MAC only when a port could depend on it (never, in a lab).
            }
        }
        i.addresses = addrs
            .iter()
            .filter(|(d, _)| d == ifname)
            .map(|(_, n)| n.to_string())
            .collect();
        if i.addresses.is_empty() && *role != Role::Loopback && l.master.is_none() {
            notes.push(format!(
                "{ifname}: no address known (the source shows routes only, e.g. `route -n`): add the host's address from `ip addr`"
            ));
        }
        i.mtu = l
            .mtu
            .filter(|m| *m != 1500 && !(*m == 65535 || *m == 65536));
        if l.up == Some(false) {
            i.up = Some(false);
        }
        i.master = l.master.clone().filter(|m| usable(m));
        // A bridge takes the smallest MTU of its ports unless one was set: that one is
        // the kernel's doing, not configuration.
        if *role == Role::Created(InterfaceKind::Bridge) {
            let ports = links
                .values()
                .filter(|p| p.master.as_deref() == Some(ifname.as_str()));
            if ports.filter_map(|p| p.mtu).min() == i.mtu.or(Some(1500)) {
                i.mtu = None;
            }
        }
        node.interfaces.insert(ifname.clone(), i);
    }

    // Routes.
    let connected: Vec<(String, IpNet)> =
        addrs.iter().map(|(d, n)| (d.clone(), n.trunc())).collect();
    let mut gateways = Vec::new();
    for r in &host.routes {
        if r.table == LOCAL
            || matches!(
                r.kind.as_str(),
                "local" | "broadcast" | "multicast" | "anycast"
            )
        {
            continue;
        }
        let dst_net = if r.dst == "default" {
            None
        } else {
            r.dst.parse::<IpNet>().ok()
        };
        let kernel = matches!(r.proto.as_deref(), Some("kernel") | Some("kernel?"));
        if kernel && r.dev.as_deref() == Some("lo") {
            continue;
        }
        if kernel {
            let explained = dst_net.is_some_and(|n| {
                connected
                    .iter()
                    .any(|(d, c)| *c == n && r.dev.as_deref().is_none_or(|rd| rd == d))
            });
            // IPv6 kernel routes: fe80::/64 per interface, multicast; all made by the kernel.
            if explained
                || r.v6
                    && dst_net.is_some_and(|n| {
                        n.addr().is_multicast() || n.to_string().starts_with("fe80::")
                    })
            {
                continue;
            }
        }
        if r.proto.as_deref() == Some("redirect") {
            notes.push(format!(
                "route {}: learned from an ICMP redirect, not imported",
                r.dst
            ));
            continue;
        }
        if let Some(d) = &r.dev
            && !usable(d)
        {
            notes.push(format!(
                "route {} dev {d}: not imported (its interface is not)",
                r.dst
            ));
            continue;
        }
        let kind = match r.kind.as_str() {
            "unicast" => None,
            "blackhole" => Some(RouteType::Blackhole),
            "unreachable" => Some(RouteType::Unreachable),
            "prohibit" => Some(RouteType::Prohibit),
            other => {
                notes.push(format!(
                    "route {} of type {other}: no lab equivalent, not imported",
                    r.dst
                ));
                continue;
            }
        };
        if r.dst == "default"
            && r.table == MAIN
            && let Some(g) = r.via.as_deref().and_then(|g| g.parse::<IpAddr>().ok())
            && g.is_ipv4()
        {
            gateways.push(g);
        }
        let default_metric = if r.v6 { Some(1024) } else { Some(0) };
        let to = if r.dst == "default" && r.v6 {
            "::/0".to_string()
        } else {
            r.dst.clone()
        };
        let mut route = Route {
            to,
            via: r.via.clone(),
            dev: r.dev.clone(),
            src: r.src.clone().filter(|s| !kernel || !s.is_empty()),
            metric: r.metric.filter(|m| Some(*m) != default_metric),
            table: (r.table != MAIN).then_some(r.table),
            kind,
            onlink: r.onlink.then_some(true),
            mtu: r.mtu,
        };
        if route.kind.is_some() {
            route.dev = None;
            route.via = None;
        }
        // A dev route's source must be one of the node's addresses.
        if let Some(s) = &route.src
            && !addrs.iter().any(|(_, n)| n.addr().to_string() == *s)
        {
            notes.push(format!(
                "route {}: src {s} is not an address of the host; dropped",
                r.dst
            ));
            route.src = None;
        }
        if kind.is_none() && route.via.is_none() && route.dev.is_none() {
            notes.push(format!(
                "route {}: neither gateway nor device; not imported",
                r.dst
            ));
            continue;
        }
        if !node.routes.contains(&route) {
            node.routes.push(route);
        }
    }

    // Routes to a prefix first, then those through a gateway: a gateway must be
    // reachable when its route is added. A gateway that only a device route (not an
    // address) reaches is on-link, which the lab says with `onlink`.
    node.routes.sort_by_key(|r| r.via.is_some());
    for r in &mut node.routes {
        let (Some(via), Some(dev)) = (&r.via, &r.dev) else {
            continue;
        };
        let Ok(g) = via.parse::<IpAddr>() else {
            continue;
        };
        let by_addr = connected.iter().any(|(d, n)| d == dev && n.contains(&g));
        if !by_addr && r.onlink.is_none() && !g.is_ipv6() {
            notes.push(format!(
                "route {} via {via}: the gateway is on-link through a device route, not an address; imported with onlink = true",
                r.to
            ));
            r.onlink = Some(true);
        }
    }

    // Rules: the defaults (local, main, default) are made by the kernel.
    for r in &host.rules {
        let is_default = r.from.is_none()
            && r.to.is_none()
            && r.iif.is_none()
            && r.oif.is_none()
            && r.fwmark.is_none()
            && r.extra.is_empty()
            && r.action == "lookup"
            && matches!(
                (r.priority, r.table),
                (Some(0), Some(LOCAL)) | (Some(32766), Some(MAIN)) | (Some(32767), Some(253))
            );
        if is_default {
            continue;
        }
        let action = match r.action.as_str() {
            "lookup" => None,
            "blackhole" => Some(RuleAction::Blackhole),
            "unreachable" => Some(RuleAction::Unreachable),
            "prohibit" => Some(RuleAction::Prohibit),
            _ => None,
        };
        if !r.extra.is_empty() || matches!(r.action.as_str(), "goto" | "nop") {
            notes.push(format!(
                "rule {}: `{}` has no lab equivalent; not imported",
                r.priority.map(|p| p.to_string()).unwrap_or_default(),
                if r.extra.is_empty() {
                    r.action.clone()
                } else {
                    r.extra.join(" ")
                }
            ));
            continue;
        }
        node.rules.push(Rule {
            from: r.from.clone(),
            to: r.to.clone(),
            iif: r.iif.clone(),
            oif: r.oif.clone(),
            fwmark: r.fwmark,
            table: if action.is_none() { r.table } else { None },
            priority: r.priority,
            action,
            family: (r.v6 && r.from.is_none() && r.to.is_none()).then(|| "ipv6".to_string()),
        });
    }

    // Static neighbours and fdb entries; learned ones are state, not configuration.
    let mut learned = 0;
    for n in &host.neighbours {
        match (&n.mac, n.state.contains("PERMANENT")) {
            (Some(mac), true) if usable(&n.dev) => node.neighbours.push(Neighbour {
                dev: n.dev.clone(),
                address: n.address.clone(),
                mac: mac.clone(),
            }),
            _ => learned += 1,
        }
    }
    if learned > 0 {
        notes.push(format!("{learned} learned (not permanent) neighbour entries: state, not configuration; not imported"));
    }
    for f in &host.fdb {
        // A vxlan's `remote` makes the kernel add the all-zeros entry towards it.
        let implied = f.mac == "00:00:00:00:00:00"
            && links
                .get(&f.dev)
                .is_some_and(|l| l.remote.is_some() && l.remote == f.dst);
        if usable(&f.dev) && !implied {
            node.fdb.push(Fdb {
                dev: f.dev.clone(),
                mac: f.mac.clone(),
                dst: f.dst.clone(),
                append: None,
            });
        }
    }

    sysctls(host, &roles, &mut node);
    // nft is whitespace-insensitive; spaces keep the TOML string free of `\t` escapes.
    node.nft = host.nft.as_ref().map(|t| t.replace('\t', "    "));
    if let Some(nft) = &node.nft
        && (nft.contains("# xt_") || nft.contains("xt target") || nft.contains("xt match"))
    {
        notes.push("nft: the ruleset uses iptables-nft extensions (xt ...) that nft cannot load; edit them out or translate them".into());
    }

    NodeOut {
        node,
        notes,
        uplinks,
        gateways,
        addrs: addrs.iter().map(|(_, n)| *n).collect(),
    }
}

fn sysctls(host: &Host, roles: &IndexMap<String, Role>, node: &mut Node) {
    let get = |k: &str| host.sysctl.get(k).map(String::as_str);
    let v4 = get("net.ipv4.ip_forward") == Some("1");
    let v6 = get("net.ipv6.conf.all.forwarding") == Some("1");
    if v4 && v6 {
        node.forward = Some(true);
    } else if v4 {
        node.sysctl
            .insert("net.ipv4.ip_forward".into(), SysctlValue::Int(1));
    } else if v6 {
        node.sysctl
            .insert("net.ipv6.conf.all.forwarding".into(), SysctlValue::Int(1));
    }
    for (k, default) in SYSCTL_DEFAULTS {
        // Turning IPv4 forwarding on sets accept_redirects off (devinet.c,
        // inet_forward_change): part of `forward`, not a setting of its own.
        let default = if *k == "net.ipv4.conf.all.accept_redirects" && v4 {
            &"0"
        } else {
            default
        };
        if matches!(
            *k,
            "net.ipv4.ip_forward"
                | "net.ipv6.conf.all.forwarding"
                | "net.ipv6.conf.default.forwarding"
        ) {
            continue;
        }
        if let Some(v) = get(k)
            && v != *default
        {
            node.sysctl.insert((*k).into(), value(v));
        }
    }
    for (ifname, role) in roles {
        if !matches!(role, Role::Created(_) | Role::Uplink) {
            continue;
        }
        for key in PER_IFACE {
            let k = format!("net.ipv4.conf.{ifname}.{key}");
            let base = get(&format!("net.ipv4.conf.default.{key}")).unwrap_or("0");
            // forwarding per interface follows ip_forward.
            let base = if *key == "forwarding" && v4 {
                "1"
            } else {
                base
            };
            if let Some(v) = get(&k)
                && v != base
            {
                node.sysctl.insert(k, value(v));
            }
        }
    }
}

fn value(v: &str) -> SysctlValue {
    v.parse()
        .map(SysctlValue::Int)
        .unwrap_or_else(|_| SysctlValue::Text(v.to_string()))
}

/// Builds a lab from hosts (name, state). With `router`, a default gateway that no host
/// owns becomes an interface of a router node `gw` that owns it.
pub fn build(lab_name: &str, hosts: &[(String, Host)], router: bool) -> Imported {
    let mut out = Imported::default();
    out.lab.name = lab_name.to_string();
    let mut converted = Vec::new();
    for (name, host) in hosts {
        let n = convert(host);
        converted.push((name.clone(), n));
    }
    // Subnets of the uplinks: each becomes a switch every host on it joins.
    let mut subnets: IndexMap<String, (IpNet, Vec<(String, String)>)> = IndexMap::new();
    let mut unaddressed = Vec::new();
    for (name, n) in &converted {
        for (ifname, net) in &n.uplinks {
            match net {
                Some(a) => {
                    let key = a.trunc().to_string();
                    subnets
                        .entry(key)
                        .or_insert((a.trunc(), Vec::new()))
                        .1
                        .push((name.clone(), ifname.clone()));
                }
                None => unaddressed.push((name.clone(), ifname.clone())),
            }
        }
    }
    let owned: BTreeSet<IpAddr> = converted
        .iter()
        .flat_map(|(_, n)| n.addrs.iter().map(|a| a.addr()))
        .collect();
    let mut gw = Node {
        forward: Some(true),
        ..Node::default()
    };
    let mut gw_notes = Vec::new();
    let mut gw_links = Vec::new();
    if router {
        let mut seen = BTreeSet::new();
        for (name, n) in &converted {
            for g in &n.gateways {
                if owned.contains(g) || !seen.insert(*g) {
                    continue;
                }
                // The gateway sits on the subnet of the host's uplink that reaches it.
                let Some((net, _)) = subnets.values().find(|(net, members)| {
                    net.contains(g) && members.iter().any(|(h, _)| h == name)
                }) else {
                    // Only an on-link route reaches it (e.g. src outside the route's
                    // prefix): the gateway joins the first uplink's segment.
                    let Some((ifname, Some(a))) = n.uplinks.first() else {
                        continue;
                    };
                    let key = a.trunc().to_string();
                    let ifn = format!("eth{}", gw_links.len());
                    gw.interfaces.insert(
                        ifn.clone(),
                        Interface {
                            addresses: vec![format!("{g}/32")],
                            ..Interface::default()
                        },
                    );
                    gw.routes.push(Route {
                        to: a.addr().to_string(),
                        dev: Some(ifn.clone()),
                        ..Route::default()
                    });
                    gw_links.push((ifn, key));
                    gw_notes.push(format!("owns {g}, the default gateway of {name} ({ifname}), which no imported host owns"));
                    continue;
                };
                let ifn = format!("eth{}", gw_links.len());
                gw.interfaces.insert(
                    ifn.clone(),
                    Interface {
                        addresses: vec![format!("{g}/{}", net.prefix_len())],
                        ..Interface::default()
                    },
                );
                gw_links.push((ifn.clone(), net.to_string()));
                gw_notes.push(format!(
                    "owns {g}, the default gateway of {name}, which no imported host owns"
                ));
                // Hosts on this segment whose own address lies outside its prefix (an
                // address that only a route's src revealed) are reached by a host route.
                for (_, m) in &converted {
                    for (ifname, seg) in &m.uplinks {
                        if *seg != Some(*net) {
                            continue;
                        }
                        for a in &m.addrs {
                            if a.addr().is_ipv4()
                                && !net.contains(&a.addr())
                                && m.node
                                    .interfaces
                                    .get(ifname)
                                    .is_some_and(|i| i.addresses.contains(&a.to_string()))
                            {
                                gw.routes.push(Route {
                                    to: a.addr().to_string(),
                                    dev: Some(ifn.clone()),
                                    ..Route::default()
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    for (name, n) in &converted {
        out.lab.nodes.insert(name.clone(), n.node.clone());
        if !n.notes.is_empty() {
            out.notes.insert(name.clone(), n.notes.clone());
        }
    }
    let gw_name = unique("gw", &out.lab.nodes);
    let gw_used = !gw_links.is_empty();
    for (key, (net, members)) in &subnets {
        let gw_here: Vec<&(String, String)> = gw_links.iter().filter(|(_, k)| k == key).collect();
        let switch = unique(&switch_name(net), &out.lab.nodes);
        out.lab.switches.insert(switch.clone(), Switch::default());
        for (host, ifname) in members {
            out.lab.links.push(Link {
                endpoints: vec![format!("{host}:{ifname}"), switch.clone()],
                ..Link::default()
            });
        }
        for (ifn, _) in gw_here {
            out.lab.links.push(Link {
                endpoints: vec![format!("{gw_name}:{ifn}"), switch.clone()],
                ..Link::default()
            });
        }
    }
    for (host, ifname) in unaddressed {
        let switch = unique(&node_name(&format!("{host}-{ifname}")), &out.lab.nodes);
        out.lab.switches.insert(switch.clone(), Switch::default());
        out.lab.links.push(Link {
            endpoints: vec![format!("{host}:{ifname}"), switch],
            ..Link::default()
        });
        out.notes.entry(host.clone()).or_default().push(format!(
            "{ifname}: no IPv4 address, so its switch joins no other host"
        ));
    }
    if gw_used {
        out.lab.nodes.insert(gw_name.clone(), gw);
        out.notes.insert(gw_name.clone(), gw_notes);
        out.router = Some(gw_name);
    }
    out
}

fn switch_name(net: &IpNet) -> String {
    node_name(&format!(
        "net-{}",
        net.to_string().replace(['.', ':', '/'], "-")
    ))
}

fn unique<V>(base: &str, taken: &IndexMap<String, V>) -> String {
    if !taken.contains_key(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken.contains_key(n))
        .unwrap_or_default()
}

/// The routes of a node in one line each, for tests and round-trip comparison.
pub fn route_lines(node: &Node) -> Vec<String> {
    node.routes
        .iter()
        .map(|r| {
            let mut s = r.to.clone();
            if let Some(k) = r.kind {
                s = format!("{} {s}", k.as_str());
            }
            if let Some(v) = &r.via {
                s.push_str(&format!(" via {v}"));
            }
            if let Some(v) = &r.dev {
                s.push_str(&format!(" dev {v}"));
            }
            if let Some(v) = &r.src {
                s.push_str(&format!(" src {v}"));
            }
            if let Some(v) = r.metric {
                s.push_str(&format!(" metric {v}"));
            }
            if let Some(v) = r.table {
                s.push_str(&format!(" table {v}"));
            }
            if r.onlink == Some(true) {
                s.push_str(" onlink");
            }
            if let Some(v) = r.mtu {
                s.push_str(&format!(" mtu {v}"));
            }
            s
        })
        .collect()
}
