//! A validated step: actions that change a running lab between rounds of checks.

use std::time::Duration;

use super::{Check, Impairment, NodeId, Route};

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub actions: Vec<Action>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Down {
        node: NodeId,
        iface: String,
    },
    Up {
        node: NodeId,
        iface: String,
    },
    Flap {
        node: NodeId,
        iface: String,
        times: u32,
        period: Duration,
    },
    SetMtu {
        node: NodeId,
        iface: String,
        mtu: u32,
    },
    Impair {
        node: NodeId,
        iface: String,
        impairment: Impairment,
    },
    Clear {
        node: NodeId,
        iface: String,
    },
    Partition {
        a: NodeId,
        b: NodeId,
    },
    Heal {
        a: NodeId,
        b: NodeId,
    },
    Exec {
        node: NodeId,
        cmd: String,
    },
    Nft {
        node: NodeId,
        ruleset: String,
    },
    RouteAdd {
        node: NodeId,
        route: Route,
    },
    RouteDel {
        node: NodeId,
        route: Route,
    },
    Sysctl {
        node: NodeId,
        values: Vec<(String, String)>,
    },
    Start {
        node: NodeId,
        service: String,
    },
    Stop {
        node: NodeId,
        service: String,
    },
    Kill {
        node: NodeId,
        service: String,
    },
}

/// Durations as a lab author writes them: "1.5s", "200ms".
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if d.subsec_micros() % 1000 == 0 {
        format!("{ms}ms")
    } else {
        format!("{}us", d.as_micros())
    }
}
