//! SIGINT and SIGTERM end a run at once, in any phase, and leave nothing behind.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token};
use crate::support::bin;

const SLOW: &str = r#"
name = "slow"
[nodes.a]
exec = ["sleep 300 >/dev/null 2>&1 &"]
[[nodes.a.services]]
name = "daemon"
cmd = "sleep 300"
[nodes.b]
nft = """
table inet f {
  chain input {
    type filter hook input priority 0;
    tcp dport 81 drop
  }
}
"""
# A socket that takes the datagrams and never answers: no drop, no ICMP error, so the
# probe waits its whole 30 s (a drop by nft would conclude it after 0.2 s).
[[nodes.b.services]]
name = "sink"
cmd = '''exec python3 -c 'import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 81)); time.sleep(300)' '''
ready = { udp = 81 }
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[checks]]
from = "a"
udp = "10.0.0.2:81"
expect = "timeout"
timeout = "30s"
"#;

fn interrupt(signal: nix::sys::signal::Signal, code: i32) {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("signals");
    let lab = dir.write("slow.toml", SLOW);
    let tok = token();
    // Without drop tracing: the firewall's drop would otherwise conclude the check at once
    // (a SYN dropped by netfilter is a definitive timeout), and the run would be over.
    let mut child = Command::new(bin())
        .args(["test", "--drops", "off", lab.to_str().expect("utf-8")])
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Well into the 30 s check.
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).expect("signal");
    let status = child.wait().expect("wait");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(code), "{status:?}");
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn sigterm_ends_a_run_at_once() {
    interrupt(nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn sigint_ends_a_run_at_once() {
    interrupt(nix::sys::signal::Signal::SIGINT, 130);
}
