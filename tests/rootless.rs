//! Rootless: an ordinary user (no sudo, no capabilities) builds the same labs inside a
//! user namespace. Runs the binary as the unprivileged user `topolab-test` (or
//! TOPOLAB_TEST_USER); .ci/run creates it.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use support::{
    HostGuard, TempDir, assert_no_processes, bin, require_root, rootless_user, text, token,
};

fn user() -> String {
    rootless_user().unwrap_or_else(|| {
        panic!("rootless tests need an unprivileged user: create it with `useradd --create-home topolab-test` (or set TOPOLAB_TEST_USER)")
    })
}

/// A copy of the binary beside the runtime dir: the build directory may sit where the
/// user cannot read (under /root, say).
fn copy_binary(runtime: &Path) -> std::path::PathBuf {
    let exe = runtime
        .parent()
        .expect("runtime dir has a parent")
        .join("topolab");
    if !exe.exists() {
        std::fs::copy(bin(), &exe).expect("copy the binary");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    exe
}

/// Run topolab as the unprivileged user, with a runtime dir it owns.
fn as_user(user: &str, runtime: &Path, tok: &str, args: &[&str]) -> Output {
    let exe = copy_binary(runtime);
    Command::new("runuser")
        .args([
            "-u",
            user,
            "--",
            "env",
            &format!("TOPOLAB_RUNTIME_DIR={}", runtime.display()),
            &format!("TOPOLAB_TEST_TOKEN={tok}"),
            "NO_COLOR=1",
        ])
        .arg(&exe)
        .args(args)
        .output()
        .expect("runuser")
}

fn shared_dir(tag: &str, user: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let runtime = dir.0.join("run");
    std::fs::create_dir(&runtime).expect("mkdir");
    let u = nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .expect("user");
    nix::unistd::chown(&runtime, Some(u.uid), Some(u.gid)).expect("chown");
    // A runtime directory must be private to its owner (topolab refuses others).
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
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
    require_root();
    let host = HostGuard::new();
    let user = user();
    let dir = shared_dir("rootless", &user);
    let file = dir.write("lab.toml", LAB);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let runtime = dir.0.join("run");
    let tok = token();
    let file = file.to_str().expect("utf-8");

    let up = as_user(&user, &runtime, &tok, &["up", file]);
    assert!(up.status.success(), "up as {user} failed:\n{}", text(&up));

    let exec = |node: &str, cmd: &[&str]| {
        let mut args = vec!["exec", "rootless", node, "--"];
        args.extend_from_slice(cmd);
        let out = as_user(&user, &runtime, &tok, &args);
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

    let down = as_user(&user, &runtime, &tok, &["down", "rootless"]);
    assert!(down.status.success(), "down failed:\n{}", text(&down));
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn a_rootless_build_failure_rolls_back() {
    require_root();
    let host = HostGuard::new();
    let user = user();
    let dir = shared_dir("rootless-fail", &user);
    let file = dir.write(
        "lab.toml",
        &format!("{LAB}\n[nodes.bad]\nexec = [\"exit 7\"]\n"),
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let runtime = dir.0.join("run");
    let tok = token();
    let out = as_user(
        &user,
        &runtime,
        &tok,
        &["up", file.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("node `bad`"), "{}", text(&out));
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn an_unprivileged_user_runs_the_bundled_labs() {
    require_root();
    let host = HostGuard::new();
    let user = user();
    let dir = shared_dir("rootless-test", &user);
    let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut args = vec!["test".to_string()];
    for name in ["three-tier", "multihomed-policy", "docker-rds-overlap"] {
        for ext in ["toml", "snap"] {
            let from = labs.join(format!("{name}.{ext}"));
            let to = dir.0.join(format!("{name}.{ext}"));
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        args.push(dir.0.join(format!("{name}.toml")).display().to_string());
    }
    let runtime = dir.0.join("run");
    let tok = token();
    let mut cmd_args: Vec<&str> = args.iter().map(String::as_str).collect();
    cmd_args.insert(1, "--jobs=3");
    let out = Command::new("runuser")
        .args(["-u", &user, "--", "env", "CI=true"])
        .arg(format!("TOPOLAB_RUNTIME_DIR={}", runtime.display()))
        .arg(format!("TOPOLAB_TEST_TOKEN={tok}"))
        .arg(copy_binary(&runtime))
        .args(&cmd_args)
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
    require_root();
    let host = HostGuard::new();
    let user = user();
    let dir = shared_dir("rootless-drops", &user);
    let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/incidents");
    let mut args = vec!["test".to_string(), "--format=json".to_string()];
    for name in [
        "rp-filter-multihomed",
        "docker0-peer-vpc",
        "pmtu-black-hole",
    ] {
        for ext in ["toml", "snap"] {
            let from = labs.join(format!("{name}.{ext}"));
            let to = dir.0.join(format!("{name}.{ext}"));
            std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        args.push(dir.0.join(format!("{name}.toml")).display().to_string());
    }
    let runtime = dir.0.join("run");
    let tok = token();
    let cmd_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = as_user(&user, &runtime, &tok, &cmd_args);
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
    require_root();
    let host = HostGuard::new();
    let user = user();
    let dir = shared_dir("rootless-nft", &user);
    let file = dir.write(
        "lab.toml",
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
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // The lab has no reviewed snapshot: the user accepts what it observes, into a folder
    // of its own (a new snapshot would fail the run).
    let u = nix::unistd::User::from_name(&user)
        .ok()
        .flatten()
        .expect("user");
    nix::unistd::chown(&dir.0, Some(u.uid), Some(u.gid)).expect("chown");
    let runtime = dir.0.join("run");
    let tok = token();
    let file = file.to_str().expect("utf-8");
    let out = as_user(
        &user,
        &runtime,
        &tok,
        &["test", "--format=json", "--accept", file],
    );
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
