//! The report formats: renderings of a fixed result are snapshot-tested, and the JSON
//! reads back (a real run's reports are checked in tests/kernel/reports.rs).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

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

#[test]
fn the_json_report_reads_back() {
    // VM runs and shard merges read reports back: what is written must parse to the same.
    let text = topolab::output::report::json::render(&[sample()]);
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let lab: LabResult = serde_json::from_value(value["labs"][0].clone()).expect("a LabResult");
    assert_eq!(topolab::output::report::json::render(&[lab]), text);
}
