//! Sockets inside a node's network namespace.
//!
//! A socket stays bound to the namespace it was created in, so only `socket(2)` itself has
//! to run inside the node; everything after (bind, connect, send) happens on the tokio
//! runtime. `setns` must never run on a tokio worker (the runtime would carry the namespace
//! into unrelated tasks), so one dedicated OS thread creates every socket: it enters the
//! requested namespace, creates the socket, and between bursts goes back to a private
//! empty namespace of its own, so that it pins no lab namespace and any slip on its part
//! could only ever produce a socket in an empty namespace, never the host's.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::mpsc;

use nix::sched::{CloneFlags, setns, unshare};
use tokio::sync::oneshot;

use super::ProbeError;
use crate::kernel::host_guard::{self as guard, NsId};

/// What `socket(2)` is asked for; `SOCK_NONBLOCK | SOCK_CLOEXEC` are always added.
#[derive(Debug, Clone, Copy)]
pub struct SocketKind {
    pub domain: libc::c_int,
    pub ty: libc::c_int,
    pub protocol: libc::c_int,
}

struct Request {
    ns: OwnedFd,
    ns_id: NsId,
    kind: SocketKind,
    reply: oneshot::Sender<io::Result<OwnedFd>>,
}

static WORKER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();

fn worker() -> Result<&'static mpsc::Sender<Request>, ProbeError> {
    if let Some(w) = WORKER.get() {
        return Ok(w);
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("topolab-netns".into())
        .spawn(move || serve(rx))
        .map_err(ProbeError::os("starting the namespace thread"))?;
    // A racing caller may have won; its worker serves everyone and ours exits when `tx`
    // is dropped here.
    Ok(WORKER.get_or_init(|| tx))
}

/// Creates a socket inside the namespace `ns` and verifies, through the host guard, that it
/// really is there before handing it out.
pub async fn socket_in(ns: BorrowedFd<'_>, kind: SocketKind) -> Result<OwnedFd, ProbeError> {
    let ns_id = NsId::of(ns).map_err(ProbeError::os("reading the node's namespace"))?;
    guard::check_namespace(ns_id)?;
    // The request carries its own descriptor: the caller's may be closed (and its number
    // reused) while the request waits in the queue if the probe is cancelled.
    let ns = ns
        .try_clone_to_owned()
        .map_err(ProbeError::os("duplicating the namespace descriptor"))?;
    let (reply, answer) = oneshot::channel();
    worker()?
        .send(Request {
            ns,
            ns_id,
            kind,
            reply,
        })
        .map_err(|_| gone())?;
    let sock = answer
        .await
        .map_err(|_| gone())?
        .map_err(ProbeError::os("creating a socket in the node"))?;
    guard::check_socket(sock.as_fd(), ns_id)?;
    Ok(sock)
}

fn gone() -> ProbeError {
    ProbeError::Os {
        what: "the namespace thread",
        source: io::Error::other("stopped"),
    }
}

struct Home {
    fd: Option<OwnedFd>,
    id: Option<NsId>,
}

impl Home {
    fn enter() -> Home {
        // Without a private home (no privilege to unshare) the thread stays where it was
        // born and simply returns there; the socket check still refuses the host.
        let _ = unshare(CloneFlags::CLONE_NEWNET);
        match File::open("/proc/thread-self/ns/net") {
            Ok(f) => {
                let id = NsId::of(f.as_fd()).ok();
                Home {
                    fd: Some(f.into()),
                    id,
                }
            }
            Err(_) => Home { fd: None, id: None },
        }
    }
}

fn serve(rx: mpsc::Receiver<Request>) {
    let home = Home::enter();
    let mut current = home.id;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(req) = next {
            let result = create(&req, &mut current);
            let _ = req.reply.send(result);
            next = rx.try_recv().ok();
        }
        // Idle: leave the lab namespace so this thread does not keep it alive.
        if current != home.id
            && let Some(fd) = &home.fd
            && setns(fd, CloneFlags::CLONE_NEWNET).is_ok()
        {
            current = home.id;
        }
    }
}

fn create(req: &Request, current: &mut Option<NsId>) -> io::Result<OwnedFd> {
    if *current != Some(req.ns_id) {
        *current = None;
        setns(&req.ns, CloneFlags::CLONE_NEWNET)?;
        *current = Some(req.ns_id);
    }
    let k = req.kind;
    // SAFETY: plain socket(2); the result is checked before it is owned.
    let fd = unsafe {
        libc::socket(
            k.domain,
            k.ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            k.protocol,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(fd)
}
