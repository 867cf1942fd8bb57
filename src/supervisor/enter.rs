//! Client side of `exec` and `shell`: enter a node of a running lab and run a command in
//! it, so that the command dies when the lab goes down.
//!
//! The client joins the lab's namespaces itself (so the terminal, job control and exit
//! status work as for any local command) and the node's mount, UTS and pid namespaces
//! (made on demand for a node that ran nothing), then starts a small parent for the
//! command that waits for it. The client
//! kills the init when the supervisor's socket closes (the lab went down); the init dies
//! by PDEATHSIG if the client itself is killed.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::signal::{SigHandler, Signal, kill, signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, execvp, fork};

use super::protocol::{self, Request, Response};
use crate::error::{Error, Result};
use crate::supervisor::instance;

/// A node of a running lab, as the supervisor handed it out. The connection stays open
/// while the lab runs: it closes (readable, EOF) when the lab goes down.
pub struct Entry {
    pub conn: UnixStream,
    /// The instance id.
    pub id: String,
    pub netns: OwnedFd,
    /// The lab's user namespace, when the lab is rootless.
    pub userns: Option<OwnedFd>,
    /// A pidfd of the node's init, when the node has its own mount, UTS and pid
    /// namespaces (and, sandboxed, its own user namespace).
    pub node_init: Option<OwnedFd>,
    /// The lab runs untrusted: what enters it drops to the node's sandbox user.
    pub sandboxed: bool,
}

/// Ask the supervisor of `which` (id or lab name) for `node`'s namespaces.
pub fn connect(which: &str, node: &str) -> Result<Entry> {
    let dir = instance::runtime_dir();
    let state = instance::find(&dir, which)?;
    let conn = UnixStream::connect(instance::socket_path(&dir, &state.id)).map_err(|e| {
        Error::env(format!(
            "cannot reach the supervisor of `{}`: {e}",
            state.id
        ))
    })?;
    protocol::send(
        &conn,
        &Request::Enter {
            node: node.to_string(),
        },
        &[],
    )
    .map_err(|e| Error::env(format!("supervisor: {e}")))?;
    let (resp, mut fds): (Response, Vec<OwnedFd>) =
        protocol::recv(&conn).map_err(|e| Error::env(format!("supervisor: {e}")))?;
    if !resp.ok {
        return Err(Error::invalid(
            resp.error.unwrap_or_else(|| "refused".into()),
        ));
    }
    let node_init = if resp.with_node {
        Some(
            fds.pop()
                .ok_or_else(|| Error::env("supervisor sent no node"))?,
        )
    } else {
        None
    };
    let netns = fds
        .pop()
        .ok_or_else(|| Error::env("supervisor sent no namespace"))?;
    let userns = if resp.with_userns {
        Some(
            fds.pop()
                .ok_or_else(|| Error::env("supervisor sent no user namespace"))?,
        )
    } else {
        None
    };
    Ok(Entry {
        conn,
        id: state.id,
        netns,
        userns,
        node_init,
        sandboxed: resp.sandboxed,
    })
}

impl Entry {
    /// Root on the host can enter the lab's network namespaces directly; anyone else
    /// joins the lab's user namespace first, where they are root. The process must be
    /// single-threaded.
    pub fn join_user_namespace(&self) -> Result<()> {
        if let Some(userns) = &self.userns
            && !nix::unistd::geteuid().is_root()
        {
            setns(userns.as_fd(), CloneFlags::CLONE_NEWUSER)
                .map_err(|e| Error::env(format!("cannot enter the lab's user namespace: {e}")))?;
        }
        Ok(())
    }
}

/// Run `argv` inside `node` of the lab `which` (id or lab name); returns the exit code.
/// Must be called while the process is single-threaded (setns into a user namespace
/// requires it).
pub fn run(which: &str, node: &str, argv: &[String], env: &[(String, String)]) -> Result<i32> {
    let entry = connect(which, node)?;
    entry.join_user_namespace()?;
    let Entry {
        conn,
        id,
        netns,
        node_init,
        sandboxed,
        ..
    } = entry;
    setns(netns.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::env(format!("cannot enter node `{node}`: {e}")))?;
    drop(netns);
    match &node_init {
        // The node's own namespaces: its files and /run (vtysh finds its daemons), its
        // hostname, and its pid namespace (`ps` lists the node's processes). What the
        // command leaves running stays in the node until the lab goes down.
        Some(pidfd) => setns(
            pidfd.as_fd(),
            CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWPID,
        )
        .map_err(|e| Error::env(format!("cannot enter node `{node}`: {e}")))?,
        None => unshare(CloneFlags::CLONE_NEWPID)
            .map_err(|e| Error::env(format!("cannot create a pid namespace: {e}")))?,
    }
    if let (Some(pidfd), true) = (&node_init, sandboxed) {
        // An untrusted lab: what is run in it is as unprivileged as the lab's own
        // processes (root of the node's user namespace, an unused id on the host).
        // SAFETY: plain system calls; the process is single-threaded (precondition).
        let ok = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setns(pidfd.as_raw_fd(), libc::CLONE_NEWUSER) == 0
                && libc::setresgid(0, 0, 0) == 0
                && libc::setresuid(0, 0, 0) == 0
        };
        if !ok {
            return Err(Error::env(format!(
                "cannot enter the sandbox of node `{node}`: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    drop(node_init);

    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::invalid("command contains a NUL byte"))?;
    if args.is_empty() {
        return Err(Error::invalid("no command given"));
    }
    // SAFETY: single-threaded (precondition).
    let init = match unsafe { fork() } {
        Err(e) => return Err(Error::env(format!("fork: {e}"))),
        Ok(ForkResult::Child) => run_init(&args, env),
        Ok(ForkResult::Parent { child }) => child,
    };
    // Like system(3): the terminal's signals are for the command, not for us.
    // SAFETY: setting dispositions to ignore.
    unsafe {
        let _ = signal(Signal::SIGINT, SigHandler::SigIgn);
        let _ = signal(Signal::SIGQUIT, SigHandler::SigIgn);
    }
    Ok(wait_or_lab_down(init, &conn, &id))
}

/// Pid 1 of the command's pid namespace: start the command, wait for it, exit with its
/// status. Never returns.
fn run_init(args: &[CString], env: &[(String, String)]) -> ! {
    // SAFETY: prctl with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    for (k, v) in env {
        // SAFETY: single-threaded child.
        unsafe { std::env::set_var(k, v) };
    }
    // SAFETY: single-threaded child.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let err = execvp(&args[0], args).err();
            eprintln!(
                "topolab: cannot run `{}`: {}",
                args[0].to_string_lossy(),
                err.map(|e| e.desc()).unwrap_or("unknown error")
            );
            std::process::exit(127);
        }
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(None, None) {
                Ok(WaitStatus::Exited(p, code)) if p == child => std::process::exit(code),
                Ok(WaitStatus::Signaled(p, sig, _)) if p == child => {
                    std::process::exit(128 + sig as i32)
                }
                Err(nix::errno::Errno::ECHILD) => std::process::exit(1),
                _ => continue,
            }
        },
        Err(_) => std::process::exit(126),
    }
}

fn wait_or_lab_down(init: Pid, conn: &UnixStream, id: &str) -> i32 {
    loop {
        match waitpid(init, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            _ => {}
        }
        let mut fds = [PollFd::new(conn.as_fd(), PollFlags::POLLIN)];
        // Poll the socket with a short timeout so a finished command is noticed promptly
        // without needing a SIGCHLD handler.
        if let Ok(n) = poll(&mut fds, PollTimeout::from(100u16))
            && n > 0
            && fds[0].revents().is_some_and(|r| {
                r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            })
        {
            let _ = kill(init, Signal::SIGKILL);
            let _ = waitpid(init, None);
            eprintln!("topolab: lab `{id}` went down");
            return 137;
        }
    }
}
