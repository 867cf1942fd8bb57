//! admin-prohibited, refused, host-unreachable, net-unreachable, no-route and timeout:
//! firewalls, missing neighbours and missing routes, as Linux really reports them.

use std::time::Duration;

use topolab::front::lab::Outcome::*;
use topolab::kernel::probe::responder;

use crate::netns::probes::*;

/// A router forward-chain ruleset (nft 1.0.6: `fwd` is a keyword, so the chain is `pass`).
fn forward_rules(r: &crate::netns::Ns, rules: &str) {
    r.sh(&format!(
        "nft -f - <<'EOF'\ntable inet f {{\n chain pass {{\n  type filter hook forward priority 0;\n{rules}\n }}\n}}\nEOF"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_reject_admin_prohibited_for_ping_and_tcp() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    forward_rules(
        &l.r,
        "ip daddr 10.0.2.2 reject with icmp type admin-prohibited
         ip6 daddr fd00:2::2 reject with icmpv6 type admin-prohibited",
    );
    let o = observe(&l.h, &ping("10.0.2.2"), 3.0).await;
    expect(&o, AdminProhibited, Some("10.0.1.1"));
    // A TCP connect ends with EHOSTUNREACH either way; the error queue tells them apart.
    let o = observe(&l.h, &tcp("10.0.2.2:80"), 3.0).await;
    expect(&o, AdminProhibited, Some("10.0.1.1"));
    let o = observe(&l.h, &udp("10.0.2.2:53"), 3.0).await;
    expect(&o, AdminProhibited, Some("10.0.1.1"));
    let o = observe(&l.h, &ping("fd00:2::2"), 3.0).await;
    expect(&o, AdminProhibited, Some("fd00:1::1"));
    let o = observe(&l.h, &tcp("[fd00:2::2]:80"), 3.0).await;
    expect(&o, AdminProhibited, Some("fd00:1::1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_reset_is_refused() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    forward_rules(&l.r, "tcp dport 81 reject with tcp reset");
    let o = observe(&l.h, &tcp("10.0.2.2:81"), 3.0).await;
    expect(&o, Refused, None);
    // A closed port on the destination answers with a reset as well.
    let o = observe(&l.h, &tcp("10.0.2.2:82"), 3.0).await;
    expect(&o, Refused, None);
    let o = observe(&l.h, &tcp("[fd00:2::2]:82"), 3.0).await;
    expect(&o, Refused, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_reject_host_unreachable() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    forward_rules(
        &l.r,
        "ip daddr 10.0.2.2 reject with icmp type host-unreachable
         ip daddr 10.0.2.3 reject with icmp type net-unreachable
         ip6 daddr fd00:2::2 reject with icmpv6 type addr-unreachable",
    );
    expect(
        &observe(&l.h, &ping("10.0.2.2"), 3.0).await,
        HostUnreachable,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &tcp("10.0.2.2:80"), 3.0).await,
        HostUnreachable,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &ping("10.0.2.3"), 3.0).await,
        NetUnreachable,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &ping("fd00:2::2"), 3.0).await,
        HostUnreachable,
        Some("fd00:1::1"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_neighbour_is_host_unreachable() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    // On the sender's own subnet: its own kernel gives up on ARP/ND after ~3 s and reports
    // host-unreachable from its own address.
    let o = observe(&l.h, &ping("10.0.1.99"), 8.0).await;
    expect(&o, HostUnreachable, Some("10.0.1.2"));
    assert!(o.elapsed >= Duration::from_secs(2), "{o:?}");
    let o = observe(&l.h, &tcp("10.0.1.98:80"), 8.0).await;
    expect(&o, HostUnreachable, Some("10.0.1.2"));
    // Behind a router: the router gives up and says so.
    let o = observe(&l.h, &ping("10.0.2.99"), 8.0).await;
    expect(&o, HostUnreachable, Some("10.0.1.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_neighbour_v6_is_address_unreachable() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let o = observe(&l.h, &ping("fd00:1::99"), 8.0).await;
    expect(&o, HostUnreachable, Some("fd00:1::2"));
    let o = observe(&l.h, &ping("fd00:2::99"), 8.0).await;
    expect(&o, HostUnreachable, Some("fd00:1::1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_without_route_is_net_unreachable() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    // r has no route to 10.99.0.0/16: Linux answers net-unreachable (code 0).
    expect(
        &observe(&l.h, &ping("10.99.0.1"), 3.0).await,
        NetUnreachable,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &tcp("10.99.0.1:80"), 3.0).await,
        NetUnreachable,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &ping("fd00:99::1"), 3.0).await,
        NetUnreachable,
        Some("fd00:1::1"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_unreachable_and_prohibit_routes() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    // A lab of its own: a Linux router answers one host with only a few ICMP errors in a
    // burst (the route-error and ICMP limiters share one token bucket per peer), so more
    // errors from the same router in the test above would be rate-limited into silence.
    let l = crate::netns::line();
    // An `unreachable` route on the router is *host*-unreachable (code 1) on Linux, and a
    // `prohibit` route is admin-prohibited (code 13); IPv6 unreachable routes say code 0.
    l.r.sh(
        "ip route add unreachable 10.98.0.0/16; ip route add prohibit 10.97.0.0/16
            ip -6 route add unreachable fd00:98::/32",
    );
    expect(
        &observe(&l.h, &ping("10.98.0.1"), 3.0).await,
        HostUnreachable,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &ping("10.97.0.1"), 3.0).await,
        AdminProhibited,
        Some("10.0.1.1"),
    );
    expect(
        &observe(&l.h, &ping("fd00:98::1"), 3.0).await,
        NetUnreachable,
        Some("fd00:1::1"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_without_route_is_no_route() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.h.sh("ip route del default; ip -6 route del default");
    for p in [
        ping("10.50.0.1"),
        tcp("10.50.0.1:80"),
        udp("10.50.0.1:53"),
        ping("fd00:50::1"),
    ] {
        let o = observe(&l.h, &p, 3.0).await;
        expect(&o, NoRoute, None);
        assert!(
            o.elapsed < Duration::from_secs(1),
            "answered locally: {o:?}"
        );
    }
    // Local route types: unreachable and blackhole lead nowhere; prohibit is policy.
    l.h.sh(
        "ip route add unreachable 10.60.0.0/16; ip route add blackhole 10.61.0.0/16
            ip route add prohibit 10.62.0.0/16",
    );
    expect(&observe(&l.h, &ping("10.60.0.1"), 3.0).await, NoRoute, None);
    expect(
        &observe(&l.h, &tcp("10.60.0.1:80"), 3.0).await,
        NoRoute,
        None,
    );
    expect(&observe(&l.h, &ping("10.61.0.1"), 3.0).await, NoRoute, None);
    expect(
        &observe(&l.h, &udp("10.61.0.1:53"), 3.0).await,
        NoRoute,
        None,
    );
    expect(
        &observe(&l.h, &ping("10.62.0.1"), 3.0).await,
        AdminProhibited,
        None,
    );
    expect(
        &observe(&l.h, &tcp("10.62.0.1:80"), 3.0).await,
        AdminProhibited,
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_is_timeout_for_the_whole_deadline() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    forward_rules(&l.r, "ip daddr 10.0.2.2 drop\n ip6 daddr fd00:2::2 drop");
    let _udp = responder::start(l.t.fd(), &listen_udp(53))
        .await
        .expect("responder");
    for p in [
        ping("10.0.2.2"),
        tcp("10.0.2.2:80"),
        udp("10.0.2.2:53"),
        ping("fd00:2::2"),
    ] {
        let o = observe(&l.h, &p, 1.0).await;
        expect(&o, Timeout, None);
        assert!(o.elapsed >= Duration::from_millis(990), "{o:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pmtu_black_hole_stalls_a_tcp_transfer() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    l.r.sh("ip link set eth1 mtu 1280");
    let _echo = responder::start(l.t.fd(), &listen_tcp_echo(7))
        .await
        .expect("responder");
    // Drop the router's own frag-needed: full-size segments vanish and the transfer stalls.
    // (This goes first: once the sender has learnt the MTU it would not stall any more.)
    l.r.sh("nft -f - <<'EOF'
table ip b {
 chain out {
  type filter hook output priority 0;
  icmp type destination-unreachable drop
 }
}
EOF");
    let o = observe(&l.h, &tcp_send("10.0.2.2:7", 200_000), 2.0).await;
    expect(&o, Timeout, None);
    assert!(
        o.detail
            .as_deref()
            .unwrap_or("")
            .contains("of 200000 bytes"),
        "{o:?}"
    );
    // PMTU discovery works once the router's frag-needed reaches the sender.
    l.r.sh("nft delete table ip b");
    let o = observe(&l.h, &tcp_send("10.0.2.2:7", 200_000), 5.0).await;
    expect(&o, Ok, Some("10.0.2.2"));
}

fn listen_udp(port: u16) -> topolab::front::lab::Listen {
    topolab::front::lab::Listen {
        proto: topolab::front::lab::ListenProto::Udp,
        port,
        address: None,
        mode: topolab::front::lab::ListenMode::Close,
    }
}

fn listen_tcp_echo(port: u16) -> topolab::front::lab::Listen {
    topolab::front::lab::Listen {
        proto: topolab::front::lab::ListenProto::Tcp,
        port,
        address: None,
        mode: topolab::front::lab::ListenMode::Echo,
    }
}
