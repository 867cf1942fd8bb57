//! Every outcome of the vocabulary, produced by a real lab through the whole pipeline
//! (validate, plan, engine, probes, checks), with the ICMP source and MTU asserted.

use std::path::Path;

use topolab::front::source::SourceFile;
use topolab::runner::results::LabStatus;

use crate::host::HostGuard;

const LAB: &str = r#"
name = "every-outcome"

# client -- r1 -- r2 -- srv, the r2-srv hop with MTU 1280; `lonely` has no route at all.
[nodes.client]
routes = [ { to = "default", via = "10.0.1.1" }, { to = "default", via = "fd00:1::1" } ]
[nodes.lonely]
[nodes.r1]
forward = true
routes = [
  { to = "10.0.2.0/24", via = "10.0.12.2" },
  { to = "203.0.113.0/24", via = "10.0.12.2" },
  { to = "192.0.2.0/24", via = "10.0.12.2" },
  { to = "198.51.100.0/24", type = "unreachable" },
  { to = "fd00:2::/64", via = "fd00:12::2" },
]
[nodes.r2]
forward = true
routes = [
  { to = "10.0.1.0/24", via = "10.0.12.1" },
  { to = "192.0.2.0/24", via = "10.0.12.1" },
  { to = "fd00:1::/64", via = "fd00:12::1" },
]
nft = """
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy accept;
    tcp dport 81 reject with icmpx type admin-prohibited
    tcp dport 82 reject with tcp reset
    tcp dport 83 drop
  }
}
"""
[nodes.srv]
routes = [ { to = "default", via = "10.0.2.1" }, { to = "default", via = "fd00:2::1" } ]
[[nodes.srv.listen]]
tcp = 80
[[nodes.srv.listen]]
udp = 53

[[links]]
endpoints = ["client:eth0", "r1:eth0"]
addresses = ["10.0.1.10/24", "10.0.1.1/24"]
[[links]]
endpoints = ["r1:eth1", "r2:eth0"]
addresses = ["10.0.12.1/30", "10.0.12.2/30"]
[[links]]
endpoints = ["r2:eth1", "srv:eth0"]
addresses = ["10.0.2.1/24", "10.0.2.10/24"]
mtu = 1280
[[links]]
endpoints = ["lonely:eth0", "r1:eth2"]
addresses = ["10.0.3.10/24", "10.0.3.1/24"]

[nodes.client.interfaces.eth0]
addresses = ["fd00:1::10/64"]
[nodes.r1.interfaces.eth0]
addresses = ["fd00:1::1/64"]
[nodes.r1.interfaces.eth1]
addresses = ["fd00:12::1/64"]
[nodes.r2.interfaces.eth0]
addresses = ["fd00:12::2/64"]
[nodes.r2.interfaces.eth1]
addresses = ["fd00:2::1/64"]
[nodes.srv.interfaces.eth0]
addresses = ["fd00:2::10/64"]

[[checks]]
name = "ok ping"
from = "client"
ping = "10.0.2.10"
[[checks]]
name = "ok tcp"
from = "client"
tcp = "10.0.2.10:80"
[[checks]]
name = "ok udp"
from = "client"
udp = "10.0.2.10:53"
[[checks]]
name = "ok ping6"
from = "client"
ping = "fd00:2::10"
[[checks]]
name = "timeout"
from = "client"
tcp = "10.0.2.10:83"
expect = "timeout"
timeout = "2s"
[[checks]]
name = "refused by a reset"
from = "client"
tcp = "10.0.2.10:82"
expect = "refused"
[[checks]]
name = "refused by a closed port"
from = "client"
tcp = "10.0.2.10:22"
expect = "refused"
[[checks]]
name = "no-route"
from = "lonely"
ping = "10.0.2.10"
expect = "no-route"
[[checks]]
name = "net-unreachable"
from = "client"
ping = "203.0.113.5"
expect = "net-unreachable"
via = "10.0.12.2"
[[checks]]
name = "host-unreachable from a missing neighbour"
from = "client"
ping = "10.0.2.99"
expect = "host-unreachable"
via = "10.0.12.2"
[[checks]]
name = "host-unreachable from an unreachable route"
from = "client"
tcp = "198.51.100.7:80"
expect = "host-unreachable"
via = "10.0.1.1"
[[checks]]
name = "port-unreachable"
from = "client"
udp = "10.0.2.10:54"
expect = "port-unreachable"
via = "10.0.2.10"
[[checks]]
name = "admin-prohibited"
from = "client"
tcp = "10.0.2.10:81"
expect = "admin-prohibited"
via = "10.0.12.2"
[[checks]]
name = "ttl-exceeded in a loop"
from = "client"
ping = "192.0.2.1"
expect = "ttl-exceeded"
via = "10.0.12.2"
[[checks]]
name = "a trace into the same loop"
from = "client"
trace = "192.0.2.1"
expect = "loop"
[[checks]]
name = "ttl-exceeded by hop limit"
from = "client"
ping = "fd00:2::10"
ttl = 1
expect = "ttl-exceeded"
via = "fd00:1::1"
[[checks]]
name = "frag-needed"
from = "client"
ping = "10.0.2.10"
size = 1400
dont_fragment = true
expect = "frag-needed"
via = "10.0.12.2"
mtu = 1280
[[checks]]
name = "packet too big"
from = "client"
ping = "fd00:2::10"
size = 1400
dont_fragment = true
expect = "frag-needed"
via = "fd00:12::2"
mtu = 1280
"#;

#[test]
fn every_outcome_with_its_icmp_source() {
    require_root!();
    let _host = HostGuard::new();
    topolab::kernel::host_guard::arm().expect("guard");
    let loaded = topolab::front::validate::load_source(SourceFile::new(
        Path::new("every-outcome.toml"),
        LAB,
    ));
    let lab = loaded
        .lab
        .clone()
        .unwrap_or_else(|| panic!("{}", loaded.render(false)));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("rt");
    let r = rt.block_on(topolab::runner::driver::run(
        lab,
        topolab::runner::driver::Options {
            accept: false,
            ci: true,
            ..Default::default()
        },
    ));
    assert!(
        !matches!(r.status, LabStatus::Error { .. }),
        "{:?}",
        r.status
    );
    let failed: Vec<String> = r
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            format!(
                "{}: expected {}, observed {}",
                c.name,
                c.expected,
                c.observed_summary()
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "checks that did not see their outcome:\n{}",
        failed.join("\n")
    );
    // Every outcome of the vocabulary appeared.
    let seen: std::collections::BTreeSet<String> = r
        .checks
        .iter()
        .filter_map(|c| c.observed.as_ref())
        .map(|o| o.outcome.to_string())
        .collect();
    let all: std::collections::BTreeSet<String> = topolab::front::lab::Outcome::ALL
        .iter()
        .map(|o| o.to_string())
        .collect();
    assert_eq!(seen, all);
    let frag = r
        .checks
        .iter()
        .find(|c| c.name == "frag-needed")
        .and_then(|c| c.observed.clone())
        .expect("frag");
    assert_eq!(
        (frag.from.map(|a| a.to_string()), frag.mtu),
        (Some("10.0.12.2".into()), Some(1280))
    );
}
