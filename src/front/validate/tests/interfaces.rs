//! `[nodes.N.interfaces.I]`: kinds, their keys, masters, parents, addresses and MACs.

use super::{ab, all, clean, load, one};

#[test]
fn a_kind_key_on_the_wrong_kind() {
    one("name = \"t\"\n[nodes.a.interfaces.br0]\nkind = \"bridge\"\nvni = 42\n")
        .error((4, 1), "`vni` does not apply to kind = \"bridge\"")
        .help("`vni` is a key of kind vxlan");
}

#[test]
fn a_kind_key_on_a_link_end() {
    one(&ab("[nodes.a.interfaces.eth0]\nvlan_id = 10\n"))
        .error(
            (8, 1),
            "`vlan_id` does not apply to a link end (an interface without kind)",
        )
        .help("kind vlan");
}

#[test]
fn no_kind_and_no_link() {
    one("name = \"t\"\n[nodes.a.interfaces.eth0]\naddresses = [\"10.0.0.1/24\"]\n")
        .error(
            (2, 1),
            "interface `eth0` of node `a` has no kind and no link creates it",
        )
        .help("endpoint \"a:eth0\"");
}

#[test]
fn a_kind_on_a_link_end() {
    one(&ab("[nodes.a.interfaces.eth0]\nkind = \"bridge\"\n"))
        .error(
            (8, 1),
            "`a:eth0` is a link end (a veth), it cannot also be a bridge",
        )
        .help("remove `kind`");
}

#[test]
fn a_kind_on_lo() {
    one("name = \"t\"\n[nodes.a.interfaces.lo]\nkind = \"dummy\"\n")
        .error((3, 8), "`lo` exists in every node and cannot be created")
        .help("remove `kind`");
}

#[test]
fn lo_can_be_configured() {
    clean("name = \"t\"\n[nodes.a.interfaces.lo]\naddresses = [\"10.255.0.1/32\"]\n");
}

#[test]
fn an_unknown_kind_suggests_the_closest() {
    one("name = \"t\"\n[nodes.a.interfaces.br0]\nkind = \"brige\"\n")
        .error(
            (3, 8),
            "unknown variant `brige`, expected one of `bridge`, `dummy`, `vxlan`, `ipip`, `gre`, `gretap`, `wireguard`, `macvlan`, `vlan`, `vrf`",
        )
        .help("did you mean `bridge`?");
}

#[test]
fn an_unknown_master() {
    one(r#"name = "t"
[nodes.a.interfaces.br0]
kind = "bridge"
[nodes.a.interfaces.d0]
kind = "dummy"
master = "br1"
"#)
    .error((6, 10), "node `a` has no interface `br1`")
    .help("did you mean `br0`?");
}

#[test]
fn an_unknown_master_with_nothing_close() {
    one(&ab("[nodes.a.interfaces.eth0]\nmaster = \"lan-bridge\"\n"))
        .error((8, 10), "node `a` has no interface `lan-bridge`")
        .help("declare [nodes.a.interfaces.lan-bridge] with kind = \"bridge\"");
}

#[test]
fn a_master_that_is_not_a_bridge() {
    one(r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
[nodes.a.interfaces.d1]
kind = "dummy"
master = "d0"
"#)
    .error(
        (6, 10),
        "`d0` is a dummy, only a bridge or a vrf can be a master",
    );
}

#[test]
fn its_own_master() {
    one("name = \"t\"\n[nodes.a.interfaces.br0]\nkind = \"bridge\"\nmaster = \"br0\"\n")
        .error((4, 10), "an interface cannot be its own master");
}

#[test]
fn a_link_end_enslaved_to_a_bridge_and_a_bridge_to_a_vrf() {
    clean(&ab(r#"[nodes.a.interfaces.br0]
kind = "bridge"
master = "blue"
[nodes.a.interfaces.blue]
kind = "vrf"
table = 10
[nodes.a.interfaces.eth0]
master = "br0"
"#));
}

#[test]
fn an_unknown_parent() {
    one(&ab(
        "[nodes.a.interfaces.\"eth0.10\"]\nkind = \"vlan\"\nparent = \"eht0\"\nvlan_id = 10\n",
    ))
    .error((9, 10), "node `a` has no interface `eht0`")
    .help("did you mean `eth0`?");
}

#[test]
fn a_parent_cycle() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.v1]
kind = "macvlan"
parent = "v2"
[nodes.a.interfaces.v2]
kind = "macvlan"
parent = "v1"
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((4, 10), "`v1` is its own parent through `v2`");
    ds[1].error((7, 10), "`v2` is its own parent through `v1`");
}

#[test]
fn vxlan_without_vni() {
    one("name = \"t\"\n[nodes.a.interfaces.vx0]\nkind = \"vxlan\"\n")
        .error((2, 1), "a vxlan interface needs `vni`")
        .help("add vni = 42");
}

#[test]
fn vxlan_vni_too_big() {
    one("name = \"t\"\n[nodes.a.interfaces.vx0]\nkind = \"vxlan\"\nvni = 16777216\n")
        .error((4, 7), "VNI 16777216 does not fit in 24 bits");
}

#[test]
fn vxlan_with_remote_and_group() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.vx0]
kind = "vxlan"
vni = 1
remote = "10.0.0.2"
group = "10.0.0.3"
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((6, 9), "a vxlan has either `remote` or `group`, not both");
    ds[1]
        .error((6, 9), "`10.0.0.3` is not a multicast address")
        .help("239.1.1.1");
}

#[test]
fn vxlan_remote_is_an_address_not_a_prefix() {
    one("name = \"t\"\n[nodes.a.interfaces.vx0]\nkind = \"vxlan\"\nvni = 1\nremote = \"10.0.0.2/24\"\n")
        .error((5, 10), "`10.0.0.2/24` is a prefix, an address is expected here")
        .help("\"10.0.0.2\"");
}

#[test]
fn vlan_without_parent_and_id_out_of_range() {
    one("name = \"t\"\n[nodes.a.interfaces.v]\nkind = \"vlan\"\nvlan_id = 5000\n")
        .error((2, 1), "a vlan interface needs `parent`");
    one(&ab(
        "[nodes.a.interfaces.v]\nkind = \"vlan\"\nparent = \"eth0\"\nvlan_id = 5000\n",
    ))
    .error((10, 11), "VLAN id 5000 is out of range")
    .help("1 to 4094");
}

#[test]
fn vrf_with_a_reserved_table() {
    one("name = \"t\"\n[nodes.a.interfaces.blue]\nkind = \"vrf\"\ntable = 254\n")
        .error((4, 9), "table 254 is reserved")
        .help("its own table");
}

#[test]
fn macvlan_mode() {
    one(&ab(
        "[nodes.a.interfaces.mv]\nkind = \"macvlan\"\nparent = \"eth0\"\nmode = \"bridged\"\n",
    ))
    .error((10, 8), "unknown macvlan mode `bridged`")
    .help("bridge, private, vepa or passthru");
}

#[test]
fn gre_without_remote() {
    one("name = \"t\"\n[nodes.a.interfaces.gre1]\nkind = \"gre\"\n")
        .error((2, 1), "a gre interface needs `remote`");
}

#[test]
fn ipip_over_ipv6_and_mixed_families() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.t0]
kind = "ipip"
local = "10.0.0.1"
remote = "fd00::2"
"#);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0]
        .error(
            (4, 9),
            "local `10.0.0.1` is IPv4 but remote `fd00::2` is IPv6",
        )
        .help("one family");
    ds[1].error(
        (5, 10),
        "remote `fd00::2` is IPv6, and ipip carries IPv4 over IPv4",
    );
}

#[test]
fn wireguard_keys_and_peers() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.wg0]
kind = "wireguard"
private_key = "not-a-key"
peers = [{ endpoint = "10.0.0.2" }, { node = "b:wg0", public_key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=" }, { node = "zz:wg0" }]
[nodes.b.interfaces.wg0]
kind = "dummy"
"#);
    assert_eq!(ds.len(), 6, "{ds:#?}");
    ds[0]
        .error((4, 15), "`not-a-key` is not a WireGuard key")
        .help("44 characters");
    ds[1].error(
        (5, 10),
        "a peer needs `node` (its interface in this lab) or `public_key`",
    );
    ds[2].error((5, 23), "`10.0.0.2` has no port");
    ds[3].error((5, 46), "`b:wg0` is a dummy, not a wireguard interface");
    ds[4].error((5, 55), "give either `node` or `public_key`, not both");
    ds[5].error((5, 127), "`zz:wg0` is not an interface of this lab");
}

#[test]
fn a_wireguard_key_with_trailing_bits_is_not_a_key() {
    // 43 characters carry 258 bits for 256: canonical base64 (and `wg`) wants the last two
    // clear, and the build would refuse this key; `check` refuses it first.
    one(r#"name = "t"
[nodes.a.interfaces.wg0]
kind = "wireguard"
private_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="
"#)
    .error(
        (4, 15),
        "`AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=` is not a WireGuard key",
    );
}

#[test]
fn a_wireguard_peer_that_is_not_wireguard() {
    one(&ab(r#"[nodes.a.interfaces.wg0]
kind = "wireguard"
peers = [{ node = "b:eth0" }]
"#))
    .error((9, 19), "`b:eth0` is a veth, not a wireguard interface");
}

#[test]
fn the_same_address_twice_on_an_interface_points_at_the_second() {
    one(&ab(
        "[nodes.a.interfaces.eth0]\naddresses = [\"10.0.0.9/24\", \"10.0.0.1/24\"]\n",
    ))
    .error((8, 29), "`10.0.0.1` is already on `a:eth0`")
    .help("it is also given at links[0].addresses[0]; the kernel refuses the same address twice");
}

#[test]
fn a_duplicate_address_is_reported_where_it_comes_later_in_the_file() {
    // Link addresses are resolved first, but this one is written after the table.
    one(r#"name = "t"
[nodes.a.interfaces.eth0]
addresses = ["10.0.0.1/24"]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#)
    .error((7, 14), "`10.0.0.1` is already on `a:eth0`")
    .help("it is also given at nodes.a.interfaces.eth0.addresses[0]");
}

#[test]
fn the_same_address_twice_in_one_table() {
    one(r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["fd00::1/64", "fd00::1/128"]
"#)
    .error((4, 28), "`fd00::1` is already on `a:d0`");
}

#[test]
fn the_same_ipv4_address_with_two_prefixes_is_a_warning() {
    let loaded = load(
        r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["10.0.0.1/24", "10.0.0.1/16"]
"#,
    );
    assert!(loaded.lab.is_some());
    one(r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["10.0.0.1/24", "10.0.0.1/16"]
"#)
    .warning((4, 29), "`10.0.0.1` is on `a:d0` twice, as /24 and /16")
    .help("Linux accepts this");
}

#[test]
fn the_same_address_on_two_interfaces_of_a_node_is_a_warning_at_the_second() {
    let text = r#"name = "t"
[nodes.a]
[nodes.b]
[nodes.c]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[links]]
endpoints = ["c:eth0", "a:eth1"]
addresses = ["10.0.0.3/24", "10.0.0.1/24"]
"#;
    assert!(load(text).lab.is_some());
    one(text)
        .warning((10, 29), "`10.0.0.1` is also on `a:eth0`")
        .help("given to `eth1` here and at links[0].addresses[0]: legal");
}

#[test]
fn the_same_address_on_a_switch_link_points_at_that_link() {
    one(r#"name = "t"
[nodes.a]
[switches.lan]
[[links]]
endpoints = ["lan", "a:eth0"]
addresses = ["10.0.0.1/24"]
[nodes.a.interfaces.eth0]
addresses = ["10.0.0.1/24"]
"#)
    .error((8, 14), "`10.0.0.1` is already on `a:eth0`")
    .help("it is also given at links[0].addresses[0]");
}

#[test]
fn the_same_address_on_two_nodes_is_legal() {
    clean(
        r#"name = "t"
[nodes.a]
[nodes.b]
[switches.lan]
[[links]]
endpoints = ["a:eth0", "lan"]
addresses = ["10.0.0.1/24"]
[[links]]
endpoints = ["b:eth0", "lan"]
addresses = ["10.0.0.1/24"]
"#,
    );
}

#[test]
fn one_link_local_address_on_two_interfaces_is_normal() {
    clean(
        r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["fe80::1/64"]
[nodes.a.interfaces.d1]
kind = "dummy"
addresses = ["fe80::1/64"]
"#,
    );
}

#[test]
fn addresses_linux_accepts() {
    clean(
        r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["240.0.0.1/4", "0.0.0.5/8", "10.0.0.0/24", "192.168.1.255/24", "fd00::/64"]
"#,
    );
}

#[test]
fn macs() {
    let ds = all(r#"name = "t"
[nodes.a.interfaces.d0]
kind = "dummy"
mac = "02:00:00:00:00"
[nodes.a.interfaces.d1]
kind = "dummy"
mac = "01:00:5e:00:00:01"
[nodes.a.interfaces.d2]
kind = "dummy"
mac = "00:00:00:00:00:00"
[nodes.a.interfaces.d3]
kind = "dummy"
mac = "+2:00:00:00:00:01"
"#);
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0]
        .error((4, 7), "`02:00:00:00:00` is not a MAC address")
        .help("six hex bytes");
    ds[1]
        .error((7, 7), "`01:00:5e:00:00:01` is a multicast MAC address")
        .help("lowest bit of the first byte");
    ds[2].error((10, 7), "`00:00:00:00:00:00` is the all-zero MAC address");
    ds[3].error((13, 7), "`+2:00:00:00:00:01` is not a MAC address");
}

#[test]
fn interface_mtu() {
    one("name = \"t\"\n[nodes.a.interfaces.d0]\nkind = \"dummy\"\nmtu = 70000\n")
        .error((4, 7), "MTU 70000 is out of range");
}

#[test]
fn a_broken_interface_is_still_known_to_references() {
    let ds = all(r#"name = "t"
[nodes.a]
routes = [{ to = "10.9.0.0/16", dev = "vx0" }]
[nodes.a.interfaces.vx0]
kind = "vxlan"
"#);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    ds[0].error((4, 1), "a vxlan interface needs `vni`");
}
