//! The same flow has the same evidence in `topolab test` and `topolab diff`: a check and
//! the identical automatic flow are one row, observed by the check as `test` observes it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token, topolab};
use crate::support::{repo_path, text};

fn json_of(args: &[&str]) -> Value {
    let tmp = TempDir::new("diff-evidence");
    let tok = token();
    let out = topolab(args, &tmp.0, &tok);
    assert_no_processes(&tok);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}):\n{}", text(&out)))
}

/// "outcome from X" of an observation as JSON.
fn evidence(o: &Value) -> String {
    match o["from"].as_str() {
        Some(f) if o["outcome"] != "ok" => {
            format!("{} from {f}", o["outcome"].as_str().unwrap_or("?"))
        }
        _ => o["outcome"].as_str().unwrap_or("?").to_string(),
    }
}

#[test]
fn test_and_diff_agree_on_every_check_and_show_it_once() {
    require_root!();
    let _host = HostGuard::new();
    let lab = repo_path("labs/docker-rds-overlap.toml");
    let lab = lab.to_str().expect("utf-8");
    let test = json_of(&["test", lab, "--format", "json"]);
    let diff = json_of(&["diff", lab, lab, "--all", "--format", "json"]);

    let mut rows: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for f in diff["flows"].as_array().expect("flows") {
        let key = (
            f["from"].as_str().unwrap_or("?").to_string(),
            f["probe"].as_str().unwrap_or("?").to_string(),
        );
        rows.entry(key).or_default().push(f);
    }
    let checks = test["labs"][0]["checks"].as_array().expect("checks");
    let mut compared = 0;
    for c in checks {
        let key = (
            c["from"].as_str().unwrap_or("?").to_string(),
            c["probe"].as_str().unwrap_or("?").to_string(),
        );
        let same = &rows[&key];
        // One row per flow: the check's, not an automatic duplicate beside it.
        assert_eq!(same.len(), 1, "{key:?}: {same:#?}");
        let row = same[0];
        assert_eq!(row["kind"], "check", "{row:#}");
        assert_eq!(row["name"], c["name"], "{row:#}");
        if c["observed"]["route"].is_null() {
            assert_eq!(
                evidence(&row["base"]),
                evidence(&c["observed"]),
                "diff and test disagree on {key:?}"
            );
            compared += 1;
        }
    }
    // The lab's pings and connects, among them host-unreachable from 192.168.0.1.
    assert!(compared >= 4, "{compared}");
    assert!(
        checks
            .iter()
            .any(|c| evidence(&c["observed"]) == "host-unreachable from 192.168.0.1")
    );
}
