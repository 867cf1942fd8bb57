//! The report formats: renderings of a fixed result are snapshot-tested; a real run's JSON
//! validates against the committed schema and its JUnit parses back.

mod support;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use support::{TempDir, require_root, text, token, topolab};
use topolab::front::lab::{Outcome, StateKind};
use topolab::kernel::state::NodeState;
use topolab::runner::results::*;
use topolab::term::Paint;

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("ip"))
}

fn check(
    name: &str,
    expected: &str,
    passed: bool,
    outcome: Outcome,
    from: Option<IpAddr>,
    mtu: Option<u32>,
) -> CheckResult {
    CheckResult {
        name: name.into(),
        from: "host".into(),
        probe: "ping 10.0.0.2".into(),
        expected: expected.into(),
        passed,
        observed: Some(Observed {
            outcome,
            from,
            mtu,
            route: None,
            detail: None,
            command: None,
            path: None,
            drop: None,
        }),
        error: None,
        attempts: if passed { 1 } else { 3 },
        duration: Duration::from_millis(1500),
    }
}

/// A result touching every part of a report: passing and failing checks, an ICMP source
/// and MTU, a route, a matrix with one bad cell, a step with a failed action, a changed
/// snapshot.
fn sample() -> LabResult {
    let mut route = check(
        "host route 192.168.0.166",
        "dev docker0",
        true,
        Outcome::Ok,
        None,
        None,
    );
    route.observed.as_mut().expect("obs").route = Some(RouteObserved {
        dev: Some("docker0".into()),
        via: None,
        src: ip("192.168.0.1"),
        kind: "unicast".into(),
        table: Some(254),
    });
    LabResult {
        lab: "sample".into(),
        file: PathBuf::from("labs/sample.toml"),
        status: LabStatus::Failed,
        checks: vec![
            check("db is unreachable", "host-unreachable via 192.168.0.1", true, Outcome::HostUnreachable, ip("192.168.0.1"), None),
            check("big packets", "frag-needed mtu 1400", false, Outcome::FragNeeded, ip("10.0.0.254"), Some(1280)),
            route,
        ],
        matrices: vec![MatrixResult {
            name: "hosts".into(),
            probe: "ping".into(),
            cells: vec![
                MatrixCell { from: "a".into(), to: "b".into(), addr: "10.0.0.2".parse().expect("ip"), expected: Outcome::Ok, observed: Some(Observed { outcome: Outcome::Ok, from: ip("10.0.0.2"), mtu: None, route: None, detail: None, command: None, path: None, drop: None }), error: None, passed: true },
                MatrixCell { from: "b".into(), to: "a".into(), addr: "10.0.0.1".parse().expect("ip"), expected: Outcome::Ok, observed: Some(Observed { outcome: Outcome::Timeout, from: None, mtu: None, route: None, detail: None, command: None, path: None, drop: None }), error: None, passed: false },
            ],
            passed: false,
            duration: Duration::from_millis(120),
        }],
        steps: vec![StepResult {
            name: "link down".into(),
            actions: vec![
                ActionResult { action: "set a:eth0 down".into(), ok: true, error: None },
                ActionResult { action: "exec in a: false".into(), ok: false, error: Some("exit status 1".into()) },
            ],
            checks: vec![],
            passed: false,
        }],
        snapshot: SnapshotStatus::Changed { diff: "@@ -1 +1 @@\n-big packets: frag-needed from 10.0.0.254 mtu 1400\n+big packets: frag-needed from 10.0.0.254 mtu 1280\n".into(), pending: None },
        services: vec![],
        warnings: vec![],
        kernel: "6.1.0-test".into(),
        build: Duration::from_millis(30),
        duration: Duration::from_millis(4200),
        capture: None,
    }
}

#[test]
fn human_report() {
    insta::assert_snapshot!(topolab::output::report::human::lab(
        &sample(),
        Paint { on: false }
    ));
}

#[test]
fn json_report() {
    insta::assert_snapshot!(topolab::output::report::json::render(&[sample()]));
}

#[test]
fn junit_report() {
    insta::assert_snapshot!(topolab::output::report::junit::render(&[sample()]).expect("junit"));
}

#[test]
fn snapshot_rendering() {
    let mut state = NodeState {
        node: "host".into(),
        ..Default::default()
    };
    state.sections.insert(
        StateKind::Routes,
        vec!["default via 192.168.73.253 dev eth0".into()],
    );
    state.sections.insert(StateKind::Neighbours, vec![]);
    insta::assert_snapshot!(topolab::runner::snapshot::render(&sample(), &[state]));
}

#[test]
fn the_committed_report_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/report.schema.json"
    ))
    .expect("schemas/report.schema.json");
    assert!(
        committed == topolab::output::report::json::schema_text(),
        "schemas/report.schema.json is out of date: regenerate it with `cargo run -- schema --report > schemas/report.schema.json`"
    );
}

const LAB: &str = r#"
name = "report-run"
[nodes.a]
[nodes.b]
[[nodes.b.listen]]
tcp = 80
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[checks]]
from = "a"
tcp = "10.0.0.2:80"
[[checks]]
name = "deliberately wrong"
from = "a"
tcp = "10.0.0.2:81"
expect = "ok"
[[matrix]]
name = "pairs"
[[steps]]
name = "down"
actions = [ { down = "a:eth0" } ]
checks = [ { from = "a", ping = "10.0.0.2", expect = "no-route" } ]
"#;

#[test]
fn a_real_run_gives_valid_json_and_junit() {
    require_root();
    let dir = TempDir::new("reports");
    let lab = dir.write("lab.toml", LAB);
    let junit = dir.0.join("junit.xml");
    let out = std::process::Command::new(support::bin())
        .args(["test", "--format", "json", "--junit"])
        .arg(&junit)
        .arg(&lab)
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", token())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing check and a missing snapshot exit 1:\n{}",
        text(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let schema: serde_json::Value =
        serde_json::from_str(&topolab::output::report::json::schema_text()).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match its schema: {errors:#?}"
    );
    let lab = &json["labs"][0];
    assert_eq!(lab["checks"][0]["passed"], true);
    assert_eq!(lab["checks"][1]["observed"]["outcome"], "refused");
    assert_eq!(
        lab["matrices"][0]["cells"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        lab["steps"][0]["checks"][0]["observed"]["outcome"],
        "no-route"
    );
    assert_eq!(lab["snapshot"]["status"], "new");
    assert_eq!(json["summary"]["failed"], 1);

    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses");
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "report-run");
    let failed: Vec<&str> = suite
        .test_cases
        .iter()
        .filter(|c| !matches!(c.status, quick_junit::TestCaseStatus::Success { .. }))
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, vec!["deliberately wrong", "snapshot"]);
    let _ = topolab(&["clean"], &dir.0.join("run"), "x");
}

#[test]
fn the_json_report_reads_back() {
    // VM runs and shard merges read reports back: what is written must parse to the same.
    let text = topolab::output::report::json::render(&[sample()]);
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let lab: LabResult = serde_json::from_value(value["labs"][0].clone()).expect("a LabResult");
    assert_eq!(topolab::output::report::json::render(&[lab]), text);
}
