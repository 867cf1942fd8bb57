//! Which flows a diff probes: the union of both labs' checks (by name), the cells of
//! their `[[matrix]]` tables, and an automatic matrix: ping from every node to every
//! address of every other node, and tcp/udp to every listener, over both labs' addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::front::lab::{Check, Lab, ListenProto, MatrixProbe, Probe};

/// Where a flow comes from, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// A check of either lab, by name.
    Check { name: String },
    /// A cell of a `[[matrix]]` table of either lab.
    Matrix { name: String },
    /// The automatic matrix between all addressed interfaces.
    Auto,
}

/// What to run in each lab: a check (the lab's own, or the other lab's where its node
/// exists), or a plain probe from a node named in both.
#[derive(Debug, Clone)]
pub enum Run {
    Check(Box<[Option<Check>; 2]>),
    Probe { probe: Probe, timeout: Duration },
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub origin: Origin,
    /// The probing node, by name.
    pub from: String,
    /// "ping 10.0.0.2", "tcp 10.0.0.2:80".
    pub probe: String,
    pub run: Run,
}

/// "peer ping 10.0.0.10", with the check's or matrix's name when it has one.
pub fn label(origin: &Origin, from: &str, probe: &str) -> String {
    match origin {
        Origin::Check { name } => format!("check \"{name}\": {from} {probe}"),
        Origin::Matrix { name } => format!("matrix \"{name}\": {from} {probe}"),
        Origin::Auto => format!("{from} {probe}"),
    }
}

/// The flows of a diff between `labs[0]` (base) and `labs[1]` (candidate).
///
/// A matrix cell or automatic flow that sends exactly what a check sends (same node, same
/// probe with the same options, in every lab that has the check) is that check's flow: it
/// gets no row of its own, so a flow is observed once, by the check, with the evidence
/// `topolab test` shows for it.
pub fn flows(labs: [&Lab; 2], auto: bool, timeout: Duration) -> Vec<Flow> {
    let mut out = check_flows(labs);
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut checked: BTreeMap<(String, String), Vec<Probe>> = BTreeMap::new();
    for f in &out {
        let Run::Check(per_lab) = &f.run else {
            continue;
        };
        let mut probes = per_lab.iter().flatten().map(|c| &c.probe);
        if let Some(first) = probes.next()
            && probes.all(|p| p == first)
        {
            checked
                .entry((f.from.clone(), f.probe.clone()))
                .or_default()
                .push(first.clone());
        }
    }
    for flow in matrix_flows(labs).into_iter().chain(if auto {
        auto_flows(labs, timeout)
    } else {
        Vec::new()
    }) {
        let key = (flow.from.clone(), flow.probe.clone());
        let is_check = match (&flow.run, checked.get(&key)) {
            (Run::Probe { probe, .. }, Some(probes)) => probes.contains(probe),
            _ => false,
        };
        if !is_check && seen.insert(key) {
            out.push(flow);
        }
    }
    out
}

fn check_flows(labs: [&Lab; 2]) -> Vec<Flow> {
    let mut names: Vec<&str> = Vec::new();
    for lab in labs {
        for c in &lab.checks {
            if !names.contains(&c.name.as_str()) {
                names.push(&c.name);
            }
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let own = labs.map(|l| l.checks.iter().find(|c| c.name == name));
            // A check the lab lacks is borrowed from the other lab, re-pointed at the node
            // of the same name.
            let per_lab: [Option<Check>; 2] = [0, 1].map(|i| match own[i] {
                Some(c) => Some(c.clone()),
                None => own[1 - i].and_then(|c| {
                    let node = &labs[1 - i].node(c.from).name;
                    labs[i]
                        .node_id(node)
                        .map(|from| Check { from, ..c.clone() })
                }),
            });
            let (lab, check) = own[0]
                .map(|c| (labs[0], c))
                .or(own[1].map(|c| (labs[1], c)))?;
            Some(Flow {
                origin: Origin::Check {
                    name: name.to_string(),
                },
                from: lab.node(check.from).name.clone(),
                probe: format!("{} {}", check.probe.kind(), check.probe.target()),
                run: Run::Check(Box::new(per_lab)),
            })
        })
        .collect()
}

fn ping(dst: IpAddr) -> Probe {
    Probe::Ping {
        dst,
        count: 1,
        size: 56,
        dont_fragment: false,
        ttl: None,
        source: None,
    }
}

fn probe_flow(origin: Origin, from: &str, probe: Probe, timeout: Duration) -> Flow {
    Flow {
        origin,
        from: from.to_string(),
        probe: format!("{} {}", probe.kind(), probe.target()),
        run: Run::Probe { probe, timeout },
    }
}

fn matrix_flows(labs: [&Lab; 2]) -> Vec<Flow> {
    let mut out = Vec::new();
    for lab in labs {
        for m in &lab.matrices {
            for pair in &m.pairs {
                let probe = match m.probe {
                    MatrixProbe::Ping => ping(pair.addr),
                    MatrixProbe::Tcp(port) => Probe::Tcp {
                        dst: SocketAddr::new(pair.addr, port),
                        ttl: None,
                        source: None,
                        send: None,
                    },
                };
                let origin = Origin::Matrix {
                    name: m.name.clone(),
                };
                out.push(probe_flow(
                    origin,
                    &lab.node(pair.from).name,
                    probe,
                    m.timeout,
                ));
            }
        }
    }
    out
}

/// Addresses worth probing: not link-local (those are per link, not per lab) and not
/// loopback.
fn probed(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_link_local() && !a.is_loopback(),
        IpAddr::V6(a) => !a.is_unicast_link_local() && !a.is_loopback(),
    }
}

/// A listener as (is tcp, port, bound address).
type Listener = (bool, u16, Option<IpAddr>);

fn auto_flows(labs: [&Lab; 2], timeout: Duration) -> Vec<Flow> {
    // Per node name, over both labs: its addresses and its listeners.
    let mut addrs: BTreeMap<&str, BTreeSet<IpAddr>> = BTreeMap::new();
    let mut listeners: BTreeMap<&str, BTreeSet<Listener>> = BTreeMap::new();
    for lab in labs {
        for node in &lab.nodes {
            let set = addrs.entry(&node.name).or_default();
            set.extend(
                node.addresses()
                    .map(|(_, a)| a.addr())
                    .filter(|a| probed(*a)),
            );
            let l = listeners.entry(&node.name).or_default();
            l.extend(
                node.listen
                    .iter()
                    .map(|l| (l.proto == ListenProto::Tcp, l.port, l.address)),
            );
        }
    }
    let mut out = Vec::new();
    for &src in addrs.keys() {
        let own = &addrs[src];
        for (&dst, targets) in &addrs {
            if dst == src {
                continue;
            }
            for &addr in targets.iter().filter(|a| !own.contains(a)) {
                out.push(probe_flow(Origin::Auto, src, ping(addr), timeout));
            }
            for &(tcp, port, bound) in listeners.get(dst).into_iter().flatten() {
                for &addr in targets.iter().filter(|a| !own.contains(a)) {
                    if bound.is_some_and(|b| b != addr) {
                        continue;
                    }
                    let dst = SocketAddr::new(addr, port);
                    let probe = if tcp {
                        Probe::Tcp {
                            dst,
                            ttl: None,
                            source: None,
                            send: None,
                        }
                    } else {
                        Probe::Udp {
                            dst,
                            size: 32,
                            dont_fragment: false,
                            ttl: None,
                            source: None,
                        }
                    };
                    out.push(probe_flow(Origin::Auto, src, probe, timeout));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::source::SourceFile;

    fn lab(text: &str) -> Lab {
        let loaded = crate::front::validate::load_source(SourceFile::new("t.toml", text));
        let errors = loaded.render(false);
        loaded.lab.unwrap_or_else(|| panic!("{errors}"))
    }

    const BASE: &str = r#"name = "d"
[nodes.a]
[nodes.b]
[[nodes.b.listen]]
tcp = 22
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[checks]]
name = "a to b"
from = "a"
ping = "10.0.0.2"
"#;

    fn labels(flows: &[Flow]) -> Vec<String> {
        flows
            .iter()
            .map(|f| label(&f.origin, &f.from, &f.probe))
            .collect()
    }

    #[test]
    fn auto_matrix_pings_every_other_address_and_every_listener() {
        let l = lab(BASE);
        let f = flows([&l, &l], true, Duration::from_secs(1));
        assert_eq!(
            labels(&f),
            [
                "check \"a to b\": a ping 10.0.0.2",
                "a tcp 10.0.0.2:22",
                "b ping 10.0.0.1",
            ]
        );
        let f = flows([&l, &l], false, Duration::from_secs(1));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn checks_and_addresses_are_the_union_of_both_labs() {
        let base = lab(BASE);
        let cand = lab(&format!(
            "{}\n[nodes.c]\n[[links]]\nendpoints = [\"c:eth0\", \"b:eth1\"]\naddresses = [\"10.1.0.1/24\", \"10.1.0.2/24\"]\n[[checks]]\nname = \"c to a\"\nfrom = \"c\"\nping = \"10.0.0.1\"\n[[checks]]\nname = \"b to a\"\nfrom = \"b\"\nping = \"10.0.0.1\"\n",
            BASE.replace("10.0.0.2/24", "10.0.0.3/24")
        ));
        let f = flows([&base, &cand], true, Duration::from_secs(1));
        let l = labels(&f);
        // Both addresses b ever had are probed in both labs.
        assert!(l.contains(&"a ping 10.0.0.3".to_string()), "{l:?}");
        // The checks' own flows are their rows, not automatic ones as well.
        assert!(!l.contains(&"a ping 10.0.0.2".to_string()), "{l:?}");
        assert!(!l.contains(&"c ping 10.0.0.1".to_string()), "{l:?}");
        assert!(
            l.contains(&"check \"c to a\": c ping 10.0.0.1".to_string()),
            "{l:?}"
        );
        let by_name = |n: &str| {
            f.iter()
                .find(|f| f.origin == Origin::Check { name: n.into() })
                .map(|f| match &f.run {
                    Run::Check(per) => [per[0].is_some(), per[1].is_some()],
                    Run::Probe { .. } => [false, false],
                })
        };
        // A check only the candidate has runs in the base where its node exists.
        assert_eq!(by_name("b to a"), Some([true, true]));
        assert_eq!(by_name("c to a"), Some([false, true]));
        assert_eq!(by_name("a to b"), Some([true, true]));
    }

    #[test]
    fn a_check_with_other_options_keeps_the_plain_flow() {
        let l = lab(&BASE.replace("ping = \"10.0.0.2\"", "ping = \"10.0.0.2\"\nttl = 1"));
        let f = flows([&l, &l], true, Duration::from_secs(1));
        assert!(labels(&f).contains(&"a ping 10.0.0.2".to_string()));
    }
}
