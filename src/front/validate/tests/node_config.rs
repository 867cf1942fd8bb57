//! Per-node configuration besides routing: sysctls, nft, exec, fdb, neighbours, listeners,
//! services and IPsec.

use super::{ab_a, all, clean, one};

#[test]
fn sysctls() {
    let ds = all(r#"name = "t"
[nodes.a]
sysctl = { "kernel.pid_max" = 1, "net.ipv4.conf.eth9.rp_filter" = 0, "net..x" = 1, "net.ipv4.conf.all.rp_filter" = 1 }
"#);
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((3, 12), "sysctl `kernel.pid_max` is not a network sysctl")
        .help("others would change the host");
    ds[1].error(
        (3, 34),
        "sysctl `net.ipv4.conf.eth9.rp_filter` names interface `eth9`, which node `a` does not have",
    );
    ds[2].error((3, 70), "`net..x` is not a sysctl name");
}

#[test]
fn a_sysctl_value_of_the_wrong_type() {
    one("name = \"t\"\n[nodes.a]\nsysctl = { \"net.core.somaxconn\" = 1.5 }\n").error(
        (3, 35),
        "a sysctl value is an integer, a boolean or a string",
    );
}

#[test]
fn empty_nft_and_exec() {
    let ds = all("name = \"t\"\n[nodes.a]\nnft = \" \"\nexec = [\"ip link\", \"\"]\n");
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((3, 7), "the nft ruleset is empty");
    ds[1].error((4, 20), "empty command");
}

#[test]
fn fdb_and_neighbours() {
    let ds = all(&ab_a(
        r#"fdb = [{ dev = "eth1", mac = "00:00:00:00:00:00", dst = "10.0.0.300" }]
neighbours = [{ dev = "eth0", address = "10.0.0.2/24", mac = "aa:bb" }]"#,
        "",
    ));
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0]
        .error((3, 16), "node `a` has no interface `eth1`")
        .help("did you mean `eth0`?");
    ds[1].error((3, 57), "`10.0.0.300` is not an IP address");
    ds[2].error(
        (4, 41),
        "`10.0.0.2/24` is a prefix, an address is expected here",
    );
    ds[3].error((4, 62), "`aa:bb` is not a MAC address");
}

#[test]
fn listeners() {
    let ds = all(r#"name = "t"
[nodes.a]
listen = [
  { tcp = 80, udp = 53 },
  { address = "10.0.0.1" },
  { tcp = 0 },
  { udp = 53, mode = "echo" },
  { tcp = 22 },
  { tcp = 22 },
  { tcp = 443, address = "10.9.9.9" },
]
"#);
    assert_eq!(ds.len(), 6, "{ds:#?}");
    ds[0].error((4, 3), "a listener has `tcp` or `udp`, not both");
    ds[1]
        .error((5, 3), "a listener needs `tcp` or `udp`")
        .help("tcp = 80");
    ds[2].error((6, 11), "port 0 is not a port");
    ds[3].error((7, 15), "`mode` applies to tcp listeners");
    ds[4].error((9, 3), "port 22 is already listened on");
    ds[5]
        .warning((10, 26), "`10.9.9.9` is not an address of node `a`")
        .help("binding will fail");
}

#[test]
fn a_listen_port_out_of_range_is_reported_with_the_rest() {
    let ds = all("name = \"t\"\n[nodes.a]\nlisten = [{ tcp = 70000 }]\nexec = [\"\"]\n");
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error(
        (3, 19),
        "invalid value: integer `70000`, expected an integer from 0 to 65535",
    );
    ds[1].error((4, 9), "empty command");
}

#[test]
fn services() {
    let ds = all(r#"name = "t"
[nodes.a]
services = [
  { name = "web", cmd = " " },
  { name = "db", cmd = "x", ready = { tcp = 1, cmd = "true" } },
  { name = "dns", cmd = "x", ready = { udp = 0 } },
  { name = "q", cmd = "x", ready_timeout = "soon" },
]
"#);
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0].error((4, 25), "empty command");
    ds[1]
        .error(
            (5, 37),
            "readiness needs exactly one of `tcp`, `udp` or `cmd`",
        )
        .help("ready = { tcp = 8080 }");
    ds[2].error((6, 46), "port 0 is not a port");
    ds[3].error((7, 44), "`soon` is not a duration");
}

#[test]
fn ipsec() {
    let ds = all(&ab_a(
        r#"ipsec = [{ name = "t1", local = "10.0.0.9", remote = "10.0.0.2", local_subnets = [], remote_subnets = ["10.3.0.0/15"] }]"#,
        "",
    ));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .warning((3, 33), "`10.0.0.9` is not an address of node `a`")
        .help("outer address");
    ds[1]
        .error((3, 82), "`local_subnets` is empty")
        .help("[\"10.0.0.0/16\"]");
    ds[2].error((3, 104), "`10.3.0.0/15` has host bits set");
}

#[test]
fn valid_node_configuration() {
    clean(&ab_a(
        r#"sysctl = { "net.ipv4.conf.eth0.rp_filter" = 2, "net.ipv4.ip_forward" = true }
nft = "table inet f { }"
exec = ["ip link"]
neighbours = [{ dev = "eth0", address = "10.0.0.2", mac = "02:00:00:00:00:02" }]
listen = [{ tcp = 80 }, { udp = 80 }, { tcp = 81, address = "10.0.0.1", mode = "echo" }]
services = [{ name = "web", cmd = "sleep 1000", ready = { tcp = 80 }, ready_timeout = "2s" }]
ipsec = [{ name = "t1", local = "10.0.0.1", remote = "10.0.0.2", local_subnets = ["10.1.0.0/16"], remote_subnets = ["10.2.0.0/16"] }]"#,
        "",
    ));
}
