//! Whether an observation meets a check's expectation, and both in words. Pure.

use crate::front::lab::{Check, Expectation, Hop, Outcome, RouteExpect};
use crate::kernel::probe::{Observation, TraceHop};
use crate::runner::results::{DropMethod, DropObserved};

/// The expectation as reports show it: "host-unreachable via 192.168.0.1",
/// "frag-needed mtu 1400", "dev docker0 type unicast".
pub fn describe(check: &Check) -> String {
    let mut s = describe_expect(check);
    if let Some(d) = &check.dropped {
        s.push_str(&format!(", dropped at {}", d.node));
        if let Some(i) = &d.interface {
            s.push_str(&format!(" {i}"));
        }
        s.push_str(&format!(": {}", d.reason));
    }
    s
}

fn describe_expect(check: &Check) -> String {
    match &check.expect {
        Expectation::Outcome(o) => {
            let mut s = o.to_string();
            if let Some(v) = check.via {
                s.push_str(&format!(" via {v}"));
            }
            if let Some(m) = check.mtu {
                s.push_str(&format!(" mtu {m}"));
            }
            s
        }
        Expectation::Route(r) => describe_route(r),
        Expectation::Command(c) => super::command::describe(c),
        Expectation::Path { outcome, path } => {
            let mut s = match outcome {
                Some(o) => o.to_string(),
                None => String::new(),
            };
            if let Some(v) = check.via {
                s.push_str(&format!(" via {v}"));
            }
            if path != &[Hop::Rest] {
                let words: Vec<String> = path.iter().map(Hop::to_string).collect();
                s.push_str(&format!(" path {}", words.join(" ")));
            }
            s.trim().to_string()
        }
    }
}

fn describe_route(r: &RouteExpect) -> String {
    let mut parts = Vec::new();
    if let Some(o) = r.outcome {
        parts.push(if o == Outcome::Ok {
            "a route".to_string()
        } else {
            o.to_string()
        });
    }
    if let Some(d) = &r.dev {
        parts.push(format!("dev {d}"));
    }
    if let Some(v) = r.via {
        parts.push(format!("via {v}"));
    }
    if let Some(s) = r.src {
        parts.push(format!("src {s}"));
    }
    if let Some(k) = &r.kind {
        parts.push(format!("type {k}"));
    }
    if let Some(t) = r.table {
        parts.push(format!("table {t}"));
    }
    parts.join(" ")
}

pub fn matches(check: &Check, obs: &Observation, drop: Option<&DropObserved>) -> bool {
    let dropped = check.dropped.as_ref().is_none_or(|d| {
        drop.is_some_and(|seen| {
            seen.node == d.node
                && crate::kernel::drops::reasons::same(&d.reason, &seen.reason)
                // Counters of the whole node (SNMP) know no interface.
                && d.interface.as_ref().is_none_or(|i| {
                    seen.interface.as_ref() == Some(i)
                        || (seen.method == DropMethod::Counters && seen.interface.is_none())
                })
        })
    });
    dropped && outcome_matches(check, obs)
}

/// Whether the check asserts a drop and got everything it expects but the drop: no drop
/// of its packets was seen at all.
pub fn only_drop_unseen(check: &Check, obs: &Observation, drop: Option<&DropObserved>) -> bool {
    check.dropped.is_some() && drop.is_none() && outcome_matches(check, obs)
}

fn outcome_matches(check: &Check, obs: &Observation) -> bool {
    match &check.expect {
        Expectation::Outcome(o) => {
            obs.outcome == *o
                && check.via.is_none_or(|v| obs.from == Some(v))
                && check.mtu.is_none_or(|m| obs.mtu == Some(m))
        }
        Expectation::Route(r) => route_matches(r, obs),
        // Compared by checks::command on the command's own observation.
        Expectation::Command(_) => false,
        Expectation::Path { outcome, path } => {
            outcome.is_none_or(|o| obs.outcome == o)
                && check.via.is_none_or(|v| obs.from == Some(v))
                && obs.path.as_ref().is_some_and(|p| path_matches(path, p))
        }
    }
}

/// Hop by hop: an address must have answered at its TTL, `*` must have been silent, and
/// a trailing `...` takes any rest. Without it the trace must end where the list does.
pub fn path_matches(expected: &[Hop], seen: &[TraceHop]) -> bool {
    let mut seen = seen.iter();
    for e in expected {
        match e {
            Hop::Rest => return true,
            Hop::Silent => match seen.next() {
                Some(h) if h.from.is_none() => {}
                _ => return false,
            },
            Hop::Addr(a) => match seen.next() {
                Some(h) if h.from == Some(*a) => {}
                _ => return false,
            },
        }
    }
    seen.next().is_none()
}

fn route_matches(r: &RouteExpect, obs: &Observation) -> bool {
    if let Some(o) = r.outcome
        && o != Outcome::Ok
    {
        return obs.outcome == o;
    }
    let Some(route) = &obs.route else {
        return false;
    };
    r.dev.as_ref().is_none_or(|d| route.dev.as_ref() == Some(d))
        && r.via.is_none_or(|v| route.via == Some(v))
        && r.src.is_none_or(|s| route.src == Some(s))
        && r.kind.as_ref().is_none_or(|k| route.kind == *k)
        && r.table.is_none_or(|t| route.table == Some(t))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::front::lab::{NodeId, Probe};
    use crate::kernel::probe::RouteInfo;

    fn check(expect: Expectation, via: Option<&str>, mtu: Option<u32>) -> Check {
        Check {
            name: "c".into(),
            from: NodeId(0),
            probe: Probe::Ping {
                dst: "10.0.0.2".parse().unwrap(),
                count: 1,
                size: 56,
                dont_fragment: false,
                ttl: None,
                source: None,
            },
            expect,
            via: via.map(|v| v.parse().unwrap()),
            mtu,
            within: None,
            timeout: Duration::from_secs(1),
            dropped: None,
        }
    }

    fn bare(c: &Check, o: &Observation) -> bool {
        matches(c, o, None)
    }

    #[test]
    fn a_dropped_assertion_needs_the_node_reason_and_interface_seen() {
        let mut c = check(Expectation::Outcome(Outcome::Timeout), None, None);
        c.dropped = Some(crate::front::lab::DropExpect {
            node: "srv".into(),
            reason: "ip-rpfilter".into(),
            interface: Some("eth1".into()),
        });
        let o = obs(Outcome::Timeout, None, None);
        let seen = |node: &str, reason: &str, iface: Option<&str>, method| DropObserved {
            node: node.into(),
            interface: iface.map(Into::into),
            reason: reason.into(),
            method,
            icmp_error: None,
        };
        use crate::runner::results::DropMethod::{Counters, Ebpf};
        assert!(matches(
            &c,
            &o,
            Some(&seen("srv", "ip-rpfilter", Some("eth1"), Ebpf))
        ));
        assert!(!matches(
            &c,
            &o,
            Some(&seen("srv", "ip-rpfilter", Some("eth0"), Ebpf))
        ));
        assert!(!matches(
            &c,
            &o,
            Some(&seen("gw", "ip-rpfilter", Some("eth1"), Ebpf))
        ));
        assert!(!matches(
            &c,
            &o,
            Some(&seen("srv", "netfilter-drop", Some("eth1"), Ebpf))
        ));
        assert!(!matches(&c, &o, None));
        // Rootless runs see the counter that stands for the reason.
        let counted = seen("srv", "TcpExtIPReversePathFilter", Some("eth1"), Counters);
        assert!(matches(&c, &o, Some(&counted)));
        assert_eq!(describe(&c), "timeout, dropped at srv eth1: ip-rpfilter");
    }

    fn obs(outcome: Outcome, from: Option<&str>, mtu: Option<u32>) -> Observation {
        Observation {
            outcome,
            from: from.map(|f| f.parse().unwrap()),
            mtu,
            elapsed: Duration::ZERO,
            route: None,
            detail: None,
            path: None,
        }
    }

    #[test]
    fn outcome_via_and_mtu_must_all_match() {
        let c = check(
            Expectation::Outcome(Outcome::FragNeeded),
            Some("10.0.0.1"),
            Some(1400),
        );
        assert!(bare(
            &c,
            &obs(Outcome::FragNeeded, Some("10.0.0.1"), Some(1400))
        ));
        assert!(!bare(
            &c,
            &obs(Outcome::FragNeeded, Some("10.0.0.9"), Some(1400))
        ));
        assert!(!bare(
            &c,
            &obs(Outcome::FragNeeded, Some("10.0.0.1"), Some(1500))
        ));
        assert!(!bare(&c, &obs(Outcome::Timeout, None, None)));
        assert_eq!(describe(&c), "frag-needed via 10.0.0.1 mtu 1400");
    }

    #[test]
    fn route_expectations_compare_only_what_is_given() {
        let r = RouteExpect {
            dev: Some("docker0".into()),
            ..Default::default()
        };
        let c = check(Expectation::Route(r), None, None);
        let mut o = obs(Outcome::Ok, None, None);
        o.route = Some(RouteInfo {
            dev: Some("docker0".into()),
            via: None,
            src: None,
            kind: "unicast".into(),
            table: Some(254),
        });
        assert!(bare(&c, &o));
        o.route.as_mut().unwrap().dev = Some("eth0".into());
        assert!(!bare(&c, &o));
        let none = check(
            Expectation::Route(RouteExpect {
                outcome: Some(Outcome::NoRoute),
                ..Default::default()
            }),
            None,
            None,
        );
        assert!(bare(&none, &obs(Outcome::NoRoute, None, None)));
        assert_eq!(describe(&none), "no-route");
    }

    fn hops(words: &[&str]) -> Vec<TraceHop> {
        words
            .iter()
            .zip(1u8..)
            .map(|(w, ttl)| TraceHop {
                ttl,
                from: w.parse().ok(),
                outcome: Outcome::TtlExceeded,
                rtt: None,
            })
            .collect()
    }

    #[test]
    fn only_an_unseen_drop_asks_again() {
        let mut c = check(Expectation::Outcome(Outcome::HostUnreachable), None, None);
        let o = obs(Outcome::HostUnreachable, None, None);
        // Without a drop assertion there is nothing to ask again for.
        assert!(!only_drop_unseen(&c, &o, None));
        c.dropped = Some(crate::front::lab::DropExpect {
            node: "node1".into(),
            reason: "neigh-failed".into(),
            interface: Some("eth0".into()),
        });
        assert!(only_drop_unseen(&c, &o, None));
        // Another outcome is a failure the drop does not change.
        assert!(!only_drop_unseen(
            &c,
            &obs(Outcome::Timeout, None, None),
            None
        ));
        // A drop seen elsewhere is an answer, not a miss.
        let elsewhere = DropObserved {
            node: "router".into(),
            interface: None,
            reason: "ip-innoroutes".into(),
            method: DropMethod::Ebpf,
            icmp_error: None,
        };
        assert!(!only_drop_unseen(&c, &o, Some(&elsewhere)));
    }

    #[test]
    fn paths_match_hop_by_hop_with_silence_and_a_trailing_rest() {
        let a = |s: &str| Hop::Addr(s.parse().unwrap());
        let seen = hops(&["10.0.0.1", "*", "10.0.2.1"]);
        assert!(path_matches(
            &[a("10.0.0.1"), Hop::Silent, a("10.0.2.1")],
            &seen
        ));
        assert!(path_matches(&[a("10.0.0.1"), Hop::Rest], &seen));
        assert!(path_matches(&[Hop::Rest], &seen));
        // Too short without `...`, too long, a silent hop where one answered.
        assert!(!path_matches(&[a("10.0.0.1"), Hop::Silent], &seen));
        assert!(!path_matches(
            &[a("10.0.0.1"), Hop::Silent, a("10.0.2.1"), a("10.0.3.1")],
            &seen
        ));
        assert!(!path_matches(&[Hop::Silent, Hop::Rest], &seen));
        assert!(!path_matches(
            &[a("10.0.0.1"), a("10.0.1.1"), Hop::Rest],
            &seen
        ));
    }

    #[test]
    fn a_loop_expectation_compares_outcome_reporter_and_path() {
        let mut c = check(
            Expectation::Path {
                outcome: Some(Outcome::Loop),
                path: vec![Hop::Addr("10.0.0.1".parse().unwrap()), Hop::Rest],
            },
            Some("10.0.0.2"),
            None,
        );
        c.probe = Probe::Trace {
            dst: "10.9.9.9".parse().unwrap(),
            proto: crate::front::lab::TraceProto::Icmp,
            port: 0,
            max_hops: 3,
            source: None,
        };
        let mut o = obs(Outcome::Loop, Some("10.0.0.2"), None);
        o.path = Some(hops(&["10.0.0.1", "10.0.0.2", "10.0.0.1"]));
        assert!(matches(&c, &o, None));
        assert_eq!(describe(&c), "loop via 10.0.0.2 path 10.0.0.1 ...");
        o.from = Some("10.0.0.1".parse().unwrap());
        assert!(!matches(&c, &o, None));
        o.from = Some("10.0.0.2".parse().unwrap());
        o.outcome = Outcome::Timeout;
        assert!(!matches(&c, &o, None));
    }
}
