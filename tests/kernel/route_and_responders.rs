//! Route lookups and the built-in responders.

use topolab::front::lab::Outcome::*;
use topolab::front::lab::{Listen, ListenMode, ListenProto, Probe};
use topolab::kernel::probe::{self, RouteInfo, responder};

use crate::netns::probes::*;

fn listen(proto: ListenProto, port: u16, address: Option<&str>, mode: ListenMode) -> Listen {
    Listen {
        proto,
        port,
        address: address.map(ip),
        mode,
    }
}

fn info(
    dev: Option<&str>,
    via: Option<&str>,
    src: Option<&str>,
    kind: &str,
    table: Option<u32>,
) -> RouteInfo {
    RouteInfo {
        dev: dev.map(str::to_string),
        via: via.map(ip),
        src: src.map(ip),
        kind: kind.to_string(),
        table,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_lookup_like_ip_route_get() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let o = observe(&l.h, &route("10.0.2.2"), 2.0).await;
    assert_eq!(o.outcome, Ok);
    assert_eq!(
        o.route,
        Some(info(
            Some("eth0"),
            Some("10.0.1.1"),
            Some("10.0.1.2"),
            "unicast",
            Some(254)
        ))
    );
    // The kernel answers a local destination with table main, as `ip -d route get` shows,
    // although the route lives in table local.
    let o = observe(&l.h, &route("10.0.1.2"), 2.0).await;
    assert_eq!(
        o.route,
        Some(info(Some("lo"), None, Some("10.0.1.2"), "local", Some(254)))
    );
    let o = observe(&l.h, &route("fd00:2::2"), 2.0).await;
    let r = o.route.expect("v6 route");
    assert_eq!(
        (r.dev.as_deref(), r.via, r.kind.as_str()),
        (Some("eth0"), Some(ip("fd00:1::1")), "unicast")
    );
    // Policy routing: the table that answered is reported.
    l.h.sh("ip route add 10.70.0.0/16 dev eth0 table 200; ip rule add to 10.70.0.0/16 table 200 priority 100");
    let o = observe(&l.h, &route("10.70.0.1"), 2.0).await;
    assert_eq!(o.route.and_then(|r| r.table), Some(200));
    // As if it arrived on the router's eth0 from h.
    let p = Probe::Route {
        dst: ip("10.0.2.2"),
        source: Some(ip("10.0.1.2")),
        iif: Some("eth0".into()),
    };
    let o = observe(&l.r, &p, 2.0).await;
    assert_eq!(
        o.route,
        Some(info(Some("eth1"), None, None, "unicast", Some(254)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_lookup_failures() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.h.sh("ip route del default
            ip route add unreachable 10.60.0.0/16; ip route add blackhole 10.61.0.0/16
            ip route add prohibit 10.62.0.0/16");
    let o = observe(&l.h, &route("10.50.0.1"), 2.0).await;
    assert_eq!((o.outcome, o.route), (NoRoute, None));
    for (dst, kind) in [
        ("10.60.0.1", "unreachable"),
        ("10.61.0.1", "blackhole"),
        ("10.62.0.1", "prohibit"),
    ] {
        let o = observe(&l.h, &route(dst), 2.0).await;
        assert_eq!(o.outcome, NoRoute, "{dst}");
        assert_eq!(o.route.map(|r| r.kind), Some(kind.to_string()), "{dst}");
    }
    let p = Probe::Route {
        dst: ip("10.0.2.2"),
        source: None,
        iif: Some("nope0".into()),
    };
    let e = probe::run(l.h.fd(), &p, std::time::Duration::from_secs(1)).await;
    assert!(matches!(e, Err(probe::ProbeError::Invalid(_))), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_close_and_echo_responders() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let close = responder::start(
        l.t.fd(),
        &listen(ListenProto::Tcp, 3306, None, ListenMode::Close),
    )
    .await
    .expect("close responder");
    let _echo = responder::start(
        l.t.fd(),
        &listen(ListenProto::Tcp, 7, None, ListenMode::Echo),
    )
    .await
    .expect("echo responder");
    expect(
        &observe(&l.h, &tcp("10.0.2.2:3306"), 2.0).await,
        Ok,
        Some("10.0.2.2"),
    );
    expect(
        &observe(&l.h, &tcp("[fd00:2::2]:3306"), 2.0).await,
        Ok,
        Some("fd00:2::2"),
    );
    let o = observe(&l.h, &tcp_send("10.0.2.2:7", 100_000), 3.0).await;
    expect(&o, Ok, Some("10.0.2.2"));
    expect(
        &observe(&l.h, &tcp_send("[fd00:2::2]:7", 5000), 3.0).await,
        Ok,
        Some("fd00:2::2"),
    );
    // Data sent to a close-mode listener is not echoed.
    let o = observe(&l.h, &tcp_send("10.0.2.2:3306", 1000), 3.0).await;
    assert_eq!(o.outcome, Refused, "{o:?}");
    // Stopped: the port is closed again.
    close.stop().await;
    expect(
        &observe(&l.h, &tcp("10.0.2.2:3306"), 2.0).await,
        Refused,
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_echo_answers_from_the_address_asked() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.t.sh("ip addr add 10.0.2.3/24 dev eth0; ip addr add fd00:2::3/64 dev eth0 nodad");
    let r = responder::start(
        l.t.fd(),
        &listen(ListenProto::Udp, 53, None, ListenMode::Close),
    )
    .await
    .expect("udp responder");
    assert_eq!(r.local_addrs().len(), 2, "one IPv4 and one IPv6 socket");
    // The probe's socket is connected: an answer from another address would not count.
    for dst in [
        "10.0.2.2:53",
        "10.0.2.3:53",
        "[fd00:2::2]:53",
        "[fd00:2::3]:53",
    ] {
        let o = observe(&l.h, &udp(dst), 2.0).await;
        assert_eq!(o.outcome, Ok, "{dst}: {o:?}");
    }
    drop(r);
    let o = crate::netns::poll_async(std::time::Duration::from_secs(2), || async {
        let o = observe(&l.h, &udp("10.0.2.2:53"), 1.0).await;
        (o.outcome == PortUnreachable).then_some(o)
    })
    .await;
    assert!(o.is_some(), "dropping the responder closes its sockets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responder_bound_to_one_address() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.t.sh("ip addr add 10.0.2.3/24 dev eth0");
    let _r = responder::start(
        l.t.fd(),
        &listen(ListenProto::Tcp, 443, Some("10.0.2.3"), ListenMode::Close),
    )
    .await
    .expect("bound responder");
    let _u = responder::start(
        l.t.fd(),
        &listen(ListenProto::Udp, 53, Some("10.0.2.3"), ListenMode::Close),
    )
    .await
    .expect("bound udp responder");
    expect(
        &observe(&l.h, &tcp("10.0.2.3:443"), 2.0).await,
        Ok,
        Some("10.0.2.3"),
    );
    expect(
        &observe(&l.h, &tcp("10.0.2.2:443"), 2.0).await,
        Refused,
        None,
    );
    expect(
        &observe(&l.h, &udp("10.0.2.3:53"), 2.0).await,
        Ok,
        Some("10.0.2.3"),
    );
    expect(
        &observe(&l.h, &udp("10.0.2.2:53"), 2.0).await,
        PortUnreachable,
        Some("10.0.2.2"),
    );
    // An address the node does not have cannot be served.
    let e = responder::start(
        l.t.fd(),
        &listen(ListenProto::Tcp, 80, Some("10.0.9.9"), ListenMode::Close),
    )
    .await;
    assert!(e.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_source_address() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.h.sh("ip addr add 10.0.1.3/24 dev eth0");
    let _r = responder::start(
        l.t.fd(),
        &listen(ListenProto::Tcp, 80, None, ListenMode::Close),
    )
    .await
    .expect("responder");
    // t only answers h's second address.
    l.t.sh(
        "nft add table ip f; nft add chain ip f in '{ type filter hook input priority 0; }'
            nft add rule ip f in ip saddr 10.0.1.2 drop",
    );
    let with_source = |p: Probe| match p {
        Probe::Ping {
            dst,
            count,
            size,
            dont_fragment,
            ttl,
            ..
        } => Probe::Ping {
            dst,
            count,
            size,
            dont_fragment,
            ttl,
            source: Some(ip("10.0.1.3")),
        },
        Probe::Tcp { dst, ttl, send, .. } => Probe::Tcp {
            dst,
            ttl,
            send,
            source: Some(ip("10.0.1.3")),
        },
        other => other,
    };
    expect(&observe(&l.h, &ping("10.0.2.2"), 1.0).await, Timeout, None);
    expect(
        &observe(&l.h, &with_source(ping("10.0.2.2")), 2.0).await,
        Ok,
        Some("10.0.2.2"),
    );
    expect(
        &observe(&l.h, &with_source(tcp("10.0.2.2:80")), 2.0).await,
        Ok,
        Some("10.0.2.2"),
    );
    // A source the node does not have is not an outcome but an error.
    let p = Probe::Ping {
        dst: ip("10.0.2.2"),
        count: 1,
        size: 56,
        dont_fragment: false,
        ttl: None,
        source: Some(ip("10.0.9.9")),
    };
    assert!(
        probe::run(l.h.fd(), &p, std::time::Duration::from_secs(1))
            .await
            .is_err()
    );
}
