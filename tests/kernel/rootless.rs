//! Rootless: an ordinary user (no sudo, no capabilities) builds the same labs inside a
//! user namespace. Runs the binary as the unprivileged user `topolab-test` (or
//! TOPOLAB_TEST_USER); .ci/run creates it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::token;
use crate::support::{repo_path, text};
use crate::user::UserDir;

/// Run topolab as the user; panics when runuser cannot start.
fn as_user(dir: &UserDir, tok: &str, args: &[&str]) -> Output {
    dir.command(tok, &[]).args(args).output().expect("runuser")
}

/// Copies bundled labs (each with its snapshot) in; returns the labs' paths.
fn copy_labs(dir: &UserDir, from: &str, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|name| {
            dir.copy_in(&repo_path(&format!("{from}/{name}.snap")));
            dir.copy_in(&repo_path(&format!("{from}/{name}.toml")))
        })
        .collect()
}

const LAB: &str = r#"
name = "rootless"
[switches.lan]
[nodes.r]
forward = true
sysctl = { "net.ipv4.conf.all.rp_filter" = 1 }
nft = "table inet f { chain c { type filter hook forward priority 0; tcp dport 23 drop; }; }"
routes = [ { to = "10.9.0.0/16", via = "10.0.0.2", table = 100 } ]
rules = [ { from = "10.0.0.0/24", table = 100, priority = 10 } ]
exec = ["sleep 300 >/dev/null 2>&1 &"]
[nodes.r.interfaces.br0]
kind = "bridge"
addresses = ["10.5.0.1/24"]
[nodes.h]
routes = [ { to = "default", via = "10.0.0.1" } ]
[[links]]
endpoints = ["r:eth0", "lan"]
addresses = ["10.0.0.1/24"]
[[links]]
endpoints = ["h:eth0", "lan"]
addresses = ["10.0.0.2/24"]
"#;

#[test]
fn an_unprivileged_user_builds_inspects_and_tears_down_a_lab() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("rootless");
    let user = &dir.user;
    let file = dir.write("lab.toml", LAB);
    let tok = token();
    let file = file.to_str().expect("utf-8");

    let up = as_user(&dir, &tok, &["up", file]);
    assert!(up.status.success(), "up as {user} failed:\n{}", text(&up));

    let exec = |node: &str, cmd: &[&str]| {
        let mut args = vec!["exec", "rootless", node, "--"];
        args.extend_from_slice(cmd);
        let out = as_user(&dir, &tok, &args);
        assert!(out.status.success(), "exec {cmd:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let addrs: serde_json::Value =
        serde_json::from_str(&exec("r", &["ip", "-j", "addr", "show"])).expect("json");
    let has = |name: &str, ip: &str| {
        addrs.as_array().into_iter().flatten().any(|l| {
            l["ifname"] == name
                && l["addr_info"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["local"] == ip)
        })
    };
    assert!(has("eth0", "10.0.0.1") && has("br0", "10.5.0.1"), "{addrs}");
    assert!(
        exec("r", &["ip", "route", "show", "table", "100"])
            .contains("10.9.0.0/16 via 10.0.0.2 dev eth0")
    );
    assert!(exec("r", &["ip", "rule"]).contains("10:\tfrom 10.0.0.0/24 lookup 100"));
    assert_eq!(
        exec("r", &["cat", "/proc/sys/net/ipv4/ip_forward"]).trim(),
        "1"
    );
    assert_eq!(
        exec("r", &["cat", "/proc/sys/net/ipv4/conf/all/rp_filter"]).trim(),
        "1"
    );
    assert!(exec("r", &["nft", "list", "ruleset"]).contains("tcp dport 23 drop"));
    // Inside, the user is root of the lab's user namespace, not of the host.
    assert!(exec("h", &["id", "-u"]).trim() == "0");
    assert!(
        exec("h", &["cat", "/proc/self/uid_map"])
            .split_whitespace()
            .nth(1)
            != Some("0"),
        "mapped to the host's root"
    );

    let down = as_user(&dir, &tok, &["down", "rootless"]);
    assert!(down.status.success(), "down failed:\n{}", text(&down));
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn a_rootless_build_failure_rolls_back() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("rootless-fail");
    let file = dir.write(
        "lab.toml",
        &format!("{LAB}\n[nodes.bad]\nexec = [\"exit 7\"]\n"),
    );
    let tok = token();
    let out = as_user(&dir, &tok, &["up", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("node `bad`"), "{}", text(&out));
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn an_unprivileged_user_runs_the_bundled_labs() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("rootless-test");
    let user = &dir.user;
    let labs = copy_labs(
        &dir,
        "labs",
        &["three-tier", "multihomed-policy", "docker-rds-overlap"],
    );
    let tok = token();
    let out = dir
        .command(&tok, &[("CI", "true")])
        .args(["test", "--jobs=3"])
        .args(&labs)
        .output()
        .expect("runuser");
    assert_eq!(
        out.status.code(),
        Some(0),
        "bundled labs as {user}:\n{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 labs: 3 passed"),
        "{}",
        text(&out)
    );
    assert_no_processes(&tok);
    drop(host);
}

/// Without eBPF (an unprivileged user cannot load it), the drops of the incident labs are
/// still attributed to a node, from counters (a firewall's from its rules' counters), and
/// their `dropped` assertions hold.
#[test]
fn rootless_drop_evidence_comes_from_counters_and_names_the_node() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("rootless-drops");
    let labs = copy_labs(
        &dir,
        "labs/incidents",
        &[
            "rp-filter-multihomed",
            "docker0-peer-vpc",
            "pmtu-black-hole",
        ],
    );
    let tok = token();
    let out = dir
        .command(&tok, &[])
        .args(["test", "--format=json"])
        .args(&labs)
        .output()
        .expect("runuser");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out)));
    let check = |lab: usize, name: &str| -> serde_json::Value {
        json["labs"][lab]["checks"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no check {name}:\n{}", text(&out)))
    };
    let rpf = check(0, "pings to the storage address get no answer");
    assert_eq!(rpf["observed"]["drop"]["node"], "srv", "{rpf:#}");
    assert_eq!(rpf["observed"]["drop"]["method"], "counters", "{rpf:#}");
    assert_eq!(
        rpf["observed"]["drop"]["reason"], "TcpExtIPReversePathFilter",
        "{rpf:#}"
    );
    let neigh = check(1, "legacy pings app: no answer");
    assert_eq!(neigh["observed"]["drop"]["node"], "app", "{neigh:#}");
    assert_eq!(
        neigh["observed"]["drop"]["interface"], "docker0",
        "{neigh:#}"
    );
    assert_eq!(neigh["observed"]["drop"]["method"], "counters", "{neigh:#}");
    // The frag-needed that r-dc sends back dies at the firewall, whose drop rule counts.
    let pmtu = check(
        2,
        "the server's full-size packet vanishes: no frag-needed comes back",
    );
    assert_eq!(pmtu["observed"]["drop"]["node"], "fw", "{pmtu:#}");
    assert_eq!(
        pmtu["observed"]["drop"]["reason"], "nft-counter",
        "{pmtu:#}"
    );
    assert_eq!(pmtu["observed"]["drop"]["method"], "counters", "{pmtu:#}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the labs' dropped assertions hold rootless:\n{}",
        text(&out)
    );
    assert_no_processes(&tok);
    drop(host);
}

/// A firewall's drop moves no kernel counter: rootless, the packet counters of the lab's
/// rules that count and drop stand for it, at the node whose ruleset holds them.
#[test]
fn rootless_firewall_drops_are_seen_in_the_rules_counters() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("rootless-nft");
    // The lab has no reviewed snapshot: the user accepts what it observes, into a folder
    // of its own (a new snapshot would fail the run).
    let folder = dir.owned_dir("lab");
    let file = folder.join("lab.toml");
    std::fs::write(
        &file,
        r#"name = "rootless-nft"
[nodes.cli]
routes = [{ to = "default", via = "10.1.0.1" }]
[nodes.r]
forward = true
nft = "table inet f { chain pass { type filter hook forward priority 0; ip saddr 10.1.0.2 icmp type echo-request counter drop; udp dport 53 counter drop; }; }"
[nodes.srv]
routes = [{ to = "default", via = "10.2.0.1" }]
[[nodes.srv.listen]]
udp = 53
[[links]]
endpoints = ["cli:eth0", "r:eth0"]
addresses = ["10.1.0.2/24", "10.1.0.1/24"]
[[links]]
endpoints = ["r:eth1", "srv:eth0"]
addresses = ["10.2.0.1/24", "10.2.0.2/24"]
[[checks]]
name = "ping"
from = "cli"
ping = "10.2.0.2"
timeout = "1s"
expect = "timeout"
dropped = { node = "r", reason = "netfilter-drop" }
[[checks]]
name = "udp"
from = "cli"
udp = "10.2.0.2:53"
timeout = "1s"
expect = "timeout"
dropped = { node = "r", reason = "netfilter-drop" }
[[checks]]
name = "the way back passes"
from = "srv"
ping = "10.1.0.2"
"#,
    )
    .expect("write the lab");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let tok = token();
    let file = file.to_str().expect("utf-8");
    // Not in CI mode even under CI=true: there `--accept` writes nothing and the new
    // snapshot would fail the run, which is not what this test is about.
    let out = dir
        .command(&tok, &[("CI", "false")])
        .args(["test", "--format=json", "--accept", file])
        .output()
        .expect("runuser");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out)));
    for name in ["ping", "udp"] {
        let c = json["labs"][0]["checks"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or_else(|| panic!("no check {name}:\n{}", text(&out)));
        let d = &c["observed"]["drop"];
        assert_eq!(d["node"], "r", "{c:#}");
        assert_eq!(d["reason"], "nft-counter", "{c:#}");
        assert_eq!(d["method"], "counters", "{c:#}");
        assert_eq!(c["passed"], true, "{c:#}");
    }
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_no_processes(&tok);
    drop(host);
}
