//! `[[matrix]]`: all-pairs reachability tables.

use std::net::IpAddr;

use super::checks::{DEFAULT_MATRIX_TIMEOUT, probe_outcome};
use super::ctx::{Ctx, Help};
use super::{Names, node_ref, values};
use crate::front::lab::{Lab, Matrix, MatrixPair, MatrixProbe, NodeId, Outcome};
use crate::front::source::TomlPath;
use crate::front::spec;

pub fn resolve(
    ctx: &mut Ctx,
    path: &TomlPath,
    m: &spec::Matrix,
    lab: &Lab,
    names: &Names,
    index: usize,
) -> Option<Matrix> {
    let mut ok = true;
    let probe = match m.probe.as_deref() {
        None | Some("ping") => Some(MatrixProbe::Ping),
        Some(p) => match p.strip_prefix("tcp:").map(str::parse::<u16>) {
            Some(Ok(port)) if port > 0 => Some(MatrixProbe::Tcp(port)),
            _ => {
                ctx.error(&path.key("probe"), format!("unknown matrix probe `{p}`"))
                    .help("use \"ping\" or \"tcp:PORT\", e.g. \"tcp:80\"");
                None
            }
        },
    };
    let expect = match &m.expect {
        Some(e) => probe_outcome(ctx, &path.key("expect"), e),
        None => Some(Outcome::Ok),
    };
    let timeout = match &m.timeout {
        Some(t) => ctx.value(&path.key("timeout"), t, values::duration),
        None => Some(DEFAULT_MATRIX_TIMEOUT),
    };
    let all: Vec<String> = lab.nodes.iter().map(|n| n.name.clone()).collect();
    let from_names = m.from.clone().unwrap_or_else(|| all.clone());
    let mut from = Vec::new();
    for (i, n) in from_names.iter().enumerate() {
        match node_ref(ctx, &path.key("from").idx(i), n, names) {
            Some(id) => from.push(id),
            None => ok = false,
        }
    }
    // Targets: a node stands for each of its addresses (loopback excluded). Without
    // `to`, the targets are the `from` nodes, whose names are already checked.
    let (to_names, check_names) = match (&m.to, &m.from) {
        (Some(to), _) => (to.clone(), true),
        (None, Some(from)) => (from.clone(), false),
        (None, None) => (all, false),
    };
    let mut targets: Vec<(String, Option<NodeId>, IpAddr)> = Vec::new();
    for (i, t) in to_names.iter().enumerate() {
        let id = if let Ok(a) = t.parse::<IpAddr>() {
            targets.push((t.clone(), None, a));
            continue;
        } else if check_names {
            node_ref(ctx, &path.key("to").idx(i), t, names)
        } else {
            names.nodes.get(t).copied()
        };
        let Some(id) = id else {
            ok = false;
            continue;
        };
        let node = lab.node(id);
        let addrs: Vec<IpAddr> = node
            .addresses()
            .filter(|(i, a)| i.name != "lo" && !a.addr().is_loopback())
            .map(|(_, a)| a.addr())
            .collect();
        if addrs.is_empty() {
            ctx.address_warning(
                &path.key(if check_names { "to" } else { "from" }).idx(i),
                format!("node `{}` has no address to probe", node.name),
            )
            .help("give it an address, or leave it out of the targets");
        }
        for a in addrs {
            targets.push((t.clone(), Some(id), a));
        }
    }
    let (Some(probe), Some(expect), Some(timeout)) = (probe, expect, timeout) else {
        return None;
    };
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
        let Some(o) = probe_outcome(ctx, &ep.key("expect"), &e.expect) else {
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
    if !ok {
        return None;
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
