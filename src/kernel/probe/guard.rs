//! The host-namespace guard: no probe socket may live in the network namespace topolab
//! started in. Lab addresses are private ranges; a probe that ran in the host namespace
//! would send them out of the machine. Every socket this module's callers create is
//! checked here before anything is sent, and everything fails closed.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use nix::sys::stat::fstat;

use super::ProbeError;

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

/// Records the host network namespace; `main` calls this first, before any thread could
/// have entered a lab namespace. Idempotent: later calls keep the first record.
///
/// Besides the caller's namespace, pid 1's is forbidden too when it is readable, so that a
/// topolab started inside some other namespace still never sends into the machine's own.
pub fn guard() -> io::Result<()> {
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

fn host() -> Result<&'static [NsId], ProbeError> {
    HOST.get()
        .map(Vec::as_slice)
        .ok_or(ProbeError::GuardNotArmed)
}

/// Refuses a namespace that is the host's, before any socket is made in it.
pub fn check_namespace(ns: NsId) -> Result<(), ProbeError> {
    if host()?.contains(&ns) {
        return Err(ProbeError::HostNamespace);
    }
    Ok(())
}

/// Verifies that `sock` lives in `expected` and that `expected` is not the host's.
/// Called on every socket before it is used.
pub fn check_socket(sock: BorrowedFd<'_>, expected: NsId) -> Result<(), ProbeError> {
    check_namespace(expected)?;
    let actual = NsId::of_socket(sock).map_err(ProbeError::os("reading the socket's namespace"))?;
    if host()?.contains(&actual) {
        return Err(ProbeError::HostNamespace);
    }
    if actual != expected {
        return Err(ProbeError::WrongNamespace);
    }
    Ok(())
}
