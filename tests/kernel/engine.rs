//! The engine against the real kernel: build labs in-process and read the result back over
//! netlink (our state readers) and with iproute2 as an independent witness.

use std::path::Path;
use std::time::Duration;

use topolab::front::lab::{NodeId, StateKind};
use topolab::kernel::engine::{LiveLab, command};
use topolab::plan::NsId;

use crate::host::HostGuard;
use crate::inproc::build_at;

const FULL: &str = r#"
name = "engine-full"

[switches.lan]
mtu = 1400

[nodes.r1]
forward = true
sysctl = { "net.ipv4.conf.all.rp_filter" = 2, "net.ipv4.conf.eth0.accept_redirects" = 0 }
routes = [
  { to = "10.30.0.0/16", via = "10.10.0.2", metric = 50 },
  { to = "10.40.0.0/16", via = "10.10.0.2", table = 200 },
  { to = "192.0.2.0/24", type = "blackhole" },
  { to = "198.51.100.0/24", type = "unreachable" },
  { to = "203.0.113.0/24", type = "prohibit" },
  { to = "10.50.0.0/16", via = "172.31.0.1", dev = "eth0", onlink = true },
  { to = "fd00:30::/64", via = "fd00:10::2" },
]
rules = [ { from = "10.20.0.0/24", table = 200, priority = 100 }, { to = "10.99.0.0/16", action = "prohibit", priority = 110 } ]
nft = """
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy accept;
    tcp dport 25 reject with icmpx type admin-prohibited
  }
}
"""
exec = ["echo configured > /dev/null"]

[nodes.r1.interfaces.eth0]
mac = "02:00:00:00:01:01"
addresses = ["fd00:10::1/64"]

[nodes.r1.interfaces.br-int]
kind = "bridge"
addresses = ["10.20.0.1/24"]

[nodes.r1.interfaces.vx0]
kind = "vxlan"
vni = 42
local = "10.10.0.1"
parent = "eth0"
learning = false
addresses = ["10.77.0.1/24"]

[nodes.r1.interfaces.mv0]
kind = "macvlan"
parent = "eth0"
up = false

[nodes.r1.interfaces.eth2]
master = "br-int"

[[nodes.r1.fdb]]
dev = "vx0"
mac = "00:00:00:00:00:00"
dst = "10.10.0.2"

[[nodes.r1.fdb]]
dev = "vx0"
mac = "00:00:00:00:00:00"
dst = "10.10.0.3"
append = true

[[nodes.r1.neighbours]]
dev = "eth0"
address = "10.10.0.99"
mac = "02:00:00:00:09:09"

[nodes.r2]
routes = [ { to = "default", via = "10.10.0.1" } ]

[nodes.h1]
routes = [ { to = "default", via = "10.20.0.1" } ]

[[links]]
endpoints = ["r1:eth0", "r2:eth0"]
addresses = ["10.10.0.1/24", "10.10.0.2/24"]
mtu = 9000

[[links]]
endpoints = ["r1:eth1", "lan"]
addresses = ["10.60.0.1/24"]

[[links]]
endpoints = ["r1:eth2", "h1:eth0"]
addresses = ["10.20.0.5/24", "10.20.0.10/24"]
"#;

fn state(rt: &tokio::runtime::Runtime, live: &LiveLab, node: &str, kind: StateKind) -> Vec<String> {
    let id = live.lab.node_id(node).expect("node");
    rt.block_on(async {
        let macs = topolab::kernel::state::mac_owners(live)
            .await
            .expect("macs");
        topolab::kernel::state::read(live, id, &[kind], &macs)
            .await
            .expect("state")
            .sections
            .remove(&kind)
            .unwrap_or_default()
    })
}

fn ip(
    rt: &tokio::runtime::Runtime,
    live: &LiveLab,
    node: &str,
    args: &[&str],
) -> serde_json::Value {
    let ns = live.node_ns(live.lab.node_id(node).expect("node"));
    let out = rt
        .block_on(command::run_program(
            ns,
            "ip",
            args,
            None,
            Duration::from_secs(5),
        ))
        .expect("ip");
    assert!(out.success(), "ip {args:?}: {}", out.text());
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("ip -j output: {e}: {}", out.stdout))
}

#[test]
fn builds_every_host_kernel_object() {
    require_root!();
    let _host = HostGuard::new();
    let (rt, live) = build_at(Path::new("test.toml"), FULL);

    assert_eq!(
        state(&rt, &live, "r1", StateKind::Addresses),
        vec![
            "br-int 10.20.0.1/24",
            "eth0 10.10.0.1/24",
            "eth0 fd00:10::1/64",
            "eth1 10.60.0.1/24",
            "eth2 10.20.0.5/24",
            "vx0 10.77.0.1/24"
        ]
    );
    assert_eq!(
        state(&rt, &live, "r1", StateKind::Routes),
        vec![
            "10.10.0.0/24 dev eth0 proto kernel src 10.10.0.1",
            "10.20.0.0/24 dev br-int proto kernel src 10.20.0.1",
            "10.20.0.0/24 dev eth2 proto kernel src 10.20.0.5",
            "10.30.0.0/16 via 10.10.0.2 dev eth0 metric 50",
            "10.40.0.0/16 via 10.10.0.2 dev eth0 table 200",
            "10.50.0.0/16 via 172.31.0.1 dev eth0",
            "10.60.0.0/24 dev eth1 proto kernel src 10.60.0.1",
            "10.77.0.0/24 dev vx0 proto kernel src 10.77.0.1",
            "blackhole 192.0.2.0/24",
            "inet6 fd00:10::/64 dev eth0 proto kernel",
            "inet6 fd00:30::/64 via fd00:10::2 dev eth0",
            "prohibit 203.0.113.0/24",
            "unreachable 198.51.100.0/24",
        ]
    );
    assert_eq!(
        state(&rt, &live, "r1", StateKind::Rules),
        vec![
            "0: from all lookup local",
            "100: from 10.20.0.0/24 lookup 200",
            "110: from all to 10.99.0.0/16 prohibit",
            "32766: from all lookup main",
            "32767: from all lookup default",
            "0: inet6 from all lookup local",
            "32766: inet6 from all lookup main",
        ]
    );
    let neigh = state(&rt, &live, "r1", StateKind::Neighbours);
    assert!(
        neigh.contains(&"10.10.0.99 dev eth0 is 02:00:00:00:09:09 permanent".to_string()),
        "{neigh:?}"
    );
    let nft = state(&rt, &live, "r1", StateKind::Nft).join("\n");
    assert!(nft.contains("reject with icmpx admin-prohibited"), "{nft}");

    // iproute2 as an independent witness of link attributes.
    let links = ip(&rt, &live, "r1", &["-j", "-d", "link", "show"]);
    let by_name = |n: &str| {
        links
            .as_array()
            .and_then(|a| a.iter().find(|l| l["ifname"] == n))
            .cloned()
            .unwrap_or_else(|| panic!("no link {n}: {links}"))
    };
    assert_eq!(by_name("eth0")["mtu"], 9000);
    assert_eq!(by_name("eth0")["address"], "02:00:00:00:01:01");
    assert_eq!(
        by_name("eth1")["mtu"],
        1400,
        "switch MTU applies to its links"
    );
    assert_eq!(by_name("eth2")["master"], "br-int");
    // The indexes the engine recorded for steps are the ones the kernel reports.
    let r1 = live.lab.node_id("r1").expect("r1");
    let declared = live.lab.node(r1).interfaces.iter().map(|i| i.name.as_str());
    for name in declared.chain(["lo"]) {
        let kernel = by_name(name)["ifindex"].as_u64();
        assert_eq!(live.ifindex(r1, name).map(u64::from), kernel, "{name}");
    }
    assert_eq!(by_name("vx0")["linkinfo"]["info_data"]["id"], 42);
    assert_eq!(by_name("vx0")["linkinfo"]["info_data"]["learning"], false);
    assert_eq!(by_name("vx0")["linkinfo"]["info_kind"], "vxlan");
    assert_eq!(by_name("mv0")["linkinfo"]["info_kind"], "macvlan");
    assert!(
        by_name("mv0")["flags"]
            .as_array()
            .is_some_and(|f| !f.iter().any(|x| x == "UP")),
        "up = false leaves it down"
    );
    assert!(
        by_name("br-int")["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "UP"))
    );
    let fdb = {
        let ns = live.node_ns(live.lab.node_id("r1").expect("r1"));
        rt.block_on(command::run_program(
            ns,
            "bridge",
            &["fdb", "show", "dev", "vx0"],
            None,
            Duration::from_secs(5),
        ))
        .expect("bridge")
        .stdout
    };
    assert!(fdb.contains("00:00:00:00:00:00 dst 10.10.0.2"), "{fdb}");
    assert!(
        fdb.contains("00:00:00:00:00:00 dst 10.10.0.3"),
        "appended flood entry: {fdb}"
    );

    // Sysctls, read in the node.
    let ns = live.node_ns(live.lab.node_id("r1").expect("r1"));
    let read = |k: &'static str| {
        rt.block_on(
            live.workers
                .run(ns, move || topolab::kernel::engine::sysctl::read(k)),
        )
        .expect("worker")
        .expect("sysctl")
    };
    assert_eq!(read("net.ipv4.ip_forward"), "1");
    assert_eq!(read("net.ipv6.conf.all.forwarding"), "1");
    assert_eq!(read("net.ipv4.conf.all.rp_filter"), "2");
    assert_eq!(read("net.ipv4.conf.eth0.accept_redirects"), "0");
    let ns2 = live.node_ns(live.lab.node_id("r2").expect("r2"));
    assert_eq!(
        rt.block_on(
            live.workers
                .run(ns2, || topolab::kernel::engine::sysctl::read(
                    "net.ipv4.ip_forward"
                ))
        )
        .expect("w")
        .expect("s"),
        "0"
    );

    // The switch: a bridge in its own namespace with the link's port enslaved.
    let sw = NsId(live.lab.nodes.len());
    let links = rt
        .block_on(async {
            let nl = live.ns_netlink(sw).await.expect("switch netlink");
            topolab::kernel::netlink::Links::read(&nl).await
        })
        .expect("links");
    let br = links.by_name("br0").expect("switch bridge");
    let p0 = links.by_name("p0").expect("switch port");
    assert_eq!(p0.master, Some(br.index));
    assert!(p0.up && br.up);

    // Setup commands ran, in the node.
    assert_eq!(live.exec_log.len(), 1);
    assert_eq!(live.exec_log[0].0, NodeId(0));
    drop(live);
}

#[test]
fn two_copies_of_a_lab_do_not_interfere() {
    require_root!();
    let _host = HostGuard::new();
    let lab = r#"
name = "twins"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;
    let (rt, one) = build_at(Path::new("test.toml"), lab);
    let (_rt2, two) = build_at(Path::new("test.toml"), lab);
    assert_ne!(one.namespaces[0].inode, two.namespaces[0].inode);
    assert_eq!(
        state(&rt, &one, "a", StateKind::Addresses),
        vec!["eth0 10.0.0.1/24"]
    );
    assert_eq!(
        state(&rt, &two, "a", StateKind::Addresses),
        vec!["eth0 10.0.0.1/24"]
    );
    drop(one);
    // The twin is intact after the first copy is gone.
    assert_eq!(
        state(&rt, &two, "b", StateKind::Addresses),
        vec!["eth0 10.0.0.2/24"]
    );
}

#[test]
fn namespaces_are_freed_when_the_lab_is_dropped() {
    require_root!();
    let _host = HostGuard::new();
    let (_rt, live) = build_at(
        Path::new("test.toml"),
        "name = \"gone\"\n[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\n",
    );
    let inode = live.namespaces[0].inode;
    let held = |inode: u64| {
        std::fs::read_dir("/proc/self/fd")
            .expect("fds")
            .flatten()
            .any(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|l| l.to_string_lossy() == format!("net:[{inode}]"))
            })
    };
    assert!(held(inode));
    drop(live);
    assert!(
        !held(inode),
        "the namespace fd is still open after teardown"
    );
}
