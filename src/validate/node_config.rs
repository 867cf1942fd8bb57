use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use super::ctx::{Ctx, Help};
use super::{Names, iface_of, values};
use crate::diag::did_you_mean;
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
            ctx.error(&path.key("exec").idx(i), "empty command")
                .help("remove it, or write the command to run");
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
            )
            .help("steps start, stop and kill services by name; rename one");
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

pub fn sysctl(
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
    // An IPv6 link-local gateway is on the link of the interface named with it.
    if dev.is_some() && matches!(gw, IpAddr::V6(a) if a.is_unicast_link_local()) {
        return true;
    }
    node.interfaces
        .iter()
        .filter(|i| dev.is_none_or(|d| d == i.name))
        .flat_map(|i| i.addresses.iter())
        .any(|a| a.contains(&gw))
}

fn family_name(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// Resolve a route. Every key is checked even when another is wrong. The gateway check
/// is a warning: a route the kernel will refuse may be exactly what a lab reproduces.
pub fn route(
    ctx: &mut Ctx,
    path: &TomlPath,
    r: &spec::Route,
    node: &Node,
    warn_unreachable: bool,
) -> Option<Route> {
    let mut ok = true;
    let mut addr = |ctx: &mut Ctx, key: &str, v: &Option<String>| {
        let parsed = v
            .as_ref()
            .and_then(|s| ctx.value(&path.key(key), s, values::address));
        ok &= v.is_none() || parsed.is_some();
        parsed
    };
    let via = addr(ctx, "via", &r.via);
    let src = addr(ctx, "src", &r.src);
    let family_hint = via.or(src).map(|a| a.is_ipv4());
    let to = ctx.value(&path.key("to"), &r.to, |s| {
        values::destination(s, family_hint)
    });
    ok &= to.is_some();
    let kind = r.kind.unwrap_or(RouteType::Unicast);
    if let Some(dev) = &r.dev {
        ok &= iface_of(ctx, &path.key("dev"), node, dev).is_some();
    }
    for (key, a) in [("via", via), ("src", src)] {
        if let (Some(a), Some(to)) = (a, to)
            && a.is_ipv4() != to.addr().is_ipv4()
        {
            let what = if key == "via" { "gateway" } else { "source" };
            ctx.error(
                &path.key(key),
                format!(
                    "{what} `{a}` is {} but `{}` is {}",
                    family_name(a),
                    r.to,
                    family_name(to.addr())
                ),
            )
            .help(format!("use a {what} of the destination's family"));
            ok = false;
        }
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
                ok = false;
            }
        }
    } else if r.via.is_none() && r.dev.is_none() {
        ctx.error(path, "a unicast route needs `via` or `dev`")
            .help("add via = \"GATEWAY\", or type = \"blackhole\" to drop the traffic");
        ok = false;
    }
    if r.onlink == Some(true) && r.dev.is_none() {
        ctx.error(&path.key("onlink"), "an onlink route needs `dev`")
            .help("name the interface the gateway is on");
        ok = false;
    }
    if let (Some(v), true) = (via, ok)
        && warn_unreachable
        && r.onlink != Some(true)
        && !on_link(node, v, r.dev.as_deref())
    {
        let on = match &r.dev {
            Some(d) => format!("`{}:{d}`", node.name),
            None => format!("node `{}`", node.name),
        };
        ctx.warning(&path.key("via"), format!("gateway `{v}` is not on a subnet of {on}"))
            .help("the kernel refuses such a route (\"Nexthop has invalid gateway\") unless an earlier route makes it reachable; add onlink = true if it is on-link");
    }
    if let Some(m) = r.mtu {
        ok &= super::links::check_mtu(ctx, &path.key("mtu"), m);
    }
    if let Some(t @ (0 | 255)) = r.table {
        ctx.error(&path.key("table"), format!("table {t} is reserved"))
            .help("use the main table (omit `table`) or a number like 100");
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Route {
        to: to?,
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
    let mut ok = true;
    let mut prefix = |ctx: &mut Ctx, key: &str, v: &Option<String>| {
        let parsed = v
            .as_ref()
            .and_then(|s| ctx.value(&path.key(key), s, values::prefix));
        ok &= v.is_none() || parsed.is_some();
        parsed
    };
    let from = prefix(ctx, "from", &r.from);
    let to = prefix(ctx, "to", &r.to);
    for (key, dev) in [("iif", &r.iif), ("oif", &r.oif)] {
        if let Some(d) = dev {
            ok &= iface_of(ctx, &path.key(key), node, d).is_some();
        }
    }
    let selector = from.or(to);
    let family = match r.family.as_deref() {
        None => selector.map_or(Family::V4, |n| Family::of(&n.addr())),
        Some(f @ ("ipv4" | "ipv6")) => {
            let fam = if f == "ipv4" { Family::V4 } else { Family::V6 };
            if let Some(n) = selector
                && Family::of(&n.addr()) != fam
            {
                ctx.error(
                    &path.key("family"),
                    format!(
                        "family is {f} but the selector `{n}` is {}",
                        family_name(n.addr())
                    ),
                )
                .help("remove `family`: the selector already says it");
                ok = false;
            }
            fam
        }
        Some(f) => {
            let d = ctx.error(&path.key("family"), format!("unknown family `{f}`"));
            match did_you_mean(f, ["ipv4", "ipv6"]) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("use \"ipv4\" or \"ipv6\""),
            }
            ok = false;
            Family::V4
        }
    };
    if let (Some(f), Some(t)) = (from, to)
        && f.addr().is_ipv4() != t.addr().is_ipv4()
    {
        ctx.error(
            &path.key("to"),
            format!(
                "`from` is {} but `to` is {}",
                family_name(f.addr()),
                family_name(t.addr())
            ),
        )
        .help("a rule matches one address family");
        ok = false;
    }
    let action = r.action.unwrap_or(RuleAction::Lookup);
    if action == RuleAction::Lookup && r.table.is_none() {
        ctx.error(path, "a lookup rule needs `table`")
            .help("add table = 100 (or action = \"blackhole\" / \"unreachable\" / \"prohibit\")");
        ok = false;
    }
    if action != RuleAction::Lookup && r.table.is_some() {
        ctx.key_error(&path.key("table"), "only a lookup rule has a table")
            .help("remove `table` or `action`");
        ok = false;
    }
    if r.table == Some(0) {
        ctx.error(&path.key("table"), "table 0 is not a table")
            .help("use a table number like 100, or 254 for main");
        ok = false;
    }
    if r.priority == Some(0) {
        ctx.warning(
            &path.key("priority"),
            "priority 0 comes before the kernel's `local` rule",
        )
        .help("local addresses stop working for matching packets unless that is the point; use e.g. 100");
    }
    ok.then_some(Rule {
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
    let mut ok = ctx
        .value(&path.key("name"), &s.name, |n| {
            values::object_name("service", n)
        })
        .is_some();
    if s.cmd.trim().is_empty() {
        ctx.error(&path.key("cmd"), "empty command")
            .help("write the command line the service runs, e.g. \"python3 -m http.server 80\"");
        ok = false;
    }
    let ready = match &s.ready {
        None => None,
        Some(r) => match (r.tcp, r.udp, &r.cmd) {
            (Some(0), None, None) | (None, Some(0), None) => {
                let key = if r.tcp.is_some() { "tcp" } else { "udp" };
                ctx.error(&path.key("ready").key(key), "port 0 is not a port")
                    .help("use the port the service listens on, 1 to 65535");
                None
            }
            (Some(p), None, None) => Some(Readiness::Tcp(p)),
            (None, Some(p), None) => Some(Readiness::Udp(p)),
            (None, None, Some(c)) => Some(Readiness::Cmd(c.clone())),
            _ => {
                ctx.error(
                    &path.key("ready"),
                    "readiness needs exactly one of `tcp`, `udp` or `cmd`",
                )
                .help("e.g. ready = { tcp = 8080 }");
                None
            }
        },
    };
    ok &= s.ready.is_none() || ready.is_some();
    let ready_timeout = match &s.ready_timeout {
        Some(t) => ctx.value(&path.key("ready_timeout"), t, values::duration),
        None => Some(Duration::from_secs(10)),
    };
    ok.then_some(Service {
        name: s.name.clone(),
        cmd: s.cmd.clone(),
        ready,
        ready_timeout: ready_timeout?,
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
                        )
                        .help("a peer's `node` names the wireguard interface at the other end");
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
