//! `[[links]]`: endpoints, addresses, MTU and impairments.

use super::{ab, all, clean, one};

#[test]
fn unknown_node_in_an_endpoint() {
    one(r#"name = "t"
[nodes.host]
[nodes.gw]
[[links]]
endpoints = ["hots:eth0", "gw:eth0"]
"#)
    .error((5, 14), "unknown node `hots`")
    .help("did you mean `host`?");
}

#[test]
fn unknown_node_lists_the_nodes_when_nothing_is_close() {
    one(r#"name = "t"
[nodes.host]
[nodes.gw]
[[links]]
endpoints = ["zzz:eth0", "gw:eth0"]
"#)
    .error((5, 14), "unknown node `zzz`")
    .help("nodes of this lab: gw, host");
}

#[test]
fn unknown_switch() {
    one(r#"name = "t"
[nodes.a]
[switches.lan]
[[links]]
endpoints = ["a:eth0", "lna"]
"#)
    .error((5, 24), "`lna` is neither \"node:iface\" nor a switch")
    .help("did you mean the switch `lan`?");
}

#[test]
fn a_node_without_its_interface() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b"]
"#)
    .error((5, 24), "`b` is neither \"node:iface\" nor a switch")
    .help("name the interface too, e.g. \"b:eth0\"");
}

#[test]
fn an_interface_used_by_two_links() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[nodes.c]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
[[links]]
endpoints = ["a:eth0", "c:eth0"]
"#)
    .error((8, 14), "interface `a:eth0` is already the end of links[0]")
    .help("name this end differently");
}

#[test]
fn both_ends_on_one_interface() {
    one(r#"name = "t"
[nodes.a]
[[links]]
endpoints = ["a:eth0", "a:eth0"]
"#)
    .error((4, 24), "both ends of this link are `a:eth0`");
}

#[test]
fn a_link_to_itself_on_two_interfaces_is_fine() {
    clean(
        r#"name = "t"
[nodes.a]
[[links]]
endpoints = ["a:eth0", "a:eth1"]
"#,
    );
}

#[test]
fn three_endpoints() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[nodes.c]
[[links]]
endpoints = ["a:eth0", "b:eth0", "c:eth0"]
"#)
    .error((6, 13), "a link has 2 endpoints, this one has 3")
    .help("a switch name also counts");
}

#[test]
fn two_switches() {
    one(r#"name = "t"
[nodes.a]
[switches.s1]
[switches.s2]
[[links]]
endpoints = ["s1", "s2"]
"#)
    .error((6, 13), "a link between two switches is not supported");
}

#[test]
fn lo_as_an_endpoint() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:lo", "b:eth0"]
"#)
    .error((5, 14), "`lo` cannot be a link endpoint");
}

#[test]
fn one_address_for_two_node_ends() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24"]
"#)
    .error((6, 13), "this link has 2 node endpoints but 1 address")
    .help("one address per node endpoint");
}

#[test]
fn two_addresses_on_a_switch_link() {
    one(r#"name = "t"
[nodes.a]
[switches.lan]
[[links]]
endpoints = ["lan", "a:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#)
    .error((6, 13), "this link has 1 node endpoint but 2 addresses")
    .help("a switch endpoint takes no address");
}

#[test]
fn the_address_count_is_checked_even_with_a_bad_endpoint() {
    let ds = all(r#"name = "t"
[nodes.a]
[[links]]
endpoints = ["a:eth0", "nope:eth0"]
addresses = ["10.0.0.1/24"]
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((4, 24), "unknown node `nope`");
    ds[1].error((5, 13), "this link has 2 node endpoints but 1 address");
}

#[test]
fn the_good_end_of_a_bad_link_still_exists() {
    let ds = all(r#"name = "t"
[nodes.a]
routes = [{ to = "default", dev = "eth0" }]
[[links]]
endpoints = ["a:eth0", "nope:eth0"]
"#);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    ds[0].error((5, 24), "unknown node `nope`");
}

#[test]
fn an_address_without_prefix() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1", "10.0.0.2/24"]
"#)
    .error((6, 14), "address `10.0.0.1` has no prefix length")
    .help("\"10.0.0.1/24\"");
}

#[test]
fn every_bad_address_of_a_link_is_reported() {
    let ds = all(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.300/24", "10.0.0.2/33"]
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0]
        .error(
            (6, 14),
            "`10.0.0.300` is not an IP address (in `10.0.0.300/24`)",
        )
        .help("10.0.0.1/24");
    ds[1]
        .error((6, 31), "prefix length `33` is not valid in `10.0.0.2/33`")
        .help("from 0 to 32");
}

#[test]
fn an_ipv6_prefix_too_long() {
    one(r#"name = "t"
[nodes.a]
[switches.lan]
[[links]]
endpoints = ["a:eth0", "lan"]
addresses = ["fd00::1/129"]
"#)
    .error((6, 14), "prefix length `129` is not valid in `fd00::1/129`")
    .help("from 0 to 128");
}

#[test]
fn mtu_out_of_range() {
    one(&ab("mtu = 10\n"))
        .error((7, 7), "MTU 10 is out of range")
        .help("68 to 65535");
}

#[test]
fn impairment_from_an_interface_not_on_the_link() {
    one(&ab("impair = [{ from = \"b:eth1\", loss = \"1%\" }]\n"))
        .error((7, 20), "`b:eth1` is not a node endpoint of this link")
        .help("\"a:eth0\" or \"b:eth0\"");
}

#[test]
fn impairment_values() {
    let ds = all(&ab(
        "impair = [{ delay = \"20\", loss = \"5\", rate = \"fast\", corrupt = \"200%\" }]\n",
    ));
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0].error((7, 21), "`20` has no unit").help("\"500ms\"");
    ds[1]
        .error((7, 34), "`5` is not a percentage")
        .help("\"5%\"");
    ds[2]
        .error((7, 46), "`fast` is not a rate")
        .help("\"1mbit\"");
    ds[3].error((7, 64), "`200%` is not between 0% and 100%");
}

#[test]
fn impairment_duration_units() {
    one(&ab("impair = [{ delay = \"20 hours\" }]\n"))
        .error((7, 21), "unknown duration unit `hours` in `20 hours`");
}

#[test]
fn jitter_needs_a_delay() {
    one(&ab("impair = [{ jitter = \"5ms\" }]\n"))
        .error((7, 22), "jitter needs a delay")
        .help("add delay");
}

#[test]
fn reorder_needs_a_delay() {
    one(&ab("impair = [{ reorder = \"25%\" }]\n")).error((7, 23), "reorder needs a delay");
}

#[test]
fn an_impairment_that_sets_nothing() {
    one(&ab("impair = [{ from = \"a:eth0\" }]\n"))
        .error((7, 11), "the impairment sets nothing")
        .help("at least one of");
}

#[test]
fn a_valid_impaired_link() {
    clean(&ab(
        "mtu = 9000\nimpair = [{ from = \"a:eth0\", delay = \"1.5ms\", jitter = \"100us\", loss = \"0.5%\" }, { rate = \"10mbit\" }]\n",
    ));
}

#[test]
fn a_switch_mtu_is_resolved_into_its_links() {
    let loaded = super::load(
        r#"name = "t"
[switches.lan]
mtu = 9000
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "lan"]
[[links]]
endpoints = ["lan", "b:eth0"]
mtu = 1400
"#,
    );
    let lab = loaded.lab.expect("valid lab");
    let mtus: Vec<Option<u32>> = lab.links.iter().map(|l| l.mtu).collect();
    assert_eq!(mtus, [Some(9000), Some(1400)]);
    let eth0 = |n: usize| lab.nodes[n].interface("eth0").and_then(|i| i.mtu);
    assert_eq!((eth0(0), eth0(1)), (Some(9000), Some(1400)));
}
