//! The first probe after a build behaves like any later one, also on nodes whose bridge
//! has no ports (tests/first-probe/portless-bridges.toml). Before the build synced the
//! bridges' pending link events, most runs of this lab lost at least one of its six first
//! probes without an ICMP error: `timeout` on the first attempt, 9 s instead of 3 s.

use crate::host::HostGuard;
use crate::scratch::{TempDir, copy_dir, topolab_json};
use crate::support::repo_path;

#[test]
fn first_probe_next_to_a_portless_bridge_gets_its_icmp_error() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("first-probe");
    copy_dir(&repo_path("tests/first-probe"), &tmp.0);
    let lab = tmp.0.join("portless-bridges.toml");
    // Two builds: the lost probe depended on when the kernel's link watcher last ran.
    for _ in 0..2 {
        let (_, json) = topolab_json(
            &["test", lab.to_str().expect("utf-8"), "--format", "json"],
            &tmp.0,
        );
        let checks = json["labs"][0]["checks"].as_array().expect("checks");
        assert_eq!(checks.len(), 6, "{json:#}");
        for c in checks {
            assert_eq!(c["passed"], true, "{c:#}");
            assert_eq!(c["observed"]["outcome"], "host-unreachable", "{c:#}");
            assert_eq!(c["attempts"], 1, "the first probe was lost: {c:#}");
            let took = c["duration"].as_f64().expect("duration");
            assert!(took < 4.5, "the first probe took {took}s: {c:#}");
        }
    }
}
