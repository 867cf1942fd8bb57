//! Its own test binary (so its own process): without `guard()` nothing may be sent.

use std::fs::File;
use std::os::fd::AsFd;
use std::time::Duration;

use topolab::front::lab::Probe;
use topolab::kernel::probe::{self, ProbeError};

#[tokio::test]
async fn an_unarmed_guard_refuses_everything() {
    let host = File::open("/proc/thread-self/ns/net").expect("open the host namespace");
    let p = Probe::Ping {
        dst: "127.0.0.1".parse().expect("loopback"),
        count: 1,
        size: 56,
        dont_fragment: false,
        ttl: None,
        source: None,
    };
    let r = probe::run(host.as_fd(), &p, Duration::from_millis(100)).await;
    assert!(matches!(r, Err(ProbeError::GuardNotArmed)), "{r:?}");
}
