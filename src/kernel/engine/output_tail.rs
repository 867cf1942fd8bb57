//! What a command or service prints, kept bounded: its last bytes in memory for the
//! report, what scrolled out of them in the lab's log file (at most `LOG_CAP` bytes for the
//! whole lab), the rest counted and cut.
//!
//! Output used to go to a memfd that lived as long as the lab: a service printing fast grew
//! the host's shared memory by a gigabyte. Now it goes to a pipe that topolab drains. A
//! pipe alone would hang a caller waiting for its end when a command leaves a background
//! process behind (`daemon &` keeps the write end), so nothing waits for the end: whoever
//! wants the text drains what is in the pipe now, under the same lock as the reader task.
//! Everything a finished command wrote is in the pipe by the time it exited, so its text
//! is complete. A writer faster than topolab reads is held back by the full pipe.

use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::unix::AsyncFd;

/// Bytes of a service's output kept in memory (what its report shows).
pub const TAIL: usize = 64 * 1024;
/// Bytes of a command's output kept in memory. More than a service's: topolab reads what
/// its own commands print (`nft list ruleset` for a snapshot of state, a command check's
/// expected output), and this was the bound before output was a tail.
pub const COMMAND_TAIL: usize = 1 << 20;
/// Bytes of scrolled-out output written to the lab's log file, for all of a lab together.
pub const LOG_CAP: u64 = 16 * 1024 * 1024;

/// Output of one command or service (both streams of a service share one).
#[derive(Clone)]
pub struct Capture {
    inner: Arc<Inner>,
}

struct Inner {
    label: String,
    /// Bytes kept in `tail`.
    keep: usize,
    log: Option<SharedLog>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tail: VecDeque<u8>,
    /// Bytes that scrolled out of `tail`.
    earlier: u64,
    /// Of those, bytes written to the log file.
    logged: u64,
    readers: Vec<Arc<AsyncFd<OwnedFd>>>,
}

/// Where output that scrolls out of memory goes: the supervisor's log (`up`). Without
/// one (`test`, `build`) it is only counted.
struct Log {
    path: PathBuf,
    written: u64,
    last_label: String,
}

type SharedLog = Arc<Mutex<Log>>;

impl Log {
    fn shared(path: PathBuf) -> SharedLog {
        Arc::new(Mutex::new(Log {
            path,
            written: 0,
            last_label: String::new(),
        }))
    }
}

/// The log of this process's lab, which captures made from now on write to.
fn lab_log() -> &'static Mutex<Option<SharedLog>> {
    static LOG: OnceLock<Mutex<Option<SharedLog>>> = OnceLock::new();
    LOG.get_or_init(|| Mutex::new(None))
}

/// Send output that scrolls out of memory to `path` (the lab's log file).
pub fn set_log(path: PathBuf) {
    if let Ok(mut l) = lab_log().lock() {
        *l = Some(Log::shared(path));
    }
}

impl Capture {
    /// `label` names the output in the log file (`service web`, `nft -f -`); the last
    /// `keep` bytes stay in memory.
    pub fn new(label: impl Into<String>, keep: usize) -> Capture {
        let log = lab_log().lock().ok().and_then(|l| l.clone());
        Capture::with_log(label, keep, log)
    }

    fn with_log(label: impl Into<String>, keep: usize, log: Option<SharedLog>) -> Capture {
        Capture {
            inner: Arc::new(Inner {
                label: label.into(),
                keep,
                log,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// A new write end for a process's stdout or stderr; a task reads the other end until
    /// every writer has closed it. Needs a tokio runtime.
    pub fn writer(&self) -> std::io::Result<OwnedFd> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        set_nonblocking(&read)?;
        // SAFETY: the OwnedFd keeps the descriptor open and unchanged for the AsyncFd's life.
        let fd = unsafe { AsyncFd::register_with_interest(read, tokio::io::Interest::READABLE) };
        let fd = Arc::new(fd?);
        self.lock().readers.push(Arc::clone(&fd));
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            loop {
                let Ok(mut ready) = fd.readable().await else {
                    break;
                };
                let open = {
                    let mut state = lock(&inner);
                    drain(&inner, &mut state, &fd)
                };
                match open {
                    Drained::Empty => ready.clear_ready(),
                    Drained::Closed => break,
                }
            }
        });
        Ok(write)
    }

    /// Everything still in memory, after what is waiting in the pipes; when output was cut,
    /// a first line says how much and where the rest is.
    pub fn text(&self) -> String {
        let mut state = self.lock();
        for fd in state.readers.clone() {
            drain(&self.inner, &mut state, &fd);
        }
        let (front, back) = state.tail.as_slices();
        let mut bytes = front.to_vec();
        bytes.extend_from_slice(back);
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if state.earlier > 0 {
            // Start at a whole line.
            if let Some(nl) = text.find('\n') {
                text.replace_range(..=nl, "");
            }
            let place = match self
                .inner
                .log
                .as_ref()
                .and_then(|l| l.lock().ok())
                .map(|l| l.path.clone())
            {
                Some(path) if state.logged > 0 => format!(", see {}", path.display()),
                _ => String::new(),
            };
            text.insert_str(
                0,
                &format!("[… {} cut{place}]\n", human_bytes(state.earlier)),
            );
        }
        text
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.inner)
    }
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, State> {
    // A poisoned lock only means a reader panicked mid-append: the bytes are still bytes.
    inner.state.lock().unwrap_or_else(|p| p.into_inner())
}

enum Drained {
    /// Nothing more to read now.
    Empty,
    /// Every writer has closed the pipe.
    Closed,
}

/// Read what the pipe holds now into the tail; what scrolls out goes to the log.
fn drain(inner: &Inner, state: &mut State, fd: &Arc<AsyncFd<OwnedFd>>) -> Drained {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match nix::unistd::read(fd.get_ref(), &mut buf) {
            Ok(0) => {
                state.readers.retain(|r| !Arc::ptr_eq(r, fd));
                return Drained::Closed;
            }
            Ok(n) => append(inner, state, &buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) => return Drained::Empty,
            Err(_) => {
                state.readers.retain(|r| !Arc::ptr_eq(r, fd));
                return Drained::Closed;
            }
        }
    }
}

fn append(inner: &Inner, state: &mut State, bytes: &[u8]) {
    state.tail.extend(bytes);
    let over = state.tail.len().saturating_sub(inner.keep);
    if over == 0 {
        return;
    }
    let out: Vec<u8> = state.tail.drain(..over).collect();
    state.earlier += over as u64;
    state.logged += to_log(inner, &out);
}

/// Write what fits under the log's cap; returns the bytes written.
fn to_log(inner: &Inner, bytes: &[u8]) -> u64 {
    let label = inner.label.as_str();
    let Some(mut log) = inner.log.as_ref().and_then(|l| l.lock().ok()) else {
        return 0;
    };
    let room = LOG_CAP.saturating_sub(log.written);
    let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
    if take == 0 {
        return 0;
    }
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log.path)
    else {
        return 0;
    };
    if log.last_label != label {
        let _ = writeln!(
            f,
            "\n--- output of {label} (scrolled out of the report) ---"
        );
        log.last_label = label.to_string();
    }
    if f.write_all(&bytes[..take]).is_err() {
        return 0;
    }
    log.written += take as u64;
    take as u64
}

fn set_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// `1.2 GiB`, `512 KiB`, `300 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(300), "300 B");
        assert_eq!(human_bytes(64 * 1024), "64.0 KiB");
        assert_eq!(human_bytes(1288490189), "1.2 GiB");
    }

    /// A writer of far more than the tail keeps only the tail in memory, and the text says
    /// how much was cut; a background writer that keeps the pipe open does not hold up the
    /// text.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn output_beyond_the_tail_is_cut_and_said() {
        let cap = Capture::new("test", TAIL);
        let w = cap.writer().expect("pipe");
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::File::from(w);
            let line = [b'x'; 1023];
            for _ in 0..4096 {
                f.write_all(&line).expect("write");
                f.write_all(b"\n").expect("write");
            }
            f // kept open, as a background process would
        });
        let f = writer.join().expect("writer");
        let text = cap.text();
        assert!(text.starts_with("[… 3.9 MiB cut]\n"), "{}", &text[..80]);
        assert!(text.len() <= TAIL + 40, "{}", text.len());
        assert!(text.ends_with("xxx\n"));
        assert!(lock(&cap.inner).tail.len() <= TAIL);
        drop(f);
    }

    /// What scrolls out goes to the lab's log, up to `LOG_CAP` bytes, and the text says
    /// where it is.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_scrolls_out_goes_to_the_log_up_to_its_cap() {
        let dir = std::env::temp_dir().join(format!("topolab-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("lab.log");
        // Its own log rather than this process's (set_log): other tests' captures would
        // write to it.
        let cap = Capture::with_log("chatty (stdout)", TAIL, Some(Log::shared(path.clone())));
        let w = cap.writer().expect("pipe");
        let total = LOG_CAP as usize + 4 * 1024 * 1024;
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(w);
            let line = [b'y'; 1023];
            for _ in 0..total / 1024 {
                f.write_all(&line).expect("write");
                f.write_all(b"\n").expect("write");
            }
        })
        .join()
        .expect("writer");
        let text = cap.text();
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!(
                "[… {} cut, see {}]",
                human_bytes((total - TAIL) as u64),
                path.display()
            )
        );
        let log = std::fs::read(&path).expect("log");
        let header = b"\n--- output of chatty (stdout) (scrolled out of the report) ---\n";
        assert!(log.starts_with(header), "{:?}", &log[..80]);
        assert_eq!(log.len() as u64, header.len() as u64 + LOG_CAP);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
