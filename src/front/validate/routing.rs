//! Routes and policy routing rules of a node.

use std::net::IpAddr;

use super::ctx::{Ctx, Help};
use super::{iface_of, values};
use crate::front::diag::did_you_mean;
use crate::front::lab::{Family, Node, Route, RouteType, Rule, RuleAction};
use crate::front::source::TomlPath;
use crate::front::spec;

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
        ctx.address_warning(&path.key("via"), format!("gateway `{v}` is not on a subnet of {on}"))
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

pub fn rule(ctx: &mut Ctx, path: &TomlPath, r: &spec::Rule, node: &Node) -> Option<Rule> {
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
