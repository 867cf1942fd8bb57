//! `topolab diff` on incident-like pairs built for the purpose (tests/diff/) and on the
//! incident library's faulty/fixed pairs (labs/incidents/): exactly the expected flows
//! change, with the expected evidence; no change says what it covers; a bad patch is
//! reported in the patch, at its line and column.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token, topolab, topolab_json};
use crate::support::{repo_path, text};

/// (flow label as `kind from probe`, base evidence, candidate evidence)
type Change = (String, String, String);

fn evidence(side: &Value) -> String {
    let kind = side["kind"].as_str().unwrap_or("?");
    if kind != "observed" {
        return kind.to_string();
    }
    let mut s = side["outcome"].as_str().unwrap_or("?").to_string();
    if s != "ok"
        && let Some(from) = side["from"].as_str()
    {
        s.push_str(&format!(" from {from}"));
    }
    if let Some(route) = side["route"].as_object() {
        for key in ["type", "dev", "via", "table"] {
            if let Some(v) = route.get(key) {
                s.push_str(&format!(
                    " {key} {}",
                    v.as_str().map_or(v.to_string(), String::from)
                ));
            }
        }
    }
    s
}

fn changes(json: &Value) -> BTreeSet<Change> {
    json["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            let kind = match f["kind"].as_str() {
                Some("check") => format!("check \"{}\"", f["name"].as_str().unwrap_or("?")),
                Some(k) => k.to_string(),
                None => "?".into(),
            };
            (
                format!(
                    "{kind}: {} {}",
                    f["from"].as_str().unwrap_or("?"),
                    f["probe"].as_str().unwrap_or("?")
                ),
                evidence(&f["base"]),
                evidence(&f["candidate"]),
            )
        })
        .collect()
}

fn expected(rows: &[(&str, &str, &str)]) -> BTreeSet<Change> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// Run a diff of two files of the repository as JSON; returns the exit code and the report.
fn diff(base: &str, candidate: &str) -> (Option<i32>, Value) {
    diff_json(&repo_path(base), &repo_path(candidate))
}

/// Run `topolab diff BASE CANDIDATE --format json`; returns the exit code and the report,
/// after checking that the run left no process behind.
pub fn diff_json(base: &Path, candidate: &Path) -> (Option<i32>, Value) {
    let tmp = TempDir::new("diff");
    topolab_json(
        &[
            "diff",
            base.to_str().expect("utf-8 path"),
            candidate.to_str().expect("utf-8 path"),
            "--format",
            "json",
        ],
        &tmp.0,
    )
}

#[test]
fn docker_bridge_capturing_a_peer_range_vs_moved() {
    require_root!();
    let _host = HostGuard::new();
    let (code, json) = diff(
        "tests/diff/docker-peer.toml",
        "tests/diff/docker-peer-fixed.patch.toml",
    );
    assert_eq!(code, Some(1), "{json:#}");
    assert_eq!(
        changes(&json),
        expected(&[
            (
                "check \"the peer cannot reach the host\": peer ping 10.0.0.10",
                "timeout",
                "ok"
            ),
            ("auto: peer tcp 10.0.0.10:22", "timeout", "ok"),
            (
                "auto: host ping 172.17.5.10",
                "host-unreachable from 172.17.0.1",
                "ok"
            ),
            (
                "auto: host ping 172.17.5.1",
                "host-unreachable from 172.17.0.1",
                "ok"
            ),
            (
                "auto: ctr ping 172.17.5.10",
                "host-unreachable from 172.17.0.2",
                "ok"
            ),
            (
                "auto: ctr ping 172.17.5.1",
                "host-unreachable from 172.17.0.2",
                "ok"
            ),
        ]),
        "{json:#}"
    );
    assert_eq!(json["probed"], 40);
    assert_eq!(json["changed"], 6);
}

#[test]
fn firewall_rule_added() {
    require_root!();
    let _host = HostGuard::new();
    let (code, json) = diff(
        "tests/diff/firewall.toml",
        "tests/diff/firewall-reject-https.patch.toml",
    );
    assert_eq!(code, Some(1), "{json:#}");
    let rejected = "admin-prohibited from 10.1.0.1";
    assert_eq!(
        changes(&json),
        expected(&[
            (
                "check \"c1 reaches the web server over https\": c1 tcp 10.2.0.10:443",
                "ok",
                rejected
            ),
            ("auto: c2 tcp 10.2.0.10:443", "ok", rejected),
        ]),
        "{json:#}"
    );
}

#[test]
fn route_removed_in_a_second_lab_file() {
    require_root!();
    let _host = HostGuard::new();
    let (code, json) = diff("tests/diff/route.toml", "tests/diff/route-removed.toml");
    assert_eq!(code, Some(1), "{json:#}");
    let r1 = "net-unreachable from 10.1.0.1";
    assert_eq!(
        changes(&json),
        expected(&[
            ("check \"a reaches b\": a tcp 10.3.0.10:8080", "ok", r1),
            ("auto: a ping 10.3.0.10", "ok", r1),
            ("auto: a ping 10.3.0.1", "ok", r1),
            // Requests from b still arrive; the answers die at r1.
            ("auto: b ping 10.1.0.10", "ok", "timeout"),
            ("auto: b ping 10.1.0.1", "ok", "timeout"),
            ("auto: b ping 10.2.0.1", "ok", "timeout"),
            ("auto: r1 ping 10.3.0.10", "ok", "no-route"),
            ("auto: r1 tcp 10.3.0.10:8080", "ok", "no-route"),
            ("auto: r1 ping 10.3.0.1", "ok", "no-route"),
        ]),
        "{json:#}"
    );
}

#[test]
fn no_change_says_what_it_covers() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("diff-same");
    let tok = token();
    let lab = repo_path("tests/diff/firewall.toml");
    let patch = tmp.write("noop.patch.toml", "# nothing changes\n[nodes.r]\n");
    let out = topolab(
        &[
            "diff",
            lab.to_str().expect("utf-8 path"),
            patch.to_str().expect("utf-8 path"),
        ],
        &tmp.0,
        &tok,
    );
    assert_no_processes(&tok);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("no change in the 21 probed flows"), "{t}");
    assert!(
        t.contains("21 flows probed: 1 check, 20 automatic flows"),
        "{t}"
    );
    assert!(t.contains("This covers the probed flows only"), "{t}");
}

#[test]
fn a_bad_patch_is_reported_in_the_patch() {
    // Validation only: nothing is built, so no privileges are needed.
    let tmp = TempDir::new("diff-bad");
    let lab = repo_path("tests/diff/firewall.toml");
    let patch = tmp.write(
        "bad.patch.toml",
        "[nodes.r]\nforwrd = true\n\n[[nodes.web.listen]]\ntcp = 70000\n",
    );
    let out = topolab(
        &[
            "diff",
            lab.to_str().expect("utf-8 path"),
            patch.to_str().expect("utf-8 path"),
        ],
        &tmp.0,
        &token(),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    let p = patch.display();
    assert!(
        t.contains(&format!("{p}:2:1: error: unknown key `forwrd` in nodes.r")),
        "{t}"
    );
    assert!(t.contains("did you mean `forward`?"), "{t}");
    assert!(t.contains(&format!("{p}:5:7: error:")), "{t}");
    assert!(!t.contains("firewall.toml:"), "{t}");
}

/// A faulty incident and its fixed twin: every changed flow, with the evidence on each side.
fn incident(name: &str, rows: &[(&str, &str, &str)]) {
    require_root!();
    let _host = HostGuard::new();
    let (code, json) = diff(
        &format!("labs/incidents/{name}.toml"),
        &format!("labs/incidents/{name}-fixed.toml"),
    );
    assert_eq!(code, Some(1), "{json:#}");
    assert_eq!(changes(&json), expected(rows), "{json:#}");
    assert_eq!(json["changed"], rows.len(), "{json:#}");
}

#[test]
fn incident_ip_forward_hardening() {
    // The fix turns silence into answers for transit traffic only; the host's own flows
    // never changed.
    incident(
        "ip-forward-hardening",
        &[
            (
                "check \"the container's call to the mirror hangs\": build tcp 10.40.0.20:443",
                "timeout",
                "ok",
            ),
            (
                "check \"the container pings the mirror: no answer, no error\": build ping 10.40.0.20",
                "timeout",
                "ok",
            ),
            (
                "check \"the published port hangs\": dev tcp 10.40.0.13:8080",
                "timeout",
                "ok",
            ),
            (
                "check \"the host routes transit traffic as unreachable\": ci-runner-3 route 10.40.0.20",
                "no-route type unreachable",
                "ok type unicast dev eth0 table 254",
            ),
            (
                "check \"the container reaches the mirror\": build tcp 10.40.0.20:443",
                "timeout",
                "ok",
            ),
            (
                "check \"the container pings the mirror\": build ping 10.40.0.20",
                "timeout",
                "ok",
            ),
            (
                "check \"the published port answers\": dev tcp 10.40.0.13:8080",
                "timeout",
                "ok",
            ),
            (
                "check \"the host routes transit traffic out of eth0\": ci-runner-3 route 10.40.0.20",
                "no-route type unreachable",
                "ok type unicast dev eth0 table 254",
            ),
            ("auto: build ping 10.40.0.50", "timeout", "ok"),
        ],
    );
}

#[test]
fn incident_rp_filter_multihomed() {
    // Only the storage address, from the backup network, changes: the policy route sends
    // the answers back out of eth1, where strict rp_filter accepts them.
    let main = "ok type unicast dev eth0 via 10.10.1.1 table 254";
    let t200 = "ok type unicast dev eth1 via 10.20.1.1 table 200";
    incident(
        "rp-filter-multihomed",
        &[
            (
                "check \"the backup's connection to the storage address hangs\": backup tcp 10.20.1.10:22",
                "timeout",
                "ok",
            ),
            (
                "check \"pings to the storage address get no answer\": backup ping 10.20.1.10",
                "timeout",
                "ok",
            ),
            (
                "check \"srv would answer the backup server through eth0\": srv route 10.100.0.10",
                main,
                t200,
            ),
            (
                "check \"the backup connects to the storage address\": backup tcp 10.20.1.10:22",
                "timeout",
                "ok",
            ),
            (
                "check \"the storage address answers pings\": backup ping 10.20.1.10",
                "timeout",
                "ok",
            ),
            (
                "check \"srv answers the backup server through eth1\": srv route 10.100.0.10",
                main,
                t200,
            ),
        ],
    );
}

#[test]
fn incident_pmtu_black_hole() {
    // Pings and small connections never changed: only the large transfer did, which the
    // automatic matrix (small probes) cannot see. That is what the checks are for.
    // The fixed twin's "a large download completes" runs in the faulty lab right after
    // the stalled transfer, and passes there: the echo transfer's upload half drew
    // r-branch's frag-needed to the client, which caches the path MTU and advertises a
    // smaller MSS on its next connection. Real kernel behaviour (a retry from the same
    // client works for the ten minutes the path MTU is cached), so it is not a change.
    incident(
        "pmtu-black-hole",
        &[(
            "check \"a large download stalls\": client tcp 10.2.0.10:9000",
            "timeout",
            "ok",
        )],
    );
}

#[test]
fn incident_kube_ipvs0_lb_ip() {
    let local = "ok type local dev lo table 254";
    let remote = "ok type unicast dev eth0 via 10.0.0.1 table 254";
    incident(
        "kube-ipvs0-lb-ip",
        &[
            (
                "check \"a pod gets Connection refused on 443\": client-pod tcp 203.0.113.10:443",
                "refused",
                "ok",
            ),
            (
                "check \"the node itself gets Connection refused on 443\": node1 tcp 203.0.113.10:443",
                "refused",
                "ok",
            ),
            (
                "check \"for the node the load balancer's IP is local\": node1 route 203.0.113.10",
                local,
                remote,
            ),
            (
                "check \"a pod connects to 443\": client-pod tcp 203.0.113.10:443",
                "refused",
                "ok",
            ),
            (
                "check \"the node itself connects to 443\": node1 tcp 203.0.113.10:443",
                "refused",
                "ok",
            ),
            (
                "check \"for the node the load balancer's IP is remote\": node1 route 203.0.113.10",
                local,
                remote,
            ),
        ],
    );
}

#[test]
fn incident_compose_rds_overlap() {
    // Moving the compose network out of 192.168.0.0/20 frees the database's address and
    // the other VPC subnets, and takes the old bridge addresses away.
    let bridge = "host-unreachable from 192.168.0.1";
    let ctr = "host-unreachable from 192.168.0.2";
    let vpc = "net-unreachable from 192.168.73.253";
    let compose_route = "ok type unicast dev br-5c1f0e9a7d2b table 254";
    let vpc_route = "ok type unicast dev eth0 via 192.168.73.253 table 254";
    incident(
        "compose-rds-overlap",
        &[
            (
                "check \"ecs3 cannot connect to the database\": ecs3 tcp 192.168.0.166:3306",
                bridge,
                "ok",
            ),
            (
                "check \"ecs3 pings the database: Destination Host Unreachable from the bridge\": ecs3 ping 192.168.0.166",
                bridge,
                "ok",
            ),
            (
                "check \"the container looks for the database on its own segment\": app1 tcp 192.168.0.166:3306",
                ctr,
                "ok",
            ),
            (
                "check \"ecs3 routes the database onto the compose bridge\": ecs3 route 192.168.0.166",
                compose_route,
                vpc_route,
            ),
            (
                "check \"ecs3 connects to the database\": ecs3 tcp 192.168.0.166:3306",
                bridge,
                "ok",
            ),
            (
                "check \"ecs3 pings the database\": ecs3 ping 192.168.0.166",
                bridge,
                "ok",
            ),
            (
                "check \"the container connects to the database\": app1 tcp 192.168.0.166:3306",
                ctr,
                "ok",
            ),
            (
                "check \"ecs3 routes the database through the VPC router\": ecs3 route 192.168.0.166",
                compose_route,
                vpc_route,
            ),
            ("auto: app1 ping 10.201.0.1", vpc, "ok"),
            ("auto: app1 ping 10.201.1.1", vpc, "ok"),
            ("auto: app1 ping 172.17.0.1", "ok", vpc),
            ("auto: app1 ping 192.168.0.1", "ok", vpc),
            ("auto: app1 ping 192.168.0.166", ctr, "ok"),
            ("auto: app1 ping 192.168.0.129", ctr, "ok"),
            ("auto: ecs3 ping 10.201.1.2", vpc, "ok"),
            ("auto: ecs3 ping 192.168.0.2", "ok", vpc),
            ("auto: ecs3 ping 192.168.0.129", bridge, "ok"),
            ("auto: rds ping 192.168.73.10", "timeout", "ok"),
        ],
    );
}

/// (label, base evidence, candidate evidence, changed) of every flow, in report order.
fn flow_rows(json: &Value) -> Vec<(String, String, String, bool)> {
    json["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            (
                format!(
                    "{} {} {} {}",
                    f["kind"].as_str().unwrap_or("?"),
                    f["name"].as_str().unwrap_or(""),
                    f["from"].as_str().unwrap_or("?"),
                    f["probe"].as_str().unwrap_or("?")
                ),
                evidence(&f["base"]),
                evidence(&f["candidate"]),
                f["changed"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// `diff --shard K/N` probes every N-th flow; the three shards' reports merge into the
/// report of the whole diff: the same flows, in the same order, with the same outcomes
/// and counts.
#[test]
fn shards_of_a_diff_merge_into_the_whole_diff() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("diff-shard");
    let tok = token();
    let base = repo_path("tests/diff/route.toml");
    let candidate = repo_path("tests/diff/route-removed.toml");
    let (base, candidate) = (
        base.to_str().expect("utf-8 path"),
        candidate.to_str().expect("utf-8 path"),
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["diff", base, candidate, "--all", "--format", "json"];
        args.extend_from_slice(extra);
        let out = topolab(&args, &tmp.0, &tok);
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("diff printed no JSON ({e}):\n{}", text(&out)));
        (out.status.code(), json)
    };
    let (code, whole) = run(&[]);
    assert_eq!(code, Some(1), "{whole:#}");
    assert!(whole.get("shard").is_none());

    let mut reports = Vec::new();
    let mut indices = BTreeSet::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (_, json) = run(&["--shard", &shard]);
        assert_eq!(json["shard"]["index"], k, "{json:#}");
        assert_eq!(json["shard"]["total"], 3);
        for f in json["flows"].as_array().expect("flows") {
            let i = f["index"]
                .as_u64()
                .expect("a shard's flows carry their index");
            assert_eq!(i % 3, k - 1, "flow {i} is not shard {k}'s");
            assert!(indices.insert(i), "flow {i} in two shards");
        }
        let path = tmp.0.join(format!("diff-{k}.json"));
        std::fs::write(&path, serde_json::to_string(&json).expect("JSON")).expect("write");
        reports.push(path);
    }
    let probed = whole["probed"].as_u64().expect("probed");
    assert_eq!(
        indices,
        (0..probed).collect(),
        "the shards cover every flow once"
    );

    let mut args = vec!["merge-reports"];
    args.extend(reports.iter().map(|p| p.to_str().expect("utf-8")));
    args.extend(["--format", "json"]);
    let out = topolab(&args, &tmp.0, &tok);
    assert_eq!(out.status.code(), Some(1), "flows changed:\n{}", text(&out));
    let merged: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("merge printed no JSON ({e}):\n{}", text(&out)));
    assert_eq!(flow_rows(&merged), flow_rows(&whole));
    for key in [
        "base",
        "candidate",
        "probed",
        "checks",
        "matrix",
        "auto",
        "changed",
        "one_at_a_time",
        "scope",
    ] {
        assert_eq!(merged[key], whole[key], "{key}");
    }
    assert!(merged.get("shard").is_none());
    assert!(merged["flows"][0].get("index").is_none());

    // A missing shard is refused (the unit tests cover the other incomplete sets).
    let out = topolab(
        &["merge-reports", reports[0].to_str().expect("utf-8")],
        &tmp.0,
        &tok,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("shards 2/3, 3/3 are missing: their flows would go unreported"),
        "{}",
        text(&out)
    );
    assert_no_processes(&tok);
}
