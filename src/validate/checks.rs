use std::net::IpAddr;
use std::time::Duration;

use super::ctx::{Ctx, Help};
use super::{Names, node_ref, values};
use crate::diag::did_you_mean;
use crate::lab::{
    Check, Expectation, Lab, Matrix, MatrixPair, MatrixProbe, Outcome, Probe, RouteExpect,
};
use crate::source::TomlPath;
use crate::spec::{self, LabFile};

/// Default per-probe timeout. Longer than the kernel's neighbour resolution (3 probes one
/// second apart) so that an address nobody answers ARP for is reported as
/// host-unreachable, not as timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default timeout of matrix probes: reachability at scale, where a missing answer is
/// usually a filter, not a neighbour.
pub const DEFAULT_MATRIX_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Defaults {
    pub timeout: Duration,
    pub within: Option<Duration>,
}

impl Defaults {
    pub fn resolve(ctx: &mut Ctx, spec: &LabFile) -> Defaults {
        let path = TomlPath::root().key("defaults");
        let d = spec.defaults.clone().unwrap_or_default();
        Defaults {
            timeout: d
                .timeout
                .and_then(|t| ctx.value(&path.key("timeout"), &t, values::duration))
                .unwrap_or(DEFAULT_TIMEOUT),
            within: d
                .within
                .and_then(|t| ctx.value(&path.key("within"), &t, values::duration)),
        }
    }
}

fn outcome(ctx: &mut Ctx, path: &TomlPath, text: &str) -> Option<Outcome> {
    if let Ok(o) = text.parse::<Outcome>() {
        return Some(o);
    }
    let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    let d = ctx.error(path, format!("unknown outcome `{text}`"));
    match did_you_mean(text, all.iter().copied()).or_else(|| synonym(text)) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("outcomes: {}", all.join(", "))),
    }
    None
}

/// What people write from habit, mapped to the vocabulary.
fn synonym(text: &str) -> Option<&'static str> {
    match text.to_ascii_lowercase().replace(['_', ' '], "-").as_str() {
        "pass" | "success" | "reachable" | "up" | "open" => Some("ok"),
        "fail" | "unreachable" | "drop" | "dropped" | "filtered" => Some("timeout"),
        "reset" | "rst" | "closed" | "connection-refused" => Some("refused"),
        "ttl" | "time-exceeded" | "time-to-live-exceeded" => Some("ttl-exceeded"),
        "prohibited" | "admin" | "rejected" => Some("admin-prohibited"),
        "mtu" | "pmtu" | "fragmentation-needed" | "packet-too-big" => Some("frag-needed"),
        "destination-host-unreachable" => Some("host-unreachable"),
        "network-unreachable" => Some("net-unreachable"),
        _ => None,
    }
}

const PROBES: [&str; 4] = ["ping", "tcp", "udp", "route"];

pub fn resolve(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    lab: &Lab,
    names: &Names,
    defaults: &Defaults,
) -> Option<Check> {
    let from = node_ref(ctx, &path.key("from"), &c.from, names);
    let given: Vec<(&str, &String)> = PROBES
        .iter()
        .zip([&c.ping, &c.tcp, &c.udp, &c.route])
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let (kind, target) = match given.as_slice() {
        [one] => *one,
        [] => {
            ctx.error(
                path,
                "a check needs a probe: one of `ping`, `tcp`, `udp` or `route`",
            )
            .help("e.g. ping = \"10.0.0.2\"");
            return None;
        }
        [_, second, ..] => {
            let keys: Vec<&str> = given.iter().map(|(k, _)| *k).collect();
            ctx.key_error(
                &path.key(second.0),
                format!("a check has one probe, this one has {}", keys.join(" and ")),
            )
            .help("split it into two [[checks]]");
            return None;
        }
    };
    let tpath = path.key(kind);
    // Options that only make sense for some probes.
    let option_kinds: [(&str, bool, &[&str]); 7] = [
        ("count", c.count.is_some(), &["ping"]),
        ("size", c.size.is_some(), &["ping", "udp"]),
        ("dont_fragment", c.dont_fragment.is_some(), &["ping", "udp"]),
        ("ttl", c.ttl.is_some(), &["ping", "tcp", "udp"]),
        ("iif", c.iif.is_some(), &["route"]),
        ("send", c.send.is_some(), &["tcp"]),
        ("timeout", c.timeout.is_some(), &["ping", "tcp", "udp"]),
    ];
    let mut bad_option = false;
    for (key, set, kinds) in option_kinds {
        if set && !kinds.contains(&kind) {
            ctx.key_error(
                &path.key(key),
                format!("`{key}` does not apply to a {kind} check"),
            )
            .help(format!(
                "`{key}` is an option of {} checks",
                kinds.join(" / ")
            ));
            bad_option = true;
        }
    }
    let source = c
        .source
        .as_ref()
        .and_then(|s| ctx.value(&path.key("source"), s, values::address));
    let timeout = match &c.timeout {
        Some(t) => ctx.value(&path.key("timeout"), t, values::duration)?,
        None => defaults.timeout,
    };
    if timeout.is_zero() {
        ctx.error(
            &path.key("timeout"),
            "a zero timeout cannot observe anything",
        )
        .help("use e.g. \"2s\"");
        return None;
    }
    let within = match &c.within {
        Some(w) => Some(ctx.value(&path.key("within"), w, values::duration)?),
        None => defaults.within,
    };
    let probe = match kind {
        "ping" => {
            let dst = ctx.value(&tpath, target, values::address)?;
            if let Some(0) = c.count {
                ctx.error(&path.key("count"), "count 0 sends nothing")
                    .help("use 1 or more");
                return None;
            }
            if let Some(size) = c.size
                && size > 65507
            {
                ctx.error(
                    &path.key("size"),
                    format!("size {size} does not fit in an IP packet"),
                )
                .help("use at most 65507 bytes");
                return None;
            }
            Probe::Ping {
                dst,
                count: c.count.unwrap_or(1),
                size: c.size.unwrap_or(56),
                dont_fragment: c.dont_fragment.unwrap_or(false),
                ttl: c.ttl,
                source,
            }
        }
        "tcp" => {
            let dst = ctx.value(&tpath, target, values::socket_address)?;
            if dst.port() == 0 {
                ctx.error(&tpath, "port 0 is not a port")
                    .help("use 1 to 65535");
                return None;
            }
            Probe::Tcp {
                dst,
                ttl: c.ttl,
                source,
                send: c.send,
            }
        }
        "udp" => {
            let dst = ctx.value(&tpath, target, values::socket_address)?;
            if dst.port() == 0 {
                ctx.error(&tpath, "port 0 is not a port")
                    .help("use 1 to 65535");
                return None;
            }
            Probe::Udp {
                dst,
                size: c.size.unwrap_or(32),
                dont_fragment: c.dont_fragment.unwrap_or(false),
                ttl: c.ttl,
                source,
            }
        }
        _ => {
            let dst = ctx.value(&tpath, target, values::address)?;
            if let (Some(iif), Some(f)) = (&c.iif, from) {
                super::iface_of(ctx, &path.key("iif"), lab.node(f), iif)?;
            }
            Probe::Route {
                dst,
                source,
                iif: c.iif.clone(),
            }
        }
    };
    if let (Some(s), Some(f)) = (source, from)
        && kind != "route"
        && !lab.node(f).has_address(s)
    {
        ctx.warning(
            &path.key("source"),
            format!("`{s}` is not an address of node `{}`", lab.node(f).name),
        )
        .help("the probe cannot bind it unless a setup command adds it");
    }
    let expect = expectation(ctx, path, c, kind)?;
    let via = c
        .via
        .as_ref()
        .and_then(|v| ctx.value(&path.key("via"), v, values::address));
    if let (Some(_), Expectation::Outcome(o)) = (&c.via, &expect)
        && matches!(
            o,
            Outcome::Ok | Outcome::Timeout | Outcome::Refused | Outcome::NoRoute
        )
    {
        ctx.key_error(&path.key("via"), format!("`via` names the sender of an ICMP error; `{o}` has none"))
            .help("use `via` with ttl-exceeded, host-unreachable, admin-prohibited, frag-needed and the other ICMP outcomes");
        return None;
    }
    if c.via.is_some() && matches!(expect, Expectation::Route(_)) {
        ctx.key_error(
            &path.key("via"),
            "a route check compares the gateway inside `expect`",
        )
        .help("write expect = { via = \"...\" }");
        return None;
    }
    if c.mtu.is_some() && expect != Expectation::Outcome(Outcome::FragNeeded) {
        ctx.key_error(
            &path.key("mtu"),
            "`mtu` is the next-hop MTU of a frag-needed error",
        )
        .help("use it with expect = \"frag-needed\"");
        return None;
    }
    if within.is_some()
        && matches!(expect, Expectation::Outcome(o) if o != Outcome::Ok)
        && c.within.is_some()
    {
        ctx.warning(&path.key("within"), "`within` polls until a check passes; a negative outcome is observed for the whole timeout instead");
    }
    if bad_option {
        return None;
    }
    let from = from?;
    let name = c
        .name
        .clone()
        .unwrap_or_else(|| format!("{} {} {}", lab.node(from).name, kind, target));
    if name.trim().is_empty() {
        ctx.error(&path.key("name"), "empty check name");
        return None;
    }
    Some(Check {
        name,
        from,
        probe,
        expect,
        via,
        mtu: c.mtu,
        within,
        timeout,
    })
}

fn expectation(ctx: &mut Ctx, path: &TomlPath, c: &spec::Check, kind: &str) -> Option<Expectation> {
    let epath = path.key("expect");
    match (&c.expect, kind) {
        (None, "route") => Some(Expectation::Route(RouteExpect {
            outcome: Some(Outcome::Ok),
            ..Default::default()
        })),
        (None, _) => Some(Expectation::Outcome(Outcome::Ok)),
        (Some(spec::Expect::Outcome(o)), "route") => {
            let o = outcome(ctx, &epath, o)?;
            if !matches!(o, Outcome::Ok | Outcome::NoRoute) {
                ctx.error(&epath, format!("a route lookup cannot observe `{o}`"))
                    .help("route checks expect \"ok\", \"no-route\" or a table like { dev = \"eth0\", type = \"unreachable\" }");
                return None;
            }
            Some(Expectation::Route(RouteExpect {
                outcome: Some(o),
                ..Default::default()
            }))
        }
        (Some(spec::Expect::Outcome(o)), _) => {
            let o = outcome(ctx, &epath, o)?;
            let impossible = matches!(
                (kind, o),
                ("ping", Outcome::Refused | Outcome::PortUnreachable)
                    | ("tcp", Outcome::PortUnreachable)
                    | ("udp", Outcome::Refused)
            );
            if impossible {
                let hint = match o {
                    Outcome::Refused => {
                        "udp reports a closed port as port-unreachable; `refused` is a TCP reset"
                    }
                    Outcome::PortUnreachable if kind == "tcp" => {
                        "a closed TCP port answers with a reset: expect \"refused\""
                    }
                    _ => "an ICMP echo has no port",
                };
                ctx.error(&epath, format!("a {kind} check cannot observe `{o}`"))
                    .help(hint);
                return None;
            }
            Some(Expectation::Outcome(o))
        }
        (Some(spec::Expect::Route(r)), "route") => {
            let via = r
                .via
                .as_ref()
                .and_then(|v| ctx.value(&epath.key("via"), v, values::address));
            let src = r
                .src
                .as_ref()
                .and_then(|v| ctx.value(&epath.key("src"), v, values::address));
            const TYPES: [&str; 9] = [
                "unicast",
                "local",
                "broadcast",
                "anycast",
                "multicast",
                "blackhole",
                "unreachable",
                "prohibit",
                "throw",
            ];
            if let Some(t) = &r.kind
                && !TYPES.contains(&t.as_str())
            {
                let d = ctx.error(&epath.key("type"), format!("unknown route type `{t}`"));
                match did_you_mean(t, TYPES.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("route types: {}", TYPES.join(", "))),
                }
                return None;
            }
            if r == &spec::RouteExpect::default() {
                ctx.error(&epath, "the route expectation is empty")
                    .help("give any of dev, via, src, type, table");
                return None;
            }
            Some(Expectation::Route(RouteExpect {
                dev: r.dev.clone(),
                via,
                src,
                kind: r.kind.clone(),
                table: r.table,
                outcome: None,
            }))
        }
        (Some(spec::Expect::Route(_)), _) => {
            ctx.error(&epath, format!("a {kind} check expects an outcome name"))
                .help("e.g. expect = \"ok\"; route attributes belong to `route` checks");
            None
        }
    }
}

pub fn resolve_matrix(
    ctx: &mut Ctx,
    path: &TomlPath,
    m: &spec::Matrix,
    lab: &Lab,
    names: &Names,
    index: usize,
) -> Option<Matrix> {
    let probe = match m.probe.as_deref() {
        None | Some("ping") => MatrixProbe::Ping,
        Some(p) => match p.strip_prefix("tcp:").map(str::parse::<u16>) {
            Some(Ok(port)) if port > 0 => MatrixProbe::Tcp(port),
            _ => {
                ctx.error(&path.key("probe"), format!("unknown matrix probe `{p}`"))
                    .help("use \"ping\" or \"tcp:PORT\", e.g. \"tcp:80\"");
                return None;
            }
        },
    };
    let expect = match &m.expect {
        Some(e) => outcome(ctx, &path.key("expect"), e)?,
        None => Outcome::Ok,
    };
    let timeout = match &m.timeout {
        Some(t) => ctx.value(&path.key("timeout"), t, values::duration)?,
        None => DEFAULT_MATRIX_TIMEOUT,
    };
    let all: Vec<String> = lab.nodes.iter().map(|n| n.name.clone()).collect();
    let from_names = m.from.clone().unwrap_or_else(|| all.clone());
    let mut from = Vec::new();
    for (i, n) in from_names.iter().enumerate() {
        if let Some(id) = node_ref(ctx, &path.key("from").idx(i), n, names) {
            from.push(id);
        }
    }
    // Targets: a node stands for each of its addresses (loopback excluded).
    let to_names = m.to.clone().or_else(|| m.from.clone()).unwrap_or(all);
    let mut targets: Vec<(String, Option<crate::lab::NodeId>, IpAddr)> = Vec::new();
    for (i, t) in to_names.iter().enumerate() {
        if let Ok(a) = t.parse::<IpAddr>() {
            targets.push((t.clone(), None, a));
        } else if let Some(id) = node_ref(ctx, &path.key("to").idx(i), t, names) {
            let node = lab.node(id);
            let addrs: Vec<IpAddr> = node
                .addresses()
                .filter(|(i, a)| i.name != "lo" && !a.addr().is_loopback())
                .map(|(_, a)| a.addr())
                .collect();
            if addrs.is_empty() {
                ctx.warning(
                    &path.key("to").idx(i),
                    format!("node `{}` has no address to probe", node.name),
                );
            }
            for a in addrs {
                targets.push((t.clone(), Some(id), a));
            }
        }
    }
    let mut pairs = Vec::new();
    for &f in &from {
        for (label, node, addr) in &targets {
            if *node == Some(f) {
                continue;
            }
            pairs.push(MatrixPair {
                from: f,
                to: label.clone(),
                addr: *addr,
                expect,
            });
        }
    }
    for (i, e) in m.except.iter().enumerate() {
        let ep = path.key("except").idx(i);
        let Some(f) = node_ref(ctx, &ep.key("from"), &e.from, names) else {
            continue;
        };
        let Some(o) = outcome(ctx, &ep.key("expect"), &e.expect) else {
            continue;
        };
        let mut matched = false;
        for p in pairs
            .iter_mut()
            .filter(|p| p.from == f && (p.to == e.to || p.addr.to_string() == e.to))
        {
            p.expect = o;
            matched = true;
        }
        if !matched {
            ctx.error(
                &ep.key("to"),
                format!(
                    "no pair of this matrix goes from `{}` to `{}`",
                    e.from, e.to
                ),
            )
            .help("`to` is a target node of the matrix or one of its addresses");
        }
    }
    let name = m
        .name
        .clone()
        .unwrap_or_else(|| format!("matrix {}", index + 1));
    Some(Matrix {
        name,
        probe,
        pairs,
        timeout,
    })
}
