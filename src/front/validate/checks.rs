//! `[[checks]]` (and the checks of steps): one probe, its options, and the expected outcome.

use std::time::Duration;

use super::ctx::{Ctx, Help};
use super::{Names, iface_of, node_ref, values};
use crate::front::diag::did_you_mean;
use crate::front::lab::{
    Check, Expectation, Hop, Lab, NodeId, Outcome, Probe, RouteExpect, TraceProto,
};
use crate::front::source::TomlPath;
use crate::front::spec::{self, LabFile};

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
        let timeout = d
            .timeout
            .and_then(|t| ctx.value(&path.key("timeout"), &t, values::duration))
            .filter(|t| {
                let zero = t.is_zero();
                if zero {
                    zero_timeout(ctx, &path.key("timeout"));
                }
                !zero
            });
        Defaults {
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
            within: d
                .within
                .and_then(|t| ctx.value(&path.key("within"), &t, values::duration)),
        }
    }
}

fn zero_timeout(ctx: &mut Ctx, path: &TomlPath) {
    ctx.error(path, "a zero timeout cannot observe anything")
        .help("use e.g. \"2s\"");
}

pub fn outcome(ctx: &mut Ctx, path: &TomlPath, text: &str) -> Option<Outcome> {
    if let Ok(o) = text.parse::<Outcome>() {
        return Some(o);
    }
    ctx.error(path, format!("unknown outcome `{text}`"))
        .help(outcome_help(text));
    None
}

/// The outcome of a single probe (a matrix cell): anything but `loop`, which only a trace
/// can find.
pub fn probe_outcome(ctx: &mut Ctx, path: &TomlPath, text: &str) -> Option<Outcome> {
    let o = outcome(ctx, path, text)?;
    if o == Outcome::Loop {
        ctx.error(path, "a single probe cannot observe `loop`")
            .help("a probe caught in a loop sees `ttl-exceeded`; a `trace` check shows the loop");
        return None;
    }
    Some(o)
}

/// Words people write from habit, and the outcome they mean.
const SYNONYMS: &[(&str, &str)] = &[
    ("pass", "ok"),
    ("passed", "ok"),
    ("success", "ok"),
    ("succeeds", "ok"),
    ("reachable", "ok"),
    ("up", "ok"),
    ("open", "ok"),
    ("connected", "ok"),
    ("accepted", "ok"),
    ("answered", "ok"),
    ("drop", "timeout"),
    ("dropped", "timeout"),
    ("filtered", "timeout"),
    ("silent", "timeout"),
    ("no-answer", "timeout"),
    ("no-reply", "timeout"),
    ("lost", "timeout"),
    ("reset", "refused"),
    ("rst", "refused"),
    ("closed", "refused"),
    ("connection-refused", "refused"),
    ("ttl", "ttl-exceeded"),
    ("time-exceeded", "ttl-exceeded"),
    ("time-to-live-exceeded", "ttl-exceeded"),
    ("looping", "loop"),
    ("routing-loop", "loop"),
    ("prohibited", "admin-prohibited"),
    ("administratively-prohibited", "admin-prohibited"),
    ("rejected", "admin-prohibited"),
    ("mtu", "frag-needed"),
    ("pmtu", "frag-needed"),
    ("fragmentation-needed", "frag-needed"),
    ("packet-too-big", "frag-needed"),
    ("too-big", "frag-needed"),
    ("destination-host-unreachable", "host-unreachable"),
    ("no-arp", "host-unreachable"),
    ("network-unreachable", "net-unreachable"),
    ("destination-net-unreachable", "net-unreachable"),
    ("destination-port-unreachable", "port-unreachable"),
    ("port-closed", "port-unreachable"),
    ("no-route-to-host", "no-route"),
    ("unroutable", "no-route"),
];

/// What the author probably meant: the spelling of an outcome, a synonym from habit
/// ("success", "closed"), or a typo of either.
fn outcome_help(text: &str) -> String {
    let all: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    let norm = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    if let Some(o) = all.iter().find(|o| **o == norm) {
        return format!("write it `{o}`: outcomes are lowercase words joined by `-`");
    }
    if matches!(
        norm.as_str(),
        "unreachable" | "fail" | "failed" | "failure" | "error" | "blocked" | "down"
    ) {
        return "say how it fails: `timeout` (no answer), `refused` (TCP reset), `no-route` \
                (the sender has no route), or the ICMP error seen: `host-unreachable`, \
                `net-unreachable`, `port-unreachable`, `admin-prohibited`, `ttl-exceeded`, \
                `frag-needed`"
            .to_string();
    }
    let words = all.iter().copied().chain(SYNONYMS.iter().map(|(w, _)| *w));
    match did_you_mean(&norm, words) {
        Some(w) => {
            let o = SYNONYMS
                .iter()
                .find(|(s, _)| *s == w)
                .map_or(w, |(_, o)| *o);
            format!("did you mean `{o}`?")
        }
        None => format!("outcomes: {}", all.join(", ")),
    }
}

const PROBES: [&str; 5] = ["ping", "tcp", "udp", "route", "trace"];

/// Default highest TTL of a trace, as traceroute's.
pub const DEFAULT_MAX_HOPS: u8 = 30;

/// Probe options and the probe kinds that take them.
const OPTIONS: [(&str, &[&str]); 10] = [
    ("count", &["ping"]),
    ("size", &["ping", "udp"]),
    ("dont_fragment", &["ping", "udp"]),
    ("ttl", &["ping", "tcp", "udp"]),
    ("iif", &["route"]),
    ("send", &["tcp"]),
    ("timeout", &["ping", "tcp", "udp", "trace"]),
    ("proto", &["trace"]),
    ("port", &["trace"]),
    ("max_hops", &["trace"]),
];

fn options_set(c: &spec::Check) -> [bool; 10] {
    [
        c.count.is_some(),
        c.size.is_some(),
        c.dont_fragment.is_some(),
        c.ttl.is_some(),
        c.iif.is_some(),
        c.send.is_some(),
        c.timeout.is_some(),
        c.proto.is_some(),
        c.port.is_some(),
        c.max_hops.is_some(),
    ]
}

/// Resolve one check. Every part is checked even when another is wrong, so that one run
/// reports every mistake of the check.
pub fn resolve(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    lab: &Lab,
    names: &Names,
    defaults: &Defaults,
) -> Option<Check> {
    if c.command.is_some() {
        return super::command_check::resolve(ctx, path, c, lab, names, defaults);
    }
    let from = node_ref(ctx, &path.key("from"), &c.from, names);
    let given: Vec<(&str, &String)> = PROBES
        .iter()
        .zip([&c.ping, &c.tcp, &c.udp, &c.route, &c.trace])
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let probe_kind = match given.as_slice() {
        [one] => Some(*one),
        [] => {
            ctx.error(
                path,
                "a check needs a probe: one of `ping`, `tcp`, `udp`, `route`, `command` or `trace`",
            )
            .help("e.g. ping = \"10.0.0.2\"");
            None
        }
        [_, second, ..] => {
            let keys: Vec<String> = given
                .iter()
                .map(|(k, v)| format!("{k} = \"{v}\""))
                .collect();
            ctx.key_error(
                &path.key(second.0),
                format!("a check has one probe, this one has {}", keys.join(" and ")),
            )
            .help("split it into two [[checks]]");
            None
        }
    };
    let kind = probe_kind.map(|(k, _)| k);
    let mut ok = options_fit(ctx, path, c, kind);
    let source = c
        .source
        .as_ref()
        .and_then(|s| ctx.value(&path.key("source"), s, values::address));
    ok &= c.source.is_none() || source.is_some();
    let timeout = match &c.timeout {
        Some(t) => match ctx.value(&path.key("timeout"), t, values::duration) {
            Some(d) if d.is_zero() => {
                zero_timeout(ctx, &path.key("timeout"));
                None
            }
            d => d,
        },
        None => Some(defaults.timeout),
    };
    let within = match &c.within {
        Some(w) => ctx
            .value(&path.key("within"), w, values::duration)
            .map(Some),
        None => Some(defaults.within),
    };
    let probe = probe_kind.and_then(|(kind, target)| probe(ctx, path, c, kind, target, source));
    if let (Some(p), Some(f)) = (&probe, from) {
        ok &= probe_on_node(ctx, path, c, p, lab, f);
    }
    let expect = expectation(ctx, path, c, kind);
    let via = c
        .via
        .as_ref()
        .and_then(|v| ctx.value(&path.key("via"), v, values::address));
    ok &= c.via.is_none() || via.is_some();
    if let Some(expect) = &expect {
        ok &= expect_fits(ctx, path, c, expect);
    }
    if let (Some(_), Some(Expectation::Outcome(o))) = (&c.within, &expect)
        && *o != Outcome::Ok
    {
        ctx.warning(&path.key("within"), format!("`within` polls until a check passes; `{o}` is observed for the whole timeout instead"))
            .help("remove `within`: a negative outcome must hold until the timeout");
    }
    let dropped = c
        .dropped
        .as_ref()
        .map(|d| dropped(ctx, &path.key("dropped"), d, lab, names, expect.as_ref()));
    ok &= dropped.as_ref().is_none_or(Option::is_some);
    if c.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        ctx.error(&path.key("name"), "empty check name")
            .help("remove `name` to have one derived from the probe");
        ok = false;
    }
    let (from, probe, expect, timeout, within) = (from?, probe?, expect?, timeout?, within?);
    if !ok {
        return None;
    }
    let name = c.name.clone().unwrap_or_else(|| {
        // A trace's name says its protocol and port too: traces of one address over icmp
        // and udp are different checks.
        let target = match &probe {
            Probe::Trace { .. } => probe.target(),
            _ => probe_kind.map_or(String::new(), |(_, t)| t.clone()),
        };
        format!("{} {} {target}", lab.node(from).name, probe.kind())
    });
    Some(Check {
        name,
        from,
        probe,
        expect,
        via,
        mtu: c.mtu,
        within,
        timeout,
        dropped: dropped.flatten(),
    })
}

/// `dropped = { node, reason, interface }`: a node or switch of the lab, an interface of
/// it, and never with an expectation that the packets arrive.
fn dropped(
    ctx: &mut Ctx,
    path: &TomlPath,
    d: &spec::Dropped,
    lab: &Lab,
    names: &Names,
    expect: Option<&Expectation>,
) -> Option<crate::front::lab::DropExpect> {
    let mut ok = true;
    if matches!(expect, Some(Expectation::Outcome(Outcome::Ok))) {
        ctx.key_error(
            path,
            "`dropped` with `expect = \"ok\"`: a probe that was answered was not dropped",
        )
        .help("expect the outcome the drop causes, e.g. expect = \"timeout\"");
        ok = false;
    }
    if matches!(expect, Some(Expectation::Route(_))) {
        ctx.key_error(
            path,
            "`dropped` does not apply to a route check: a lookup sends no packet",
        )
        .help("use a ping, tcp or udp check");
        ok = false;
    }
    let reason = d.reason.trim().to_ascii_lowercase().replace('_', "-");
    let reason = reason.trim_start_matches("skb-drop-reason-").to_string();
    if reason.is_empty() {
        ctx.error(&path.key("reason"), "empty drop reason")
            .help("e.g. reason = \"ip-rpfilter\" or \"netfilter-drop\"");
        ok = false;
    }
    let node = if names.switches.contains_key(&d.node) && !names.nodes.contains_key(&d.node) {
        if d.interface.is_some() {
            ctx.key_error(
                &path.key("interface"),
                "a switch's ports are not named in the lab",
            )
            .help("remove `interface`");
            ok = false;
        }
        Some(format!("switch:{}", d.node))
    } else {
        node_ref(ctx, &path.key("node"), &d.node, names).map(|id| {
            if let Some(i) = &d.interface
                && iface_of(ctx, &path.key("interface"), lab.node(id), i).is_none()
            {
                ok = false;
            }
            lab.node(id).name.clone()
        })
    };
    let node = node?;
    ok.then(|| crate::front::lab::DropExpect {
        node,
        reason,
        interface: d.interface.clone(),
    })
}

/// Options that only make sense for some probes.
fn options_fit(ctx: &mut Ctx, path: &TomlPath, c: &spec::Check, kind: Option<&str>) -> bool {
    let Some(kind) = kind else { return true };
    let mut ok = true;
    for ((key, kinds), set) in OPTIONS.iter().zip(options_set(c)) {
        if set && !kinds.contains(&kind) {
            ctx.key_error(
                &path.key(*key),
                format!("`{key}` does not apply to a {kind} check"),
            )
            .help(format!(
                "`{key}` is an option of {} checks",
                kinds.join(" / ")
            ));
            ok = false;
        }
    }
    ok
}

fn probe(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    kind: &str,
    target: &str,
    source: Option<std::net::IpAddr>,
) -> Option<Probe> {
    let tpath = path.key(kind);
    let mut ok = true;
    if c.ttl == Some(0) {
        ctx.error(&path.key("ttl"), "ttl 0 is not a TTL")
            .help("use 1 to 255; 1 reaches only the next hop");
        ok = false;
    }
    if c.count == Some(0) {
        ctx.error(&path.key("count"), "count 0 sends nothing")
            .help("use 1 or more");
        ok = false;
    }
    // 65535 minus the IPv4 and ICMP/UDP headers.
    if let Some(size) = c.size
        && size > 65507
    {
        ctx.error(
            &path.key("size"),
            format!("size {size} does not fit in an IP packet"),
        )
        .help("use at most 65507 bytes");
        ok = false;
    }
    if c.send == Some(0) {
        ctx.error(&path.key("send"), "send 0 transfers nothing")
            .help("remove `send` to only connect, or give a byte count");
        ok = false;
    }
    let probe = match kind {
        "ping" => Probe::Ping {
            dst: ctx.value(&tpath, target, values::address)?,
            count: c.count.unwrap_or(1),
            size: c.size.unwrap_or(56),
            dont_fragment: c.dont_fragment.unwrap_or(false),
            ttl: c.ttl,
            source,
        },
        "tcp" | "udp" => {
            let dst = ctx.value(&tpath, target, values::socket_address)?;
            if dst.port() == 0 {
                ctx.error(&tpath, format!("port 0 is not a port (in `{target}`)"))
                    .help("use 1 to 65535");
                return None;
            }
            if kind == "tcp" {
                Probe::Tcp {
                    dst,
                    ttl: c.ttl,
                    source,
                    send: c.send,
                }
            } else {
                Probe::Udp {
                    dst,
                    size: c.size.unwrap_or(32),
                    dont_fragment: c.dont_fragment.unwrap_or(false),
                    ttl: c.ttl,
                    source,
                }
            }
        }
        "trace" => trace_probe(ctx, path, c, target, source)?,
        _ => Probe::Route {
            dst: ctx.value(&tpath, target, values::address)?,
            source,
            iif: c.iif.clone(),
        },
    };
    if let Some(s) = source
        && s.is_ipv4() != probe_family_v4(&probe)
    {
        ctx.error(
            &path.key("source"),
            format!("source `{s}` and the {kind} target are of different address families"),
        )
        .help("use a source address of the target's family");
        return None;
    }
    ok.then_some(probe)
}

/// A trace's target, protocol, port and TTL range.
fn trace_probe(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    target: &str,
    source: Option<std::net::IpAddr>,
) -> Option<Probe> {
    let mut ok = true;
    let proto = match c.proto.as_deref() {
        None | Some("icmp") => TraceProto::Icmp,
        Some("udp") => TraceProto::Udp,
        Some("tcp") => TraceProto::Tcp,
        Some(other) => {
            let d = ctx.error(
                &path.key("proto"),
                format!("unknown trace protocol `{other}`"),
            );
            match did_you_mean(other, ["icmp", "udp", "tcp"]) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("use \"icmp\" (the default), \"udp\" or \"tcp\""),
            };
            ok = false;
            TraceProto::Icmp
        }
    };
    let port = match (proto, c.port) {
        (TraceProto::Icmp, Some(_)) if ok => {
            ctx.key_error(&path.key("port"), "an ICMP trace has no port")
                .help("add proto = \"udp\" or proto = \"tcp\", or remove `port`");
            ok = false;
            0
        }
        (_, Some(0)) => {
            ctx.error(&path.key("port"), "port 0 is not a port")
                .help("use 1 to 65535");
            ok = false;
            0
        }
        (_, Some(p)) => p,
        (TraceProto::Udp, None) => 33434,
        (TraceProto::Tcp, None) => 80,
        (TraceProto::Icmp, None) => 0,
    };
    if c.max_hops == Some(0) {
        ctx.error(&path.key("max_hops"), "max_hops 0 probes nothing")
            .help("use 1 to 255; traceroute's default is 30");
        ok = false;
    }
    // A trace names an address; `tcp`-style "address:port" is a common slip.
    if let Ok(sa) = target.parse::<std::net::SocketAddr>() {
        ctx.error(
            &path.key("trace"),
            format!("a trace goes to an address, not to `{target}`"),
        )
        .help(format!(
            "write trace = \"{}\" with proto = \"udp\" or \"tcp\" and port = {}",
            sa.ip(),
            sa.port()
        ));
        return None;
    }
    let dst = ctx.value(&path.key("trace"), target, values::address)?;
    ok.then_some(Probe::Trace {
        dst,
        proto,
        port,
        max_hops: c.max_hops.unwrap_or(DEFAULT_MAX_HOPS),
        source,
    })
}

fn probe_family_v4(p: &Probe) -> bool {
    match p {
        Probe::Ping { dst, .. } | Probe::Route { dst, .. } | Probe::Trace { dst, .. } => {
            dst.is_ipv4()
        }
        Probe::Tcp { dst, .. } | Probe::Udp { dst, .. } => dst.is_ipv4(),
        Probe::Command { .. } => true,
    }
}

/// What the probe needs from the node it runs in.
fn probe_on_node(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    probe: &Probe,
    lab: &Lab,
    from: NodeId,
) -> bool {
    let node = lab.node(from);
    if let (Probe::Route { .. }, Some(iif)) = (probe, &c.iif) {
        if iface_of(ctx, &path.key("iif"), node, iif).is_none() {
            return false;
        }
        // The kernel answers an input-interface lookup without a source with EINVAL.
        if c.source.is_none() {
            ctx.key_error(
                &path.key("iif"),
                "a lookup as if arriving on an interface needs the packet's `source`",
            )
            .help("add source = \"ADDRESS\", the sender the packet would come from");
            return false;
        }
    }
    if let (Probe::Route { .. }, Some(spec::Expect::Route(r))) = (probe, &c.expect)
        && let Some(dev) = &r.dev
        && iface_of(ctx, &path.key("expect").key("dev"), node, dev).is_none()
    {
        return false;
    }
    let source = match probe {
        Probe::Ping { source, .. }
        | Probe::Tcp { source, .. }
        | Probe::Udp { source, .. }
        | Probe::Trace { source, .. } => *source,
        Probe::Route { .. } | Probe::Command { .. } => None,
    };
    if let Some(s) = source
        && !node.has_address(s)
    {
        ctx.address_warning(
            &path.key("source"),
            format!("`{s}` is not an address of node `{}`", node.name),
        )
        .help("the probe cannot bind it unless a setup command adds it");
    }
    true
}

/// `via` and `mtu` qualify some outcomes only.
fn expect_fits(ctx: &mut Ctx, path: &TomlPath, c: &spec::Check, expect: &Expectation) -> bool {
    let mut ok = true;
    match expect {
        Expectation::Outcome(o)
            if c.via.is_some()
                && matches!(
                    o,
                    Outcome::Ok | Outcome::Timeout | Outcome::Refused | Outcome::NoRoute
                ) =>
        {
            ctx.key_error(&path.key("via"), format!("`via` names the sender of an ICMP error; `{o}` has none"))
                .help("use `via` with ttl-exceeded, host-unreachable, admin-prohibited, frag-needed and the other ICMP outcomes");
            ok = false;
        }
        Expectation::Path {
            outcome:
                Some(o @ (Outcome::Ok | Outcome::Timeout | Outcome::Refused | Outcome::NoRoute)),
            ..
        } if c.via.is_some() => {
            ctx.key_error(
                &path.key("via"),
                format!("`via` names the sender of an ICMP error; `{o}` has none"),
            )
            .help(
                "use `via` with loop, ttl-exceeded, host-unreachable and the other ICMP outcomes",
            );
            ok = false;
        }
        Expectation::Route(_) if c.via.is_some() => {
            ctx.key_error(
                &path.key("via"),
                "a route check compares the gateway inside `expect`",
            )
            .help("write expect = { via = \"...\" }");
            ok = false;
        }
        _ => {}
    }
    if c.mtu.is_some() && *expect != Expectation::Outcome(Outcome::FragNeeded) {
        ctx.key_error(
            &path.key("mtu"),
            "`mtu` is the next-hop MTU of a frag-needed error",
        )
        .help("use it with expect = \"frag-needed\"");
        ok = false;
    }
    ok
}

/// The expectation of a check; with no known probe kind, only what does not depend on it.
fn expectation(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    kind: Option<&str>,
) -> Option<Expectation> {
    let epath = path.key("expect");
    match (&c.expect, kind) {
        (None, Some("route")) => Some(Expectation::Route(RouteExpect {
            outcome: Some(Outcome::Ok),
            ..Default::default()
        })),
        (None, _) => Some(Expectation::Outcome(Outcome::Ok)),
        (Some(spec::Expect::Outcome(o)), Some("route")) => {
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
        (Some(spec::Expect::Outcome(o)), kind) => {
            let o = outcome(ctx, &epath, o)?;
            let Some(kind) = kind else {
                return Some(Expectation::Outcome(o));
            };
            let hint = match (kind, o) {
                ("trace", _) => None,
                (_, Outcome::Loop) => Some(
                    "`loop` is what a trace finds: use trace = \"ADDRESS\"; a single probe caught in a loop sees `ttl-exceeded`",
                ),
                ("ping", Outcome::Refused | Outcome::PortUnreachable) => {
                    Some("an ICMP echo has no port")
                }
                ("tcp", Outcome::PortUnreachable) => {
                    Some("a closed TCP port answers with a reset: expect \"refused\"")
                }
                ("udp", Outcome::Refused) => {
                    Some("udp reports a closed port as port-unreachable; `refused` is a TCP reset")
                }
                _ => None,
            };
            if let Some(hint) = hint {
                ctx.error(&epath, format!("a {kind} check cannot observe `{o}`"))
                    .help(hint);
                return None;
            }
            Some(Expectation::Outcome(o))
        }
        (Some(spec::Expect::Command(_)), _) => {
            ctx.error(
                &epath,
                "exit, stdout, stderr and json are what a command check expects",
            )
            .help("give the check a `command`, or expect an outcome such as \"ok\"");
            None
        }
        (Some(spec::Expect::Route(r)), Some("trace")) => path_expectation(ctx, &epath, r),
        (Some(spec::Expect::Route(r)), kind) => {
            for key in ["path", "outcome"] {
                let set = if key == "path" {
                    r.path.is_some()
                } else {
                    r.outcome.is_some()
                };
                if set {
                    let d = ctx.key_error(
                        &epath.key(key),
                        format!("`{key}` in `expect` belongs to trace checks"),
                    );
                    if key == "path" {
                        d.help("trace the path with trace = \"ADDRESS\"");
                    } else {
                        d.help("write the outcome itself, e.g. expect = \"no-route\"");
                    }
                    return None;
                }
            }
            let table = route_expectation(ctx, &epath, r);
            match kind {
                Some("route") | None => table.map(Expectation::Route),
                Some(kind) => {
                    ctx.error(&epath, format!("a {kind} check expects an outcome name"))
                        .help("e.g. expect = \"ok\"; route attributes belong to `route` checks");
                    None
                }
            }
        }
    }
}

/// `expect = { path = [...], outcome = "..." }` of a trace.
fn path_expectation(ctx: &mut Ctx, epath: &TomlPath, r: &spec::RouteExpect) -> Option<Expectation> {
    let mut ok = true;
    for (key, set) in [
        ("dev", r.dev.is_some()),
        ("via", r.via.is_some()),
        ("src", r.src.is_some()),
        ("type", r.kind.is_some()),
        ("table", r.table.is_some()),
    ] {
        if set {
            ctx.key_error(
                &epath.key(key),
                format!("`{key}` is a route attribute; a trace expects `path` and `outcome`"),
            )
            .help("check the route with a separate route = \"ADDRESS\" check");
            ok = false;
        }
    }
    let outcome = match &r.outcome {
        Some(o) => {
            let o = outcome(ctx, &epath.key("outcome"), o);
            ok &= o.is_some();
            o
        }
        None => None,
    };
    let Some(words) = &r.path else {
        if ok && outcome.is_none() {
            ctx.error(epath, "the trace expectation is empty")
                .help("give path = [\"10.0.0.1\", \"...\"] and/or outcome = \"loop\"");
            return None;
        }
        return ok.then_some(Expectation::Path {
            outcome,
            path: vec![Hop::Rest],
        });
    };
    let ppath = epath.key("path");
    if words.is_empty() {
        ctx.error(&ppath, "an empty path matches no trace")
            .help("list the hops from the first router on, e.g. [\"10.0.0.1\", \"...\"]");
        ok = false;
    }
    let mut path = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let hp = ppath.idx(i);
        match w.trim() {
            "*" => path.push(Hop::Silent),
            "..." if i + 1 == words.len() => path.push(Hop::Rest),
            "..." => {
                ctx.error(&hp, "`...` matches the rest of the path, so it comes last")
                    .help("use \"*\" for one silent hop in the middle of a path");
                ok = false;
            }
            w => match ctx.value(&hp, w, values::address) {
                Some(a) => path.push(Hop::Addr(a)),
                None => ok = false,
            },
        }
    }
    ok.then_some(Expectation::Path { outcome, path })
}

fn route_expectation(
    ctx: &mut Ctx,
    epath: &TomlPath,
    r: &spec::RouteExpect,
) -> Option<RouteExpect> {
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
    let mut ok = true;
    let mut addr = |ctx: &mut Ctx, key: &str, v: &Option<String>| {
        let parsed = v
            .as_ref()
            .and_then(|s| ctx.value(&epath.key(key), s, values::address));
        ok &= v.is_none() || parsed.is_some();
        parsed
    };
    let via = addr(ctx, "via", &r.via);
    let src = addr(ctx, "src", &r.src);
    if let Some(t) = &r.kind
        && !TYPES.contains(&t.as_str())
    {
        let d = ctx.error(&epath.key("type"), format!("unknown route type `{t}`"));
        match did_you_mean(t, TYPES.iter().copied()) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!("route types: {}", TYPES.join(", "))),
        }
        ok = false;
    }
    if r == &spec::RouteExpect::default() {
        ctx.error(epath, "the route expectation is empty")
            .help("give any of dev, via, src, type, table");
        ok = false;
    }
    ok.then(|| RouteExpect {
        dev: r.dev.clone(),
        via,
        src,
        kind: r.kind.clone(),
        table: r.table,
        outcome: None,
    })
}
