//! Process isolation set up once at start-up, while the process is still single-threaded:
//!
//! * rootless: without root, enter a new user namespace that maps the caller to root, so
//!   that the lab's network namespaces are ours to configure;
//! * a pid namespace whose init is topolab itself: every process a lab starts (setup
//!   commands, services, nft) lives in it, and the kernel kills them all when topolab ends,
//!   however it ends (including SIGKILL of the `topolab` the user started, which takes the
//!   inner init with it through PDEATHSIG).
//!
//! The host's network namespace identity is recorded first, so probes can refuse to send
//! from it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getegid, geteuid};

use crate::error::{Error, Result};

static ROOTLESS: OnceLock<bool> = OnceLock::new();

/// Whether topolab runs in its own user namespace (no root privileges on the host).
pub fn rootless() -> bool {
    ROOTLESS.get().copied().unwrap_or(false)
}

/// Enter the user namespace (when not root) and the pid namespace. Returns in the inner
/// process; the outer one waits for it and exits with its status. Must be called before
/// any thread is started.
pub fn enter() -> Result<()> {
    crate::kernel::host_guard::arm()
        .map_err(|e| Error::env(format!("cannot read /proc/self/ns/net: {e}")))?;
    let force = std::env::var_os("TOPOLAB_ROOTLESS").is_some_and(|v| v == "1");
    let rootless = force || !geteuid().is_root();
    if rootless {
        enter_user_namespace()?;
    }
    let _ = ROOTLESS.set(rootless);
    enter_pid_namespace()
}

fn enter_user_namespace() -> Result<()> {
    let (uid, gid) = (geteuid(), getegid());
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| {
        Error::env(format!(
            "cannot create a user namespace ({}); rootless use needs unprivileged user namespaces \
             (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, and no AppArmor \
             restriction), or run as root",
            crate::error::errno_words(e as i32)
        ))
    })?;
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text)
            .map_err(|e| Error::env(format!("cannot write /proc/self/{file}: {e}")))
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("0 {uid} 1"))?;
    write("gid_map", format!("0 {gid} 1"))?;
    Ok(())
}

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn die(sig: libc::c_int) {
    const MSG: &[u8] =
        b"\ntopolab: interrupted; the labs and every process they started are gone\n";
    // SAFETY: write and _exit are async-signal-safe.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(128 + sig);
    }
}

extern "C" fn forward(sig: libc::c_int) {
    let child = CHILD.load(Ordering::Relaxed);
    if child > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(child, sig);
        }
    }
}

fn enter_pid_namespace() -> Result<()> {
    unshare(CloneFlags::CLONE_NEWPID).map_err(|e| {
        Error::env(format!(
            "cannot create a pid namespace: {}",
            crate::error::errno_words(e as i32)
        ))
    })?;
    // The child watches this pipe: if the parent is already gone when the child arms
    // PDEATHSIG, the read end reports hang-up and the child exits at once.
    let (rd, wr) = nix::unistd::pipe().map_err(|e| Error::env(format!("pipe: {e}")))?;
    // SAFETY: the process is single-threaded here (documented precondition of `enter`).
    match unsafe { fork() } {
        Err(e) => Err(Error::env(format!("fork: {e}"))),
        Ok(ForkResult::Child) => {
            drop(wr);
            // SAFETY: prctl with constant arguments.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            }
            if parent_gone(&rd) {
                std::process::exit(1);
            }
            // Keep the read end open for the process lifetime; it costs one descriptor.
            std::mem::forget(rd);
            // As init of its pid namespace this process would ignore SIGINT and SIGTERM.
            // Ending it is a complete teardown (the kernel kills every process of the
            // namespace and frees the lab's namespaces), so a signal simply ends it.
            let action =
                SigAction::new(SigHandler::Handler(die), SaFlags::empty(), SigSet::empty());
            for sig in [
                Signal::SIGINT,
                Signal::SIGTERM,
                Signal::SIGHUP,
                Signal::SIGQUIT,
            ] {
                // SAFETY: the handler only calls write() and _exit().
                let _ = unsafe { sigaction(sig, &action) };
            }
            Ok(())
        }
        Ok(ForkResult::Parent { child }) => {
            drop(rd);
            CHILD.store(child.as_raw(), Ordering::Relaxed);
            let action = SigAction::new(
                SigHandler::Handler(forward),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            for sig in [
                Signal::SIGINT,
                Signal::SIGTERM,
                Signal::SIGHUP,
                Signal::SIGQUIT,
            ] {
                // SAFETY: the handler only calls kill().
                let _ = unsafe { sigaction(sig, &action) };
            }
            let code = wait_for(child);
            drop(wr);
            std::process::exit(code);
        }
    }
}

fn parent_gone(rd: &OwnedFd) -> bool {
    let mut fds = [nix::poll::PollFd::new(
        rd.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    match nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO) {
        Ok(n) if n > 0 => fds[0]
            .revents()
            .is_some_and(|r| r.contains(nix::poll::PollFlags::POLLHUP)),
        _ => false,
    }
}

fn wait_for(child: Pid) -> i32 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                // Die the same way, so callers see the real cause.
                // SAFETY: restoring the default disposition before re-raising.
                let _ = unsafe { nix::sys::signal::signal(sig, SigHandler::SigDfl) };
                let _ = kill(Pid::this(), sig);
                return 128 + sig as i32;
            }
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 1,
        }
    }
}

/// A file descriptor of this process's user namespace, to hand to `exec`/`shell` clients
/// of a rootless lab.
pub fn user_namespace_fd() -> std::io::Result<OwnedFd> {
    let f = std::fs::File::open("/proc/self/ns/user")?;
    let _ = f.as_raw_fd();
    Ok(OwnedFd::from(f))
}

/// Whether the labs of this run are untrusted (`grade` always; `test`, `diff`, `up` with
/// `--untrusted`): everything they bring runs in each node's user namespace as an
/// unprivileged host user (see engine::nodeenv), and nft rulesets may not include files.
static UNTRUSTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_untrusted(on: bool) {
    UNTRUSTED.store(on, Ordering::Relaxed);
}

pub fn untrusted() -> bool {
    UNTRUSTED.load(Ordering::Relaxed)
}

/// An untrusted nft ruleset that includes a file.
#[derive(Debug, thiserror::Error)]
#[error("an untrusted nft ruleset cannot `include` files; put the rules in the ruleset itself")]
pub struct NftInclude;

/// An untrusted nft ruleset may not read files: `include` would put a host file's lines
/// into nft's error messages, and from there into reports.
pub fn check_nft(ruleset: &str) -> std::result::Result<(), NftInclude> {
    if !untrusted() {
        return Ok(());
    }
    let includes = ruleset.lines().any(|l| {
        l.split([';', '{', '}'])
            .any(|stmt| stmt.trim_start().starts_with("include"))
    });
    if includes {
        return Err(NftInclude);
    }
    Ok(())
}

/// An untrusted lab asking for a host file is the lab's fault.
impl crate::error::Classified for NftInclude {
    fn exit(&self) -> crate::error::Exit {
        crate::error::Exit::Invalid
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn untrusted_nft_cannot_include() {
        super::set_untrusted(true);
        assert!(super::check_nft("include \"/etc/shadow\"\n").is_err());
        assert!(super::check_nft("table inet t { chain c { } }; include \"/root/x\"").is_err());
        assert!(super::check_nft("table inet t {\n  chain c {\n  }\n}\n").is_ok());
        super::set_untrusted(false);
        assert!(super::check_nft("include \"/etc/nftables.conf\"\n").is_ok());
    }
}
