//! Which files a command works on: lab files given directly, or every lab file under a
//! directory (recursively, in sorted order). `*.patch.toml` files are lab patches, not labs.
//! A directory walk takes only regular files (a FIFO named `x.toml` would block the read
//! forever) and enters every directory once, by device and inode, so symlink cycles and
//! links to a directory already walked add nothing.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
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
            let mut seen = HashSet::new();
            walk(arg, &mut out, &mut seen)
                .map_err(|e| Error::invalid(format!("{}: {e}", arg.display())))?;
            out[before..].sort();
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut HashSet<(u64, u64)>) -> std::io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    if !seen.insert((meta.dev(), meta.ino())) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        // Followed through symlinks; a dangling link is no lab and no error.
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, out, seen)?;
        } else if meta.is_file() && is_lab_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("topolab-discover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[test]
    fn a_fifo_named_like_a_lab_is_not_a_lab() {
        let d = temp("fifo");
        std::fs::write(d.join("a.toml"), "name = \"a\"\n").expect("write");
        nix::unistd::mkfifo(&d.join("x.toml"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        let found = lab_files(std::slice::from_ref(&d)).expect("walk");
        assert_eq!(found, vec![d.join("a.toml")]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn symlink_cycles_walk_every_directory_once() {
        let d = temp("cycle");
        std::fs::create_dir(d.join("sub")).expect("mkdir");
        std::fs::write(d.join("sub/a.toml"), "name = \"a\"\n").expect("write");
        std::os::unix::fs::symlink(".", d.join("self")).expect("symlink");
        std::os::unix::fs::symlink("..", d.join("sub/up")).expect("symlink");
        std::os::unix::fs::symlink("nowhere", d.join("dangling.toml")).expect("symlink");
        let found = lab_files(std::slice::from_ref(&d)).expect("walk");
        assert_eq!(found, vec![d.join("sub/a.toml")]);
        let _ = std::fs::remove_dir_all(&d);
    }
}
