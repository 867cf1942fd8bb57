//! Command checks: `command = "vtysh -c '...'"` with `expect = { exit, stdout, stderr,
//! json }`. Routing state is checked this way, inside the node.

use super::Names;
use super::checks::Defaults;
use super::ctx::{Ctx, Help};
use super::{node_ref, values};
use crate::front::lab::{Check, CommandExpect, ExitStatus, Expectation, Lab, Probe};
use crate::front::source::TomlPath;
use crate::front::spec;

/// Keys of a check that only network probes take.
fn network_keys(c: &spec::Check) -> Vec<&'static str> {
    let set = [
        ("ping", c.ping.is_some()),
        ("tcp", c.tcp.is_some()),
        ("udp", c.udp.is_some()),
        ("route", c.route.is_some()),
        ("via", c.via.is_some()),
        ("mtu", c.mtu.is_some()),
        ("count", c.count.is_some()),
        ("size", c.size.is_some()),
        ("dont_fragment", c.dont_fragment.is_some()),
        ("ttl", c.ttl.is_some()),
        ("source", c.source.is_some()),
        ("iif", c.iif.is_some()),
        ("send", c.send.is_some()),
    ];
    set.iter().filter(|(_, s)| *s).map(|(k, _)| *k).collect()
}

pub fn resolve(
    ctx: &mut Ctx,
    path: &TomlPath,
    c: &spec::Check,
    lab: &Lab,
    names: &Names,
    defaults: &Defaults,
) -> Option<Check> {
    let cmd = c.command.clone().unwrap_or_default();
    let from = node_ref(ctx, &path.key("from"), &c.from, names);
    let mut ok = true;
    if cmd.trim().is_empty() {
        ctx.error(&path.key("command"), "empty command")
            .help("write the command to run in the node, e.g. \"vtysh -c 'show ip route'\"");
        ok = false;
    }
    for key in network_keys(c) {
        ctx.key_error(
            &path.key(key),
            format!("`{key}` does not apply to a command check"),
        )
        .help("a check runs one probe: split it into two [[checks]]");
        ok = false;
    }
    let expect = match &c.expect {
        None => Some(CommandExpect {
            exit: Some(ExitStatus::Code(0)),
            ..Default::default()
        }),
        Some(spec::Expect::Command(e)) => expectation(ctx, &path.key("expect"), e),
        Some(_) => {
            ctx.error(
                &path.key("expect"),
                "a command check expects a table of exit, stdout, stderr and json",
            )
            .help("e.g. expect = { exit = 0, stdout = \"Full\" }");
            None
        }
    };
    let timeout = match &c.timeout {
        Some(t) => ctx.value(&path.key("timeout"), t, values::duration),
        // Commands (vtysh, curl) take longer than a packet: give them the probe default
        // or more.
        None => Some(defaults.timeout.max(std::time::Duration::from_secs(10))),
    };
    let within = match &c.within {
        Some(w) => ctx
            .value(&path.key("within"), w, values::duration)
            .map(Some),
        None => Some(defaults.within),
    };
    if c.dropped.is_some() {
        ctx.error(
            &path.key("dropped"),
            "`dropped` does not apply to a command check: it sends no probe of its own",
        )
        .help("assert where packets die on a ping, tcp, udp or trace check");
        ok = false;
    }
    if c.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        ctx.error(&path.key("name"), "empty check name")
            .help("remove `name` to have one derived from the command");
        ok = false;
    }
    let (from, expect, timeout, within) = (from?, expect?, timeout?, within?);
    if !ok {
        return None;
    }
    let name = c
        .name
        .clone()
        .unwrap_or_else(|| format!("{} command {cmd}", lab.node(from).name));
    Some(Check {
        name,
        from,
        probe: Probe::Command { cmd },
        expect: Expectation::Command(expect),
        via: None,
        mtu: None,
        within,
        timeout,
        dropped: None,
    })
}

fn expectation(ctx: &mut Ctx, path: &TomlPath, e: &spec::CommandExpect) -> Option<CommandExpect> {
    let mut ok = true;
    let exit = match &e.exit {
        None => None,
        Some(spec::ExitExpect::Code(n)) if (0..=255).contains(n) => {
            Some(ExitStatus::Code(*n as i32))
        }
        Some(spec::ExitExpect::Word(w)) if w == "nonzero" => Some(ExitStatus::Nonzero),
        Some(other) => {
            let shown = match other {
                spec::ExitExpect::Code(n) => n.to_string(),
                spec::ExitExpect::Word(w) => format!("\"{w}\""),
            };
            ctx.error(&path.key("exit"), format!("{shown} is not an exit status"))
                .help("use a number from 0 to 255, or \"nonzero\"");
            ok = false;
            None
        }
    };
    let pattern = |ctx: &mut Ctx, p: &TomlPath, re: &str| -> bool {
        match regex::Regex::new(re) {
            Ok(_) => true,
            Err(err) => {
                let msg = err.to_string();
                let last = msg.lines().last().unwrap_or("invalid").trim().to_string();
                ctx.error(p, format!("`{re}` is not a regular expression: {last}"))
                    .help("escape special characters with \\\\ (e.g. \"10\\\\.0\\\\.0\\\\.1\")");
                false
            }
        }
    };
    for (key, re) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
        if let Some(re) = re {
            ok &= pattern(ctx, &path.key(key), re);
        }
    }
    let mut json = Vec::new();
    for (pointer, re) in &e.json {
        let p = path.key("json").key(pointer);
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            ctx.name_error(&p, format!("`{pointer}` is not a JSON pointer"))
                .help("JSON pointers start with `/`, e.g. \"/neighbors/2.2.2.2/0/nbrState\"");
            ok = false;
            continue;
        }
        ok &= pattern(ctx, &p, re);
        json.push((pointer.clone(), re.clone()));
    }
    ok.then(|| CommandExpect {
        // Nothing about the exit status and nothing else either: exit 0.
        exit: exit.or(
            (e.stdout.is_none() && e.stderr.is_none() && json.is_empty())
                .then_some(ExitStatus::Code(0)),
        ),
        stdout: e.stdout.clone(),
        stderr: e.stderr.clone(),
        json,
    })
}
