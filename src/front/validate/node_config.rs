//! Per-node settings besides interfaces and routing: sysctls, nft, exec, fdb and
//! neighbour entries, listeners, services, IPsec, WireGuard peers.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use super::ctx::{Ctx, Help};
use super::{iface_of, values};
use crate::front::lab::{
    Fdb, IfaceKind, Ipsec, Listen, ListenMode, ListenProto, Neighbour, Node, Readiness, Service,
};
use crate::front::source::TomlPath;
use crate::front::spec;

pub fn resolve(ctx: &mut Ctx, path: &TomlPath, spec: &spec::Node, node: &mut Node) {
    node.forward = spec.forward;
    for (key, value) in &spec.sysctl {
        if let Some(v) = sysctl(ctx, &path.key("sysctl").key(key), key, value, node) {
            node.sysctls.push((key.clone(), v));
        }
    }
    let mut route_keys = std::collections::HashMap::new();
    for (i, r) in spec.routes.iter().enumerate() {
        let rpath = path.key("routes").idx(i);
        if let Some(route) = super::routing::route(ctx, &rpath, r, node, true) {
            // The kernel keys a route by table, prefix and metric: a second one is EEXIST.
            let key = (route.table, route.to.trunc(), route.metric);
            if let Some(first) = route_keys.insert(key, i) {
                ctx.error(
                    &rpath.key("to"),
                    format!(
                        "node `{}` already has a route to {} in this table with this metric (routes[{first}])",
                        node.name,
                        route.to.trunc()
                    ),
                )
                .help("remove one, or give one another `metric` or `table`");
            }
            node.routes.push(route);
        }
    }
    for (i, r) in spec.rules.iter().enumerate() {
        if let Some(rule) = super::routing::rule(ctx, &path.key("rules").idx(i), r, node) {
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

/// The net.core keys a network namespace has of its own (Linux 6.18, `ls
/// /proc/sys/net/core` in a fresh namespace); the others exist only in the host's, and a
/// write to them in a node fails with ENOENT.
const NAMESPACED_CORE: [&str; 13] = [
    "optmem_max",
    "rmem_default",
    "rmem_max",
    "rps_default_mask",
    "somaxconn",
    "tstamp_allow_data",
    "txrehash",
    "wmem_default",
    "wmem_max",
    "xfrm_acq_expires",
    "xfrm_aevent_etime",
    "xfrm_aevent_rseqth",
    "xfrm_larval_drop",
];

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
    if key.contains('/')
        || key.contains("..")
        || key.ends_with('.')
        || key.chars().any(char::is_whitespace)
    {
        ctx.key_error(path, format!("`{key}` is not a sysctl name"))
            .help("write it dotted, like net.ipv4.ip_forward");
        return None;
    }
    let parts: Vec<&str> = key.split('.').collect();
    if parts.get(1) == Some(&"core") && parts.len() == 3 && !NAMESPACED_CORE.contains(&parts[2]) {
        ctx.key_error(
            path,
            format!("`{key}` is host-wide: a network namespace does not have it"),
        )
        .help(format!(
            "a node can set these net.core keys: {}",
            NAMESPACED_CORE.join(", ")
        ));
        return None;
    }
    // net.ipv4.conf.IFACE.x and net.ipv6.conf.IFACE.x must name an interface of the node.
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
                ctx.address_warning(
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
    if local.is_ipv4() != remote.is_ipv4() {
        ctx.error(
            &path.key("remote"),
            format!("`{remote}` and the local address `{local}` are of different IP versions"),
        )
        .help("an IPsec tunnel's outer addresses are both IPv4 or both IPv6");
        return None;
    }
    for (key, spi) in [("spi_out", t.spi_out), ("spi_in", t.spi_in)] {
        if spi == Some(0) {
            ctx.error(
                &path.key(key),
                "SPI 0 is reserved (RFC 4303): the kernel refuses it",
            )
            .help("use a value from 256 up, or leave it out to have one derived");
            return None;
        }
    }
    if !node.has_address(local) {
        ctx.address_warning(
            &path.key("local"),
            format!("`{local}` is not an address of node `{}`", node.name),
        )
        .help("the gateway's outer address is normally one of its own");
    }
    // Both gateways derive the same SPIs from the tunnel name and the direction, so that
    // a pair written on two nodes matches without coordination.
    let spi = |from: IpAddr, to: IpAddr| -> u32 {
        0x100
            + (crate::front::stable_hash::fnv1a(&format!("{}|{from}|{to}", t.name)) % 0xfff0) as u32
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

/// Peers named as "node:iface" must be WireGuard interfaces of the lab.
pub fn check_wireguard_peers(ctx: &mut Ctx, nodes: &[Node]) {
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
}
