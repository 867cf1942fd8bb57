//! The corpus of example labs, checked through the real binary.
//!
//! - `tests/corpus/broken/NAME.toml`: `topolab check NAME.toml` exits 2, and what it prints
//!   on stderr is the insta snapshot `NAME.stderr.snap` beside it.
//! - `tests/corpus/valid/NAME.toml`: it exits 0, prints `ok NAME.toml...` on stdout, and
//!   its warnings (if any) are `NAME.stderr.snap`.
//!
//! The snapshots sit beside the labs, so a reviewer reads a lab and what topolab says
//! about it side by side. After a deliberate change of the messages, review and accept
//! them with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test offline corpus`
//! and `git diff tests/corpus`). A new lab without its snapshot fails under CI=true.

use std::path::Path;
use std::process::Command;

use crate::support::bin;

/// Run `topolab check` on one lab from its directory, so that messages name the file
/// as `NAME.toml` whatever the checkout's path.
fn check(lab: &Path) -> (i32, String, String) {
    let out = Command::new(bin())
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

/// Snapshot `stderr` as `NAME.stderr.snap` beside `lab`.
fn assert_stderr(lab: &Path, stderr: &str) {
    let name = lab.file_stem().and_then(|s| s.to_str()).expect("lab name");
    let dir = lab.parent().expect("directory");
    insta::with_settings!({
        snapshot_path => dir,
        prepend_module_to_snapshot => false,
        omit_expression => true,
        input_file => lab,
        snapshot_suffix => "",
    }, {
        insta::assert_snapshot!(format!("{name}.stderr"), stderr);
    });
}

#[test]
fn broken_labs_are_rejected_with_the_expected_diagnostics() {
    let mut count = 0;
    insta::glob!("../corpus/broken", "*.toml", |lab| {
        count += 1;
        let (code, _, stderr) = check(lab);
        assert_eq!(
            code,
            2,
            "{}: exit {code}, expected 2\n{stderr}",
            lab.display()
        );
        assert_stderr(lab, &stderr);
    });
    assert!(count >= 35, "the corpus has {count} broken labs");
}

#[test]
fn valid_labs_pass_with_at_most_warnings() {
    insta::glob!("../corpus/valid", "*.toml", |lab| {
        let (code, stdout, stderr) = check(lab);
        assert!(
            code == 0 && stdout.starts_with("ok "),
            "{}: exit {code}, expected 0\n{stdout}{stderr}",
            lab.display()
        );
        assert!(
            !stderr.contains(": error:"),
            "{}: errors in a valid lab\n{stderr}",
            lab.display()
        );
        assert_stderr(lab, &stderr);
    });
}
