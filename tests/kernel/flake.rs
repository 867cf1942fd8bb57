//! Every bundled lab, 20 times, with no failure: checks must not depend on timing luck.
//! The 20 runs of each lab go concurrently (eight labs at a time), which is harsher than
//! running them one after another and keeps the suite fast. Runs as CI does: snapshots
//! are compared, never written. Labs this kernel cannot run go through `--vm-fallback`:
//! their 20 runs share one VM boot.

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token};
use crate::support::text;

const RUNS: usize = 20;

fn describe_failure(l: &serde_json::Value) -> String {
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
        "{} {}: snapshot {}\nwarnings: {}\n{}",
        l["lab"],
        l["status"],
        l["snapshot"],
        l["warnings"],
        bad.join("\n")
    )
}

#[test]
fn every_bundled_lab_passes_twenty_times() {
    require_root!();
    let host = HostGuard::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let labs = topolab::runner::discover::runnable_lab_files(&[root.join("labs")]).expect("labs");
    assert!(labs.len() >= 4, "bundled labs: {labs:?}");
    let vm =
        topolab::vm::image::default_kernel().is_some_and(|k| topolab::vm::preflight(&k).is_ok());
    if !vm {
        let why = "no VM can be started (ci/vm-setup.sh installs what it needs): labs this kernel cannot run are only checked to be skipped";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED in part: {why}");
    }
    let dir = TempDir::new("flake");
    let tok = token();
    let mut cmd = std::process::Command::new(crate::support::bin());
    cmd.current_dir(root)
        .args(["test", "--jobs", "8", "--format", "json"]);
    if vm {
        cmd.arg("--vm-fallback");
    }
    cmd.env("CI", "true")
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
    let runs = report["labs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), labs.len() * RUNS, "{}", text(&out));
    let failures: Vec<String> = runs
        .iter()
        .filter(|l| l["status"]["kind"] != "passed" && (vm || l["status"]["kind"] != "skipped"))
        .map(describe_failure)
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
    if vm {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_no_processes(&tok);
    drop(host);
}
