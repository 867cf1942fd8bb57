//! `topolab review`: accept or reject pending snapshots (`*.snap.new`), one key press each.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Exit, Result};
use crate::runner::snapshot;
use crate::term::{ColorChoice, Paint, use_color};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lab files or directories to look for pending snapshots (*.snap.new) in.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Accept every pending snapshot without asking.
    #[arg(long, conflicts_with = "reject_all")]
    pub accept_all: bool,
    /// Reject (delete) every pending snapshot without asking.
    #[arg(long)]
    pub reject_all: bool,
}

/// Pending snapshots under `paths`: the `.snap.new` files beside lab files.
fn pending(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            let candidate = snapshot::pending_path(p);
            if candidate.exists() {
                out.push(candidate);
            } else if p.to_string_lossy().ends_with(".snap.new") {
                out.push(p.clone());
            }
            continue;
        }
        walk(p, &mut out).map_err(|e| Error::invalid(format!("{}: {e}", p.display())))?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&p, out)?;
            }
        } else if name.ends_with(".snap.new") {
            out.push(p);
        }
    }
    Ok(())
}

/// `x.snap.new` -> `x.snap`.
fn reviewed_path(pending: &Path) -> PathBuf {
    let s = pending.to_string_lossy();
    PathBuf::from(s.strip_suffix(".new").unwrap_or(&s))
}

enum Choice {
    Accept,
    Reject,
    Skip,
    Quit,
}

/// One key press from the terminal, without waiting for Enter (as `cargo insta review`
/// takes them): canonical mode and echo off for the one read, then the terminal's
/// settings back. Signals off too, so that Ctrl-C arrives as a key (0x03) and quits
/// through here, with the terminal restored, instead of killing the process in raw mode.
/// None at end of input.
fn read_key() -> Option<u8> {
    use nix::sys::termios::{LocalFlags, SetArg, SpecialCharacterIndices, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(saved) = &saved {
        let mut raw = saved.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
    }
    let mut byte = [0u8; 1];
    let n = stdin.lock().read(&mut byte).unwrap_or(0);
    if let Some(saved) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, saved);
    }
    (n == 1).then_some(byte[0])
}

/// Accept or reject pending snapshots, one at a time, like `cargo insta review`.
pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let paint = Paint {
        on: use_color(color, false),
    };
    let files = pending(&args.paths)?;
    if files.is_empty() {
        println!("no pending snapshots");
        return Ok(Exit::Pass);
    }
    let interactive = !args.accept_all && !args.reject_all;
    if interactive && !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "stdin is not a terminal: use --accept-all or --reject-all",
        ));
    }
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    for (i, new) in files.iter().enumerate() {
        let target = reviewed_path(new);
        let observed = std::fs::read_to_string(new)
            .map_err(|e| Error::env(format!("{}: {e}", new.display())))?;
        let choice = if interactive {
            println!(
                "\n{} {} ({}/{})",
                paint.bold("snapshot"),
                target.display(),
                i + 1,
                files.len()
            );
            match std::fs::read_to_string(&target) {
                Ok(old) => {
                    for l in snapshot::diff(&old, &observed).lines() {
                        let line = if l.starts_with('+') && !l.starts_with("+++") {
                            paint.green(l)
                        } else if l.starts_with('-') && !l.starts_with("---") {
                            paint.red(l)
                        } else {
                            l.to_string()
                        };
                        println!("  {line}");
                    }
                }
                Err(_) => {
                    println!("  {}", paint.yellow("new snapshot:"));
                    for l in observed.lines() {
                        println!("  {}", paint.green(&format!("+{l}")));
                    }
                }
            }
            print!("[a]ccept, [r]eject, [s]kip, [q]uit? ");
            let _ = std::io::stdout().flush();
            let choice = loop {
                match read_key() {
                    None => break Choice::Quit,
                    Some(b'a' | b'A') => break Choice::Accept,
                    Some(b'r' | b'R') => break Choice::Reject,
                    Some(b's' | b'S' | b'\n' | b'\r' | b' ') => break Choice::Skip,
                    // q, Esc, Ctrl-C, Ctrl-D
                    Some(b'q' | b'Q' | 0x1b | 0x03 | 0x04) => break Choice::Quit,
                    Some(_) => continue,
                }
            };
            println!(
                "{}",
                match choice {
                    Choice::Accept => "accept",
                    Choice::Reject => "reject",
                    Choice::Skip => "skip",
                    Choice::Quit => "quit",
                }
            );
            choice
        } else if args.accept_all {
            Choice::Accept
        } else {
            Choice::Reject
        };
        match choice {
            Choice::Accept => {
                std::fs::rename(new, &target)
                    .map_err(|e| Error::env(format!("cannot accept {}: {e}", new.display())))?;
                accepted += 1;
                if !interactive {
                    println!("accepted {}", target.display());
                }
            }
            Choice::Reject => {
                std::fs::remove_file(new)
                    .map_err(|e| Error::env(format!("cannot remove {}: {e}", new.display())))?;
                rejected += 1;
                if !interactive {
                    println!("rejected {}", new.display());
                }
            }
            Choice::Skip => skipped += 1,
            Choice::Quit => {
                skipped += files.len() - i;
                break;
            }
        }
    }
    println!("\n{accepted} accepted, {rejected} rejected, {skipped} skipped");
    Ok(Exit::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_maps_to_reviewed() {
        assert_eq!(
            reviewed_path(Path::new("labs/x.snap.new")),
            PathBuf::from("labs/x.snap")
        );
    }
}
