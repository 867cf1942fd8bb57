//! Issue 13: what broke when topolab was used the way a hostile or unlucky user would.
//! Each test here failed on the code before the fix.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::host::{HostGuard, assert_no_processes, processes_with};
use crate::scratch::{TempDir, token, topolab};
use crate::support::{bin, text};

/// `hosts` nodes on one switch, 10.1.0.1.. in one /16, and a ping check from the first to
/// each of the next `checks`.
fn star(name: &str, hosts: usize, checks: usize) -> String {
    let mut t = format!("name = \"{name}\"\n[switches.lan]\n");
    for i in 1..=hosts {
        t.push_str(&format!(
            "[nodes.h{i}]\n[[links]]\nendpoints = [\"h{i}:eth0\", \"lan\"]\naddresses = [\"10.1.{}.{}/16\"]\n",
            i / 250,
            i % 250 + 1
        ));
    }
    for i in 2..2 + checks {
        t.push_str(&format!(
            "[[checks]]\nfrom = \"h1\"\nping = \"10.1.{}.{}\"\nexpect = \"ok\"\n",
            i / 250,
            i % 250 + 1
        ));
    }
    t
}

/// topolab under a shell that set the open-file limits first (`ulimit` arguments).
fn with_ulimit(limits: &str, args: &[&str], runtime: &Path, token: &str) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("{limits} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .env("TOPOLAB_RUNTIME_DIR", runtime)
        .env("TOPOLAB_TEST_TOKEN", token)
        .env("NO_COLOR", "1")
        // `--accept` is refused under CI; these runs write their own scratch snapshots.
        .env_remove("CI")
        .output()
        .expect("run topolab under bash")
}

#[test]
fn a_low_soft_open_file_limit_is_raised_before_building() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("nofile");
    let lab = dir.write("wide.toml", &star("wide", 80, 5));
    let tok = token();
    let lab_arg = lab.to_str().expect("utf-8");
    let accepted = with_ulimit(
        "true",
        &["test", "--accept", lab_arg],
        &dir.0.join("run"),
        &tok,
    );
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    // 80 namespaces hold 160 descriptors: more than the soft limit, well within the hard.
    let out = with_ulimit(
        "ulimit -S -n 100 && ulimit -H -n 4096",
        &["test", lab.to_str().expect("utf-8")],
        &dir.0.join("run"),
        &tok,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn a_lab_beyond_the_hard_open_file_limit_is_refused_before_building() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("nofile-hard");
    let lab = dir.write("wide.toml", &star("wide", 80, 1));
    let tok = token();
    let start = Instant::now();
    let out = with_ulimit(
        "ulimit -n 200",
        &["test", lab.to_str().expect("utf-8")],
        &dir.0.join("run"),
        &tok,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("this lab has 81 namespaces and needs about 289 open files"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("ulimit -Hn 289"), "{}", text(&out));
    assert!(start.elapsed() < Duration::from_secs(5), "refused late");
    assert_no_processes(&tok);
    drop(host);
}

/// Issue 14: a namespace keeps one descriptor for the lab's life; its netlink socket is a
/// cache (engine::connections). 250 hosts and their switch under `ulimit -n 512` fit with
/// about 70 connections open at once, reopened as steps and checks need them; a socket
/// held per namespace would need more descriptors than the limit. (A 600-host star under
/// 1,024 once saw h600's ARP for h1 go unanswered, `neigh-failed`, while the suite loaded
/// the machine; the cause is not found yet, see the issue-14 note.)
#[test]
fn a_lab_with_more_namespaces_than_connections_builds_runs_steps_and_leaves_nothing() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("nofile-connections");
    let mut t = star("many-ns", 250, 3);
    // Steps act on nodes whose connection was closed long ago (the build's first ones).
    t.push_str(concat!(
        "[[steps]]\nname = \"h2 down\"\nactions = [{ down = \"h2:eth0\" }]\n",
        "[[steps.checks]]\nfrom = \"h1\"\nping = \"10.1.0.3\"\ntimeout = \"1s\"\nexpect = \"timeout\"\n",
        "[[steps]]\nname = \"h2 up\"\nactions = [{ up = \"h2:eth0\" }]\n",
        "[[steps.checks]]\nfrom = \"h1\"\nping = \"10.1.0.3\"\nexpect = \"ok\"\n",
        "[[steps.checks]]\nfrom = \"h250\"\nping = \"10.1.0.2\"\nexpect = \"ok\"\n",
    ));
    let lab = dir.write("many-ns.toml", &t);
    let tok = token();
    let lab_arg = lab.to_str().expect("utf-8");
    let out = with_ulimit(
        "ulimit -n 512",
        &["test", "--accept", "--format", "json", lab_arg],
        &dir.0.join("run"),
        &tok,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&out)));
    let lab = &report["labs"][0];
    assert_eq!(lab["status"]["kind"], "passed", "{lab}");
    let steps = lab["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps.len(), 2, "{lab}");
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn invalid_utf8_is_located_at_the_first_bad_byte() {
    let dir = TempDir::new("utf8");
    let lab = dir.0.join("latin1.toml");
    std::fs::write(&lab, b"name = \"x\"\n[nodes.caf\xe9]\n").expect("write");
    let out = topolab(
        &["check", lab.to_str().expect("utf-8")],
        &dir.0.join("run"),
        &token(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("latin1.toml:2:11: error: invalid UTF-8 (byte 0xe9)"),
        "{}",
        text(&out)
    );
}

#[test]
fn commands_refuse_a_runtime_directory_that_is_not_our_own() {
    let dir = TempDir::new("rundir");
    let victim = dir.0.join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    std::fs::write(victim.join("precious.log"), "keep me").expect("write");
    std::fs::write(victim.join("other.sock"), "keep me").expect("write");
    let link = dir.0.join("run");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    for cmd in [&["clean"][..], &["ls"], &["down", "--all"]] {
        let out = topolab(cmd, &link, &token());
        assert_eq!(out.status.code(), Some(3), "{cmd:?}: {}", text(&out));
        assert!(
            text(&out).contains("is a symbolic link: refusing to use it"),
            "{cmd:?}: {}",
            text(&out)
        );
    }
    assert!(victim.join("precious.log").exists() && victim.join("other.sock").exists());

    // A directory others can read (or one that is not a directory) is refused too.
    std::fs::remove_file(&link).expect("rm");
    std::fs::create_dir(&link).expect("mkdir");
    std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = topolab(&["ls"], &link, &token());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("has mode 0755, not 0700"),
        "{}",
        text(&out)
    );
    std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let out = topolab(&["ls"], &link, &token());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no lab is up"), "{}", text(&out));
}

const SLOW_UP: &str = r#"
name = "slowup"
[nodes.a]
exec = ["sleep 4"]
[[nodes.a.services]]
name = "daemon"
cmd = "sleep 300"
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;

#[test]
fn an_interrupted_up_leaves_nothing() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("up-interrupted");
    let lab = dir.write("slowup.toml", SLOW_UP);
    let run = dir.0.join("run");
    let tok = token();
    let mut up = Command::new(bin())
        .args(["up", lab.to_str().expect("utf-8")])
        .env("TOPOLAB_RUNTIME_DIR", &run)
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    // Well inside the 4-second setup command: the lab is half-built.
    std::thread::sleep(Duration::from_millis(1500));
    up.kill().expect("SIGKILL up");
    let _ = up.wait();
    // The build would finish 2.5 s later; give it time to show up if it survived.
    std::thread::sleep(Duration::from_secs(4));
    let left = processes_with(&tok);
    let files: Vec<_> = std::fs::read_dir(&run)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    if !left.is_empty() {
        // Take the survivor down so a failing run leaves nothing behind either.
        let _ = topolab(&["down", "slowup"], &run, &tok);
    }
    assert!(left.is_empty(), "the lab survived its `up`: {left:?}");
    assert!(files.is_empty(), "runtime files left: {files:?}");
    assert_no_processes(&tok);
    drop(host);
}

/// 1,200 ping checks to 1,200 addresses of one neighbour: sent at once they need 1,200
/// neighbour entries, more than the host's whole table (gc_thresh3, 1024 by default), and
/// most failed with ENOBUFS. Under the neighbour budget they run in batches.
#[test]
fn twelve_hundred_ping_checks_stay_within_the_neighbour_budget() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("many-checks");
    const CHECKS: usize = 1200;
    let mut t = String::from(
        "name = \"many-checks\"\n[nodes.s]\n[nodes.t]\n[[links]]\nendpoints = [\"s:eth0\", \"t:eth0\"]\naddresses = [\"10.2.0.1/16\", \"10.2.0.2/16\"]\n[nodes.t.interfaces.eth0]\naddresses = [",
    );
    let target = |i: usize| format!("10.2.{}.{}", 1 + i / 250, 1 + i % 250);
    for i in 0..CHECKS {
        t.push_str(&format!("\"{}/16\", ", target(i)));
    }
    t.push_str("]\n");
    for i in 0..CHECKS {
        t.push_str(&format!(
            "[[checks]]\nfrom = \"s\"\nping = \"{}\"\nexpect = \"ok\"\n",
            target(i)
        ));
    }
    let lab = dir.write("many.toml", &t);
    let tok = token();
    let out = with_ulimit(
        "ulimit -S -n 1024",
        &["test", "--format", "json", lab.to_str().expect("utf-8")],
        &dir.0.join("run"),
        &tok,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&out)));
    let checks = report["labs"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(checks.len(), CHECKS, "{}", text(&out));
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c["passed"] != true)
        .map(|c| format!("{} {} {}", c["name"], c["observed"], c["error"]))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {CHECKS} checks failed, e.g. {:?}; warnings {}",
        failed.len(),
        &failed[..failed.len().min(5)],
        report["labs"][0]["warnings"]
    );
    assert_no_processes(&tok);
    drop(host);
}

/// `review` on a terminal takes single keys, as `cargo insta review` does: one `a`
/// accepts, without Enter (the old prompt waited for a line and never finished here).
#[test]
fn review_takes_single_keys() {
    use std::os::fd::AsFd;
    let dir = TempDir::new("review-keys");
    std::fs::write(dir.0.join("a.snap.new"), "observed a\n").expect("write");
    std::fs::write(dir.0.join("b.snap.new"), "observed b\n").expect("write");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = || Stdio::from(pty.slave.as_fd().try_clone_to_owned().expect("dup"));
    let mut child = Command::new(bin())
        .args(["review", dir.0.to_str().expect("utf-8")])
        .env("NO_COLOR", "1")
        .stdin(slave())
        .stdout(slave())
        .stderr(slave())
        .spawn()
        .expect("spawn review");
    // One key per snapshot, no newline: accept the first, reject the second.
    let mut master = std::fs::File::from(pty.master);
    std::io::Write::write_all(&mut master, b"ar").expect("type");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "review did not finish on single keys: {status:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.0.join("a.snap")).expect("accepted"),
        "observed a\n"
    );
    assert!(!dir.0.join("a.snap.new").exists());
    assert!(!dir.0.join("b.snap.new").exists() && !dir.0.join("b.snap").exists());
}

/// A supervisor killed before the lab is up is the environment's doing (the OOM killer,
/// an operator), not the kernel refusing the lab: exit 3, not 4.
#[test]
fn a_killed_supervisor_is_an_environment_error() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("up-supervisor-killed");
    let lab = dir.write("slowup.toml", SLOW_UP);
    let run = dir.0.join("run");
    let tok = token();
    let up = Command::new(bin())
        .args(["up", lab.to_str().expect("utf-8")])
        .env("TOPOLAB_RUNTIME_DIR", &run)
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    std::thread::sleep(Duration::from_millis(1500));
    // The supervisor's outer process, started by `up` (its inner half dies with it).
    let parent_of = |pid: i32| -> Option<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("PPid:").and_then(|v| v.trim().parse().ok()))
    };
    let supervisor = processes_with(&tok)
        .into_iter()
        .filter(|p| p.contains("__supervise"))
        .filter_map(|p| p.split(':').next().and_then(|pid| pid.parse::<i32>().ok()))
        .find(|&pid| parent_of(pid) == Some(up.id()))
        .expect("a supervisor is running");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the supervisor");
    let out = up.wait_with_output().expect("up ends");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("the supervisor exited before the lab was up"),
        "{}",
        text(&out)
    );
    assert_no_processes(&tok);
    drop(host);
}

/// Bytes held in memfd files by these processes (a file counted once per descriptor).
fn memfd_bytes(pids: &[u32]) -> u64 {
    let mut total = 0;
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let is_memfd = std::fs::read_link(fd.path())
                .is_ok_and(|t| t.to_string_lossy().starts_with("/memfd:"));
            if is_memfd {
                total += std::fs::metadata(fd.path()).map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// Resident memory of a process in KiB (0 once it is gone).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A service, and a process a setup command left behind, printing as fast as they can for
/// three seconds: their output used to go to memfd files that grew for the lab's whole life
/// (host shared memory). Now topolab keeps the last 64 KiB of the service's (1 MiB of the
/// command's) and the report says how much was cut before them.
#[test]
fn a_chatty_services_output_stays_bounded_and_the_report_says_it_was_cut() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("chatty");
    let lab = dir.write(
        "chatty.toml",
        r#"
name = "chatty"
[nodes.a]
[[nodes.a.services]]
name = "yes"
cmd = "exec yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
ready = { cmd = "sleep 3" }
[nodes.b]
# A setup command that leaves a chatty process behind: it keeps writing after `exec` ends.
exec = ["yes setup-output-setup-output-setup-output-setup-output &"]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#,
    );
    let run = dir.0.join("run");
    let tok = token();
    let mut child = Command::new(bin())
        .args(["test", "--format", "json", lab.to_str().expect("utf-8")])
        .env("TOPOLAB_RUNTIME_DIR", &run)
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn test");
    // Read both pipes while it runs: the report is bigger than a pipe holds.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let topolab_pid = child.id();
    let (mut most_memfd, mut most_rss) = (0u64, 0u64);
    let start = Instant::now();
    let status = loop {
        let mut pids: Vec<u32> = processes_with(&tok)
            .iter()
            .filter_map(|p| p.split(':').next().and_then(|pid| pid.parse().ok()))
            .collect();
        pids.push(topolab_pid);
        most_memfd = most_memfd.max(memfd_bytes(&pids));
        most_rss = most_rss.max(rss_kib(topolab_pid));
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "topolab test did not end"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    };
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let output = report["labs"][0]["services"][0]["output"]
        .as_str()
        .unwrap_or_else(|| panic!("no service output: {}", text(&out)))
        .to_string();
    assert!(
        most_memfd < 1 << 20,
        "{most_memfd} bytes of output in memfd files while the lab ran"
    );
    // The debug build's own size is a few tens of MiB; the output adds at most its tail.
    assert!(
        most_rss < 128 * 1024,
        "topolab's resident memory reached {most_rss} KiB"
    );
    let first = output.lines().next().unwrap_or_default();
    eprintln!("memfd {most_memfd} B, rss {most_rss} KiB, report: {first}");
    assert!(
        first.starts_with("[… ") && first.ends_with(" cut]"),
        "the report does not say the output was cut: {first}"
    );
    assert!(output.len() <= 64 * 1024 + 64, "{} bytes", output.len());
    assert!(output.ends_with("0123456789abcdef\n"), "{output:?}");
    assert_no_processes(&tok);
    drop(host);
}

/// `up` with a service that prints 3 MB and exits before it is ready: the error shows the
/// tail of its output and names the lab's log, which holds what was cut (and is still
/// there to be read).
#[test]
fn up_names_the_log_that_holds_what_was_cut_from_a_failed_services_output() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("chatty-up");
    let lab = dir.write(
        "chatty.toml",
        r#"
name = "chatty-up"
[nodes.a]
[[nodes.a.services]]
name = "talker"
cmd = "yes 0123456789abcdef | head -c 3000000; exit 1"
ready = { cmd = "false" }
"#,
    );
    let run = dir.0.join("run");
    let tok = token();
    let out = topolab(&["up", lab.to_str().expect("utf-8")], &run, &tok);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    let at = t
        .find("cut, see ")
        .unwrap_or_else(|| panic!("no cut said: {t}"))
        + 9;
    let path = &t[at..at + t[at..].find(']').expect("]")];
    assert!(path.starts_with(run.to_str().expect("utf-8")), "{path}");
    let log = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        log.contains("--- output of service talker"),
        "{}",
        &log[..200]
    );
    assert!(log.contains("0123456789abcdef\n0123456789abcdef\n"));
    // The message keeps only the tail.
    assert!(t.len() < 128 * 1024, "{} bytes", t.len());
    assert_no_processes(&tok);
    drop(host);
}

/// nft reports a syntax error at `/dev/stdin:LINE:COL` of the ruleset it was fed; the
/// report points at the lab file's own line and column instead.
#[test]
fn nft_errors_point_at_the_lab_files_line() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("nft-line");
    let lab = dir.write(
        "fw.toml",
        r#"name = "fw"

[nodes.gw]
nft = """
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    tcp dport 22 acept
  }
}
"""
"#,
    );
    let tok = token();
    let out = topolab(
        &["test", lab.to_str().expect("utf-8")],
        &dir.0.join("run"),
        &tok,
    );
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains("/dev/stdin"), "{t}");
    assert!(t.contains(&format!("{}:8:", lab.display())), "{t}");
    assert_no_processes(&tok);
    drop(host);
}
