//! Steps: every action resolved against the lab's nodes and interfaces.

use std::collections::BTreeSet;
use std::time::Duration;

use super::checks::Defaults;
use super::ctx::{Ctx, Help};
use super::{Names, iface_ref, node_ref, values};
use crate::front::lab::{Action, Lab, NodeId, Step};
use crate::front::source::TomlPath;
use crate::front::spec;

pub fn resolve(
    ctx: &mut Ctx,
    path: &TomlPath,
    s: &spec::Step,
    lab: &Lab,
    names: &Names,
    defaults: &Defaults,
) -> Option<Step> {
    if s.name.trim().is_empty() {
        ctx.error(&path.key("name"), "empty step name")
            .help("name the step: reports and snapshots show it");
    }
    if s.actions.is_empty() && s.checks.is_empty() {
        ctx.error(path, format!("step `{}` does nothing", s.name))
            .help("add [[steps.actions]] or [[steps.checks]]");
    }
    let mut actions = Vec::new();
    for (i, a) in s.actions.iter().enumerate() {
        if let Some(action) = action(ctx, &path.key("actions").idx(i), a, lab, names) {
            actions.push(action);
        }
    }
    let mut checks = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, c) in s.checks.iter().enumerate() {
        let cp = path.key("checks").idx(i);
        if let Some(check) = super::checks::resolve(ctx, &cp, c, lab, names, defaults) {
            if !seen.insert(check.name.clone()) {
                super::duplicate_check(ctx, &cp, &check.name);
            }
            checks.push(check);
        }
    }
    Some(Step {
        name: s.name.clone(),
        actions,
        checks,
    })
}

const VERBS: [&str; 16] = [
    "down",
    "up",
    "flap",
    "set_mtu",
    "impair",
    "clear",
    "partition",
    "heal",
    "exec",
    "nft",
    "route_add",
    "route_del",
    "sysctl",
    "start",
    "stop",
    "kill",
];

fn action(
    ctx: &mut Ctx,
    path: &TomlPath,
    a: &spec::Action,
    lab: &Lab,
    names: &Names,
) -> Option<Action> {
    let set = [
        a.down.is_some(),
        a.up.is_some(),
        a.flap.is_some(),
        a.set_mtu.is_some(),
        a.impair.is_some(),
        a.clear.is_some(),
        a.partition.is_some(),
        a.heal.is_some(),
        a.exec.is_some(),
        a.nft.is_some(),
        a.route_add.is_some(),
        a.route_del.is_some(),
        a.sysctl.is_some(),
        a.start.is_some(),
        a.stop.is_some(),
        a.kill.is_some(),
    ];
    let verbs: Vec<&str> = VERBS
        .iter()
        .zip(set)
        .filter(|(_, s)| *s)
        .map(|(v, _)| *v)
        .collect();
    let verb = match verbs.as_slice() {
        [v] => *v,
        [] => {
            ctx.error(path, "an action needs a verb")
                .help(format!("one of: {}", VERBS.join(", ")));
            return None;
        }
        [_, second, ..] => {
            ctx.key_error(
                &path.key(*second),
                format!(
                    "an action has one verb, this one has {}",
                    verbs.join(" and ")
                ),
            )
            .help("write one action per verb, in order");
            return None;
        }
    };
    // Keys that belong to other verbs are mistakes, not silently ignored.
    const NODE_VERBS: &[&str] = &[
        "exec",
        "nft",
        "route_add",
        "route_del",
        "sysctl",
        "start",
        "stop",
        "kill",
    ];
    let extras: [(&str, bool, &[&str]); 5] = [
        ("node", a.node.is_some(), NODE_VERBS),
        ("times", a.times.is_some(), &["flap"]),
        ("period", a.period.is_some(), &["flap"]),
        ("mtu", a.mtu.is_some(), &["set_mtu"]),
        ("with", a.with.is_some(), &["impair"]),
    ];
    let mut misplaced = false;
    for (key, is_set, verbs) in extras {
        if is_set && !verbs.contains(&verb) {
            let d = ctx.key_error(
                &path.key(key),
                format!("`{key}` does not apply to `{verb}`"),
            );
            if key == "node" && matches!(verb, "partition" | "heal") {
                d.help(format!(
                    "`{verb}` lists its two nodes itself; remove `node`"
                ));
            } else if key == "node" {
                d.help(format!(
                    "`{verb}` names its interface as \"node:iface\"; remove `node`"
                ));
            } else {
                d.help(format!("`{key}` goes with {}", verbs.join(" / ")));
            }
            misplaced = true;
        }
    }
    if misplaced {
        return None;
    }
    let vpath = path.key(verb);
    let iface = |ctx: &mut Ctx, text: &str| iface_ref(ctx, &vpath, text, &lab.nodes, names);
    let node = |ctx: &mut Ctx| -> Option<NodeId> {
        match &a.node {
            Some(n) => node_ref(ctx, &path.key("node"), n, names),
            None => {
                ctx.error(path, format!("`{verb}` needs the `node` it applies to"))
                    .help("add node = \"...\"");
                None
            }
        }
    };
    let pair = |ctx: &mut Ctx, list: &Vec<String>| -> Option<(NodeId, NodeId)> {
        if list.len() != 2 {
            ctx.error(
                &vpath,
                format!("`{verb}` takes two node names, got {}", list.len()),
            )
            .help("e.g. [\"a\", \"b\"]");
            return None;
        }
        let x = node_ref(ctx, &vpath.idx(0), &list[0], names);
        let y = node_ref(ctx, &vpath.idx(1), &list[1], names);
        let (x, y) = (x?, y?);
        if x == y {
            ctx.error(&vpath, format!("`{verb}` names `{}` twice", list[0]))
                .help("name the two nodes traffic between which is cut or restored");
            return None;
        }
        Some((x, y))
    };
    let service = |ctx: &mut Ctx, n: NodeId, svc: &str| -> Option<String> {
        if lab.node(n).services.iter().any(|s| s.name == svc) {
            Some(svc.to_string())
        } else {
            let known: Vec<&str> = lab
                .node(n)
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            let d = ctx.error(
                &vpath,
                format!("node `{}` has no service `{svc}`", lab.node(n).name),
            );
            match crate::front::diag::did_you_mean(svc, known.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("declare it in [[nodes.NAME.services]]"),
            }
            None
        }
    };
    Some(match verb {
        "down" => {
            let (node, iface) = iface(ctx, a.down.as_deref()?)?;
            Action::Down { node, iface }
        }
        "up" => {
            let (node, iface) = iface(ctx, a.up.as_deref()?)?;
            Action::Up { node, iface }
        }
        "flap" => {
            let (node, iface) = iface(ctx, a.flap.as_deref()?)?;
            let period = match &a.period {
                Some(p) => ctx.value(&path.key("period"), p, values::duration)?,
                None => Duration::from_millis(500),
            };
            let times = a.times.unwrap_or(1);
            if times == 0 {
                ctx.error(&path.key("times"), "flapping 0 times does nothing")
                    .help("use 1 or more");
                return None;
            }
            Action::Flap {
                node,
                iface,
                times,
                period,
            }
        }
        "set_mtu" => {
            let (node, iface) = iface(ctx, a.set_mtu.as_deref()?)?;
            let Some(mtu) = a.mtu else {
                ctx.error(path, "`set_mtu` needs `mtu`")
                    .help("add mtu = 1400");
                return None;
            };
            super::links::check_mtu(ctx, &path.key("mtu"), mtu);
            Action::SetMtu { node, iface, mtu }
        }
        "impair" => {
            let (node, iface) = iface(ctx, a.impair.as_deref()?)?;
            let Some(with) = &a.with else {
                ctx.error(path, "`impair` needs `with`")
                    .help("add with = { loss = \"10%\" }");
                return None;
            };
            if with.from.is_some() {
                ctx.key_error(
                    &path.key("with").key("from"),
                    "the action already names the interface whose egress is impaired",
                )
                .help("remove `from`");
                return None;
            }
            let impairment = super::links::impairment(ctx, &path.key("with"), with)?;
            Action::Impair {
                node,
                iface,
                impairment,
            }
        }
        "clear" => {
            let (node, iface) = iface(ctx, a.clear.as_deref()?)?;
            Action::Clear { node, iface }
        }
        "partition" => {
            let (x, y) = pair(ctx, a.partition.as_ref()?)?;
            Action::Partition { a: x, b: y }
        }
        "heal" => {
            let (x, y) = pair(ctx, a.heal.as_ref()?)?;
            Action::Heal { a: x, b: y }
        }
        "exec" => Action::Exec {
            node: node(ctx)?,
            cmd: a.exec.clone()?,
        },
        "nft" => Action::Nft {
            node: node(ctx)?,
            ruleset: a.nft.clone()?,
        },
        "route_add" | "route_del" => {
            let n = node(ctx)?;
            let r = if verb == "route_add" {
                a.route_add.as_ref()?
            } else {
                a.route_del.as_ref()?
            };
            let route = super::routing::route(ctx, &vpath, r, lab.node(n), false)?;
            if verb == "route_add" {
                Action::RouteAdd { node: n, route }
            } else {
                Action::RouteDel { node: n, route }
            }
        }
        "sysctl" => {
            let n = node(ctx)?;
            let mut values_out = Vec::new();
            let mut ok = true;
            for (k, v) in a.sysctl.as_ref()? {
                match super::node_config::sysctl(ctx, &vpath.key(k), k, v, lab.node(n)) {
                    Some(v) => values_out.push((k.clone(), v)),
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            Action::Sysctl {
                node: n,
                values: values_out,
            }
        }
        "start" | "stop" | "kill" => {
            let n = node(ctx)?;
            let name = match verb {
                "start" => a.start.as_deref()?,
                "stop" => a.stop.as_deref()?,
                _ => a.kill.as_deref()?,
            };
            let svc = service(ctx, n, name)?;
            match verb {
                "start" => Action::Start {
                    node: n,
                    service: svc,
                },
                "stop" => Action::Stop {
                    node: n,
                    service: svc,
                },
                _ => Action::Kill {
                    node: n,
                    service: svc,
                },
            }
        }
        _ => return None,
    })
}
