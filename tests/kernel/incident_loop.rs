//! The loop of the vpn-selector-loop incident on this machine's kernel. The lab needs
//! ESP for the hosts inside the tunnel's selectors, so it runs in a VM
//! (`--vm-fallback`); the ticket's flows do not: no xfrm policy matches 10.64.3.22's
//! packets in the faulty lab, so without the tunnels they take exactly the same way. This
//! test runs the lab with its tunnels (and the checks that need them) removed, on the
//! host kernel, and asserts the ticket: ttl-exceeded from 10.100.1.18 and a trace that
//! loops between the VPC router and the gateway.

use crate::host::HostGuard;
use crate::scratch::{TempDir, topolab_json};
use crate::support::repo_path;

/// The incident lab without `[requires]`, IPsec tunnels, and checks from inside the
/// selectors.
fn without_tunnels() -> String {
    let text = std::fs::read_to_string(repo_path("labs/incidents/vpn-selector-loop.toml"))
        .expect("read the lab");
    let mut lab: toml::Table = text.parse().expect("the lab is TOML");
    lab.remove("requires");
    lab.insert("name".into(), "vpn-selector-loop-native".into());
    let nodes = lab["nodes"].as_table_mut().expect("nodes");
    let mut had_tunnels = 0;
    for (_, node) in nodes.iter_mut() {
        if let Some(n) = node.as_table_mut()
            && n.remove("ipsec").is_some()
        {
            had_tunnels += 1;
        }
    }
    assert_eq!(had_tunnels, 2, "both gateways' tunnels are removed");
    let checks = lab["checks"].as_array_mut().expect("checks");
    checks.retain(|c| c["from"].as_str() != Some("idc-host"));
    toml::to_string(&lab).expect("TOML")
}

#[test]
fn the_ticket_loop_runs_on_the_host_kernel() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("incident-loop");
    let lab = tmp.write("loop.toml", &without_tunnels());
    let (_, json) = topolab_json(
        &["test", lab.to_str().expect("utf-8"), "--format", "json"],
        &tmp.0,
    );
    let checks = json["labs"][0]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 4, "{json:#}");
    for c in checks {
        assert_eq!(c["passed"], true, "{c:#}");
    }
    let trace = checks
        .iter()
        .find(|c| c["probe"] == "trace 10.200.1.15")
        .expect("the trace check");
    assert_eq!(trace["observed"]["outcome"], "loop");
    assert_eq!(trace["observed"]["from"], "10.100.1.18");
    let hops: Vec<&str> = trace["observed"]["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|h| h["from"].as_str().unwrap_or("*"))
        .collect();
    assert_eq!(hops.len(), 30);
    assert_eq!(
        &hops[..4],
        ["10.64.3.1", "172.17.0.3", "10.100.0.2", "10.100.1.18"]
    );
    // From hop 3 on, the VPC router and the gateway take turns; the gateway has the even
    // hops, the 30th among them.
    for (i, h) in hops.iter().enumerate().skip(2) {
        let want = if i % 2 == 0 {
            "10.100.0.2"
        } else {
            "10.100.1.18"
        };
        assert_eq!(*h, want, "hop {}: {hops:?}", i + 1);
    }
    let ping = checks
        .iter()
        .find(|c| c["probe"] == "ping 10.200.1.15")
        .expect("the ping check");
    assert_eq!(ping["observed"]["outcome"], "ttl-exceeded");
    assert_eq!(ping["observed"]["from"], "10.100.1.18");
}
