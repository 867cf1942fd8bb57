//! Without `guard()` nothing may be sent. The guard is armed once per process and stays
//! armed, so this runs in a process of its own: the test runs this binary again with only
//! itself selected (as nextest would), whatever the other tests of this process armed.

use std::fs::File;
use std::os::fd::AsFd;
use std::process::Command;
use std::time::Duration;

use topolab::front::lab::Probe;
use topolab::kernel::probe::{self, ProbeError};

use crate::support::text;

const CHILD: &str = "TOPOLAB_TEST_UNARMED_CHILD";

#[test]
fn an_unarmed_guard_refuses_everything() {
    if std::env::var_os(CHILD).is_some() {
        return unarmed_probe_is_refused();
    }
    let name = "guard_unarmed::an_unarmed_guard_refuses_everything";
    let out = Command::new(std::env::current_exe().expect("this test binary"))
        .args([name, "--exact", "--test-threads", "1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary again");
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    // A filter that matched nothing would pass too.
    assert!(text.contains("1 passed"), "{text}");
}

fn unarmed_probe_is_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let host = File::open("/proc/thread-self/ns/net").expect("open the host namespace");
    let p = Probe::Ping {
        dst: "127.0.0.1".parse().expect("loopback"),
        count: 1,
        size: 56,
        dont_fragment: false,
        ttl: None,
        source: None,
    };
    let r = rt.block_on(probe::run(host.as_fd(), &p, Duration::from_millis(100)));
    assert!(matches!(r, Err(ProbeError::GuardNotArmed)), "{r:?}");
}
