use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use super::ctx::{Ctx, Help};
use super::{Names, iface_of, values};
use crate::lab::{
    Family, Fdb, IfaceKind, Ipsec, Listen, ListenMode, ListenProto, Neighbour, Node, Readiness,
    Route, RouteType, Rule, RuleAction, Service,
};
use crate::source::TomlPath;
use crate::spec::{self, LabFile};

pub fn resolve(ctx: &mut Ctx, path: &TomlPath, spec: &spec::Node, node: &mut Node, names: &Names) {
    let _ = names;
    node.forward = spec.forward;
    for (key, value) in &spec.sysctl {
        if let Some(v) = sysctl(ctx, &path.key("sysctl").key(key), key, value, node) {
            node.sysctls.push((key.clone(), v));
        }
    }
    for (i, r) in spec.routes.iter().enumerate() {
        if let Some(route) = route(ctx, &path.key("routes").idx(i), r, node, true) {
            node.routes.push(route);
        }
    }
    for (i, r) in spec.rules.iter().enumerate() {
        if let Some(rule) = rule(ctx, &path.key("rules").idx(i), r, node) {
            node.rules.push(rule);
        }
    }
    if let Some(nft) = &spec.nft {
        if nft.trim().is_empty() {
            ctx.error(&path.key("nft"), "the nft ruleset is empty")
                .help("remove `nft`, or write a ruleset in nft syntax");
        }
        node.nft = Some(nft.clone());
    }
    for (i, cmd) in spec.exec.iter().enumerate() {
        if cmd.trim().is_empty() {
            ctx.error(&path.key("exec").idx(i), "empty command");
        }
    }
    node.exec = spec.exec.clone();
    for (i, f) in spec.fdb.iter().enumerate() {
        let p = path.key("fdb").idx(i);
        let dev_ok = iface_of(ctx, &p.key("dev"), node, &f.dev).is_some();
        let mac = ctx.value(&p.key("mac"), &f.mac, values::mac);
        let dst = f
            .dst
            .as_ref()
            .and_then(|d| ctx.value(&p.key("dst"), d, values::address));
        if let (true, Some(mac)) = (dev_ok, mac) {
            node.fdb.push(Fdb {
                dev: f.dev.clone(),
                mac,
                dst,
                append: f.append.unwrap_or(false),
            });
        }
    }
    for (i, n) in spec.neighbours.iter().enumerate() {
        let p = path.key("neighbours").idx(i);
        let dev_ok = iface_of(ctx, &p.key("dev"), node, &n.dev).is_some();
        let mac = ctx.value(&p.key("mac"), &n.mac, values::mac);
        let address = ctx.value(&p.key("address"), &n.address, values::address);
        if let (true, Some(mac), Some(address)) = (dev_ok, mac, address) {
            node.neighbours.push(Neighbour {
                dev: n.dev.clone(),
                address,
                mac,
            });
        }
    }
    let mut ports = BTreeSet::new();
    for (i, l) in spec.listen.iter().enumerate() {
        if let Some(listen) = listen(ctx, &path.key("listen").idx(i), l, node) {
            let key = (
                listen.proto == ListenProto::Tcp,
                listen.port,
                listen.address,
            );
            if !ports.insert(key) {
                ctx.error(
                    &path.key("listen").idx(i),
                    format!("port {} is already listened on", listen.port),
                )
                .help("remove the duplicate listener");
            }
            node.listen.push(listen);
        }
    }
    let mut svc_names = BTreeSet::new();
    for (i, s) in spec.services.iter().enumerate() {
        let p = path.key("services").idx(i);
        if !svc_names.insert(s.name.clone()) {
            ctx.error(
                &p.key("name"),
                format!("node `{}` has two services named `{}`", node.name, s.name),
            );
        }
        if let Some(svc) = service(ctx, &p, s) {
            node.services.push(svc);
        }
    }
    for (i, t) in spec.ipsec.iter().enumerate() {
        if let Some(ipsec) = ipsec(ctx, &path.key("ipsec").idx(i), t, node) {
            node.ipsec.push(ipsec);
        }
    }
}

fn sysctl(
    ctx: &mut Ctx,
    path: &TomlPath,
    key: &str,
    value: &spec::SysctlValue,
    node: &Node,
) -> Option<String> {
    if !key.starts_with("net.") {
        ctx.key_error(path, format!("sysctl `{key}` is not a network sysctl"))
            .help("only net.* sysctls belong to a network namespace; others would change the host");
        return None;
    }
    if key.contains('/') || key.contains("..") || key.ends_with('.') {
        ctx.key_error(path, format!("`{key}` is not a sysctl name"))
            .help("write it dotted, like net.ipv4.ip_forward");
        return None;
    }
    // net.ipv4.conf.IFACE.x and net.ipv6.conf.IFACE.x must name an interface of the node.
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() >= 5
        && (parts[1] == "ipv4" || parts[1] == "ipv6")
        && (parts[2] == "conf" || parts[2] == "neigh")
    {
        let iface = parts[3];
        if iface != "all" && iface != "default" && iface != "lo" && node.interface(iface).is_none()
        {
            ctx.key_error(
                path,
                format!(
                    "sysctl `{key}` names interface `{iface}`, which node `{}` does not have",
                    node.name
                ),
            )
            .help("use an interface of the node, or `all` / `default`");
            return None;
        }
    }
    Some(value.to_string())
}

/// Whether some address of the node (of `dev`, when given) covers `gw`.
fn on_link(node: &Node, gw: IpAddr, dev: Option<&str>) -> bool {
    node.interfaces
        .iter()
        .filter(|i| dev.is_none_or(|d| d == i.name))
        .flat_map(|i| i.addresses.iter())
        .any(|a| a.contains(&gw))
}

pub fn route(
    ctx: &mut Ctx,
    path: &TomlPath,
    r: &spec::Route,
    node: &Node,
    warn_unreachable: bool,
) -> Option<Route> {
    let via = r
        .via
        .as_ref()
        .and_then(|v| ctx.value(&path.key("via"), v, values::address));
    let src = r
        .src
        .as_ref()
        .and_then(|v| ctx.value(&path.key("src"), v, values::address));
    let family_hint = via.or(src).map(|a| a.is_ipv4());
    let to = ctx.value(&path.key("to"), &r.to, |s| {
        values::destination(s, family_hint)
    })?;
    let kind = r.kind.unwrap_or(RouteType::Unicast);
    if let Some(dev) = &r.dev {
        iface_of(ctx, &path.key("dev"), node, dev)?;
    }
    if let Some(v) = via
        && v.is_ipv4() != to.addr().is_ipv4()
        && to.addr().is_ipv4()
    {
        ctx.error(
            &path.key("via"),
            format!("gateway `{v}` is IPv6 but `{}` is IPv4", r.to),
        )
        .help("use a gateway of the same family");
        return None;
    }
    if kind != RouteType::Unicast {
        for (key, set) in [("via", r.via.is_some()), ("dev", r.dev.is_some())] {
            if set {
                ctx.key_error(
                    &path.key(key),
                    format!("a {} route has no `{key}`", kind.as_str()),
                )
                .help(format!(
                    "remove `{key}`: the kernel drops or rejects matching packets itself"
                ));
                return None;
            }
        }
    } else if via.is_none() && r.dev.is_none() {
        ctx.error(path, "a unicast route needs `via` or `dev`")
            .help("add via = \"GATEWAY\", or type = \"blackhole\" to drop the traffic");
        return None;
    }
    if r.onlink == Some(true) && r.dev.is_none() {
        ctx.error(&path.key("onlink"), "an onlink route needs `dev`")
            .help("name the interface the gateway is on");
        return None;
    }
    if let Some(v) = via
        && warn_unreachable
        && r.onlink != Some(true)
        && !on_link(node, v, r.dev.as_deref())
    {
        ctx.warning(&path.key("via"), format!("gateway `{v}` is not on a subnet of node `{}`", node.name))
            .help("the kernel refuses such a route (\"Nexthop has invalid gateway\") unless an earlier route makes it reachable; add onlink = true if it is on-link");
    }
    if let Some(m) = r.mtu {
        super::links::check_mtu(ctx, &path.key("mtu"), m);
    }
    if r.table == Some(0) || r.table == Some(255) {
        ctx.error(
            &path.key("table"),
            format!("table {} is reserved", r.table.unwrap_or(0)),
        )
        .help("use the main table (omit `table`) or a number like 100");
        return None;
    }
    Some(Route {
        to,
        via,
        dev: r.dev.clone(),
        src,
        metric: r.metric,
        table: r.table,
        kind,
        onlink: r.onlink.unwrap_or(false),
        mtu: r.mtu,
    })
}

fn rule(ctx: &mut Ctx, path: &TomlPath, r: &spec::Rule, node: &Node) -> Option<Rule> {
    let from = r
        .from
        .as_ref()
        .and_then(|v| ctx.value(&path.key("from"), v, values::prefix));
    let to =
        r.to.as_ref()
            .and_then(|v| ctx.value(&path.key("to"), v, values::prefix));
    if r.from.is_some() && from.is_none() || r.to.is_some() && to.is_none() {
        return None;
    }
    for (key, dev) in [("iif", &r.iif), ("oif", &r.oif)] {
        if let Some(d) = dev {
            iface_of(ctx, &path.key(key), node, d)?;
        }
    }
    let family = match (r.family.as_deref(), from.or(to)) {
        (Some("ipv4"), Some(n)) if !n.addr().is_ipv4() => {
            ctx.error(
                &path.key("family"),
                "family is ipv4 but the selector is IPv6",
            );
            return None;
        }
        (Some("ipv6"), Some(n)) if n.addr().is_ipv4() => {
            ctx.error(
                &path.key("family"),
                "family is ipv6 but the selector is IPv4",
            );
            return None;
        }
        (Some("ipv6"), _) => Family::V6,
        (Some("ipv4"), _) => Family::V4,
        (Some(f), _) => {
            ctx.error(&path.key("family"), format!("unknown family `{f}`"))
                .help("use \"ipv4\" or \"ipv6\"");
            return None;
        }
        (None, Some(n)) => Family::of(&n.addr()),
        (None, None) => Family::V4,
    };
    if let (Some(f), Some(t)) = (from, to)
        && f.addr().is_ipv4() != t.addr().is_ipv4()
    {
        ctx.error(&path.key("to"), "`from` and `to` are of different families");
        return None;
    }
    let action = r.action.unwrap_or(RuleAction::Lookup);
    if action == RuleAction::Lookup && r.table.is_none() {
        ctx.error(path, "a lookup rule needs `table`")
            .help("add table = 100 (or action = \"blackhole\" / \"unreachable\" / \"prohibit\")");
        return None;
    }
    if action != RuleAction::Lookup && r.table.is_some() {
        ctx.key_error(&path.key("table"), "only a lookup rule has a table")
            .help("remove `table` or `action`");
        return None;
    }
    if r.priority == Some(0) {
        ctx.warning(
            &path.key("priority"),
            "priority 0 comes before the kernel's `local` rule",
        );
    }
    Some(Rule {
        family,
        from,
        to,
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        fwmark: r.fwmark,
        table: r.table,
        priority: r.priority,
        action,
    })
}

fn listen(ctx: &mut Ctx, path: &TomlPath, l: &spec::Listen, node: &Node) -> Option<Listen> {
    let (proto, port) = match (l.tcp, l.udp) {
        (Some(p), None) => (ListenProto::Tcp, p),
        (None, Some(p)) => (ListenProto::Udp, p),
        (Some(_), Some(_)) => {
            ctx.error(path, "a listener has `tcp` or `udp`, not both")
                .help("write two [[...listen]] entries");
            return None;
        }
        (None, None) => {
            ctx.error(path, "a listener needs `tcp` or `udp`")
                .help("add tcp = 80 or udp = 53");
            return None;
        }
    };
    if port == 0 {
        ctx.error(
            &path.key(if proto == ListenProto::Tcp {
                "tcp"
            } else {
                "udp"
            }),
            "port 0 is not a port",
        )
        .help("use 1 to 65535");
        return None;
    }
    if proto == ListenProto::Udp && l.mode.is_some() {
        ctx.key_error(&path.key("mode"), "`mode` applies to tcp listeners")
            .help("udp listeners always echo");
        return None;
    }
    let address = match &l.address {
        Some(a) => {
            let addr = ctx.value(&path.key("address"), a, values::address)?;
            if !addr.is_unspecified() && !node.has_address(addr) {
                ctx.warning(
                    &path.key("address"),
                    format!("`{addr}` is not an address of node `{}`", node.name),
                )
                .help("binding will fail unless a setup command adds it");
            }
            Some(addr)
        }
        None => None,
    };
    Some(Listen {
        proto,
        port,
        address,
        mode: l.mode.unwrap_or(ListenMode::Close),
    })
}

fn service(ctx: &mut Ctx, path: &TomlPath, s: &spec::Service) -> Option<Service> {
    if let Err(b) = values::object_name(&s.name) {
        ctx.error(&path.key("name"), b.message)
            .help(b.help.unwrap_or_default());
        return None;
    }
    if s.cmd.trim().is_empty() {
        ctx.error(&path.key("cmd"), "empty command");
        return None;
    }
    let ready = match &s.ready {
        None => None,
        Some(r) => match (r.tcp, r.udp, &r.cmd) {
            (Some(p), None, None) => Some(Readiness::Tcp(p)),
            (None, Some(p), None) => Some(Readiness::Udp(p)),
            (None, None, Some(c)) => Some(Readiness::Cmd(c.clone())),
            _ => {
                ctx.error(
                    &path.key("ready"),
                    "readiness needs exactly one of `tcp`, `udp` or `cmd`",
                )
                .help("e.g. ready = { tcp = 8080 }");
                return None;
            }
        },
    };
    let ready_timeout = match &s.ready_timeout {
        Some(t) => ctx.value(&path.key("ready_timeout"), t, values::duration)?,
        None => Duration::from_secs(10),
    };
    Some(Service {
        name: s.name.clone(),
        cmd: s.cmd.clone(),
        ready,
        ready_timeout,
    })
}

fn ipsec(ctx: &mut Ctx, path: &TomlPath, t: &spec::Ipsec, node: &Node) -> Option<Ipsec> {
    let local = ctx.value(&path.key("local"), &t.local, values::address);
    let remote = ctx.value(&path.key("remote"), &t.remote, values::address);
    let parse_list = |ctx: &mut Ctx, key: &str, list: &[String]| -> Vec<ipnet::IpNet> {
        if list.is_empty() {
            ctx.error(&path.key(key), format!("`{key}` is empty"))
                .help("list the subnets this side of the tunnel protects, e.g. [\"10.0.0.0/16\"]");
        }
        list.iter()
            .enumerate()
            .filter_map(|(i, s)| ctx.value(&path.key(key).idx(i), s, values::prefix))
            .collect()
    };
    let local_subnets = parse_list(ctx, "local_subnets", &t.local_subnets);
    let remote_subnets = parse_list(ctx, "remote_subnets", &t.remote_subnets);
    let (local, remote) = (local?, remote?);
    if !node.has_address(local) {
        ctx.warning(
            &path.key("local"),
            format!("`{local}` is not an address of node `{}`", node.name),
        )
        .help("the gateway's outer address is normally one of its own");
    }
    // Both gateways derive the same SPIs from the tunnel name and the direction, so that
    // a pair written on two nodes matches without coordination.
    let spi = |from: IpAddr, to: IpAddr| -> u32 {
        0x100 + (fnv(&format!("{}|{from}|{to}", t.name)) % 0xfff0) as u32
    };
    let secret = t
        .secret
        .clone()
        .unwrap_or_else(|| format!("topolab:{}", t.name));
    Some(Ipsec {
        name: t.name.clone(),
        local,
        remote,
        local_subnets,
        remote_subnets,
        spi_out: t.spi_out.unwrap_or_else(|| spi(local, remote)),
        spi_in: t.spi_in.unwrap_or_else(|| spi(remote, local)),
        secret,
    })
}

/// FNV-1a: a stable hash (std's hasher is randomised per process).
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Peers named as "node:iface" must be WireGuard interfaces of the lab.
pub fn check_wireguard_peers(ctx: &mut Ctx, spec: &LabFile, nodes: &[Node]) {
    for node in nodes {
        for iface in &node.interfaces {
            let IfaceKind::Wireguard { peers, .. } = &iface.kind else {
                continue;
            };
            for (j, p) in peers.iter().enumerate() {
                let Some((pn, pi)) = &p.node else { continue };
                let path = TomlPath::root()
                    .key("nodes")
                    .key(&node.name)
                    .key("interfaces")
                    .key(&iface.name)
                    .key("peers")
                    .idx(j)
                    .key("node");
                let target = nodes
                    .iter()
                    .find(|n| n.name == *pn)
                    .and_then(|n| n.interface(pi));
                match target {
                    Some(t) if matches!(t.kind, IfaceKind::Wireguard { .. }) => {}
                    Some(t) => {
                        ctx.error(
                            &path,
                            format!(
                                "`{pn}:{pi}` is a {}, not a wireguard interface",
                                t.kind.name()
                            ),
                        );
                    }
                    None => {
                        ctx.error(
                            &path,
                            format!("`{pn}:{pi}` is not an interface of this lab"),
                        )
                        .help("name a wireguard interface as \"node:iface\"");
                    }
                }
            }
        }
    }
    let _ = spec;
}
