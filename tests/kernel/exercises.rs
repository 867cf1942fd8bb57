//! The two bundled workshop exercises (labs/exercises/) graded for real: each reference
//! solution passes every check, and each example submission gets the result
//! labs/exercises/README.md promises (the shortcuts are caught, broken files are named).

use serde_json::Value;

use crate::host::HostGuard;
use crate::scratch::{TempDir, copy_dir, topolab_json};
use crate::support::repo_path;

/// Grade an exercise's `solution/` and every `submissions/*` as one class.
fn grade(exercise: &str) -> Value {
    let tmp = TempDir::new("exercise");
    let class = tmp.0.join("class");
    let dir = repo_path(&format!("labs/exercises/{exercise}"));
    copy_dir(&dir.join("submissions"), &class);
    copy_dir(&dir.join("solution"), &class.join("solution"));
    let lab = repo_path(&format!("labs/exercises/{exercise}.toml"));
    let out_dir = tmp.0.join("out");
    let (code, json) = topolab_json(
        &[
            "grade",
            lab.to_str().expect("utf-8"),
            class.to_str().expect("utf-8"),
            "--out",
            out_dir.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
        &tmp.0,
    );
    assert_eq!(code, Some(0), "{json:#}");
    json
}

/// (student, score, kind, the checks that failed)
fn summary(json: &Value) -> Vec<(String, u64, String, Vec<String>)> {
    json["grades"]
        .as_array()
        .expect("grades")
        .iter()
        .map(|g| {
            let failed = g["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["passed"] == false && g["kind"] == "graded")
                .map(|c| c["name"].as_str().unwrap_or("?").to_string())
                .collect();
            (
                g["student"].as_str().unwrap_or("?").to_string(),
                g["score"].as_u64().unwrap_or(999),
                g["kind"].as_str().unwrap_or("?").to_string(),
                failed,
            )
        })
        .collect()
}

fn row(s: &str, score: u64, kind: &str, failed: &[&str]) -> (String, u64, String, Vec<String>) {
    (
        s.to_string(),
        score,
        kind.to_string(),
        failed.iter().map(|f| f.to_string()).collect(),
    )
}

fn error_of<'a>(json: &'a Value, student: &str) -> &'a str {
    json["grades"]
        .as_array()
        .expect("grades")
        .iter()
        .find(|g| g["student"] == student)
        .and_then(|g| g["error"].as_str())
        .unwrap_or_else(|| panic!("{student} has no error: {json:#}"))
}

#[test]
fn pmtu_black_hole_exercise() {
    require_root!();
    let _host = HostGuard::new();
    let json = grade("pmtu-black-hole");
    assert_eq!(
        summary(&json),
        vec![
            row("fw-frag-needed", 100, "graded", &[]),
            // Opening the firewall fixes the download but lets other ICMP errors through,
            // which the lab as handed out stopped: the fix earns nothing (raw share 75 %).
            row(
                "open-firewall",
                0,
                "graded",
                &["the firewall still swallows other ICMP errors"]
            ),
            row("solution", 100, "graded", &[]),
            row("syntax-error", 0, "broken", &[]),
        ],
        "{json:#}"
    );
    // The shortcut is caught with the evidence: the server's port-unreachable gets through.
    let open = &json["grades"][1]["checks"];
    let swallowed = open
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "the firewall still swallows other ICMP errors")
        .expect("the check");
    assert_eq!(
        swallowed["observed"], "port-unreachable from 10.2.0.10",
        "{swallowed:#}"
    );
    // The lab as handed out fails the goal (the download) and passes the rest.
    let baseline: Vec<bool> = json["baseline"]
        .as_array()
        .expect("baseline")
        .iter()
        .map(|c| c["passed"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(baseline, [false, true, true, true], "{json:#}");
    let err = error_of(&json, "syntax-error");
    assert!(err.contains("syntax-error/r-branch.nft:5:"), "{err}");
    assert!(err.contains("node `r-branch`"), "{err}");
}

#[test]
fn rp_filter_multihomed_exercise() {
    require_root!();
    let _host = HostGuard::new();
    let json = grade("rp-filter-multihomed");
    assert_eq!(
        summary(&json),
        vec![
            row("bad-routes-file", 0, "broken", &[]),
            row(
                "main-table-route",
                // Fixes all three failing checks but breaks two that passed (raw 60 %).
                33,
                "graded",
                &[
                    "everything else still leaves through gw-app",
                    "the application address still answers"
                ]
            ),
            row(
                "rp-filter-off",
                // Two of the three checks to fix (raw 80 %).
                66,
                "graded",
                &["replies from the storage address leave through eth1"]
            ),
            row("solution", 100, "graded", &[]),
        ],
        "{json:#}"
    );
    let err = error_of(&json, "bad-routes-file");
    assert!(err.contains("bad-routes-file/srv.routes:1:61"), "{err}");
    assert!(err.contains("unclosed array"), "{err}");
}
