//! A cap on concurrent probes so that thousands of them never exhaust file descriptors
//! (each holds a socket, plus a namespace descriptor while its socket is being made).
//! A probe's deadline starts once it has its socket, so waiting here costs it nothing.

use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();

/// The probes' share of the descriptor limit (which `main` raised to the hard one at
/// start-up); the rest is for labs' namespaces and netlink connections.
fn size() -> usize {
    crate::kernel::fd_limit::raise();
    let share = crate::kernel::fd_limit::probe_share(crate::kernel::fd_limit::soft());
    usize::try_from(share).unwrap_or(usize::MAX).min(1 << 18)
}

/// `None` only if the semaphore were closed, which never happens; the probe then runs
/// uncapped rather than not at all.
pub async fn permit() -> Option<OwnedSemaphorePermit> {
    permits(1).await
}

/// Permits for a probe that holds `n` sockets at once (a trace: one per hop), capped at
/// the whole budget so that it can always run.
pub async fn permits(n: u32) -> Option<OwnedSemaphorePermit> {
    let total = size_once();
    let s = PERMITS.get_or_init(|| Arc::new(Semaphore::new(total)));
    let n = n.clamp(1, u32::try_from(total).unwrap_or(u32::MAX));
    s.clone().acquire_many_owned(n).await.ok()
}

/// The budget's size, computed (and the descriptor limit raised) once.
fn size_once() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(size)
}
