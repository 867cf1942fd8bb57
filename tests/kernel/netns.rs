//! Test-only lab scaffolding until the engine exists: anonymous network namespaces held by
//! file descriptor, configured with `ip`/`nft`/`sysctl` run inside them via `setns` in
//! `pre_exec`. Nothing is ever configured in the host namespace: a command whose `setns`
//! fails is never executed. Dropping an `Ns` closes its descriptor; the kernel then frees
//! the namespace with its interfaces, so a failing test leaves nothing behind.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns, unshare};

pub struct Ns {
    fd: OwnedFd,
}

impl Ns {
    /// A fresh, empty network namespace with `lo` up.
    pub fn new() -> Ns {
        topolab::kernel::host_guard::arm().expect("arm the host guard");
        // unshare on a throwaway thread: the test thread itself never changes namespace.
        let fd = std::thread::spawn(|| -> OwnedFd {
            unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
            File::open("/proc/thread-self/ns/net")
                .expect("open the new namespace")
                .into()
        })
        .join()
        .expect("namespace thread");
        let ns = Ns { fd };
        // Labs are built from scratch: duplicate address detection would only keep fresh
        // IPv6 addresses (link-locals included) tentative for a second or two.
        ns.sh("ip link set lo up; sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
        ns
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// How another process names this namespace (iproute2 takes a path with a '/').
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd.as_raw_fd())
    }

    /// Runs a shell script inside the namespace; panics with its stderr if it fails.
    pub fn sh(&self, script: &str) {
        let out = self
            .command(script)
            .output()
            .expect("spawn sh in namespace");
        assert!(
            out.status.success(),
            "in-namespace script failed: {script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a script and returns its stdout (for diagnostics in assertions).
    pub fn out(&self, script: &str) -> String {
        let out = self
            .command(script)
            .output()
            .expect("spawn sh in namespace");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn command(&self, script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-ec").arg(script).stdin(Stdio::null());
        let raw = self.fd.as_raw_fd();
        // SAFETY: setns(2) is async-signal-safe; the descriptor was inherited by the fork.
        unsafe {
            cmd.pre_exec(move || {
                let fd = BorrowedFd::borrow_raw(raw);
                setns(fd, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
            });
        }
        cmd
    }
}

/// A veth pair from `a:ia` to `b:ib`, created in `a` with its peer placed straight in `b`.
pub fn veth(a: &Ns, ia: &str, b: &Ns, ib: &str) {
    a.sh(&format!(
        "ip link add {ia} type veth peer name {ib} netns {}",
        b.path()
    ));
    a.sh(&format!("ip link set {ia} up"));
    b.sh(&format!("ip link set {ib} up"));
    wait_up(a, ia);
    wait_up(b, ib);
}

/// Waits until the kernel reports the link operationally up: carrier changes reach IPv4
/// and IPv6 (routes, neighbour discovery) only through linkwatch, up to a second later,
/// and a probe sent before that can be lost at a router ("no route" in its counters).
pub fn wait_up(n: &Ns, dev: &str) {
    let up = poll(Duration::from_secs(5), || {
        n.out(&format!("ip -o link show dev {dev}"))
            .contains("state UP")
            .then_some(())
    });
    assert!(up.is_some(), "{dev} never came up");
}

pub fn forward(n: &Ns) {
    n.sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
}

/// h --eth0-- r --eth1-- t, dual stack:
///   h 10.0.1.2/24 fd00:1::2/64, r 10.0.1.1 fd00:1::1 | 10.0.2.1 fd00:2::1, t 10.0.2.2 fd00:2::2
/// h and t route everything through r.
pub struct Line {
    pub h: Ns,
    pub r: Ns,
    pub t: Ns,
}

pub fn line() -> Line {
    let (h, r, t) = (Ns::new(), Ns::new(), Ns::new());
    veth(&h, "eth0", &r, "eth0");
    veth(&r, "eth1", &t, "eth0");
    h.sh(
        "ip addr add 10.0.1.2/24 dev eth0; ip addr add fd00:1::2/64 dev eth0 nodad
         ip route add default via 10.0.1.1; ip -6 route add default via fd00:1::1",
    );
    r.sh(
        "ip addr add 10.0.1.1/24 dev eth0; ip addr add fd00:1::1/64 dev eth0 nodad
         ip addr add 10.0.2.1/24 dev eth1; ip addr add fd00:2::1/64 dev eth1 nodad",
    );
    forward(&r);
    t.sh(
        "ip addr add 10.0.2.2/24 dev eth0; ip addr add fd00:2::2/64 dev eth0 nodad
         ip route add default via 10.0.2.1; ip -6 route add default via fd00:2::1",
    );
    Line { h, r, t }
}

/// Polls `f` until it returns `Some` or `within` passes.
pub fn poll<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
pub mod probes;

/// Async `poll`: retries `f` until it returns `Some` or `within` passes.
pub async fn poll_async<T, F, Fut>(within: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A plain UDP socket created inside `n` (test-side, on a throwaway thread).
pub fn udp_socket_in(n: &Ns) -> std::net::UdpSocket {
    let fd = n.fd.try_clone().expect("dup namespace fd");
    std::thread::spawn(move || {
        setns(&fd, CloneFlags::CLONE_NEWNET).expect("setns");
        std::net::UdpSocket::bind("127.0.0.1:0").expect("socket in namespace")
    })
    .join()
    .expect("socket thread")
}
