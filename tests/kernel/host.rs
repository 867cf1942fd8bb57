//! The host-untouched guard and leftover detection: what every test that builds a lab
//! asserts about the machine it ran on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    /// Taken after every kernel module a lab may load is loaded: loading ipip, gre or vrf
    /// makes the kernel itself add tunl0/gre0/... and their sysctls to every namespace,
    /// the host's included, which no lab tool can prevent. The feature probe loads them
    /// (once per process), so a lab built by another test thread cannot load one between
    /// this guard's two captures.
    pub fn new() -> HostGuard {
        let _ = topolab::kernel::features::support(&topolab::front::validate::features::KNOWN);
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
