//! Shared helpers of the integration tests: the host-untouched guard, leftover detection,
//! running the binary, and the unprivileged user for rootless runs.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_topolab"))
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Tests that build labs need root (or an unprivileged user namespace, tested separately).
/// Without it they fail loudly rather than pass without testing anything.
pub fn require_root() {
    assert!(
        is_root(),
        "this integration test builds real labs and must run as root (CI runs it as root)"
    );
}

fn run(cmd: &str, args: &[&str]) -> String {
    match Command::new(cmd).args(args).output() {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("<{cmd} failed: {e}>"),
    }
}

fn net_sysctls() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if !p.ends_with("nf_conntrack_count")
                && let Ok(v) = std::fs::read_to_string(&p)
            {
                out.push(format!("{}={}", p.display(), v.trim()));
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/proc/sys/net"), &mut out);
    out
}

/// Everything of the host's network configuration a lab must never touch.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    sections: Vec<(&'static str, String)>,
}

impl HostState {
    pub fn capture() -> HostState {
        let mut sections = vec![
            ("links", run("ip", &["-o", "link", "show"])),
            ("addresses", run("ip", &["-o", "addr", "show"])),
            (
                "routes4",
                run("ip", &["-4", "route", "show", "table", "all"]),
            ),
            (
                "routes6",
                run("ip", &["-6", "route", "show", "table", "all"]),
            ),
            ("rules4", run("ip", &["-4", "rule", "show"])),
            ("rules6", run("ip", &["-6", "rule", "show"])),
            ("nft", run("nft", &["list", "ruleset"])),
            ("netns", run("ip", &["netns", "list"])),
        ];
        sections.push(("sysctl", net_sysctls().join("\n")));
        HostState { sections }
    }

    pub fn diff(&self, other: &HostState) -> Option<String> {
        let mut out = String::new();
        for ((name, a), (_, b)) in self.sections.iter().zip(&other.sections) {
            if a != b {
                out.push_str(&format!("--- host {name} changed:\n"));
                for l in similar::TextDiff::from_lines(a.as_str(), b.as_str())
                    .unified_diff()
                    .iter_hunks()
                {
                    out.push_str(&l.to_string());
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Asserts, when dropped, that the host's network state is what it was when created.
pub struct HostGuard(Option<HostState>);

impl HostGuard {
    pub fn new() -> HostGuard {
        HostGuard(Some(HostState::capture()))
    }
}

impl Drop for HostGuard {
    fn drop(&mut self) {
        let Some(before) = self.0.take() else { return };
        let after = HostState::capture();
        if let Some(d) = before.diff(&after)
            && !std::thread::panicking()
        {
            panic!("the host's network state changed during the test:\n{d}");
        }
    }
}

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

/// Processes whose environment carries `token`, with their command lines.
pub fn processes_with(token: &str) -> Vec<String> {
    let needle = format!("TOPOLAB_TEST_TOKEN={token}");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.chars().all(|c| c.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            // Zombies are already dead: only their parent's wait is missing.
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            if stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            {
                continue;
            }
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            out.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    out
}

/// Namespace bind mounts of labs named `lab` (instances are `LAB-XXXX`). Other software on
/// the machine may mount namespaces of its own; only ours are compared.
pub fn nsfs_mounts(lab: &str) -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" nsfs "))
        .map(|l| l.split(' ').nth(4).unwrap_or("").to_string())
        .filter(|m| m.contains(&format!("{lab}-")))
        .collect()
}

/// Wait (bounded) until no process carries `token`; panics listing them otherwise.
pub fn assert_no_processes(token: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = processes_with(token);
        if left.is_empty() {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("processes left behind:\n{}", left.join("\n"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The unprivileged user rootless tests run as: `TOPOLAB_TEST_USER`, else `topolab-test`.
/// Returns None when no such user exists; callers decide whether that is fatal.
pub fn rootless_user() -> Option<String> {
    let name = std::env::var("TOPOLAB_TEST_USER").unwrap_or_else(|_| "topolab-test".into());
    nix::unistd::User::from_name(&name)
        .ok()
        .flatten()
        .map(|_| name)
}

/// A path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
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
