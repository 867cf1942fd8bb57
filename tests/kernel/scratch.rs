//! Scratch directories, and topolab runs in them marked with a leak token.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::bin;

/// A token put in the environment of a topolab run: every process it starts inherits it,
/// so processes left behind by that run can be found without confusing them with those
/// of tests running in parallel.
pub fn token() -> String {
    format!(
        "tltest-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}

/// A temporary directory for a test's lab files and runtime dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("topolab-{tag}-{}", token()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write lab");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the topolab binary with a private runtime dir and the leak token.
pub fn topolab(args: &[&str], runtime: &Path, token: &str) -> Output {
    Command::new(bin())
        .args(args)
        .env("TOPOLAB_RUNTIME_DIR", runtime)
        .env("TOPOLAB_TEST_TOKEN", token)
        .env("NO_COLOR", "1")
        .output()
        .expect("run topolab")
}

/// Run topolab as `topolab` does, with a fresh leak token, and parse what it printed as
/// JSON (`--format json`); returns the exit code and the report, after checking that the
/// run left no process behind.
pub fn topolab_json(args: &[&str], runtime: &Path) -> (Option<i32>, serde_json::Value) {
    let tok = token();
    let out = topolab(args, runtime, &tok);
    crate::host::assert_no_processes(&tok);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "topolab {} printed no JSON ({e}):\n{}",
            args.join(" "),
            crate::support::text(&out)
        )
    });
    (out.status.code(), json)
}

/// Copies a directory tree (submissions, fixtures) into a test's scratch space.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}
