//! Anonymous network namespaces, held by file descriptor only.
//!
//! Nothing is bind-mounted under /run/netns: when the last descriptor closes (normal end,
//! crash, SIGKILL) the kernel frees the namespace and everything in it. Namespaces are
//! created by `unshare(CLONE_NEWNET)` on short-lived OS threads, never on a tokio worker,
//! because the calling thread moves into the new namespace.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{CloneFlags, setns, unshare};

/// A network namespace, alive as long as this (or any clone of the fd) lives.
#[derive(Debug, Clone)]
pub struct Netns {
    fd: Arc<OwnedFd>,
    /// Inode of the namespace: its identity, e.g. to compare with the host's.
    pub inode: u64,
    /// The node's mount, UTS and pid namespaces, for nodes that run something.
    pub env: Option<Arc<super::nodeenv::NodeEnv>>,
}

impl Netns {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// A namespace given by descriptor.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Netns> {
        let f = File::from(fd);
        let inode = f.metadata()?.ino();
        Ok(Netns {
            fd: Arc::new(OwnedFd::from(f)),
            inode,
            env: None,
        })
    }

    /// The namespace of the calling thread.
    pub fn current() -> io::Result<Netns> {
        let f = File::open("/proc/thread-self/ns/net")?;
        let inode = f.metadata()?.ino();
        Ok(Netns {
            fd: Arc::new(OwnedFd::from(f)),
            inode,
            env: None,
        })
    }
}

/// Create `count` namespaces on up to `threads` OS threads. `init` runs on the creating
/// thread while it is inside the new namespace (to open sockets bound to it, write
/// sysctls); its results come back in creation order.
pub fn create_many<T, F>(count: usize, threads: usize, init: F) -> io::Result<Vec<(Netns, T)>>
where
    T: Send,
    F: Fn(usize, &Netns) -> io::Result<T> + Sync,
{
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, count.max(1));
    let mut slots: Vec<Option<io::Result<(Netns, T)>>> = (0..count).map(|_| None).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut made = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let r = unshare(CloneFlags::CLONE_NEWNET)
                            .map_err(io::Error::from)
                            .and_then(|_| Netns::current())
                            .and_then(|ns| init(i, &ns).map(|t| (ns, t)));
                        let failed = r.is_err();
                        made.push((i, r));
                        if failed {
                            // Stop early; the caller drops what was made.
                            next.store(count, Ordering::Relaxed);
                            break;
                        }
                    }
                    made
                })
            })
            .collect();
        for w in workers {
            match w.join() {
                Ok(made) => {
                    for (i, r) in made {
                        slots[i] = Some(r);
                    }
                }
                Err(_) => {
                    // A panicking init leaves its slot empty: reported as an error below.
                }
            }
        }
    });
    let mut out = Vec::with_capacity(count);
    for (i, slot) in slots.into_iter().enumerate() {
        match slot {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            None => return Err(io::Error::other(format!("namespace {i} was not created"))),
        }
    }
    Ok(out)
}

/// Run `f` on a fresh OS thread that has entered `ns`. For one-off work; hot paths use
/// `Workers`.
pub fn run_in<R: Send>(ns: &Netns, f: impl FnOnce() -> R + Send) -> io::Result<R> {
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(ns.fd(), CloneFlags::CLONE_NEWNET)?;
            Ok(f())
        })
        .join()
        .map_err(|_| io::Error::other("worker thread panicked"))?
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// A pool of OS threads that enter a namespace per job. Jobs run synchronously on the
/// pool thread; results return through a oneshot so async code can await them.
pub struct Workers {
    tx: Option<std::sync::mpsc::Sender<(Arc<OwnedFd>, Job)>>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    pub fn new(threads: usize) -> Workers {
        let (tx, rx) = std::sync::mpsc::channel::<(Arc<OwnedFd>, Job)>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let handles = (0..threads.max(1))
            .map(|i| {
                let rx = Arc::clone(&rx);
                std::thread::Builder::new()
                    .name(format!("topolab-ns-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(guard) => guard.recv(),
                                Err(_) => break,
                            };
                            let Ok((fd, job)) = job else { break };
                            // A failed setns must not run the job in the wrong namespace.
                            if setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).is_ok() {
                                job();
                            }
                        }
                    })
                    .expect("spawn namespace worker")
            })
            .collect();
        Workers {
            tx: Some(tx),
            handles,
        }
    }

    /// Run `f` inside `ns` on a pool thread and await its result.
    pub async fn run<R, F>(&self, ns: &Netns, f: F) -> io::Result<R>
    where
        R: Send + 'static,
        F: FnOnce() -> R + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.tx
            .as_ref()
            .ok_or_else(|| io::Error::other("namespace workers stopped"))?
            .send((Arc::clone(&ns.fd), job))
            .map_err(|_| io::Error::other("namespace workers stopped"))?;
        rx.await.map_err(|_| {
            io::Error::other(format!("could not enter namespace (inode {})", ns.inode))
        })
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.tx.take();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
