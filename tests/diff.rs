//! `topolab diff` on three incident-like pairs built for the purpose (tests/diff/): exactly
//! the expected flows change, with the expected evidence; no change says what it covers;
//! a bad patch is reported in the patch, at its line and column.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{HostGuard, TempDir, assert_no_processes, require_root, text, token, topolab};

fn repo_path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

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

/// Run a diff as JSON; returns the exit code and the report.
fn diff(base: &str, candidate: &str) -> (Option<i32>, Value) {
    let tmp = TempDir::new("diff");
    let tok = token();
    let base = repo_path(base);
    let candidate = repo_path(candidate);
    let out = topolab(
        &[
            "diff",
            base.to_str().expect("utf-8 path"),
            candidate.to_str().expect("utf-8 path"),
            "--format",
            "json",
        ],
        &tmp.0,
        &tok,
    );
    assert_no_processes(&tok);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("diff printed no JSON ({e}):\n{}", text(&out)));
    (out.status.code(), json)
}

#[test]
fn docker_bridge_capturing_a_peer_range_vs_moved() {
    require_root();
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
            ("auto: peer ping 10.0.0.10", "timeout", "ok"),
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
    assert_eq!(json["probed"], 42);
    assert_eq!(json["changed"], 7);
}

#[test]
fn firewall_rule_added() {
    require_root();
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
            ("auto: c1 tcp 10.2.0.10:443", "ok", rejected),
            ("auto: c2 tcp 10.2.0.10:443", "ok", rejected),
        ]),
        "{json:#}"
    );
}

#[test]
fn route_removed_in_a_second_lab_file() {
    require_root();
    let _host = HostGuard::new();
    let (code, json) = diff("tests/diff/route.toml", "tests/diff/route-removed.toml");
    assert_eq!(code, Some(1), "{json:#}");
    let r1 = "net-unreachable from 10.1.0.1";
    assert_eq!(
        changes(&json),
        expected(&[
            ("check \"a reaches b\": a tcp 10.3.0.10:8080", "ok", r1),
            ("auto: a ping 10.3.0.10", "ok", r1),
            ("auto: a tcp 10.3.0.10:8080", "ok", r1),
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
    require_root();
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
    assert!(t.contains("no change in the 22 probed flows"), "{t}");
    assert!(
        t.contains("22 flows probed: 1 check, 21 automatic flows"),
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
