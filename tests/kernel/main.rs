//! The integration tests that need the kernel: they build labs (namespaces, links,
//! nftables, eBPF), probe them, and check that nothing is left behind on the host. Each
//! needs root; without it a test says it is skipped and passes, except under CI=true,
//! where a skipped test fails (CI runs them as root, so none may go untested).
//!
//! One module per topic; the modules before them are this binary's helpers.

use std::io::Write as _;

/// Whether the calling test may build labs: true as root. Otherwise it prints (straight to
/// stderr: libtest hides a passing test's captured output) that the test is skipped, and
/// returns false; under CI=true it panics instead.
pub fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(
        !ci,
        "{test} builds labs and needs root; under CI=true a kernel test may not be skipped"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: builds labs and needs root (run the kernel tests as root)"
    );
    false
}

/// Returns from the calling test, skipped, unless it runs as root (see `privileged`).
macro_rules! require_root {
    () => {
        if !$crate::privileged() {
            return;
        }
    };
}

#[path = "../support/mod.rs"]
mod support;

mod host;
mod inproc;
mod netns;
mod scratch;
mod user;

mod capture;
mod concurrency;
mod diff;
mod diff_evidence;
mod diff_scale;
mod drops;
mod engine;
mod exercises;
mod first_probe;
mod flake;
mod grade;
mod grade_frr;
mod guard;
mod hardening;
mod import;
mod incident_loop;
mod kernel_kinds;
mod leak;
mod matrix;
mod nodes;
mod outcomes;
mod outcomes_basic;
mod outcomes_policy;
mod readme;
mod reports;
mod rollback;
mod rootless;
mod route_and_responders;
mod sandbox;
mod shard;
mod signals;
mod skips;
mod trace;
