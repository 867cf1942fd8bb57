//! `topolab up`: build a lab under a supervisor process that keeps it until `down`.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::{Error, Exit, Result};
use crate::supervisor::instance;
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lab file.
    pub lab: PathBuf,
    /// Run the lab sandboxed, as for a lab from a pull request: every process it brings
    /// (exec lines, services, step and check commands, nft) runs in a user namespace as an
    /// unprivileged host user, and nft rulesets cannot include files (docs/grade.md).
    #[arg(long)]
    pub untrusted: bool,
}

/// Start a supervisor for the lab and return once the lab is built.
pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let lab = super::load_lab(&args.lab, use_color(color, true))?;
    let dir = instance::runtime_dir();
    instance::ensure_runtime_dir(&dir)?;
    let id = instance::new_id(&dir, &lab.name);
    let exe = std::env::current_exe()
        .map_err(|e| Error::env(format!("cannot find the topolab binary: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("__supervise")
        .arg("--id")
        .arg(&id)
        .arg("--dir")
        .arg(&dir)
        .arg(&args.lab);
    if args.untrusted {
        cmd.arg("--untrusted");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe. A new session keeps the supervisor alive when
    // the terminal that ran `up` closes or gets Ctrl-C.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::env(format!("cannot start the supervisor: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::env("no supervisor output"))?;
    // Read while waiting for stdout's end: a supervisor that fails also writes its error to
    // stderr, and one longer than the pipe holds (a service's output) would block it
    // before it exits, and `up` with it.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = e.read_to_string(&mut text);
            text
        })
    });
    let mut error = None;
    // No exit line: the supervisor died without saying why (killed, out of memory), an
    // environment problem rather than the kernel refusing the lab.
    let mut exit = Exit::Environment;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("ready ") {
            println!(
                "lab `{}` is up as {rest} ({} nodes)",
                lab.name,
                lab.nodes.len()
            );
            println!("  topolab exec {rest} NODE -- CMD    run a command in a node");
            println!("  topolab down {rest}               tear it down");
            return Ok(Exit::Pass);
        } else if let Some(rest) = line.strip_prefix("error ") {
            error = serde_json::from_str::<String>(rest).ok();
        } else if let Some(rest) = line.strip_prefix("exit ") {
            // The supervisor only announces errors: 2, 3 or 4.
            exit = match rest.trim().parse().ok().and_then(Exit::from_code) {
                Some(e @ (Exit::Invalid | Exit::Kernel)) => e,
                _ => Exit::Environment,
            };
        }
    }
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let _ = child.wait();
    let log = instance::log_path(&dir, &id);
    if error
        .as_deref()
        .is_some_and(|e| e.contains(&log.display().to_string()))
    {
        // The error names the log: it holds the output cut from the message (a service
        // that printed too much before it failed). Kept; `clean` removes it.
        let _ = std::fs::remove_file(instance::socket_path(&dir, &id));
        let _ = std::fs::remove_file(instance::state_path(&dir, &id));
    } else {
        instance::remove_files(&dir, &id);
    }
    let msg = error.unwrap_or_else(|| {
        format!(
            "the supervisor exited before the lab was up{}",
            if stderr.trim().is_empty() {
                String::new()
            } else {
                format!(":\n{}", stderr.trim())
            }
        )
    });
    Err(Error::Reported { exit, message: msg })
}
