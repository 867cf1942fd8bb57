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
//! killed process never keeps budget.
//!
//! Batches wait in one queue for the whole host, first come first served: a batch takes a
//! ticket (a numbered file in the budget directory, flock'd while it waits) and only the
//! oldest living ticket may take slots. Without the queue, small batches kept taking the
//! slots a big batch was waiting for, so the big one starved; with a time limit instead, it
//! went ahead without budget and overflowed the table. A ticket whose holder died is
//! unlocked, and is passed over and removed.

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
/// After this long in the queue a batch says on stderr what it waits for (it keeps
/// waiting: a stopped process keeps its slots until it is continued or killed).
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
    let unbudgeted = |local| Permit {
        _local: local,
        _slots: Vec::new(),
    };
    let Some(files) = slot_files(dir) else {
        return unbudgeted(local);
    };
    // Without a ticket (another user's queue file this user may not write), the batch
    // still takes slots, only without its place in the queue.
    let ticket = Ticket::take(dir);
    let start = Instant::now();
    let mut told = false;
    let mut pause = Duration::from_millis(10);
    let mut files: Vec<Option<File>> = files.into_iter().map(Some).collect();
    loop {
        if ticket.as_ref().is_none_or(|t| t.is_first(dir)) {
            // All or nothing: holding some slots while waiting for more would deadlock two
            // processes that each hold half of what the other needs.
            let offset = std::process::id() as usize % SLOTS;
            let mut held: Vec<(usize, File)> = Vec::with_capacity(need);
            for k in 0..SLOTS {
                let i = (offset + k) % SLOTS;
                if let Some(f) = files[i].take_if(|f| try_lock(f)) {
                    held.push((i, f));
                    if held.len() == need {
                        break;
                    }
                }
            }
            if held.len() == need {
                drop(ticket);
                return Permit {
                    _local: local,
                    _slots: held.into_iter().map(|(_, f)| f).collect(),
                };
            }
            for (i, f) in held {
                // SAFETY: unlocking a descriptor we own and locked.
                unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_UN) };
                files[i] = Some(f);
            }
        }
        if !told && start.elapsed() > PATIENCE {
            told = true;
            eprintln!(
                "topolab: waiting for the host's neighbour budget ({}): other topolab \
                 processes hold it (a stopped one keeps it until continued or killed)",
                dir.display()
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// A place in the host's queue for slots: the file `ticket-N`, locked while its holder
/// waits, removed when it is served.
struct Ticket {
    seq: u64,
    path: PathBuf,
    _file: File,
}

const TICKET_PREFIX: &str = "ticket-";

impl Ticket {
    /// The next number, from the counter file, under its lock. The ticket file is created
    /// and locked while the counter is still locked, so that a reader (who takes the
    /// counter's lock shared) never sees a ticket not yet locked and takes it for dead.
    fn take(dir: &Path) -> Option<Ticket> {
        use std::io::{Read, Seek, Write};
        use std::os::unix::fs::OpenOptionsExt;
        let mut counter = open_shared(&dir.join("queue"))?;
        let _guard = Flock::new(&counter, libc::LOCK_EX)?;
        let mut text = String::new();
        counter.read_to_string(&mut text).ok()?;
        let mut seq = text.trim().parse::<u64>().unwrap_or(0);
        // A counter file removed under old tickets (a cleaned /tmp) starts again at 0:
        // skip the numbers still taken.
        let (path, file) = loop {
            let path = dir.join(format!("{TICKET_PREFIX}{seq}"));
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .mode(0o666)
                .open(&path)
            {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => seq += 1,
                Err(_) => return None,
            }
        };
        counter.seek(std::io::SeekFrom::Start(0)).ok()?;
        counter.set_len(0).ok()?;
        counter
            .write_all(format!("{}\n", seq + 1).as_bytes())
            .ok()?;
        if !try_lock(&file) {
            return None;
        }
        Some(Ticket {
            seq,
            path,
            _file: file,
        })
    }

    /// Whether no living ticket is older than this one. Dead ones (unlocked) are removed.
    fn is_first(&self, dir: &Path) -> bool {
        let Some(counter) = open_shared(&dir.join("queue")) else {
            return true;
        };
        let Some(_guard) = Flock::new(&counter, libc::LOCK_SH) else {
            return true;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return true;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_prefix(TICKET_PREFIX))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if seq >= self.seq {
                continue;
            }
            let Ok(other) = open_readonly(&entry.path()) else {
                continue; // served meanwhile
            };
            if try_lock(&other) {
                // Its holder is gone without removing it.
                let _ = std::fs::remove_file(entry.path());
            } else {
                return false;
            }
        }
        true
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An flock held until dropped (declare it after its file, so that it is dropped first).
struct Flock(std::os::fd::RawFd);

impl Flock {
    fn new(f: &File, op: libc::c_int) -> Option<Flock> {
        // SAFETY: flock on a descriptor we own; a short wait (others hold it only while
        // they read or bump the counter).
        (unsafe { libc::flock(f.as_raw_fd(), op) } == 0).then_some(Flock(f.as_raw_fd()))
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor still open (the guard is dropped before its file).
        unsafe { libc::flock(self.0, libc::LOCK_UN) };
    }
}

fn open_readonly(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// A file of the budget directory every user may write (created 0666).
fn open_shared(path: &Path) -> Option<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o666)
        .open(path)
        .ok()?;
    let _ = f.set_permissions(std::fs::Permissions::from_mode(0o666));
    Some(f)
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

    /// Run by `a_waiting_batch_is_served_before_later_ones` in a child process (so the
    /// batches are different processes, as they are on a host): take budget for the
    /// entries in TOPOLAB_BUDGET_CHILD (`NAME:ENTRIES:DIR:LOG`), write `NAME` to LOG once
    /// it is held, hold it briefly. Does nothing when run on its own.
    #[tokio::test]
    #[ignore = "a child of a_waiting_batch_is_served_before_later_ones"]
    async fn budget_child() {
        let Ok(arg) = std::env::var("TOPOLAB_BUDGET_CHILD") else {
            return;
        };
        let parts: Vec<&str> = arg.splitn(4, ':').collect();
        let entries: usize = parts[1].parse().expect("entries");
        let permit = acquire_at(Path::new(parts[2]), entries).await;
        assert!(!permit._slots.is_empty(), "went ahead without budget");
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(parts[3])
            .expect("log");
        writeln!(log, "{}", parts[0]).expect("write");
        std::thread::sleep(Duration::from_millis(300));
        drop(permit);
    }

    fn child(name: &str, entries: usize, dir: &Path, log: &Path) -> std::process::Child {
        std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "kernel::neigh::budget::tests::budget_child",
                "--ignored",
                "--quiet",
            ])
            .env(
                "TOPOLAB_BUDGET_CHILD",
                format!("{name}:{entries}:{}:{}", dir.display(), log.display()),
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("child")
    }

    fn served(log: &Path) -> Vec<String> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A big batch that waits for slots is not overtaken by a small one that came later,
    /// though the small one's slot is free first: the host's batches queue first come first
    /// served (before the queue, the small ones took every slot that came free, and the
    /// big one went ahead without budget after a minute).
    #[tokio::test]
    async fn a_waiting_batch_is_served_before_later_ones() {
        let dir = std::env::temp_dir().join(format!("topolab-queue-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("served");
        let big = BATCH_ENTRIES / SLOT_ENTRIES;
        // This process holds every slot.
        let most = acquire_at(&dir, BATCH_ENTRIES).await;
        let rest = acquire_at(&dir, (SLOTS - big) * SLOT_ENTRIES).await;
        assert_eq!(most._slots.len() + rest._slots.len(), SLOTS);
        let mut a = child("big", BATCH_ENTRIES, &dir, &log);
        // The big batch has its ticket before the small one asks.
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until
            && !std::fs::read_dir(&dir).expect("dir").flatten().any(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(TICKET_PREFIX))
            })
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut b = child("small", 1, &dir, &log);
        // Enough slots for the small batch, not for the big one.
        drop(rest);
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(served(&log), Vec::<String>::new(), "a later batch overtook");
        drop(most);
        assert!(a.wait().expect("wait").success());
        assert!(b.wait().expect("wait").success());
        assert_eq!(served(&log), ["big", "small"]);
        // Served tickets are gone.
        assert!(!std::fs::read_dir(&dir).expect("dir").flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TICKET_PREFIX))
        }));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A ticket whose holder died does not hold up the queue.
    #[tokio::test]
    async fn a_dead_ticket_is_passed_over() {
        let dir = std::env::temp_dir().join(format!("topolab-dead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        // An older ticket nobody holds (its holder was killed while it waited).
        std::fs::write(dir.join(format!("{TICKET_PREFIX}0")), "").expect("ticket");
        std::fs::write(dir.join("queue"), "1\n").expect("queue");
        let permit = tokio::time::timeout(Duration::from_secs(30), acquire_at(&dir, 1))
            .await
            .expect("served");
        assert_eq!(permit._slots.len(), 1);
        assert!(!dir.join(format!("{TICKET_PREFIX}0")).exists());
        drop(permit);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
