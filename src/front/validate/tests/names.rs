//! Names of the lab, nodes, switches, interfaces and services; duplicates.

use super::{ab, all, clean, one};

#[test]
fn lab_name_with_uppercase_and_underscore() {
    one("name = \"Docker_RDS\"\n[nodes.a]\n")
        .error((1, 8), "lab name `Docker_RDS` is not valid")
        .help("e.g. \"docker-rds\"");
}

#[test]
fn lab_name_longer_than_32() {
    one("name = \"a-lab-name-that-is-far-too-long-for-us\"\n[nodes.a]\n")
        .error(
            (1, 8),
            "lab name `a-lab-name-that-is-far-too-long-for-us` is not valid",
        )
        .help("at most 32 characters");
}

#[test]
fn empty_lab_name() {
    one("name = \"\"\n[nodes.a]\n").error((1, 8), "lab name `` is not valid");
}

#[test]
fn node_name_points_at_the_key() {
    one("name = \"t\"\n[nodes.Router1]\n")
        .error((2, 8), "node name `Router1` is not valid")
        .help("e.g. \"router1\"");
}

#[test]
fn quoted_node_name_with_a_space() {
    one("name = \"t\"\n[nodes.\"web server\"]\n")
        .error((2, 8), "node name `web server` is not valid")
        .help("e.g. \"web-server\"");
}

#[test]
fn node_name_in_an_inline_table() {
    one("name = \"t\"\nnodes = { \"-a\" = {} }\n").error((2, 11), "node name `-a` is not valid");
}

#[test]
fn a_bad_node_name_does_not_make_its_references_unknown() {
    let ds = all(r#"name = "t"
[nodes.A]
[nodes.b]
[[links]]
endpoints = ["A:eth0", "b:eth0"]
[[checks]]
from = "A"
ping = "10.0.0.1"
"#);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    ds[0].error((2, 8), "node name `A` is not valid");
}

#[test]
fn switch_name() {
    one("name = \"t\"\n[nodes.a]\n[switches.LAN]\n")
        .error((3, 11), "switch name `LAN` is not valid")
        .help("e.g. \"lan\"");
}

#[test]
fn node_and_switch_with_one_name() {
    one("name = \"t\"\n[switches.x]\n[nodes.x]\n")
        .error((3, 8), "`x` is both a node and a switch")
        .help("give the switch another name");
}

#[test]
fn service_name() {
    one(r#"name = "t"
[nodes.a]
services = [{ name = "Web Server", cmd = "true" }]
"#)
    .error((3, 22), "service name `Web Server` is not valid")
    .help("e.g. \"web-server\"");
}

#[test]
fn interface_name_longer_than_15_bytes_in_a_table() {
    one(r#"name = "t"
[nodes.a.interfaces.bridge-to-the-lab0]
kind = "bridge"
"#)
    .error(
        (2, 21),
        "interface name `bridge-to-the-lab0` is 18 bytes long; Linux allows 15",
    )
    .help("shorten it, e.g. \"bridge-to-the-l\"");
}

#[test]
fn interface_name_longer_than_15_bytes_in_a_link() {
    let ds = all(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:uplink-to-core-1"]
"#);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    ds[0].error(
        (5, 24),
        "interface name `uplink-to-core-1` is 16 bytes long; Linux allows 15",
    );
}

#[test]
fn interface_name_counts_bytes_not_characters() {
    one("name = \"t\"\n[nodes.a.interfaces.\"brücke-äöü-0\"]\nkind = \"bridge\"\n").error(
        (2, 21),
        "interface name `brücke-äöü-0` is 16 bytes long; Linux allows 15",
    );
}

#[test]
fn interface_name_with_a_colon() {
    one(r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0:1", "b:eth0"]
"#)
    .error((5, 14), "`eth0:1` is not a valid interface name")
    .help("may not contain `/`, `:` or spaces");
}

#[test]
fn interface_name_with_a_slash_in_a_table() {
    one("name = \"t\"\n[nodes.a.interfaces.\"br/0\"]\nkind = \"bridge\"\n")
        .error((2, 21), "`br/0` is not a valid interface name");
}

#[test]
fn a_node_defined_twice() {
    one("name = \"t\"\n[nodes.a]\nforward = true\n[nodes.b]\n[nodes.a]\n")
        .error((5, 8), "table `nodes.a` is defined twice")
        .help("first defined on line 2");
}

#[test]
fn an_interface_defined_twice() {
    one(r#"name = "t"
[nodes.a.interfaces.br0]
kind = "bridge"
[nodes.a.interfaces.br0]
kind = "dummy"
"#)
    .error((4, 21), "table `nodes.a.interfaces.br0` is defined twice")
    .help("first defined on line 2");
}

#[test]
fn a_key_set_twice() {
    one("name = \"t\"\n[nodes.a]\nforward = true\nforward = false\n")
        .error((4, 1), "key `nodes.a.forward` is set twice")
        .help("first set on line 3");
}

#[test]
fn two_services_with_one_name() {
    one(r#"name = "t"
[nodes.a]
services = [{ name = "web", cmd = "true" }, { name = "web", cmd = "false" }]
"#)
    .error((3, 54), "node `a` has two services named `web`");
}

#[test]
fn two_checks_with_one_name() {
    one(&ab(r#"[[checks]]
name = "x"
from = "a"
ping = "10.0.0.2"
[[checks]]
name = "x"
from = "b"
ping = "10.0.0.1"
"#))
    .error((11, 1), "two checks are named `x`")
    .help("set a distinct `name`");
}

#[test]
fn two_derived_check_names_collide() {
    one(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
[[checks]]
from = "a"
ping = "10.0.0.2"
expect = "timeout"
"#))
    .error((10, 1), "two checks are named `a ping 10.0.0.2`");
}

#[test]
fn two_steps_with_one_name() {
    one(&ab(r#"[[steps]]
name = "cut"
actions = [{ down = "a:eth0" }]
[[steps]]
name = "cut"
actions = [{ up = "a:eth0" }]
"#))
    .error((11, 8), "two steps are named `cut`");
}

#[test]
fn a_lab_without_nodes() {
    one("name = \"t\"\n")
        .error((1, 1), "the lab has no nodes")
        .help("[nodes.host]");
}

#[test]
fn valid_names() {
    clean("name = \"a-1\"\n[nodes.r1_core-2]\n[switches.lan-0]\n");
}
