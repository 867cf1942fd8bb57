//! `grade` on an exercise whose students hand in an FRR configuration (`kind = "file"`):
//! each submission runs sandboxed, FRR and all, and is graded by command and ping checks.

use serde_json::Value;

use crate::host::HostGuard;
use crate::scratch::TempDir;
use crate::support::repo_path;

#[test]
fn grades_frr_configurations() {
    require_root!();
    assert!(
        std::path::Path::new("/usr/lib/frr/zebra").exists(),
        "FRR is not installed: run ci/setup.sh"
    );
    let _host = HostGuard::new();
    let tmp = TempDir::new("grade-frr");
    let out = std::process::Command::new(crate::support::bin())
        .args(["grade", "--format", "json", "--out"])
        .arg(tmp.0.join("out"))
        .arg(repo_path("tests/grade-frr/exercise.toml"))
        .arg(repo_path("tests/grade-frr/submissions"))
        .output()
        .expect("topolab");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).expect("json");
    let scores: Vec<(String, u64)> = json["grades"]
        .as_array()
        .expect("grades")
        .iter()
        .map(|g| {
            (
                g["student"].as_str().unwrap_or("?").to_string(),
                g["score"].as_u64().unwrap_or(999),
            )
        })
        .collect();
    assert_eq!(
        scores,
        [("good".to_string(), 100), ("wrong-area".to_string(), 0)],
        "{stdout}"
    );
}
