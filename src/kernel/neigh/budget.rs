//! The neighbour budget, shared by every topolab process on the host.
//!
//! ARP and NDP entries of every namespace live in one table per host (gc_thresh3, 1024
//! by default), and an entry cannot be reclaimed in its first five seconds. Probes that
//! create more entries than that within five seconds fail with ENOBUFS, in this lab and in
//! every other on the host. A budget inside one process is not enough: two `topolab`
//! processes (two diffs, two test binaries' labs, `cargo test` running tests as threads
//! of one binary that each start a topolab) each believed they had the whole table, and
//! together overflowed it. So the budget is host-wide: `SLOTS` lock files, each worth
//! `SLOT_ENTRIES` entries, taken with flock. The kernel drops a lock with its holder, so a
//! killed process never keeps budget; a slot that cannot be had within `PATIENCE` (a
//! process stopped while holding it) is given up on rather than waited for forever.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Entries one slot stands for.
pub const SLOT_ENTRIES: usize = 25;
/// Slots on the host: 600 entries, leaving 424 of the default 1024 to the host itself and
/// to whatever else resolves neighbours.
pub const SLOTS: usize = 24;
/// Entries one batch may ask for: two thirds of the host's budget, so that two labs can
/// probe side by side.
pub const BATCH_ENTRIES: usize = 400;
/// How long a batch waits for slots before it goes ahead without them.
const PATIENCE: Duration = Duration::from_secs(60);
/// Entries younger than this cannot be reclaimed by the kernel.
pub const ENTRY_PINNED: Duration = Duration::from_secs(5);

/// Budget held while a batch of probes runs. Dropping it gives the budget back at once
/// (the batch removed its entries); `release_later` keeps it until the kernel can reclaim
/// the batch's entries.
pub struct Permit {
    _local: Option<OwnedSemaphorePermit>,
    _slots: Vec<File>,
}

impl Permit {
    /// Give the budget back once the entries the batch created are old enough for the
    /// kernel to reclaim (needs a tokio runtime; without one it is given back now).
    pub fn release_later(self) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                tokio::time::sleep(ENTRY_PINNED).await;
                drop(self);
            });
        }
    }
}

/// The same budget between the tasks of this process, so that they queue fairly instead
/// of racing for the lock files.
fn local() -> Arc<Semaphore> {
    static LOCAL: OnceLock<Arc<Semaphore>> = OnceLock::new();
    LOCAL
        .get_or_init(|| Arc::new(Semaphore::new(SLOTS)))
        .clone()
}

fn dir() -> PathBuf {
    std::env::var_os("TOPOLAB_NEIGH_BUDGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/topolab-neighbour-budget"))
}

/// The lock files, or None when they cannot be used (the budget is then this process's
/// only). Everyone may create and lock them: root and rootless runs share one table.
fn slot_files(dir: &Path) -> Option<Vec<File>> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if std::fs::create_dir(dir).is_ok() {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777));
    }
    let meta = std::fs::symlink_metadata(dir).ok()?;
    if !meta.is_dir() {
        return None;
    }
    (0..SLOTS)
        .map(|i| {
            let path = dir.join(format!("slot-{i}"));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .mode(0o666)
                .open(&path)
                .or_else(|_| {
                    // Another user's file: reading is enough to lock it.
                    std::fs::OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                        .open(&path)
                })
                .ok()?;
            let _ = f.set_permissions(std::fs::Permissions::from_mode(0o666));
            Some(f)
        })
        .collect()
}

fn try_lock(f: &File) -> bool {
    // SAFETY: flock on a descriptor we own.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Budget for a batch that may create `entries` neighbour entries (at most
/// `BATCH_ENTRIES` are asked for: a bigger batch is cut by its caller).
pub async fn acquire(entries: usize) -> Permit {
    acquire_at(&dir(), entries).await
}

async fn acquire_at(dir: &Path, entries: usize) -> Permit {
    let need = entries
        .div_ceil(SLOT_ENTRIES)
        .clamp(1, BATCH_ENTRIES / SLOT_ENTRIES);
    let local = local().acquire_many_owned(need as u32).await.ok();
    let start = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        let Some(files) = slot_files(dir) else {
            return Permit {
                _local: local,
                _slots: Vec::new(),
            };
        };
        // All or nothing: holding some slots while waiting for more would deadlock two
        // processes that each hold half of what the other needs.
        let offset = std::process::id() as usize % SLOTS;
        let mut held = Vec::with_capacity(need);
        let mut files: Vec<Option<File>> = files.into_iter().map(Some).collect();
        for k in 0..SLOTS {
            let i = (offset + k) % SLOTS;
            if let Some(f) = files[i].take_if(|f| try_lock(f)) {
                held.push(f);
                if held.len() == need {
                    break;
                }
            }
        }
        if held.len() == need || start.elapsed() > PATIENCE {
            return Permit {
                _local: local,
                _slots: held,
            };
        }
        drop(held);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two processes' worth of batches cannot hold more than the host's budget at once.
    #[tokio::test]
    async fn batches_of_the_host_share_the_slots() {
        let dir = std::env::temp_dir().join(format!("topolab-budget-{}", std::process::id()));
        let a = acquire_at(&dir, BATCH_ENTRIES).await;
        assert_eq!(a._slots.len(), BATCH_ENTRIES / SLOT_ENTRIES);
        let b = acquire_at(&dir, SLOTS * SLOT_ENTRIES - BATCH_ENTRIES).await;
        assert_eq!(b._slots.len(), SLOTS - BATCH_ENTRIES / SLOT_ENTRIES);
        // Nothing is left: a lock on any slot from another open file description fails.
        let files = slot_files(&dir).expect("slots");
        assert!(files.iter().all(|f| !try_lock(f)));
        drop(a);
        assert_eq!(
            files.iter().filter(|f| try_lock(f)).count(),
            BATCH_ENTRIES / SLOT_ENTRIES
        );
        drop(b);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
