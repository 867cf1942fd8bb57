//! Waiting on a probe socket from tokio, plus per-probe identities.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::time::{Instant, timeout_at};

/// Registers a probe socket with the runtime for data and error-queue readiness.
pub fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: OwnedFd keeps the descriptor open and unchanged for the AsyncFd's lifetime.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::ERROR) }
        .map_err(|e| e.into_parts().1)
}

/// Waits until the socket has data or queued errors (`true`) or `until` passes (`false`).
///
/// Readiness is cleared before the caller drains the socket; anything arriving after that
/// raises a fresh edge, so nothing is lost between draining and the next wait.
pub async fn ready(afd: &AsyncFd<OwnedFd>, until: Instant) -> io::Result<bool> {
    match timeout_at(until, afd.ready(Interest::READABLE | Interest::ERROR)).await {
        Err(_) => Ok(false),
        Ok(guard) => {
            guard?.clear_ready();
            Ok(true)
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A process-unique number mixed with the clock and pid, so that two topolab processes
/// probing the same namespace do not take each other's replies.
pub fn unique() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let pid = u64::from(std::process::id());
    (t ^ (pid << 40) ^ (pid >> 24)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n
}

/// ICMP ids are handed out in sequence (distinct for 65,536 concurrent probes), starting
/// from a per-process offset.
pub fn next_icmp_id() -> u16 {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(unique);
    (base.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed)) & 0xffff) as u16
}
