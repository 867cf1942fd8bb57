//! Persistent lab instances (`topolab up`): where their supervisors listen and what they
//! run. Each instance has `<runtime dir>/<id>.sock` and `<id>.json`.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The runtime directory: /run/topolab for root, else $XDG_RUNTIME_DIR/topolab, else
/// /tmp/topolab-UID. `TOPOLAB_RUNTIME_DIR` overrides it (tests use their own).
pub fn runtime_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TOPOLAB_RUNTIME_DIR") {
        return PathBuf::from(d);
    }
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from("/run/topolab");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("topolab"),
        _ => PathBuf::from(format!("/tmp/topolab-{uid}")),
    }
}

pub fn ensure_runtime_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            Error::env(format!(
                "cannot create runtime directory {}: {e}",
                dir.display()
            ))
        })?;
    // A shared /tmp must not let another user pre-create our directory.
    let meta = std::fs::metadata(dir).map_err(|e| Error::env(format!("{}: {e}", dir.display())))?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(Error::env(format!(
            "runtime directory {} belongs to another user",
            dir.display()
        )));
    }
    Ok(())
}

/// What a supervisor records about its lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub lab: String,
    pub file: PathBuf,
    /// Host pid of the supervisor (the outer process of its sandbox).
    pub pid: u32,
    pub rootless: bool,
    pub nodes: Vec<String>,
    /// Seconds since the epoch.
    pub started: u64,
}

pub fn socket_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.sock"))
}

pub fn state_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

pub fn write_state(dir: &Path, state: &State) -> io::Result<()> {
    let tmp = dir.join(format!(".{}.json.tmp", state.id));
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(state).map_err(io::Error::other)?,
    )?;
    std::fs::rename(tmp, state_path(dir, &state.id))
}

/// Every recorded instance, with whether its supervisor still answers.
pub fn list(dir: &Path) -> Vec<(State, bool)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(State, bool)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| std::fs::read(&p).ok())
        .filter_map(|b| serde_json::from_slice::<State>(&b).ok())
        .map(|s| {
            let alive = std::os::unix::net::UnixStream::connect(socket_path(dir, &s.id)).is_ok();
            (s, alive)
        })
        .collect();
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    out
}

/// Find a live instance by id, or by lab name when exactly one instance runs that lab.
pub fn find(dir: &Path, what: &str) -> Result<State> {
    let all: Vec<State> = list(dir)
        .into_iter()
        .filter(|(_, alive)| *alive)
        .map(|(s, _)| s)
        .collect();
    if let Some(s) = all.iter().find(|s| s.id == what) {
        return Ok(s.clone());
    }
    let by_lab: Vec<&State> = all.iter().filter(|s| s.lab == what).collect();
    match by_lab.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
            Err(Error::invalid(if known.is_empty() {
                format!("no running lab `{what}` (none is up; start one with `topolab up LAB`)")
            } else {
                format!("no running lab `{what}`; running: {}", known.join(", "))
            }))
        }
        many => Err(Error::invalid(format!(
            "{} instances of lab `{what}` are up: name one of {}",
            many.len(),
            many.iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A fresh instance id: the lab name and four hex digits not in use.
pub fn new_id(dir: &Path, lab: &str) -> String {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id());
    let mut h = crate::validate::hash(&format!("{lab}{seed}"));
    loop {
        let id = format!("{lab}-{:04x}", h & 0xffff);
        if !state_path(dir, &id).exists() && !socket_path(dir, &id).exists() {
            return id;
        }
        h = h.rotate_left(16).wrapping_add(1);
    }
}

/// Remove the files of an instance whose supervisor is gone.
pub fn remove_files(dir: &Path, id: &str) {
    let _ = std::fs::remove_file(socket_path(dir, id));
    let _ = std::fs::remove_file(state_path(dir, id));
    let _ = std::fs::remove_file(log_path(dir, id));
}

pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.log"))
}
