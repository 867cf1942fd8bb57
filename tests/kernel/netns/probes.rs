//! Shorthands for building probes and asserting what they observed.

use std::net::IpAddr;
use std::time::Duration;

use topolab::front::lab::{Outcome, Probe};
use topolab::kernel::probe::{self, Observation};

use super::Ns;

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub fn ping(dst: &str) -> Probe {
    Probe::Ping {
        dst: ip(dst),
        count: 1,
        size: 56,
        dont_fragment: false,
        ttl: None,
        source: None,
    }
}

pub fn ping_df(dst: &str, size: u32) -> Probe {
    Probe::Ping {
        dst: ip(dst),
        count: 1,
        size,
        dont_fragment: true,
        ttl: None,
        source: None,
    }
}

pub fn ping_ttl(dst: &str, ttl: u8) -> Probe {
    Probe::Ping {
        dst: ip(dst),
        count: 1,
        size: 56,
        dont_fragment: false,
        ttl: Some(ttl),
        source: None,
    }
}

pub fn tcp(dst: &str) -> Probe {
    Probe::Tcp {
        dst: dst.parse().expect("test socket address"),
        ttl: None,
        source: None,
        send: None,
    }
}

pub fn tcp_send(dst: &str, n: u32) -> Probe {
    Probe::Tcp {
        dst: dst.parse().expect("test socket address"),
        ttl: None,
        source: None,
        send: Some(n),
    }
}

pub fn udp(dst: &str) -> Probe {
    Probe::Udp {
        dst: dst.parse().expect("test socket address"),
        size: 32,
        dont_fragment: false,
        ttl: None,
        source: None,
    }
}

pub fn route(dst: &str) -> Probe {
    Probe::Route {
        dst: ip(dst),
        source: None,
        iif: None,
    }
}

pub async fn observe(ns: &Ns, p: &Probe, secs: f64) -> Observation {
    probe::run(ns.fd(), p, Duration::from_secs_f64(secs))
        .await
        .unwrap_or_else(|e| panic!("{} {}: {e}", p.kind(), p.target()))
}

/// Asserts the outcome and the answering address, printing everything on failure.
#[track_caller]
pub fn expect(o: &Observation, outcome: Outcome, from: Option<&str>) {
    assert_eq!(
        (o.outcome, o.from),
        (outcome, from.map(ip)),
        "observed {o:?}"
    );
}
