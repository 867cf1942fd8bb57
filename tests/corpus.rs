//! The corpus of example labs, checked through the real binary.
//!
//! - `tests/corpus/broken/NAME.toml`: `topolab check NAME.toml` exits 2 and prints
//!   exactly `NAME.stderr` on stderr.
//! - `tests/corpus/valid/NAME.toml`: it exits 0, prints `ok NAME.toml...` on stdout, and
//!   its warnings (if any) exactly as `NAME.stderr`.
//!
//! Expected output is a plain file beside each lab, so a reviewer reads the lab and what
//! topolab says about it side by side. To update the expectations after a deliberate
//! change of the messages, run
//!
//!     UPDATE_CORPUS=1 cargo test --test corpus
//!
//! and review `git diff tests/corpus` before committing. A new lab without its `.stderr`
//! fails until the same command writes one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn labs(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut labs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    labs.sort();
    labs
}

/// Run `topolab check` on one lab from its directory, so that messages name the file
/// as `NAME.toml` whatever the checkout's path.
fn check(lab: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_topolab"))
        .args(["--color", "never", "check"])
        .arg(lab.file_name().expect("file name"))
        .current_dir(lab.parent().expect("directory"))
        .env_remove("NO_COLOR")
        .output()
        .expect("run topolab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Compare `actual` with the `.stderr` beside `lab` (or write it when updating); returns
/// a description of the difference.
fn compare(lab: &Path, actual: &str) -> Option<String> {
    let expected_path = lab.with_extension("stderr");
    if std::env::var_os("UPDATE_CORPUS").is_some() {
        std::fs::write(&expected_path, actual).expect("write expectation");
        return None;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{}: stderr differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
            lab.display(),
            expected_path.display()
        )
    })
}

#[test]
fn broken_labs_are_rejected_with_the_expected_diagnostics() {
    let labs = labs("broken");
    assert!(
        labs.len() >= 35,
        "the corpus has {} broken labs",
        labs.len()
    );
    let mut failures = Vec::new();
    for lab in &labs {
        let (code, _, stderr) = check(lab);
        if code != 2 {
            failures.push(format!(
                "{}: exit {code}, expected 2\n{stderr}",
                lab.display()
            ));
        }
        failures.extend(compare(lab, &stderr));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn valid_labs_pass_with_at_most_warnings() {
    let labs = labs("valid");
    assert!(!labs.is_empty());
    let mut failures = Vec::new();
    for lab in &labs {
        let (code, stdout, stderr) = check(lab);
        if code != 0 || !stdout.starts_with("ok ") {
            failures.push(format!(
                "{}: exit {code}, expected 0\n{stdout}{stderr}",
                lab.display()
            ));
        }
        if stderr.contains(": error:") {
            failures.push(format!(
                "{}: errors in a valid lab\n{stderr}",
                lab.display()
            ));
        }
        failures.extend(compare(lab, &stderr));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
