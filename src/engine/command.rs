//! Processes inside a node: setup commands, `nft`, `tc`, services.
//!
//! The child enters the namespace between fork and exec (`pre_exec(setns)`); the parent's
//! descriptor of the namespace is still open at that point. Children also get
//! PDEATHSIG=SIGKILL as a second line of defence behind the pid namespace topolab runs in.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::netns::Netns;

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Both streams, trimmed, for error messages.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for part in [self.stdout.trim(), self.stderr.trim()] {
            if !part.is_empty() {
                if !s.is_empty() {
                    s.push('\n');
                }
                s.push_str(part);
            }
        }
        s
    }
}

/// A command that will run inside `ns`.
pub fn in_ns(ns: &Netns, program: &str) -> Command {
    let mut cmd = Command::new(program);
    enter_on_spawn(&mut cmd, ns.fd());
    cmd.kill_on_drop(true);
    cmd
}

fn enter_on_spawn(cmd: &mut Command, fd: BorrowedFd<'_>) {
    let raw = fd.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setns, prctl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(raw, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Run `sh -c script` in `ns`, feeding `stdin`, and collect its output.
pub async fn run_shell(
    ns: &Netns,
    script: &str,
    stdin: Option<&str>,
    timeout: Duration,
) -> std::io::Result<Output> {
    let mut cmd = in_ns(ns, "sh");
    cmd.arg("-c").arg(script);
    run(cmd, stdin, timeout).await
}

/// Output goes to anonymous files rather than pipes: a command that leaves a background
/// process behind (`daemon &`) would otherwise keep the pipe open and hang the caller.
pub async fn run(
    mut cmd: Command,
    stdin: Option<&str>,
    timeout: Duration,
) -> std::io::Result<Output> {
    let out_file = anonymous_file("stdout")?;
    let err_file = anonymous_file("stderr")?;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::from(out_file.try_clone()?))
    .stderr(Stdio::from(err_file.try_clone()?));
    let mut child = cmd.spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command that exits without reading its input is not an error here.
        let _ = pipe.write_all(input.as_bytes()).await;
        drop(pipe);
    }
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("did not finish within {}s", timeout.as_secs()),
            ));
        }
    };
    Ok(Output {
        status: status.code(),
        stdout: read_all(out_file)?,
        stderr: read_all(err_file)?,
    })
}

/// A file with no name, gone when its last descriptor closes.
pub fn anonymous_file(name: &str) -> std::io::Result<std::fs::File> {
    let fd = nix::sys::memfd::memfd_create(name, nix::sys::memfd::MFdFlags::MFD_CLOEXEC)?;
    Ok(std::fs::File::from(fd))
}

fn read_all(mut f: std::fs::File) -> std::io::Result<String> {
    use std::io::{Read, Seek};
    f.seek(std::io::SeekFrom::Start(0))?;
    let mut buf = Vec::new();
    // Bounded: a chatty command must not exhaust memory.
    f.take(1 << 20).read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Run a program (no shell) in `ns`.
pub async fn run_program(
    ns: &Netns,
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
    timeout: Duration,
) -> std::io::Result<Output> {
    let mut cmd = in_ns(ns, program);
    cmd.args(args);
    run(cmd, stdin, timeout).await
}
