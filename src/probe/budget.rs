//! A cap on concurrent probes so that thousands of them never exhaust file descriptors
//! (each holds a socket, plus a namespace descriptor while its socket is being made).
//! A probe's deadline starts once it has its socket, so waiting here costs it nothing.

use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();

/// Half of the descriptor limit (which `main` raised to the hard one at start-up), less
/// a margin for everything else the process has open, for probes.
fn size() -> usize {
    crate::fd_limit::raise();
    let soft = crate::fd_limit::soft();
    let soft = usize::try_from(soft).unwrap_or(usize::MAX).min(1 << 20);
    (soft.saturating_sub(256) / 2).max(16)
}

/// `None` only if the semaphore were closed, which never happens; the probe then runs
/// uncapped rather than not at all.
pub async fn permit() -> Option<OwnedSemaphorePermit> {
    let s = PERMITS.get_or_init(|| Arc::new(Semaphore::new(size())));
    s.clone().acquire_owned().await.ok()
}
