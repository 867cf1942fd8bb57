//! A real run's reports: its JSON validates against the committed schema and its JUnit
//! parses back (the renderings themselves are snapshot-tested in tests/offline/reports.rs).

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token, topolab};
use crate::support::{bin, text};

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
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("reports");
    let tok = token();
    let lab = dir.write("lab.toml", LAB);
    let junit = dir.0.join("junit.xml");
    let out = std::process::Command::new(bin())
        .args(["test", "--format", "json", "--junit"])
        .arg(&junit)
        .arg(&lab)
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", &tok)
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
    let _ = topolab(&["clean"], &dir.0.join("run"), &tok);
    assert_no_processes(&tok);
    drop(host);
}
