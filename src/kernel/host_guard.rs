//! The host-namespace guard: nothing topolab sends may leave from the network namespace
//! it started in. Lab addresses are private ranges; a probe that ran in the host
//! namespace would send them out of the machine. Every probe socket is checked here
//! before anything is sent, services refuse to start in the host namespace, and
//! everything fails closed: an unarmed guard refuses all.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use nix::sys::stat::fstat;

/// Why the guard refused.
#[derive(Debug)]
pub enum GuardError {
    /// `arm()` was never called, so the host namespace is unknown: refuse everything.
    NotArmed,
    /// The namespace given, or the one a socket ended up in, is the host's.
    HostNamespace,
    /// The socket is not in the namespace that was asked for.
    WrongNamespace,
    /// The socket's namespace could not be read.
    Os(io::Error),
}

/// A namespace's identity: the device and inode of its nsfs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId {
    dev: u64,
    ino: u64,
}

impl NsId {
    /// Identity of a namespace file descriptor (e.g. `/proc/thread-self/ns/net`).
    pub fn of(ns: BorrowedFd<'_>) -> io::Result<NsId> {
        let st = fstat(ns).map_err(io::Error::from)?;
        Ok(NsId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }

    /// Identity of the network namespace a socket was created in (ioctl SIOCGSKNS).
    pub fn of_socket(sock: BorrowedFd<'_>) -> io::Result<NsId> {
        use std::os::fd::AsRawFd;
        // SAFETY: SIOCGSKNS takes no argument and returns a new file descriptor.
        let fd = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGSKNS) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just handed us this descriptor; nothing else owns it.
        let ns = unsafe { OwnedFd::from_raw_fd(fd) };
        NsId::of(ns.as_fd())
    }

    /// The calling thread's network namespace.
    pub fn current_thread() -> io::Result<NsId> {
        let f = File::open("/proc/thread-self/ns/net")?;
        NsId::of(f.as_fd())
    }
}

static HOST: OnceLock<Vec<NsId>> = OnceLock::new();

/// Records the host network namespace (arms the guard); `main` calls this first, before any thread could
/// have entered a lab namespace. Idempotent: later calls keep the first record.
///
/// Besides the caller's namespace, pid 1's is forbidden too when it is readable, so that a
/// topolab started inside some other namespace still never sends into the machine's own.
pub fn arm() -> io::Result<()> {
    if HOST.get().is_some() {
        return Ok(());
    }
    let mut ids = vec![NsId::current_thread()?];
    if let Ok(f) = File::open("/proc/1/ns/net")
        && let Ok(id) = NsId::of(f.as_fd())
        && !ids.contains(&id)
    {
        ids.push(id);
    }
    let _ = HOST.set(ids);
    Ok(())
}

fn host() -> Result<&'static [NsId], GuardError> {
    HOST.get().map(Vec::as_slice).ok_or(GuardError::NotArmed)
}

/// Whether the calling thread is in the host's network namespace (or the host's is
/// unknown, which counts as "maybe": callers must refuse to send).
pub fn in_host_netns() -> bool {
    match (host(), NsId::current_thread()) {
        (Ok(host), Ok(me)) => host.contains(&me),
        _ => true,
    }
}

/// Refuses a namespace that is the host's, before any socket is made in it.
pub fn check_namespace(ns: NsId) -> Result<(), GuardError> {
    if host()?.contains(&ns) {
        return Err(GuardError::HostNamespace);
    }
    Ok(())
}

/// Verifies that `sock` lives in `expected` and that `expected` is not the host's.
/// Called on every socket before it is used.
pub fn check_socket(sock: BorrowedFd<'_>, expected: NsId) -> Result<(), GuardError> {
    check_namespace(expected)?;
    let actual = NsId::of_socket(sock).map_err(GuardError::Os)?;
    if host()?.contains(&actual) {
        return Err(GuardError::HostNamespace);
    }
    if actual != expected {
        return Err(GuardError::WrongNamespace);
    }
    Ok(())
}
