//! A lab that fails half-way through its build rolls back completely: a clear error naming
//! the node and operation, exit code 4, and nothing left on the system.

use crate::host::{HostGuard, assert_no_processes, nsfs_mounts};
use crate::scratch::{TempDir, token, topolab};
use crate::support::text;

/// Nodes with background processes and several links, so that a failure has something to
/// roll back: the failing node comes last in the file.
fn lab(failing: &str) -> String {
    let mut s = String::from("name = \"rollback\"\n[switches.lan]\n");
    for i in 0..6 {
        s.push_str(&format!(
            "[nodes.n{i}]\nexec = [\"sleep 300 >/dev/null 2>&1 &\"]\n"
        ));
        s.push_str(&format!(
            "[[links]]\nendpoints = [\"n{i}:eth0\", \"lan\"]\naddresses = [\"10.0.0.{}/24\"]\n",
            i + 1
        ));
    }
    s.push_str(failing);
    s
}

fn assert_rolls_back(failing: &str, expect_in_message: &[&str]) {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("rollback");
    let file = dir.write("lab.toml", &lab(failing));
    let runtime = dir.0.join("run");
    let tok = token();
    let mounts = nsfs_mounts("rollback");
    let out = topolab(&["up", file.to_str().expect("utf-8 path")], &runtime, &tok);
    let msg = text(&out);
    assert_eq!(
        out.status.code(),
        Some(4),
        "expected exit 4, got {:?}:\n{msg}",
        out.status
    );
    for needle in expect_in_message {
        assert!(msg.contains(needle), "message lacks `{needle}`:\n{msg}");
    }
    assert_no_processes(&tok);
    assert_eq!(
        nsfs_mounts("rollback"),
        mounts,
        "namespace mounts left behind"
    );
    let left: Vec<_> = std::fs::read_dir(&runtime)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "runtime files left behind: {left:?}");
    drop(host);
}

#[test]
fn an_invalid_nft_ruleset_rolls_everything_back() {
    assert_rolls_back(
        "[nodes.fw]\nnft = \"\"\"\ntable inet f {\n  chain c { type filter hook forward priority 0; tcp dport 22 frobnicate; }\n}\n\"\"\"\n",
        &["node `fw`: load nft ruleset", "nft failed", "frobnicate"],
    );
}

#[test]
fn a_failing_setup_command_rolls_everything_back() {
    assert_rolls_back(
        "[nodes.bad]\nexec = [\"echo about to fail; echo details >&2; exit 3\"]\n",
        &[
            "node `bad`: exec",
            "exit status 3",
            "about to fail",
            "details",
        ],
    );
}

#[test]
fn a_route_the_kernel_refuses_rolls_everything_back() {
    assert_rolls_back(
        "[nodes.r]\nroutes = [ { to = \"10.9.0.0/16\", via = \"192.0.2.1\" } ]\n",
        &[
            "node `r`: add route 10.9.0.0/16 via 192.0.2.1",
            "ENETUNREACH",
            "help:",
        ],
    );
}
