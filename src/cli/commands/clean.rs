//! `topolab clean`: remove the runtime files of supervisors that were killed.

use crate::error::{Exit, Result};
use crate::supervisor::instance;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Remove what supervisors that were killed left behind: sockets, state and log files.
/// Their namespaces and processes are already gone (the kernel freed them with the
/// supervisor); running labs are not touched.
pub fn run(_: Args) -> Result<Exit> {
    let dir = instance::runtime_dir();
    let mut removed = 0;
    // Checked (lstat, owner, mode) by `list` before anything in it is deleted.
    for (state, alive) in instance::list(&dir)? {
        if !alive {
            instance::remove_files(&dir, &state.id);
            println!("removed stale instance {}", state.id);
            removed += 1;
        }
    }
    // Sockets or logs without a state file (a supervisor killed before it wrote one).
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            let Some(stem) = p.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
                continue;
            };
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if (ext == "sock" || ext == "log") && !instance::state_path(&dir, &stem).exists() {
                let _ = std::fs::remove_file(&p);
                removed += 1;
                println!("removed {}", p.display());
            }
        }
    }
    if removed == 0 {
        println!("nothing to clean");
    }
    Ok(Exit::Pass)
}
