//! Inputs the kernel refused (exit 4, some after a long build) that validation now
//! catches (issue 13, item 8).

use super::{ab, ab_a, all, clean, one};

#[test]
fn a_bridge_cannot_be_enslaved_to_a_bridge() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.br0]
kind = "bridge"
master = "br1"
[nodes.a.interfaces.br1]
kind = "bridge"
master = "br0"
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0]
        .error(
            (4, 10),
            "`br0` and `br1` are both bridges: the kernel cannot enslave a bridge to a bridge",
        )
        .help("veth pair");
    ds[1].error(
        (7, 10),
        "`br1` and `br0` are both bridges: the kernel cannot enslave a bridge to a bridge",
    );
}

#[test]
fn a_vrf_cannot_be_enslaved_but_a_bridge_can_be_in_a_vrf() {
    one(r#"name = "t"
[nodes.a.interfaces.br0]
kind = "bridge"
master = "red"
[nodes.a.interfaces.red]
kind = "vrf"
table = 10
master = "br0"
"#)
    .error(
        (8, 10),
        "`red` is a vrf: a vrf cannot be enslaved (here to the bridge `br0`)",
    );
    clean(
        r#"name = "t"
[nodes.a.interfaces.br0]
kind = "bridge"
master = "red"
[nodes.a.interfaces.red]
kind = "vrf"
table = 10
"#,
    );
}

#[test]
fn duplicate_routes_are_refused_where_the_second_is_written() {
    let d = one(&ab_a(
        r#"routes = [{ to = "10.9.0.0/16", via = "10.0.0.2" }, { to = "10.9.0.0/16", via = "10.0.0.3" }]"#,
        "",
    ));
    d.error(
        (3, 60),
        "node `a` already has a route to 10.9.0.0/16 in this table with this metric (routes[0])",
    )
    .help("another `metric` or `table`");
    clean(&ab_a(
        r#"routes = [{ to = "10.9.0.0/16", via = "10.0.0.2" }, { to = "10.9.0.0/16", via = "10.0.0.3", metric = 5 }, { to = "10.9.0.0/16", via = "10.0.0.2", table = 7 }]"#,
        "",
    ));
}

#[test]
fn a_switch_takes_at_most_1023_ports() {
    let mut text = String::from("name = \"t\"\n[switches.lan]\n");
    for i in 0..1024 {
        text.push_str(&format!("[nodes.h{i}]\n"));
    }
    for i in 0..1024 {
        text.push_str(&format!(
            "[[links]]\nendpoints = [\"h{i}:eth0\", \"lan\"]\n"
        ));
    }
    let d = one(&text);
    let line = 2 + 1024 + 2 * 1023 + 2;
    d.error(
        (line, 28),
        "switch `lan` gets more than 1023 ports here, the kernel's limit for one bridge",
    )
    .help("split the segment");
    // 1023 are fine.
    let fine = text.replace("[[links]]\nendpoints = [\"h1023:eth0\", \"lan\"]\n", "");
    clean(&fine);
}

#[test]
fn sysctl_keys_with_whitespace_or_host_wide_net_core_are_refused() {
    let ds = all(r#"name = "t"
[nodes.a]
sysctl = { "net.ipv4.ip_forward " = 1, "net.core.netdev_max_backlog" = 5000, "net.core.somaxconn" = 512 }
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((3, 12), "`net.ipv4.ip_forward ` is not a sysctl name");
    ds[1]
        .error(
            (3, 40),
            "`net.core.netdev_max_backlog` is host-wide: a network namespace does not have it",
        )
        .help("somaxconn");
}

#[test]
fn ipsec_families_must_match_and_spi_0_is_reserved() {
    let d = one(&ab_a(
        r#"ipsec = [{ name = "t1", local = "10.0.0.1", remote = "fd00::2", local_subnets = ["10.1.0.0/16"], remote_subnets = ["10.2.0.0/16"] }]"#,
        "",
    ));
    d.error(
        (3, 54),
        "`fd00::2` and the local address `10.0.0.1` are of different IP versions",
    );
    one(&ab_a(
        r#"ipsec = [{ name = "t1", local = "10.0.0.1", remote = "10.0.0.2", spi_in = 0, local_subnets = ["10.1.0.0/16"], remote_subnets = ["10.2.0.0/16"] }]"#,
        "",
    ))
    .error((3, 75), "SPI 0 is reserved (RFC 4303): the kernel refuses it");
    let _ = ab;
}

#[test]
fn a_link_to_a_bridge_port_says_where_the_other_address_goes() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.br0]
kind = "bridge"
[nodes.a.interfaces.eth0]
master = "br0"
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.2/24"]
"#);
    let d = ds
        .iter()
        .find(|d| d.message == "this link has 2 node endpoints but 1 address")
        .unwrap_or_else(|| panic!("{ds:#?}"));
    d.help("leave `addresses` out and give the other end its address in its interface table: [nodes.a.interfaces.eth0] or [nodes.b.interfaces.eth0] addresses = [...]");
}

/// A bad address leaves its interface without it; the route through it would then warn
/// that its gateway is on no subnet of the node, which only repeats the error.
#[test]
fn warnings_that_follow_from_an_address_error_are_not_printed() {
    let text = r#"name = "t"
[nodes.a]
routes = [{ to = "10.9.0.0/16", via = "10.0.0.2" }]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/33", "10.0.0.2/24"]
"#;
    let d = one(text);
    assert!(d.message.contains("10.0.0.1/33"), "{d:#?}");
    // Without the error, the same route still warns.
    let ds = all(&text.replace("10.0.0.1/33", "10.1.0.1/24"));
    assert_eq!(ds.len(), 1, "{ds:#?}");
    ds[0].warning((3, 39), "gateway `10.0.0.2` is not on a subnet of node `a`");
}
