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
use super::output_tail::{COMMAND_TAIL, Capture};

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

/// A command that will run inside `ns` (and inside the node's mount and UTS namespaces
/// when it has them). Start it with [`spawn`], which also puts it in the node's pid
/// namespace.
pub fn in_ns(ns: &Netns, program: &str) -> Command {
    let mut cmd = Command::new(program);
    let env = ns.env.as_ref().map(|e| (e.pidfd(), e.sandboxed()));
    // Entering a mount namespace moves to its root: keep the caller's directory (the
    // host tree is visible in the node) so relative paths mean what they meant.
    let cwd = env
        .and_then(|_| std::env::current_dir().ok())
        .and_then(|d| std::ffi::CString::new(d.into_os_string().into_encoded_bytes()).ok());
    enter_on_spawn(&mut cmd, ns.fd(), env, cwd);
    cmd.kill_on_drop(true);
    cmd
}

fn enter_on_spawn(
    cmd: &mut Command,
    fd: BorrowedFd<'_>,
    env: Option<(i32, bool)>,
    cwd: Option<std::ffi::CString>,
) {
    let raw = fd.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setns, setgroups, setres[ug]id, chdir, prctl)
    // between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::setns(raw, libc::CLONE_NEWNET) != 0 {
                return fail();
            }
            if let Some((pidfd, sandboxed)) = env {
                if libc::setns(pidfd, libc::CLONE_NEWNS | libc::CLONE_NEWUTS) != 0 {
                    return fail();
                }
                if sandboxed {
                    // Leave root's supplementary groups (host ids) behind first, then
                    // become root of the node's user namespace: an id that owns nothing
                    // on the host, with capabilities over the node's namespaces only.
                    if libc::setgroups(0, std::ptr::null()) != 0
                        || libc::setns(pidfd, libc::CLONE_NEWUSER) != 0
                        || libc::setresgid(0, 0, 0) != 0
                        || libc::setresuid(0, 0, 0) != 0
                    {
                        return fail();
                    }
                }
                if let Some(dir) = &cwd {
                    libc::chdir(dir.as_ptr());
                }
            }
            // Last: a change of credentials clears it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Start `cmd` (made by [`in_ns`]). A node with namespaces of its own starts it from its
/// holder thread, so the process is born in the node's pid namespace and its PDEATHSIG
/// follows the node.
pub async fn spawn(ns: &Netns, mut cmd: Command) -> std::io::Result<tokio::process::Child> {
    match &ns.env {
        None => cmd.spawn(),
        Some(env) => {
            let handle = tokio::runtime::Handle::current();
            env.on_holder(move || {
                let _guard = handle.enter();
                cmd.spawn()
            })
            .await?
        }
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
    run(ns, cmd, stdin, timeout).await
}

/// Output goes to bounded captures (see `output_tail`), which do not wait for the end of
/// the output: a command that leaves a background process behind (`daemon &`) keeps it
/// open.
pub async fn run(
    ns: &Netns,
    mut cmd: Command,
    stdin: Option<&str>,
    timeout: Duration,
) -> std::io::Result<Output> {
    let label = {
        let c = cmd.as_std();
        std::iter::once(c.get_program())
            .chain(c.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = Capture::new(format!("{label} (stdout)"), COMMAND_TAIL);
    let err = Capture::new(format!("{label} (stderr)"), COMMAND_TAIL);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::from(out.writer()?))
    .stderr(Stdio::from(err.writer()?));
    let mut child = spawn(ns, cmd).await?;
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
        stdout: out.text(),
        stderr: err.text(),
    })
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
    run(ns, cmd, stdin, timeout).await
}
