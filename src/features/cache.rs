//! Probe results, kept for the process (every answer) and on disk (only what is present,
//! keyed by kernel release and boot): a kernel does not lose a feature until it reboots,
//! but it may gain one when a module is installed, so absences are always probed again
//! by a new process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::Support;

static MEMORY: Mutex<BTreeMap<String, Option<String>>> = Mutex::new(BTreeMap::new());

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    release: String,
    boot_id: String,
    present: BTreeSet<String>,
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The cache file; none when rootless (the runtime dir cannot be computed correctly
/// inside our user namespace, and a rootless probe may see less than root's).
fn file() -> Option<PathBuf> {
    if crate::sandbox::rootless() || !nix::unistd::geteuid().is_root() {
        return None;
    }
    Some(crate::instance::runtime_dir().join("kernel-features.json"))
}

fn read_disk(release: &str, boot: &str) -> BTreeSet<String> {
    file()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<OnDisk>(&b).ok())
        .filter(|d| d.release == release && d.boot_id == boot)
        .map(|d| d.present)
        .unwrap_or_default()
}

fn write_disk(d: &OnDisk) {
    let Some(path) = file() else { return };
    let Some(dir) = path.parent() else { return };
    if crate::instance::ensure_runtime_dir(dir).is_err() {
        return;
    }
    // Written whole and renamed, so a concurrent reader never sees half a file.
    let tmp = dir.join(format!(".kernel-features.{}", std::process::id()));
    if let Ok(text) = serde_json::to_vec_pretty(d)
        && std::fs::write(&tmp, text).is_ok()
        && std::fs::rename(&tmp, &path).is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

pub fn lookup_or_probe(features: &[&str]) -> std::io::Result<Support> {
    let mut memory = MEMORY.lock().unwrap_or_else(|p| p.into_inner());
    let release = super::Kernel::running().release;
    let boot = boot_id();
    let mut disk = read_disk(&release, &boot);
    let todo: Vec<String> = features
        .iter()
        .filter(|f| !memory.contains_key(**f) && !disk.contains(**f))
        .map(|f| f.to_string())
        .collect();
    if !todo.is_empty() {
        let found = super::probe::probe(&todo)?;
        let before = disk.len();
        disk.extend(
            found
                .iter()
                .filter(|(_, r)| r.is_none())
                .map(|(f, _)| f.clone()),
        );
        memory.extend(found);
        if disk.len() != before {
            write_disk(&OnDisk {
                release,
                boot_id: boot,
                present: disk.clone(),
            });
        }
    }
    Ok(features
        .iter()
        .map(|f| {
            let r = memory.get(*f).cloned().unwrap_or(None);
            (f.to_string(), r)
        })
        .collect())
}
