//! Which files a command works on: lab files given directly, or every lab file under a
//! directory (recursively, in sorted order). `*.patch.toml` files are lab patches, not labs.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub fn is_lab_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".toml") && !name.ends_with(".patch.toml") && !name.starts_with('.')
}

/// Whether a lab file is a workshop exercise (it has an `[exercise]` table): its checks
/// fail until a submission is applied, so whole-directory test runs leave it out.
pub fn is_exercise(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| {
        t.lines()
            .any(|l| l.trim() == "[exercise]" || l.trim().starts_with("[exercise."))
    })
}

/// The labs `test` runs: those given, and those found under directories except exercises.
pub fn runnable_lab_files(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    Ok(lab_files(args)?
        .into_iter()
        .filter(|p| args.contains(p) || !is_exercise(p))
        .collect())
}

pub fn lab_files(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        let meta = std::fs::metadata(arg)
            .map_err(|e| Error::invalid(format!("{}: {e}", arg.display())))?;
        if meta.is_dir() {
            let before = out.len();
            walk(arg, &mut out).map_err(|e| Error::invalid(format!("{}: {e}", arg.display())))?;
            out[before..].sort();
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if is_lab_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}
