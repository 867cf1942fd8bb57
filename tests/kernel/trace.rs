//! Trace checks on the real kernel (tests/trace/paths.toml): a normal multi-hop path over
//! icmp, udp and tcp, a silent hop (a router whose nft drops its time-exceeded), and a
//! routing loop traced to `loop` with its looping hops; each in the human, JSON and JUnit
//! reports, the snapshot, and `diff`.

use serde_json::Value;

use crate::diff::diff_json;
use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, copy_dir, token, topolab, topolab_json};
use crate::support::{repo_path, text};

/// Runs `topolab test` on a copy of tests/trace (so snapshots land in the copy).
fn run(args: &[&str]) -> (Option<i32>, String, TempDir) {
    let tmp = TempDir::new("trace");
    copy_dir(&repo_path("tests/trace"), &tmp.0);
    let lab = tmp.0.join("paths.toml");
    let tok = token();
    let mut all = vec!["test", lab.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    // Not in CI mode even under CI: callers accept the lab's first snapshot into their own
    // copy (`--accept`), and under CI nothing is ever written.
    let out = std::process::Command::new(crate::support::bin())
        .args(&all)
        .env("TOPOLAB_RUNTIME_DIR", &tmp.0)
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("run topolab");
    assert_no_processes(&tok);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        tmp,
    )
}

fn check<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["labs"][0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {json:#}"))
}

/// Whether this run traces drops with eBPF (root with kernel BTF).
fn traced() -> bool {
    std::path::Path::new("/sys/kernel/btf/vmlinux").exists()
}

/// The path as `addr` or `*` per hop.
fn path(c: &Value) -> Vec<String> {
    c["observed"]["path"]
        .as_array()
        .unwrap_or_else(|| panic!("no path in {c:#}"))
        .iter()
        .map(|h| h["from"].as_str().unwrap_or("*").to_string())
        .collect()
}

#[test]
fn paths_loops_and_silent_hops_in_json() {
    require_root!();
    let _host = HostGuard::new();
    let (code, out, _tmp) = run(&["--format", "json"]);
    let json: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("no JSON ({e}):\n{out}"));
    // The paths are part of the committed report schema.
    let schema: Value =
        serde_json::from_str(&topolab::output::report::json::schema_text()).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // Every check passes; the run fails only for the missing snapshot.
    assert_eq!(code, Some(1), "{json:#}");
    for c in json["labs"][0]["checks"].as_array().expect("checks") {
        assert_eq!(c["passed"], true, "{c:#}");
    }
    let normal = check(&json, "normal path");
    assert_eq!(normal["observed"]["outcome"], "ok");
    assert_eq!(path(normal), ["10.0.1.1", "10.0.2.2", "10.0.3.2"]);
    let hops = normal["observed"]["path"].as_array().expect("hops");
    assert_eq!(hops[0]["outcome"], "ttl-exceeded");
    assert_eq!(hops[0]["ttl"], 1);
    assert_eq!(hops[2]["outcome"], "ok");

    let udp = check(&json, "udp path ends at the closed port");
    assert_eq!(udp["observed"]["outcome"], "port-unreachable");
    assert_eq!(udp["observed"]["from"], "10.0.3.2");
    assert_eq!(path(udp), ["10.0.1.1", "10.0.2.2", "10.0.3.2"]);
    let tcp = check(&json, "tcp path to the listener");
    assert_eq!(path(tcp), ["10.0.1.1", "10.0.2.2", "10.0.3.2"]);

    let silent = check(&json, "silent hop");
    assert_eq!(path(silent), ["10.0.1.1", "*", "10.0.3.2"]);
    assert!(silent["observed"]["path"][1].get("from").is_none());
    assert_eq!(silent["observed"]["path"][1]["outcome"], "timeout");
    // r2's firewall drops the hop's time-exceeded: traced, that drop of the error quoting
    // the hop's probe ends the hop at once (nothing else can answer that TTL). Untraced, a
    // silent hop is silence for its whole deadline (5 s), and no longer.
    let took = silent["duration"].as_f64().expect("duration");
    if traced() {
        assert!(took < 1.0, "the silent hop took {took}s");
    } else {
        assert!((4.9..7.0).contains(&took), "the silent hop took {took}s");
    }

    // The router's first host-unreachable to a new source is held back by its rate
    // limit; the trace asks that TTL again after a second instead of reading silence.
    let unr = check(&json, "unreachable route at the second router");
    assert_eq!(unr["observed"]["outcome"], "host-unreachable");
    assert_eq!(unr["observed"]["from"], "10.0.2.2");
    assert_eq!(path(unr), ["10.0.1.1", "10.0.2.2"]);
    let took = unr["duration"].as_f64().expect("duration");
    assert!(took < 3.0, "took {took}s");

    let lp = check(&json, "routing loop");
    assert_eq!(lp["observed"]["outcome"], "loop");
    assert_eq!(lp["observed"]["from"], "10.0.2.2");
    assert_eq!(
        path(lp),
        [
            "10.0.1.1", "10.0.2.2", "10.0.1.1", "10.0.2.2", "10.0.1.1", "10.0.2.2", "10.0.1.1",
            "10.0.2.2"
        ]
    );
    assert_eq!(
        lp["observed"]["detail"],
        "the path revisits 10.0.1.1 -> 10.0.2.2 and never reaches the target"
    );
    let took = lp["duration"].as_f64().expect("duration");
    assert!(took < 2.0, "a loop is answered at once, took {took}s");
}

#[test]
fn ipv6_paths_over_icmpv6_and_udp() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("trace-v6");
    copy_dir(&repo_path("tests/trace"), &tmp.0);
    let lab = tmp.0.join("v6.toml");
    let (_, json) = topolab_json(
        &["test", lab.to_str().expect("utf-8"), "--format", "json"],
        &tmp.0,
    );
    let icmp = check(&json, "h trace fd00:2::2");
    assert_eq!(icmp["passed"], true, "{icmp:#}");
    assert_eq!(path(icmp), ["fd00:1::1", "fd00:2::2"]);
    let udp = check(&json, "h trace udp [fd00:2::2]:33434");
    assert_eq!(udp["passed"], true, "{udp:#}");
    assert_eq!(udp["observed"]["outcome"], "port-unreachable");
    assert_eq!(path(udp), ["fd00:1::1", "fd00:2::2"]);
}

#[test]
fn hops_in_human_junit_and_snapshot() {
    require_root!();
    let _host = HostGuard::new();
    let (code, human, tmp) = run(&["--accept"]);
    assert_eq!(code, Some(0), "{human}");
    // One line per hop under the check, as traceroute prints them.
    let lines: Vec<&str> = human.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("PASS silent hop"))
        .unwrap_or_else(|| panic!("{human}"));
    assert!(
        lines[at + 1].starts_with("1  10.0.1.1  ttl-exceeded"),
        "{human}"
    );
    assert_eq!(lines[at + 2], "2  *", "{human}");
    assert!(lines[at + 3].starts_with("3  10.0.3.2  ok"), "{human}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("PASS routing loop  loop from 10.0.2.2")),
        "{human}"
    );

    let snap = std::fs::read_to_string(tmp.0.join("paths.snap")).expect("snapshot");
    for line in [
        "normal path: ok path 10.0.1.1 10.0.2.2 10.0.3.2",
        "routing loop: loop from 10.0.2.2 path 10.0.1.1 10.0.2.2 10.0.1.1 ...",
        "silent hop: ok path 10.0.1.1 * 10.0.3.2",
        "udp path ends at the closed port: port-unreachable from 10.0.3.2 path 10.0.1.1 10.0.2.2 10.0.3.2",
    ] {
        assert!(snap.lines().any(|l| l == line), "{line:?} not in\n{snap}");
    }

    // The accepted snapshot matches a second run, whose JUnit carries the hops.
    let tok = token();
    let lab = tmp.0.join("paths.toml");
    let junit = tmp.0.join("junit.xml");
    let out = topolab(
        &[
            "test",
            lab.to_str().expect("utf-8"),
            "--junit",
            junit.to_str().expect("utf-8"),
        ],
        &tmp.0,
        &tok,
    );
    assert_no_processes(&tok);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let xml = std::fs::read_to_string(&junit).expect("junit report");
    assert!(xml.contains("<system-out>"), "{xml}");
    assert!(
        xml.contains("h trace 10.9.0.1: loop from 10.0.2.2"),
        "{xml}"
    );
    assert!(xml.contains(" 8  10.0.2.2  ttl-exceeded"), "{xml}");
    assert!(xml.contains(" 2  *"), "{xml}");
}

#[test]
fn diff_compares_paths() {
    require_root!();
    let _host = HostGuard::new();
    let (code, json) = diff_json(
        &repo_path("tests/trace/paths.toml"),
        &repo_path("tests/trace/loop-fixed.patch.toml"),
    );
    assert_eq!(code, Some(1), "{json:#}");
    // Only the traced flow into the loop changed: from a loop to an unreachable route
    // at the second router, whose path is the loop's first two hops.
    let flows = json["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 1, "{json:#}");
    let f = &flows[0];
    assert_eq!(f["name"], "routing loop", "{f:#}");
    assert_eq!(f["base"]["outcome"], "loop");
    assert_eq!(path(&serde_json::json!({ "observed": f["base"] })).len(), 8);
    assert_eq!(f["candidate"]["outcome"], "host-unreachable");
    assert_eq!(f["candidate"]["from"], "10.0.2.2");
    assert_eq!(
        path(&serde_json::json!({ "observed": f["candidate"] })),
        ["10.0.1.1", "10.0.2.2"]
    );
    // Where the packets died is the end's router, not r1's drop of the TTL-1 packet it
    // answered with `ttl-exceeded`; the loop's last TTL expires at r2.
    for side in ["base", "candidate"] {
        let drop = &f[side]["drop"];
        if traced() || !drop.is_null() {
            assert_eq!(drop["node"], "r2", "{f:#}");
        }
    }
}

/// Three traces from one node, side by side, end at one router's unreachable routes. The
/// router answers a source's unroutable packets from one bucket (a burst of five, then
/// one a second), and each trace sends it seven (TTL 2 to 8) at once: often one trace
/// spends the burst and the others are answered one a second, only by asking again
/// (asked once, they ended `timeout path 10.0.1.1 *`). Each is answered in its first
/// attempt, and the drop evidence is where the trace's packets died (r2), never r1's drop
/// of the TTL-1 packet it answered with `ttl-exceeded`.
#[test]
fn side_by_side_traces_share_a_routers_error_bucket() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("trace-bucket");
    let paths = std::fs::read_to_string(repo_path("tests/trace/paths.toml")).expect("lab");
    let (nodes, _) = paths.split_once("[[checks]]").expect("checks");
    let mut lab = nodes
        .replace("#:schema ../../schemas/lab.schema.json\n", "")
        .replace(
            r#"{ to = "10.9.0.0/16", via = "10.0.2.1" }"#,
            r#"{ to = "10.9.0.0/16", type = "unreachable" }"#,
        );
    for (i, dst) in ["10.9.0.1", "10.8.0.1", "10.9.0.2"].iter().enumerate() {
        lab.push_str(&format!(
            "[[checks]]\nname = \"unroutable {i}\"\nfrom = \"h\"\ntrace = \"{dst}\"\n\
             max_hops = 8\nexpect = {{ outcome = \"host-unreachable\", \
             path = [\"10.0.1.1\", \"10.0.2.2\"] }}\nvia = \"10.0.2.2\"\n\n"
        ));
    }
    let file = tmp.0.join("bucket.toml");
    std::fs::write(&file, lab).expect("write lab");
    let (_, json) = topolab_json(
        &["test", file.to_str().expect("utf-8"), "--format", "json"],
        &tmp.0,
    );
    for i in 0..3 {
        let c = check(&json, &format!("unroutable {i}"));
        assert_eq!(c["passed"], true, "{c:#}");
        assert_eq!(c["attempts"], 1, "{c:#}");
        assert_eq!(path(c), ["10.0.1.1", "10.0.2.2"], "{c:#}");
        // Drops are traced (eBPF) wherever the kernel has BTF, as here and in CI.
        let drop = &c["observed"]["drop"];
        if traced() || !drop.is_null() {
            assert_eq!(drop["node"], "r2", "{c:#}");
        }
    }
}

/// A lab result with a loop and a path with a silent hop, rendered by every report: the
/// renderings are pure, so they are snapshot-tested (tests/snapshots/trace__*.snap).
fn rendered_sample() -> topolab::runner::results::LabResult {
    use std::time::Duration;
    use topolab::front::lab::Outcome;
    use topolab::runner::results::*;
    let hop = |ttl: u8, from: Option<&str>, outcome: Outcome| HopObserved {
        ttl,
        from: from.map(|f| f.parse().expect("ip")),
        outcome,
        rtt_ms: from.map(|_| 0.25),
    };
    let check =
        |name: &str, probe: &str, expected: &str, passed: bool, observed: Observed| CheckResult {
            name: name.into(),
            from: "client".into(),
            probe: probe.into(),
            expected: expected.into(),
            passed,
            observed: Some(observed),
            error: None,
            attempts: 1,
            duration: Duration::from_millis(40),
        };
    let mut loop_path = vec![
        hop(1, Some("10.64.3.1"), Outcome::TtlExceeded),
        hop(2, Some("172.17.0.3"), Outcome::TtlExceeded),
    ];
    for ttl in 3..=6 {
        let from = if ttl % 2 == 1 {
            "10.100.0.2"
        } else {
            "10.100.1.18"
        };
        loop_path.push(hop(ttl, Some(from), Outcome::TtlExceeded));
    }
    LabResult {
        lab: "traces".into(),
        file: "labs/traces.toml".into(),
        status: LabStatus::Failed,
        checks: vec![
            check(
                "the path loops",
                "trace 10.200.1.15",
                "loop via 10.100.1.18",
                true,
                Observed {
                    outcome: Outcome::Loop,
                    from: "10.100.1.18".parse().ok(),
                    mtu: None,
                    route: None,
                    detail: Some(
                        "the path revisits 10.100.0.2 -> 10.100.1.18 and never reaches the target"
                            .into(),
                    ),
                    path: Some(loop_path),
                    command: None,
                    drop: None,
                },
            ),
            check(
                "through the tunnel",
                "trace 10.200.1.15",
                "ok path 10.64.3.1 172.17.0.3 10.200.1.15",
                false,
                Observed {
                    outcome: Outcome::Ok,
                    from: "10.200.1.15".parse().ok(),
                    mtu: None,
                    route: None,
                    detail: None,
                    path: Some(vec![
                        hop(1, Some("10.64.3.1"), Outcome::TtlExceeded),
                        hop(2, None, Outcome::Timeout),
                        hop(3, Some("10.200.1.15"), Outcome::Ok),
                    ]),
                    command: None,
                    drop: None,
                },
            ),
        ],
        matrices: vec![],
        steps: vec![],
        snapshot: SnapshotStatus::NotCompared,
        services: vec![],
        warnings: vec![],
        kernel: "6.1.0-test".into(),
        build: Duration::from_millis(30),
        duration: Duration::from_millis(100),
        capture: None,
    }
}

#[test]
fn trace_human_report() {
    insta::assert_snapshot!(topolab::output::report::human::lab(
        &rendered_sample(),
        topolab::term::Paint { on: false }
    ));
}

#[test]
fn trace_json_report() {
    insta::assert_snapshot!(topolab::output::report::json::render(&[rendered_sample()]));
}

#[test]
fn trace_junit_report() {
    insta::assert_snapshot!(
        topolab::output::report::junit::render(&[rendered_sample()]).expect("junit")
    );
}

#[test]
fn trace_snapshot_lines() {
    insta::assert_snapshot!(topolab::runner::snapshot::render(&rendered_sample(), &[]));
}
