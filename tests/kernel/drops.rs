//! Where and why a probe's packets died, on the real kernel: eBPF on skb:kfree_skb names
//! the node, the interface and the kernel's drop reason; a drop after which nothing can
//! answer ends the probe at once; nothing stays attached after the run, SIGKILL included.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::host::HostGuard;
use crate::scratch::{TempDir, token};
use crate::support::{bin, text};

/// cli -- r -- srv on two links; srv's only route back leaves through eth0.
const LINE: &str = r#"
[nodes.cli]
routes = [{ to = "default", via = "10.1.0.1" }]
[nodes.r]
forward = true
[nodes.srv]
routes = [{ to = "default", via = "10.2.0.1" }]
[[nodes.srv.listen]]
udp = 53
[[nodes.srv.listen]]
tcp = 22
[[links]]
endpoints = ["cli:eth0", "r:eth0"]
addresses = ["10.1.0.2/24", "10.1.0.1/24"]
[[links]]
endpoints = ["r:eth1", "srv:eth0"]
addresses = ["10.2.0.1/24", "10.2.0.2/24"]
[[links]]
endpoints = ["r:eth2", "srv:eth1"]
addresses = ["10.3.0.1/24", "10.3.0.2/24"]
"#;

/// Runs `lab` with `topolab test --format json` (as CI would: no snapshot is written) and
/// returns its checks by name.
fn run(name: &str, lab: &str, extra: &[&str]) -> Vec<Value> {
    let dir = TempDir::new(name);
    let file = dir.write("lab.toml", &format!("name = \"{name}\"\n{lab}"));
    let out = Command::new(bin())
        .args(["test", "--format", "json"])
        .args(extra)
        .arg(&file)
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", token())
        .output()
        .expect("run topolab");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(&out)));
    assert_eq!(json["version"], 2);
    let checks = json["labs"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!checks.is_empty(), "no checks ran:\n{}", text(&out));
    checks
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
}

fn assert_drop(c: &Value, node: &str, interface: Option<&str>, reason: &str) {
    let d = &c["observed"]["drop"];
    assert_eq!(d["node"], node, "{c:#}");
    assert_eq!(d["reason"], reason, "{c:#}");
    assert_eq!(d["method"], "ebpf", "{c:#}");
    if let Some(i) = interface {
        assert_eq!(d["interface"], i, "{c:#}");
    }
    assert_eq!(c["passed"], true, "{c:#}");
}

fn secs(c: &Value) -> f64 {
    c["duration"].as_f64().expect("duration")
}

#[test]
fn strict_rp_filter_names_node_interface_and_reason_and_ends_at_once() {
    require_root!();
    let _host = HostGuard::new();
    let lab = format!(
        r#"{LINE}
[nodes.srv.sysctl]
"net.ipv4.conf.all.rp_filter" = 1
[[checks]]
name = "ping"
from = "cli"
ping = "10.3.0.2"
expect = "timeout"
dropped = {{ node = "srv", reason = "ip-rpfilter", interface = "eth1" }}
[[checks]]
name = "udp"
from = "cli"
udp = "10.3.0.2:53"
expect = "timeout"
dropped = {{ node = "srv", reason = "ip-rpfilter" }}
[[checks]]
name = "tcp"
from = "cli"
tcp = "10.3.0.2:22"
expect = "timeout"
dropped = {{ node = "srv", reason = "ip-rpfilter", interface = "eth1" }}
[[checks]]
name = "the other address answers"
from = "cli"
ping = "10.2.0.2"
"#
    );
    let checks = run("drops-rpf", &lab, &[]);
    for name in ["ping", "udp", "tcp"] {
        assert_drop(check(&checks, name), "srv", Some("eth1"), "ip-rpfilter");
    }
    // The default timeout is 5 s; the kernel decided within milliseconds.
    for name in ["ping", "udp", "tcp"] {
        let c = check(&checks, name);
        assert!(secs(c) < 1.0, "{name} took {} s: {c:#}", secs(c));
        let detail = c["observed"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("concluded early"), "{c:#}");
    }
    let ok = check(&checks, "the other address answers");
    assert_eq!(ok["observed"]["outcome"], "ok", "{ok:#}");
    assert!(ok["observed"].get("drop").is_none(), "{ok:#}");
}

#[test]
fn a_firewall_drop_names_netfilter_and_the_router_while_a_reject_still_answers() {
    require_root!();
    let _host = HostGuard::new();
    let lab = format!(
        r#"{LINE}
[nodes.r.nft]
text = ""
[[checks]]
name = "dropped ping"
from = "cli"
ping = "10.2.0.2"
expect = "timeout"
dropped = {{ node = "r", reason = "netfilter-drop", interface = "eth0" }}
[[checks]]
name = "dropped udp"
from = "cli"
udp = "10.2.0.2:53"
expect = "timeout"
dropped = {{ node = "r", reason = "netfilter-drop" }}
[[checks]]
name = "dropped tcp"
from = "cli"
tcp = "10.2.0.2:22"
expect = "timeout"
dropped = {{ node = "r", reason = "netfilter-drop", interface = "eth0" }}
[[checks]]
name = "rejected udp"
from = "cli"
udp = "10.2.0.2:54"
expect = "admin-prohibited"
via = "10.1.0.1"
[[checks]]
name = "rejected tcp"
from = "cli"
tcp = "10.2.0.2:23"
expect = "refused"
"#
    )
    .replace(
        "[nodes.r.nft]\ntext = \"\"\n",
        "",
    )
    .replace(
        "[nodes.r]\nforward = true\n",
        "[nodes.r]\nforward = true\nnft = \"\"\"table inet f { chain pass { type filter hook forward priority 0; \
         icmp type echo-request drop; udp dport 53 drop; tcp dport 22 drop; \
         udp dport 54 reject with icmp type admin-prohibited; tcp dport 23 reject with tcp reset; }; }\"\"\"\n",
    );
    let checks = run("drops-nft", &lab, &[]);
    for name in ["dropped ping", "dropped udp", "dropped tcp"] {
        let c = check(&checks, name);
        assert_drop(c, "r", Some("eth0"), "netfilter-drop");
        assert!(secs(c) < 1.0, "{name} took {} s: {c:#}", secs(c));
        let detail = c["observed"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("concluded early"), "{c:#}");
    }
    // A reject frees the packet with the same reason after sending its error: the error
    // must still be what the probe reports.
    let c = check(&checks, "rejected udp");
    assert_eq!(c["observed"]["outcome"], "admin-prohibited", "{c:#}");
    assert_eq!(c["passed"], true, "{c:#}");
    let c = check(&checks, "rejected tcp");
    assert_eq!(c["observed"]["outcome"], "refused", "{c:#}");
}

/// srv forwards, so a probe from cli to 10.9.9.9 with TTL 2 dies at srv with a
/// `ttl-exceeded` that srv sends back through r: where that error dies is the evidence.
const QUOTED: &str = r#"
[[checks]]
name = "ping"
from = "cli"
ping = "10.9.9.9"
ttl = 2
expect = "timeout"
dropped = { node = "r", reason = "REASON", interface = "IFACE" }
[[checks]]
name = "udp"
from = "cli"
udp = "10.9.9.9:53"
ttl = 2
expect = "timeout"
dropped = { node = "r", reason = "REASON", interface = "IFACE" }
[[checks]]
name = "tcp"
from = "cli"
tcp = "10.9.9.9:22"
ttl = 2
expect = "timeout"
dropped = { node = "r", reason = "REASON", interface = "IFACE" }
"#;

fn assert_quoted(checks: &[Value], interface: &str, reason: &str) {
    for name in ["ping", "udp", "tcp"] {
        let c = check(checks, name);
        assert_drop(c, "r", Some(interface), reason);
        assert_eq!(
            c["observed"]["drop"]["icmp_error"], "ttl-exceeded from 10.2.0.2",
            "{c:#}"
        );
        // The error died in the kernel's hands: nothing else can come.
        assert!(secs(c) < 1.0, "{name} took {} s: {c:#}", secs(c));
        let detail = c["observed"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("concluded early"), "{c:#}");
    }
}

#[test]
fn an_icmp_error_dropped_by_a_firewall_on_the_way_back_names_where_it_died() {
    require_root!();
    let _host = HostGuard::new();
    let lab = format!("{LINE}{}", QUOTED)
        .replace("REASON", "netfilter-drop")
        .replace("IFACE", "eth1")
        .replace(
            "[nodes.r]\nforward = true\n",
            "[nodes.r]\nforward = true\nroutes = [{ to = \"10.9.9.0/24\", via = \"10.2.0.2\" }]\n\
             nft = \"table inet f { chain pass { type filter hook forward priority 0; \
             icmp type time-exceeded drop; }; }\"\n",
        )
        .replace("[nodes.srv]\n", "[nodes.srv]\nforward = true\n");
    assert_quoted(
        &run("drops-quoted-nft", &lab, &[]),
        "eth1",
        "netfilter-drop",
    );
}

#[test]
fn an_icmp_error_dropped_by_rp_filter_on_the_way_back_names_where_it_died() {
    require_root!();
    let _host = HostGuard::new();
    // srv sends its errors to cli out of eth1 but from its eth0 address, where r's strict
    // reverse-path filter expects that address. srv asks for r's eth2 address from its own
    // eth1 address (`arp_announce`): an ARP request from 10.2.0.2 on eth2 fails r's
    // reverse-path check too, and the error would die at srv's unresolved neighbour.
    let lab = format!("{LINE}{}", QUOTED)
        .replace("REASON", "ip-rpfilter")
        .replace("IFACE", "eth2")
        .replace(
            "[nodes.r]\nforward = true\n",
            "[nodes.r]\nforward = true\nroutes = [{ to = \"10.9.9.0/24\", via = \"10.2.0.2\" }]\n\
             sysctl = { \"net.ipv4.conf.all.rp_filter\" = 1 }\n",
        )
        .replace(
            "[nodes.srv]\nroutes = [{ to = \"default\", via = \"10.2.0.1\" }]\n",
            "[nodes.srv]\nforward = true\nroutes = [{ to = \"default\", via = \"10.2.0.1\" }, \
             { to = \"10.1.0.0/24\", via = \"10.3.0.1\", src = \"10.2.0.2\" }]\n\
             sysctl = { \"net.ipv4.conf.all.arp_announce\" = 2 }\n",
        );
    assert_quoted(&run("drops-quoted-rpf", &lab, &[]), "eth2", "ip-rpfilter");
}

#[test]
fn the_docker0_incident_names_the_node_whose_neighbour_failed() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("drops-docker0");
    let lab = crate::support::repo_path("labs/incidents/docker0-peer-vpc.toml");
    let out = Command::new(bin())
        .args(["test", "--format", "json"])
        .arg(&lab)
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", token())
        .output()
        .expect("run topolab");
    assert!(out.status.success(), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks = json["labs"][0]["checks"]
        .as_array()
        .expect("checks")
        .clone();
    // legacy's ping arrives; app's reply goes to docker0, where nobody answers ARP.
    assert_drop(
        check(&checks, "legacy pings app: no answer"),
        "app",
        Some("docker0"),
        "neigh-failed",
    );
}

/// Ids of the BPF programs and links a process holds (from its descriptors' fdinfo).
fn bpf_ids(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for fd in fds.flatten() {
        let info = std::fs::read_to_string(fd.path()).unwrap_or_default();
        if info.contains("link_type:") || info.contains("prog_type:") {
            ids.extend(
                info.lines()
                    .filter_map(|l| l.strip_prefix("prog_id:"))
                    .filter_map(|v| v.trim().parse::<u32>().ok()),
            );
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// Whether a BPF program with this id still exists (BPF_PROG_GET_FD_BY_ID).
fn prog_exists(id: u32) -> bool {
    #[repr(C)]
    struct Attr {
        id: u32,
        next_id: u32,
        open_flags: u32,
    }
    let attr = Attr {
        id,
        next_id: 0,
        open_flags: 0,
    };
    const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
    // SAFETY: the attribute is a valid, fully initialised bpf_attr prefix of its size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_GET_FD_BY_ID,
            &attr as *const Attr,
            std::mem::size_of::<Attr>() as u32,
        )
    };
    if fd >= 0 {
        // SAFETY: a descriptor the kernel just gave us.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOENT)
}

#[test]
fn sigkill_leaves_no_bpf_program_behind() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("drops-kill");
    let lab = dir.write(
        "lab.toml",
        &format!(
            r#"name = "drops-kill"
{LINE}
[[checks]]
from = "cli"
tcp = "10.2.0.2:9"
timeout = "30s"
expect = "timeout"
"#
        )
        .replace(
            "[nodes.r]\nforward = true\n",
            "[nodes.r]\nforward = true\nnft = \"table inet f { chain pass { type filter hook forward priority 0; tcp dport 9 drop; }; }\"\n",
        ),
    );
    let tok = token();
    let mut child = Command::new(bin())
        .args(["test"])
        .arg(&lab)
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn topolab");
    // topolab re-executes itself inside a pid namespace: the tracer lives in a descendant.
    let start = Instant::now();
    let mut ids = Vec::new();
    while ids.len() < 2 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
        ids.clear();
        for pid in descendants(child.id()) {
            ids.extend(bpf_ids(pid));
        }
    }
    assert!(!ids.is_empty(), "the run never attached its drop tracer");
    // on_drop and on_drop_nested, which reports what on_drop misses while it runs on the
    // same CPU (the kernel does not run a tracing program inside itself).
    assert_eq!(ids.len(), 2, "the tracer's programs: {ids:?}");
    assert!(ids.iter().all(|&i| prog_exists(i)));
    for pid in descendants(child.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    // Programs are freed once their last reference (descriptor, link) is gone; the kernel
    // does that asynchronously (RCU), within moments.
    let start = Instant::now();
    while ids.iter().any(|&i| prog_exists(i)) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<u32> = ids.into_iter().filter(|&i| prog_exists(i)).collect();
    assert!(left.is_empty(), "BPF programs left after SIGKILL: {left:?}");
    crate::host::assert_no_processes(&tok);
}

/// `pid` and every process below it (parents from /proc/PID/stat).
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|p| {
                    let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                    // The command may hold spaces and parentheses: fields follow the last ')'.
                    let rest = &stat[stat.rfind(')')? + 2..];
                    let ppid = rest.split_whitespace().nth(1)?.parse::<u32>().ok()?;
                    Some((p, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        all.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    all
}

#[test]
fn dropped_cannot_go_with_ok() {
    let dir = TempDir::new("drops-invalid");
    let lab = dir.write(
        "lab.toml",
        &format!(
            r#"name = "drops-invalid"
{LINE}
[[checks]]
from = "cli"
ping = "10.2.0.2"
expect = "ok"
dropped = {{ node = "srv", reason = "ip-rpfilter" }}
"#
        ),
    );
    let out = Command::new(bin())
        .arg("check")
        .arg(&lab)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("`dropped` with `expect = \"ok\"`"), "{t}");
    assert!(t.contains("lab.toml:"), "{t}");
}

#[test]
fn diff_shows_where_the_base_lab_drops_what_the_fixed_lab_delivers() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("drops-diff");
    let out = Command::new(bin())
        .args(["diff", "--format", "json", "--no-matrix"])
        .arg(crate::support::repo_path(
            "labs/incidents/rp-filter-multihomed.toml",
        ))
        .arg(crate::support::repo_path(
            "labs/incidents/rp-filter-multihomed-fixed.toml",
        ))
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", token())
        .output()
        .expect("run topolab diff");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out)));
    let flows = json["flows"].as_array().expect("flows");
    let ping = flows
        .iter()
        .find(|f| f["name"] == "pings to the storage address get no answer")
        .unwrap_or_else(|| panic!("no such flow in {json:#}"));
    assert_eq!(ping["changed"], true, "{ping:#}");
    assert_eq!(ping["base"]["drop"]["node"], "srv", "{ping:#}");
    assert_eq!(ping["base"]["drop"]["reason"], "ip-rpfilter", "{ping:#}");
    assert_eq!(ping["candidate"]["outcome"], "ok", "{ping:#}");
}
