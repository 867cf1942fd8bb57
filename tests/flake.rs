//! Every bundled lab, 20 times, with no failure: checks must not depend on timing luck.
//! The 20 runs of each lab go concurrently (eight labs at a time), which is harsher than
//! running them one after another and keeps the suite fast. Runs as CI does: snapshots
//! are compared, never written.

mod support;

use support::{HostGuard, TempDir, assert_no_processes, require_root, text, token};

const RUNS: usize = 20;

#[test]
fn every_bundled_lab_passes_twenty_times() {
    require_root();
    let host = HostGuard::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // labs/exercises/ holds workshop exercises: their checks are the goal and fail until a
    // student's submission is applied, so they are graded, not tested.
    let exercises = root.join("labs").join("exercises");
    let labs: Vec<_> = topolab::discover::lab_files(&[root.join("labs")])
        .expect("labs")
        .into_iter()
        .filter(|l| !l.starts_with(&exercises))
        .collect();
    assert!(labs.len() >= 4, "bundled labs: {labs:?}");
    let dir = TempDir::new("flake");
    let tok = token();
    let mut cmd = std::process::Command::new(support::bin());
    cmd.args(["test", "--jobs", "8", "--format", "json"])
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", &tok);
    for lab in &labs {
        for _ in 0..RUNS {
            cmd.arg(lab);
        }
    }
    let out = cmd.output().expect("run topolab");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&out)));
    let failures: Vec<String> = report["labs"]
        .as_array()
        .into_iter()
        .flatten()
        // A lab this kernel cannot run is skipped, every time: it cannot be flaky here.
        .filter(|l| l["status"]["kind"] != "passed" && l["status"]["kind"] != "skipped")
        .map(|l| {
            let bad: Vec<String> = l["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["passed"] == false)
                .map(|c| {
                    format!(
                        "    {}: expected {}, observed {}",
                        c["name"], c["expected"], c["observed"]
                    )
                })
                .collect();
            format!(
                "{} {}: snapshot {}\n{}",
                l["lab"],
                l["status"],
                l["snapshot"],
                bad.join("\n")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        labs.len() * RUNS,
        failures.join("\n")
    );
    let skipped = report["summary"]["skipped"].as_u64().unwrap_or(0) as usize;
    assert_eq!(skipped % RUNS, 0, "a lab skipped in some runs only");
    assert_eq!(
        report["summary"]["passed"],
        serde_json::json!(labs.len() * RUNS - skipped)
    );
    assert_eq!(out.status.code(), Some(0));
    assert_no_processes(&tok);
    drop(host);
}
