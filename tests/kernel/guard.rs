//! The host guard: no probe or responder may run in the host network namespace. Every
//! destination here is loopback, so even a guard failure could not leave the machine.

use std::fs::File;
use std::os::fd::AsFd;
use std::time::Duration;

use topolab::front::lab::{Listen, ListenMode, ListenProto};
use topolab::kernel::host_guard::{self, GuardError, NsId};
use topolab::kernel::probe::{self, ProbeError, responder};

use crate::netns::probes::*;

fn host_ns() -> File {
    // The test thread never leaves the host namespace.
    File::open("/proc/thread-self/ns/net").expect("open the host namespace")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_from_the_host_namespace_are_refused() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    host_guard::arm().expect("arm the guard");
    let host = host_ns();
    for p in [
        ping("127.0.0.1"),
        tcp("127.0.0.1:9"),
        udp("127.0.0.1:9"),
        route("127.0.0.1"),
        ping("::1"),
    ] {
        let r = probe::run(host.as_fd(), &p, Duration::from_millis(200)).await;
        assert!(
            matches!(r, Err(ProbeError::HostNamespace)),
            "{} {}: {r:?}",
            p.kind(),
            p.target()
        );
    }
    let l = Listen {
        proto: ListenProto::Udp,
        port: 9,
        address: Some(ip("127.0.0.1")),
        mode: ListenMode::Close,
    };
    assert!(matches!(
        responder::start(host.as_fd(), &l).await,
        Err(ProbeError::HostNamespace)
    ));
}

#[test]
fn a_host_socket_fails_the_socket_check() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    host_guard::arm().expect("arm the guard");
    // Bound to loopback and never used: only its namespace is looked at.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("loopback socket");
    let host = NsId::current_thread().expect("host id");
    let lab = crate::netns::Ns::new();
    let lab_id = NsId::of(lab.fd()).expect("lab id");
    assert!(matches!(
        host_guard::check_socket(sock.as_fd(), host),
        Err(GuardError::HostNamespace)
    ));
    assert!(matches!(
        host_guard::check_socket(sock.as_fd(), lab_id),
        Err(GuardError::HostNamespace)
    ));
    assert!(matches!(
        host_guard::check_namespace(host),
        Err(GuardError::HostNamespace)
    ));
    assert!(host_guard::check_namespace(lab_id).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_from_another_lab_namespace_is_refused() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let (a, b) = (crate::netns::Ns::new(), crate::netns::Ns::new());
    // A socket made for `a` checked against `b` is the wrong namespace.
    let sock = crate::netns::udp_socket_in(&a);
    let b_id = NsId::of(b.fd()).expect("b id");
    assert!(matches!(
        host_guard::check_socket(sock.as_fd(), b_id),
        Err(GuardError::WrongNamespace)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_thread_does_not_keep_lab_namespaces_alive() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let lab_ids: Vec<NsId> = [&l.h, &l.r, &l.t]
        .iter()
        .map(|n| NsId::of(n.fd()).expect("id"))
        .collect();
    let o = observe(&l.h, &ping("10.0.2.2"), 2.0).await;
    assert_eq!(o.outcome, topolab::front::lab::Outcome::Ok);
    // Once idle, no thread of this process may sit in a lab namespace: it would pin the
    // namespace (and its interfaces) after the lab is gone.
    let clear = crate::netns::poll(Duration::from_secs(2), || {
        let pinned = std::fs::read_dir("/proc/self/task")
            .ok()?
            .flatten()
            .any(|t| {
                File::open(t.path().join("ns/net"))
                    .ok()
                    .and_then(|f| NsId::of(f.as_fd()).ok())
                    .is_some_and(|id| lab_ids.contains(&id))
            });
        (!pinned).then_some(())
    });
    assert!(clear.is_some(), "a thread stayed in a lab namespace");
}
