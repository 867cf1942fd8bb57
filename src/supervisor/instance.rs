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
    use std::os::unix::fs::DirBuilderExt;
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
    check_runtime_dir(dir).map(|_| ())
}

/// Whether the runtime directory exists, after making sure it is ours: `clean` deletes
/// files in it and `exec` trusts its sockets, so a directory another user could have
/// prepared (a symlink into their files, a directory they own or can write) is refused.
/// lstat, not stat: a symlink is refused, never followed.
pub fn check_runtime_dir(dir: &Path) -> Result<bool> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(Error::env(format!(
                "cannot read runtime directory {}: {e}",
                dir.display()
            )));
        }
    };
    let refuse = |what: String| {
        Err(Error::env(format!(
            "runtime directory {} {what}: refusing to use it\n  = help: remove it (or set \
             TOPOLAB_RUNTIME_DIR to a directory of your own, mode 0700)",
            dir.display()
        )))
    };
    if meta.file_type().is_symlink() {
        return refuse("is a symbolic link".to_string());
    }
    if !meta.is_dir() {
        return refuse("is not a directory".to_string());
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return refuse(format!("belongs to uid {}, not to uid {me}", meta.uid()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode != 0o700 {
        return refuse(format!("has mode {mode:04o}, not 0700"));
    }
    Ok(true)
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

/// Every recorded instance, with whether its supervisor still answers. An error when the
/// runtime directory is not safe to use or cannot be read ("no lab is up" would be a lie).
pub fn list(dir: &Path) -> Result<Vec<(State, bool)>> {
    if !check_runtime_dir(dir)? {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::env(format!(
            "cannot read runtime directory {}: {e}",
            dir.display()
        ))
    })?;
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
    Ok(out)
}

/// Find a live instance by id, or by lab name when exactly one instance runs that lab.
pub fn find(dir: &Path, what: &str) -> Result<State> {
    let all: Vec<State> = list(dir)?
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
    let mut h = crate::front::stable_hash::fnv1a(&format!("{lab}{seed}"));
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
