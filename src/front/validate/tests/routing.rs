//! Routes and policy routing rules.

use super::{ab_a, all, clean, load, one};

#[test]
fn a_gateway_off_link_is_only_a_warning() {
    let text = r#"name = "t"
[nodes.a]
routes = [{ to = "default", via = "192.168.1.1" }]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;
    assert!(load(text).lab.is_some(), "faulty labs are the point");
    one(text)
        .warning(
            (3, 35),
            "gateway `192.168.1.1` is not on a subnet of node `a`",
        )
        .help("add onlink = true");
}

#[test]
fn a_gateway_on_another_interface_than_dev() {
    one(r#"name = "t"
[nodes.a]
routes = [{ to = "10.9.0.0/16", via = "10.0.0.2", dev = "d0" }]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[nodes.a.interfaces.d0]
kind = "dummy"
"#)
    .warning((3, 39), "gateway `10.0.0.2` is not on a subnet of `a:d0`");
}

#[test]
fn onlink_and_link_local_gateways_are_on_link() {
    clean(&ab_a(
        r#"routes = [
  { to = "default", via = "192.168.1.1", dev = "eth0", onlink = true },
  { to = "::/0", via = "fe80::1", dev = "eth0" },
  { to = "10.1.0.0/16", via = "10.0.0.2" },
]"#,
        "",
    ));
}

#[test]
fn an_unknown_route_device() {
    one(&ab_a(r#"routes = [{ to = "default", dev = "eht0" }]"#, ""))
        .error((3, 35), "node `a` has no interface `eht0`")
        .help("did you mean `eth0`?");
}

#[test]
fn a_destination_with_host_bits() {
    one(r#"name = "t"
[nodes.a]
routes = [{ to = "10.0.0.1/8", type = "blackhole" }]
"#)
    .error((3, 18), "`10.0.0.1/8` has host bits set")
    .help("\"10.0.0.0/8\"");
}

#[test]
fn a_gateway_written_as_a_prefix() {
    one(&ab_a(
        r#"routes = [{ to = "default", via = "10.0.0.2/24" }]"#,
        "",
    ))
    .error(
        (3, 35),
        "`10.0.0.2/24` is a prefix, an address is expected here",
    )
    .help("\"10.0.0.2\"");
}

#[test]
fn a_blackhole_route_with_a_gateway() {
    one(r#"name = "t"
[nodes.a]
routes = [{ to = "10.0.0.0/8", type = "blackhole", via = "10.0.0.1" }]
"#)
    .error((3, 52), "a blackhole route has no `via`")
    .help("remove `via`");
}

#[test]
fn an_unknown_route_type() {
    one(r#"name = "t"
[nodes.a]
routes = [{ to = "10.0.0.0/8", type = "blackhol" }]
"#)
    .error(
        (3, 39),
        "unknown variant `blackhol`, expected one of `unicast`, `blackhole`, `unreachable`, `prohibit`",
    )
    .help("did you mean `blackhole`?");
}

#[test]
fn a_unicast_route_without_via_or_dev() {
    one("name = \"t\"\n[nodes.a]\nroutes = [{ to = \"10.0.0.0/8\" }]\n")
        .error((3, 11), "a unicast route needs `via` or `dev`")
        .help("type = \"blackhole\"");
}

#[test]
fn gateway_families() {
    let ds = all(r#"name = "t"
[nodes.a]
routes = [
  { to = "10.0.0.0/8", via = "fd00::1", onlink = true, dev = "lo" },
  { to = "fd01::/64", via = "10.0.0.1", onlink = true, dev = "lo" },
  { to = "fd01::/64", src = "10.0.0.1", dev = "lo" },
]
"#);
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error(
            (4, 30),
            "gateway `fd00::1` is IPv6 but `10.0.0.0/8` is IPv4",
        )
        .help("a gateway of the destination's family");
    ds[1].error(
        (5, 29),
        "gateway `10.0.0.1` is IPv4 but `fd01::/64` is IPv6",
    );
    ds[2].error((6, 29), "source `10.0.0.1` is IPv4 but `fd01::/64` is IPv6");
}

#[test]
fn onlink_without_dev() {
    one("name = \"t\"\n[nodes.a]\nroutes = [{ to = \"default\", via = \"10.0.0.1\", onlink = true }]\n")
        .error((3, 56), "an onlink route needs `dev`");
}

#[test]
fn reserved_route_tables() {
    one("name = \"t\"\n[nodes.a]\nroutes = [{ to = \"10.0.0.0/8\", type = \"blackhole\", table = 255 }]\n")
        .error((3, 60), "table 255 is reserved");
}

#[test]
fn a_route_with_several_mistakes_reports_them_all() {
    let ds = all(
        "name = \"t\"\n[nodes.a]\nroutes = [{ to = \"10.0.0.1/8\", dev = \"nope\", mtu = 20 }]\n",
    );
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0].error((3, 18), "`10.0.0.1/8` has host bits set");
    ds[1].error((3, 38), "node `a` has no interface `nope`");
    ds[2].error((3, 52), "MTU 20 is out of range");
}

#[test]
fn rules() {
    let ds = all(r#"name = "t"
[nodes.a]
rules = [
  { from = "10.0.0.0/24" },
  { from = "10.0.0.0/24", action = "blackhole", table = 100 },
  { from = "10.0.0.0/24", family = "ipv6", table = 100 },
  { family = "inet", table = 100 },
  { from = "10.0.0.0/24", to = "fd00::/64", table = 100 },
  { iif = "eth9", table = 100 },
  { from = "10.0.0.1/24", table = 100 },
]
"#);
    assert_eq!(ds.len(), 7, "{ds:#?}");
    ds[0]
        .error((4, 3), "a lookup rule needs `table`")
        .help("add table = 100");
    ds[1].error((5, 49), "only a lookup rule has a table");
    ds[2]
        .error(
            (6, 36),
            "family is ipv6 but the selector `10.0.0.0/24` is IPv4",
        )
        .help("remove `family`");
    ds[3]
        .error((7, 14), "unknown family `inet`")
        .help("\"ipv4\" or \"ipv6\"");
    ds[4].error((8, 32), "`from` is IPv4 but `to` is IPv6");
    ds[5].error((9, 11), "node `a` has no interface `eth9`");
    ds[6].error((10, 12), "`10.0.0.1/24` has host bits set");
}

#[test]
fn rule_priority_zero_is_a_warning() {
    one("name = \"t\"\n[nodes.a]\nrules = [{ to = \"10.0.0.0/8\", table = 100, priority = 0 }]\n")
        .warning((3, 55), "priority 0 comes before the kernel's `local` rule");
}
