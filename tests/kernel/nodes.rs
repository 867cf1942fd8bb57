//! Nodes that run something, on the real kernel: each gets its own hostname, its own pid
//! namespace (`ps` lists only its processes), private /run and /tmp, its own files, and a
//! read-only view of the host's tree; nodes that run nothing stay bare network namespaces.

use std::path::Path;
use std::time::Duration;

use topolab::front::source::SourceFile;
use topolab::kernel::engine::{LiveLab, command};

use crate::host::{HostGuard, assert_no_processes, processes_with};
use crate::inproc::build_at;
use crate::scratch::token;

/// Run `script` with `sh -c` in `node`; returns (exit status, stdout, stderr).
fn sh(
    rt: &tokio::runtime::Runtime,
    live: &LiveLab,
    node: &str,
    script: &str,
) -> (i32, String, String) {
    let ns = live.node_ns(live.lab.node_id(node).expect("node"));
    let out = rt
        .block_on(command::run_shell(
            ns,
            script,
            None,
            Duration::from_secs(20),
        ))
        .expect("run");
    (out.status.unwrap_or(-1), out.stdout, out.stderr)
}

fn ok(rt: &tokio::runtime::Runtime, live: &LiveLab, node: &str, script: &str) -> String {
    let (code, out, err) = sh(rt, live, node, script);
    assert_eq!(code, 0, "`{script}` in {node} failed: {out}{err}");
    out
}

#[test]
fn nodes_have_their_own_hostname_processes_and_files() {
    require_root!();
    let _host = HostGuard::new();
    let tok = token();
    let dir = crate::scratch::TempDir::new("nodes");
    std::fs::create_dir_all(dir.0.join("r1")).expect("mkdir");
    dir.write("r1/frr.conf", "hostname from-r1-source\n");
    let text = format!(
        r#"
name = "nodes-private"

[nodes.r1]
files."/etc/frr/frr.conf" = {{ source = "r1/frr.conf" }}
files."/etc/topolab-test-dir/deep/x.conf" = {{ content = "r1 private\n", mode = "0600" }}
files."/run/topolab/hello" = {{ content = "hi from r1\n" }}
services = [{{ name = "idle", cmd = "TOPOLAB_TEST_TOKEN={tok} exec sleep 600" }}]

[nodes.r2]
files."/etc/frr/frr.conf" = {{ content = "hostname from-r2-inline\n" }}
services = [{{ name = "idle", cmd = "TOPOLAB_TEST_TOKEN={tok} exec sleep 600" }}]

[nodes.bare]

[[links]]
endpoints = ["r1:eth0", "r2:eth0"]
addresses = ["10.61.0.1/24", "10.61.0.2/24"]

[[links]]
endpoints = ["r2:eth1", "bare:eth0"]
addresses = ["10.61.1.1/24", "10.61.1.2/24"]
"#
    );
    let lab_path = dir.write("lab.toml", &text);
    let host_frr = std::fs::read("/etc/frr/frr.conf").ok();
    let host_hostname = nix::unistd::gethostname().expect("hostname");
    let (rt, live) = build_at(&lab_path, &text);

    // Hostname: the node's name, for prompts and daemon logs.
    assert_eq!(ok(&rt, &live, "r1", "hostname").trim(), "r1");
    assert_eq!(ok(&rt, &live, "r2", "uname -n").trim(), "r2");
    // A node that runs nothing is a bare network namespace, as fast as before.
    let bare = live.node_ns(live.lab.node_id("bare").expect("bare"));
    assert!(
        bare.env.is_none(),
        "a node without exec/services/files got namespaces"
    );
    assert_eq!(
        ok(&rt, &live, "bare", "hostname").trim(),
        host_hostname.to_string_lossy()
    );

    // Processes: each node sees its init, its own service and the command, nothing else.
    for node in ["r1", "r2"] {
        let ps = ok(&rt, &live, node, "ps -e -o pid=,comm=");
        let comms: Vec<&str> = ps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect();
        assert_eq!(
            comms.iter().filter(|c| **c == "sleep").count(),
            1,
            "{node} should see exactly its own service:\n{ps}"
        );
        assert!(
            ps.lines()
                .any(|l| l.trim() == format!("1 topolab-node-{node}")),
            "pid 1 of {node} is its init:\n{ps}"
        );
        let foreign: Vec<&&str> = comms
            .iter()
            .filter(|c| !["sleep", "sh", "ps", &format!("topolab-node-{node}")[..]].contains(c))
            .collect();
        assert!(
            foreign.is_empty(),
            "{node} sees other processes {foreign:?}:\n{ps}"
        );
    }
    // From the host both services are visible.
    assert_eq!(processes_with(&tok).len(), 2, "{:?}", processes_with(&tok));

    // Files: each node its own, the host's untouched.
    assert_eq!(
        ok(&rt, &live, "r1", "cat /etc/frr/frr.conf"),
        "hostname from-r1-source\n"
    );
    assert_eq!(
        ok(&rt, &live, "r2", "cat /etc/frr/frr.conf"),
        "hostname from-r2-inline\n"
    );
    assert_eq!(
        ok(
            &rt,
            &live,
            "r1",
            "stat -c %a /etc/topolab-test-dir/deep/x.conf"
        )
        .trim(),
        "600"
    );
    assert_eq!(
        ok(&rt, &live, "r1", "cat /run/topolab/hello"),
        "hi from r1\n"
    );
    let (code, _, _) = sh(
        &rt,
        &live,
        "r2",
        "test -e /etc/topolab-test-dir || test -e /run/topolab/hello",
    );
    assert_ne!(code, 0, "r2 sees r1's files");
    assert!(
        !Path::new("/etc/topolab-test-dir").exists(),
        "a node file reached the host"
    );
    assert_eq!(std::fs::read("/etc/frr/frr.conf").ok(), host_frr);

    // Private /tmp; the host's tree read-only.
    ok(&rt, &live, "r1", "echo r1 > /tmp/topolab-nodes-test");
    let (code, _, _) = sh(&rt, &live, "r2", "test -e /tmp/topolab-nodes-test");
    assert_ne!(code, 0, "r2 sees r1's /tmp");
    assert!(!Path::new("/tmp/topolab-nodes-test").exists());
    let (code, _, err) = sh(&rt, &live, "r1", "touch /usr/topolab-nodes-test");
    assert_ne!(code, 0);
    assert!(err.contains("Read-only"), "{err}");
    // /sys shows the node's interfaces, not the host's.
    let sys = ok(&rt, &live, "r1", "ls /sys/class/net");
    let mut ifaces: Vec<&str> = sys.split_whitespace().collect();
    ifaces.sort();
    assert_eq!(ifaces, ["eth0", "lo"]);

    drop(live);
    drop(rt);
    // The nodes' processes die with the lab.
    assert_no_processes(&tok);
}

#[test]
fn bad_node_files_are_refused_with_positions() {
    let dir = crate::scratch::TempDir::new("nodes-bad");
    std::fs::create_dir_all(dir.0.join("sub")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/shadow", dir.0.join("sub/link")).expect("symlink");
    let text = r#"name = "nodes-bad"
[nodes.r1]
files."etc/relative" = { content = "x" }
files."/etc/frr/../passwd" = { content = "x" }
files."/etc/missing" = { source = "nope.conf" }
files."/etc/escape" = { source = "../../etc/shadow" }
files."/etc/link" = { source = "sub/link" }
files."/etc/both" = { source = "sub/link", content = "x" }
files."/etc/mode" = { content = "x", mode = "rwx" }
"#;
    let path = dir.write("lab.toml", text);
    let loaded = topolab::front::validate::load_source(SourceFile::new(&path, text));
    assert!(loaded.lab.is_none());
    let out = loaded.render(false);
    for want in [
        "lab.toml:3:7: error: `etc/relative` is not an absolute path",
        "lab.toml:4:7: error: `/etc/frr/../passwd` is not an absolute path",
        "lab.toml:5:35: error: `nope.conf` does not exist",
        "lab.toml:6:34: error: `../../etc/shadow` is not inside the lab's directory",
        "lab.toml:7:32: error: `sub/link` leads outside the lab's directory",
        "lab.toml:8:21: error: give exactly one of `source` or `content`",
        "lab.toml:9:45: error: `rwx` is not a file mode",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("root:"),
        "a host file leaked into the message:\n{out}"
    );
}

/// FRR installed by ci/setup.sh; without it this test fails loudly rather than skip.
fn require_frr() {
    assert!(
        Path::new("/usr/lib/frr/zebra").exists(),
        "FRR is not installed: run ci/setup.sh (it installs the Debian package `frr`)"
    );
}

#[test]
fn two_frr_routers_with_their_own_config_in_one_lab() {
    require_root!();
    require_frr();
    let _host = HostGuard::new();
    let path = crate::support::repo_path("labs/incidents/ospf-mtu-mismatch-fixed.toml");
    let text = std::fs::read_to_string(&path).expect("lab");
    let (rt, live) = build_at(&path, &text);
    for (node, other) in [("r1", "2.2.2.2"), ("r2", "1.1.1.1")] {
        let conf = ok(&rt, &live, node, "vtysh -c 'show running-config'");
        assert!(
            conf.contains(&format!("hostname {node}\n")),
            "{node}:\n{conf}"
        );
        // Each vtysh reaches its own node's daemons through the node's private /run.
        let id = ok(&rt, &live, node, "vtysh -c 'show ip ospf json'");
        let v: serde_json::Value = serde_json::from_str(&id).expect("json");
        let own = if node == "r1" { "1.1.1.1" } else { "2.2.2.2" };
        assert_eq!(v["routerId"], own, "{node}: {id}");
        let ps = ok(&rt, &live, node, "ps -e -o comm=");
        assert_eq!(
            ps.lines().filter(|l| *l == "zebra").count(),
            1,
            "{node}:\n{ps}"
        );
        // Converges: the neighbour becomes Full.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, out, _) = sh(&rt, &live, node, "vtysh -c 'show ip ospf neighbor'");
            if out
                .lines()
                .any(|l| l.starts_with(other) && l.contains("Full"))
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{node} never reached Full:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    // The daemons' sockets were in the nodes' /run, not the host's.
    assert!(!Path::new("/run/frr/zebra.vty").exists());
    drop(live);
    drop(rt);
}

/// A node's init is forked without exec: it must not keep what topolab had open. A copy
/// of another namespace's descriptor would keep that namespace alive as long as the
/// node, and a copy of a neighbour-budget slot file kept the slot locked (a `test` of
/// many labs starved itself of budget that way).
#[test]
fn a_nodes_init_keeps_none_of_topolabs_descriptors() {
    require_root!();
    let _host = HostGuard::new();
    let dir = crate::scratch::TempDir::new("nodes-fds");
    let text = r#"
name = "nodes-fds"

[nodes.a]
exec = ["true"]

[nodes.b]

[nodes.c]

[[links]]
endpoints = ["a:eth0", "b:eth0"]

[[links]]
endpoints = ["b:eth1", "c:eth0"]
"#;
    let path = dir.write("fds.toml", text);
    let (rt, live) = build_at(&path, text);
    // In the node, pid 1 is its init and /proc is the node's own.
    let fds = ok(&rt, &live, "a", "ls -l /proc/1/fd");
    // Stdio is kept on purpose, whatever it is: a file when the tests' output is
    // redirected to one (`cargo test > log`).
    let held: Vec<&str> = fds
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .filter(|(fd, _)| {
            fd.rsplit(' ')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .is_none_or(|n| n > 2)
        })
        .map(|(_, target)| target)
        .filter(|target| !target.starts_with("pipe:") && !target.starts_with("/dev/"))
        .collect();
    assert!(
        held.is_empty(),
        "the node's init holds descriptors of topolab: {held:?}\n{fds}"
    );
    drop(live);
    drop(rt);
}
