//! ok, ttl-exceeded, frag-needed and port-unreachable on a three-node line, IPv4 and IPv6.

use topolab::front::lab::Outcome::*;

use crate::netns::probes::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_ok_v4_and_v6() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let o = observe(&l.h, &ping("10.0.2.2"), 3.0).await;
    expect(&o, Ok, Some("10.0.2.2"));
    let o = observe(&l.h, &ping("fd00:2::2"), 3.0).await;
    expect(&o, Ok, Some("fd00:2::2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_ttl_is_ttl_exceeded_from_the_first_router() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let o = observe(&l.h, &ping_ttl("10.0.2.2", 1), 3.0).await;
    expect(&o, TtlExceeded, Some("10.0.1.1"));
    let o = observe(&l.h, &ping_ttl("fd00:2::2", 1), 3.0).await;
    expect(&o, TtlExceeded, Some("fd00:1::1"));
    // TCP and UDP see the same ICMP error through the error queue.
    let o = observe(&l.h, &with_ttl(tcp("10.0.2.2:80"), 1), 3.0).await;
    expect(&o, TtlExceeded, Some("10.0.1.1"));
    let o = observe(&l.h, &with_ttl(udp("[fd00:2::2]:53"), 1), 3.0).await;
    expect(&o, TtlExceeded, Some("fd00:1::1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_loop_is_ttl_exceeded() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    // h -- r1 -- r2, and r1 and r2 each send 10.9.0.0/16 (fd00:9::/32) to the other.
    let (h, r1, r2) = (
        crate::netns::Ns::new(),
        crate::netns::Ns::new(),
        crate::netns::Ns::new(),
    );
    crate::netns::veth(&h, "eth0", &r1, "eth0");
    crate::netns::veth(&r1, "eth1", &r2, "eth0");
    h.sh(
        "ip addr add 10.100.0.2/24 dev eth0; ip addr add fd00:100::2/64 dev eth0 nodad
          ip route add default via 10.100.0.1; ip -6 route add default via fd00:100::1",
    );
    r1.sh(
        "ip addr add 10.100.0.1/24 dev eth0; ip addr add fd00:100::1/64 dev eth0 nodad
           ip addr add 10.100.1.17/30 dev eth1; ip addr add fd00:101::1/64 dev eth1 nodad
           ip route add 10.9.0.0/16 via 10.100.1.18; ip -6 route add fd00:9::/32 via fd00:101::2",
    );
    r2.sh("ip addr add 10.100.1.18/30 dev eth0; ip addr add fd00:101::2/64 dev eth0 nodad
           ip route add 10.9.0.0/16 via 10.100.1.17; ip -6 route add fd00:9::/32 via fd00:101::1
           ip route add 10.100.0.0/24 via 10.100.1.17; ip -6 route add fd00:100::/64 via fd00:101::1");
    crate::netns::forward(&r1);
    crate::netns::forward(&r2);
    // The request leaves h with TTL 64: r1 sees the even TTLs, r2 the odd ones, so the
    // packet dies at r2 (TTL 1), which answers from its address towards h.
    let o = observe(&h, &ping("10.9.0.1"), 3.0).await;
    expect(&o, TtlExceeded, Some("10.100.1.18"));
    let o = observe(&h, &ping("fd00:9::1"), 3.0).await;
    expect(&o, TtlExceeded, Some("fd00:101::2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_mtu_hop_is_frag_needed_with_the_mtu() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.r.sh("ip link set eth1 mtu 1280");
    l.t.sh("ip link set eth0 mtu 1280");
    let o = observe(&l.h, &ping_df("10.0.2.2", 1400), 3.0).await;
    expect(&o, FragNeeded, Some("10.0.1.1"));
    assert_eq!(o.mtu, Some(1280));
    let o = observe(&l.h, &ping_df("fd00:2::2", 1400), 3.0).await;
    expect(&o, FragNeeded, Some("fd00:1::1"));
    assert_eq!(o.mtu, Some(1280));
    // Without DF the router fragments (IPv4) or the source does once it learnt the MTU
    // (IPv6), so the same sizes get through.
    let mut big = ping("10.0.2.2");
    if let topolab::front::lab::Probe::Ping { size, .. } = &mut big {
        *size = 1400;
    }
    expect(&observe(&l.h, &big, 3.0).await, Ok, Some("10.0.2.2"));
    let mut big6 = ping("fd00:2::2");
    if let topolab::front::lab::Probe::Ping { size, .. } = &mut big6 {
        *size = 1400;
    }
    expect(&observe(&l.h, &big6, 3.0).await, Ok, Some("fd00:2::2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn larger_than_the_local_mtu_with_df_is_frag_needed_locally() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let o = observe(&l.h, &ping_df("10.0.2.2", 2000), 3.0).await;
    expect(&o, FragNeeded, None);
    assert_eq!(o.mtu, Some(1500));
    let o = observe(&l.h, &ping_df("fd00:2::2", 2000), 3.0).await;
    expect(&o, FragNeeded, None);
    assert_eq!(o.mtu, Some(1500));
    let mut u = udp("10.0.2.2:53");
    if let topolab::front::lab::Probe::Udp {
        size,
        dont_fragment,
        ..
    } = &mut u
    {
        *size = 3000;
        *dont_fragment = true;
    }
    let o = observe(&l.h, &u, 3.0).await;
    expect(&o, FragNeeded, None);
    assert_eq!(o.mtu, Some(1500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_udp_port_is_port_unreachable() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let o = observe(&l.h, &udp("10.0.2.2:9999"), 3.0).await;
    expect(&o, PortUnreachable, Some("10.0.2.2"));
    let o = observe(&l.h, &udp("[fd00:2::2]:9999"), 3.0).await;
    expect(&o, PortUnreachable, Some("fd00:2::2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_frag_needed_through_a_small_mtu_hop() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.r.sh("ip link set eth1 mtu 1280");
    let mut u = udp("10.0.2.2:53");
    if let topolab::front::lab::Probe::Udp {
        size,
        dont_fragment,
        ..
    } = &mut u
    {
        *size = 1400;
        *dont_fragment = true;
    }
    let o = observe(&l.h, &u, 3.0).await;
    expect(&o, FragNeeded, Some("10.0.1.1"));
    assert_eq!(o.mtu, Some(1280));
}

fn with_ttl(mut p: topolab::front::lab::Probe, t: u8) -> topolab::front::lab::Probe {
    use topolab::front::lab::Probe;
    match &mut p {
        Probe::Ping { ttl, .. } | Probe::Tcp { ttl, .. } | Probe::Udp { ttl, .. } => *ttl = Some(t),
        Probe::Route { .. } | Probe::Command { .. } | Probe::Trace { .. } => {}
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_requests_any_reply_wins_and_errors_need_all() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let count3 = |dst: &str| topolab::front::lab::Probe::Ping {
        dst: ip(dst),
        count: 3,
        size: 56,
        dont_fragment: false,
        ttl: None,
        source: None,
    };
    let o = observe(&l.h, &count3("10.0.2.2"), 3.0).await;
    expect(&o, Ok, Some("10.0.2.2"));
    // Every request is answered by the router: the outcome comes once all three are, before
    // the deadline.
    let o = observe(&l.h, &count3("10.99.0.1"), 6.0).await;
    expect(&o, NetUnreachable, Some("10.0.1.1"));
    assert!(o.elapsed < std::time::Duration::from_secs(5), "{o:?}");
}
