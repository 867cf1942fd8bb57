//! The rest of a node beyond its network namespace, for nodes that run something (setup
//! commands, services, files, shells): a mount namespace, a UTS namespace and a pid
//! namespace of its own.
//!
//! * The node's init is forked from a long-lived "holder" thread that has called
//!   `unshare(CLONE_NEWPID)`: the child is pid 1 of a fresh pid namespace, and every later
//!   fork of that thread lands in the same namespace. Every process of the node is
//!   therefore spawned by the holder thread (`spawn`), so `ps` in the node lists exactly
//!   the node's processes, and PDEATHSIG (which follows the forking *thread*) fires only
//!   when the node goes.
//! * The init sets up its mount and UTS namespaces between fork and its reaper loop, with
//!   nothing but raw system calls on data prepared before the fork (the process forks from
//!   a multithreaded parent): hostname = node name; every mount private (nothing ever
//!   propagates back to the host); the whole host tree read-only; fresh /proc (of the
//!   node's pid namespace) and /sys (of the node's network namespace); empty tmpfs on
//!   /run, /tmp, /var/tmp, /var/log and /dev/shm; the node's `files`, written into those
//!   tmpfs or into a private overlay of the directory that holds them.
//! * Killing the init (when the lab goes, or with topolab however it dies: PDEATHSIG of
//!   the holder thread, and the pid namespace topolab itself is init of) makes the kernel
//!   kill every process of the node and drop its mounts.
//!
//! Other processes enter through the init's pidfd: `setns(pidfd, CLONE_NEWNS|CLONE_NEWUTS)`
//! in the child between fork and exec.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use super::netns::Netns;

pub use crate::front::lab::NodeFile;

/// What a node's private environment looks like.
#[derive(Debug, Clone)]
pub struct EnvSpec {
    pub hostname: String,
    pub files: Vec<NodeFile>,
    /// Untrusted lab: the node's processes run in a user namespace of their own, as
    /// unprivileged users of the host, in a network namespace the init creates inside it.
    pub sandbox: bool,
}

/// Host uid and gid that root of a sandboxed node is, the first of SANDBOX_IDS ids: far
/// above any account or file owner on a host (uids of system and human users are below
/// 2^16, container runtimes' subordinate ranges start at 100000), so the node's users own
/// nothing on the host. A range, not one id: daemons such as FRR drop root for an account
/// of their own (`frr`), which must exist in the node's user namespace.
const SANDBOX_ID: u32 = 0x7000_0000;
const SANDBOX_IDS: u32 = 65536;

/// Directories that get an empty private tmpfs when they exist on the host as real
/// directories (a symlink such as Debian's /var/run -> /run follows its target).
const TMPFS: &[(&str, &str)] = &[
    ("/run", "mode=0755"),
    ("/tmp", "mode=1777"),
    ("/var/tmp", "mode=1777"),
    ("/var/log", "mode=0755"),
    ("/dev/shm", "mode=1777"),
];
/// Where overlay upper and work directories live, inside the node's private /run.
const STAGING: &str = "/run/.topolab";

type Job = Box<dyn FnOnce() + Send>;

/// A node's init and the holder thread that spawns the node's processes.
pub struct NodeEnv {
    pidfd: OwnedFd,
    init: libc::pid_t,
    sandbox: bool,
    /// Sandboxed: the network namespace the init made inside the node's user namespace.
    netns: Option<OwnedFd>,
    tx: Option<std::sync::mpsc::Sender<Job>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for NodeEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeEnv").field("init", &self.init).finish()
    }
}

impl NodeEnv {
    /// Start the node's init inside `ns` and wait until its namespaces are set up.
    pub fn start(ns: &Netns, spec: &EnvSpec) -> io::Result<NodeEnv> {
        let ops = prepare(spec)?;
        let netfd = ns.raw();
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<Started>>();
        let sandbox = spec.sandbox;
        let holder = std::thread::Builder::new()
            .name(format!("topolab-node-{}", spec.hostname))
            .spawn(move || holder_main(netfd, ops, sandbox, ready_tx, rx))?;
        match ready_rx.recv() {
            Ok(Ok(started)) => Ok(NodeEnv {
                pidfd: started.pidfd,
                init: started.pid,
                sandbox,
                netns: started.netns,
                tx: Some(tx),
                holder: Some(holder),
            }),
            Ok(Err(e)) => {
                let _ = holder.join();
                Err(e)
            }
            Err(_) => {
                let _ = holder.join();
                Err(io::Error::other("the node's holder thread died"))
            }
        }
    }

    /// A pidfd of the node's init: `setns` on it enters the node's namespaces.
    pub fn pidfd(&self) -> RawFd {
        self.pidfd.as_raw_fd()
    }

    /// Whether the node's processes run sandboxed (see [`EnvSpec::sandbox`]).
    pub fn sandboxed(&self) -> bool {
        self.sandbox
    }

    /// The network namespace a sandboxed init made; the node's from then on.
    pub fn take_netns(&mut self) -> Option<OwnedFd> {
        self.netns.take()
    }

    /// Run `f` on the holder thread (whose children are born in the node's pid namespace)
    /// and await its result.
    pub async fn on_holder<R, F>(&self, f: F) -> io::Result<R>
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
            .ok_or_else(|| io::Error::other("the node is gone"))?
            .send(job)
            .map_err(|_| io::Error::other("the node is gone"))?;
        rx.await
            .map_err(|_| io::Error::other("the node's holder thread died"))
    }
}

impl Drop for NodeEnv {
    fn drop(&mut self) {
        // Closing the queue ends the holder thread, which kills and reaps the init.
        self.tx.take();
        if let Some(h) = self.holder.take() {
            let _ = h.join();
        }
    }
}

/// One step of the init's setup, all strings prepared before the fork.
enum Op {
    Mount {
        src: CString,
        target: CString,
        fstype: Option<CString>,
        flags: libc::c_ulong,
        data: Option<CString>,
        what: String,
    },
    ReadOnlyTree,
    Hostname(Vec<u8>),
    Mkdir(CString, String),
    Write {
        path: CString,
        content: Vec<u8>,
        mode: u32,
        what: String,
    },
}

impl Op {
    fn describe(&self) -> String {
        match self {
            Op::Mount { what, .. } | Op::Mkdir(_, what) | Op::Write { what, .. } => what.clone(),
            Op::ReadOnlyTree => "make the host's file tree read-only".into(),
            Op::Hostname(h) => format!("set the hostname to {}", String::from_utf8_lossy(h)),
        }
    }
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::other(format!("`{s}` contains a NUL byte")))
}

fn mount(
    src: &str,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<Op> {
    Ok(Op::Mount {
        src: cstr(src)?,
        target: cstr(target)?,
        fstype: fstype.map(cstr).transpose()?,
        flags,
        data: data.map(cstr).transpose()?,
        what: match fstype {
            Some(t) => format!("mount {t} on {target}"),
            None => format!("mount {src} on {target}"),
        },
    })
}

/// Is `p` a real directory on the host (not a symlink to one)?
fn real_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

/// The setup steps, computed in the parent from the host's view of the file tree (the
/// node's view is the same tree until the init changes it).
fn prepare(spec: &EnvSpec) -> io::Result<Vec<Op>> {
    let nosuid = libc::MS_NOSUID | libc::MS_NODEV;
    let mut ops = vec![
        mount("none", "/", None, libc::MS_REC | libc::MS_PRIVATE, None)?,
        Op::Hostname(spec.hostname.as_bytes().to_vec()),
        Op::ReadOnlyTree,
        mount(
            "proc",
            "/proc",
            Some("proc"),
            nosuid | libc::MS_NOEXEC,
            None,
        )?,
    ];
    // sysfs shows the network namespace of whoever mounts it. A sandboxed node's own
    // namespace does not exist yet at this point (it is made inside the node's user
    // namespace, which may not mount sysfs over the host's tree): hide the host's instead.
    let ro = nosuid | libc::MS_NOEXEC | libc::MS_RDONLY;
    ops.push(if spec.sandbox {
        mount("tmpfs", "/sys", Some("tmpfs"), ro, Some("mode=0555"))?
    } else {
        mount("sysfs", "/sys", Some("sysfs"), ro, None)?
    });
    let mut tmpfs: Vec<&str> = Vec::new();
    for (dir, opts) in TMPFS {
        if real_dir(Path::new(dir)) {
            // Sandboxed, the node's root must own its /run and /tmp (the mounts are made
            // by host root, whose files a sandbox's root may not write).
            let opts = if spec.sandbox {
                format!("{opts},uid={SANDBOX_ID},gid={SANDBOX_ID}")
            } else {
                opts.to_string()
            };
            ops.push(mount("tmpfs", dir, Some("tmpfs"), nosuid, Some(&opts))?);
            tmpfs.push(dir);
        }
    }
    let in_tmpfs = |p: &Path| tmpfs.iter().any(|t| p.starts_with(t));
    // Directories to overlay: for each file outside the tmpfs, the deepest directory on
    // its path that exists on the host.
    let mut overlays: Vec<PathBuf> = Vec::new();
    for f in &spec.files {
        if in_tmpfs(&f.path) {
            continue;
        }
        let mut dir = f.path.parent().map(Path::to_path_buf).unwrap_or_default();
        while !real_dir(&dir) {
            match dir.parent() {
                Some(p) => dir = p.to_path_buf(),
                None => break,
            }
        }
        if dir.parent().is_none() {
            return Err(io::Error::other(format!(
                "{}: a node's files cannot create top-level directories",
                f.path.display()
            )));
        }
        if !overlays.contains(&dir) {
            overlays.push(dir);
        }
    }
    // Parents before children, so a nested overlay sees its parent's.
    overlays.sort_by_key(|d| d.components().count());
    if !overlays.is_empty() {
        if !tmpfs.contains(&"/run") {
            return Err(io::Error::other(
                "files outside /run and /tmp need /run to exist",
            ));
        }
        ops.push(Op::Mkdir(cstr(STAGING)?, format!("create {STAGING}")));
    }
    for (i, dir) in overlays.iter().enumerate() {
        let d = dir.to_string_lossy();
        if d.contains([',', ':', '\\']) {
            return Err(io::Error::other(format!(
                "{d}: a directory holding node files cannot contain `,`, `:` or `\\`"
            )));
        }
        let upper = format!("{STAGING}/{i}-upper");
        let work = format!("{STAGING}/{i}-work");
        ops.push(Op::Mkdir(cstr(&upper)?, format!("create {upper}")));
        ops.push(Op::Mkdir(cstr(&work)?, format!("create {work}")));
        let data = format!("lowerdir={d},upperdir={upper},workdir={work}");
        let mut op = mount("overlay", &d, Some("overlay"), 0, Some(&data))?;
        if let Op::Mount { what, .. } = &mut op {
            *what = format!("mount a private overlay on {d}");
        }
        ops.push(op);
    }
    for f in &spec.files {
        let mut dirs: Vec<&Path> = f.path.ancestors().skip(1).collect();
        dirs.reverse();
        for d in dirs {
            // Every ancestor, even those the host has: the node's /run and /tmp start
            // empty. An existing directory answers EEXIST, even on a read-only mount.
            if d.parent().is_some() {
                let s = d.to_string_lossy();
                ops.push(Op::Mkdir(cstr(&s)?, format!("create {s}")));
            }
        }
        let p = f.path.to_string_lossy();
        ops.push(Op::Write {
            path: cstr(&p)?,
            content: f.content.clone(),
            mode: f.mode,
            what: format!("write {p}"),
        });
    }
    Ok(ops)
}

/// What a started init hands back.
struct Started {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    netns: Option<OwnedFd>,
}

fn holder_main(
    netfd: RawFd,
    ops: Vec<Op>,
    sandbox: bool,
    ready: std::sync::mpsc::Sender<io::Result<Started>>,
    jobs: std::sync::mpsc::Receiver<Job>,
) {
    let init = match start_init(netfd, &ops, sandbox) {
        Ok(started) => {
            let pid = started.pid;
            let _ = ready.send(Ok(started));
            pid
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    drop(ready);
    while let Ok(job) = jobs.recv() {
        job();
    }
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(init, libc::SIGKILL);
        libc::waitpid(init, std::ptr::null_mut(), 0);
    }
}

/// Messages of the init on its report pipe: (kind, value), 8 bytes.
const MSG_OK: u32 = 0;
/// Sandboxed: the init is in its new user namespace; `value` is its pid as the parent's
/// /proc shows it, so the parent can write its uid and gid maps.
const MSG_MAP_ME: u32 = 1;
/// Creating the mount/UTS (or user/network) namespaces failed; `value` is errno.
const MSG_NS_FAILED: u32 = 2;
/// Op number `kind - MSG_OP_FAILED` failed with errno `value`.
const MSG_OP_FAILED: u32 = 16;

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 into a local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn read_msg(f: &mut std::fs::File) -> io::Result<Option<(u32, i32)>> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        match io::Read::read(f, &mut buf[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Some((
        u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]),
        i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]),
    )))
}

/// Map root of the init's new user namespace to the unprivileged sandbox user.
fn write_maps(host_pid: i32) -> io::Result<()> {
    let dir = format!("/proc/{host_pid}");
    // setgroups stays allowed (maps written by a privileged parent may): FRR and other
    // daemons set their groups when they drop root, and every group they can name is one
    // of the sandbox's own ids.
    std::fs::write(
        format!("{dir}/uid_map"),
        format!("0 {SANDBOX_ID} {SANDBOX_IDS}"),
    )?;
    std::fs::write(
        format!("{dir}/gid_map"),
        format!("0 {SANDBOX_ID} {SANDBOX_IDS}"),
    )?;
    Ok(())
}

fn start_init(netfd: RawFd, ops: &[Op], sandbox: bool) -> io::Result<Started> {
    // SAFETY: plain system calls on this thread; both only affect this thread (the pid
    // namespace applies to its future children).
    unsafe {
        if libc::setns(netfd, libc::CLONE_NEWNET) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::unshare(libc::CLONE_NEWPID) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let (rd, wr) = pipe()?;
    let (go_rd, go_wr) = pipe()?;
    // SAFETY: the child only makes raw system calls on data prepared before the fork and
    // ends in `_exit` or the reaper loop; it never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: see above.
        unsafe { init_main(ops, wr.as_raw_fd(), go_rd.as_raw_fd(), sandbox) }
    }
    drop(wr);
    drop(go_rd);
    let mut file = std::fs::File::from(rd);
    let mut go = std::fs::File::from(go_wr);
    loop {
        let msg = match read_msg(&mut file) {
            Ok(m) => m,
            Err(e) => return fail(pid, e),
        };
        match msg {
            None => {
                return fail(
                    pid,
                    io::Error::other("the node's init died while setting up"),
                );
            }
            Some((MSG_OK, _)) => break,
            Some((MSG_MAP_ME, host_pid)) => {
                if let Err(e) = write_maps(host_pid) {
                    return fail(
                        pid,
                        io::Error::new(e.kind(), format!("cannot map the sandbox user: {e}")),
                    );
                }
                if let Err(e) = io::Write::write_all(&mut go, &[1]) {
                    return fail(pid, e);
                }
            }
            Some((kind, errno)) => {
                let what = match kind.checked_sub(MSG_OP_FAILED) {
                    Some(step) => ops.get(step as usize).map(Op::describe).unwrap_or_default(),
                    None if sandbox => "create the node's namespaces and its sandbox user".into(),
                    None => "create the node's mount and UTS namespaces".into(),
                };
                let e = io::Error::from_raw_os_error(errno);
                return fail(pid, io::Error::new(e.kind(), format!("cannot {what}: {e}")));
            }
        }
    }
    // SAFETY: pidfd_open on our own child, which cannot have been reaped yet.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return fail(pid, io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    let netns = if sandbox {
        // SAFETY: an ioctl on a pidfd we own; it returns a new descriptor or -1.
        let fd = unsafe { libc::ioctl(pidfd.as_raw_fd(), libc::PIDFD_GET_NET_NAMESPACE as _, 0) };
        if fd < 0 {
            return fail(pid, io::Error::last_os_error());
        }
        // SAFETY: a descriptor the kernel just returned.
        Some(unsafe { OwnedFd::from_raw_fd(fd) })
    } else {
        None
    };
    Ok(Started { pid, pidfd, netns })
}

fn fail<T>(pid: libc::pid_t, e: io::Error) -> io::Result<T> {
    // SAFETY: killing and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    Err(e)
}

/// Closes every descriptor from 3 up except `a` and `b`, with raw system calls only (it
/// runs in a child forked from a multi-threaded process).
unsafe fn close_all_but(a: RawFd, b: RawFd) {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut from: libc::c_uint = 3;
    for keep in [lo, hi] {
        let Ok(keep) = libc::c_uint::try_from(keep) else {
            continue;
        };
        if keep > from {
            // SAFETY: close_range on our own descriptor table.
            unsafe { libc::syscall(libc::SYS_close_range, from, keep - 1, 0) };
        }
        from = from.max(keep + 1);
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, libc::c_uint::MAX, 0) };
}

/// The node's init: set up, report, then reap orphans until killed.
///
/// Sandboxed, the mounts are made first (by root of the host's user namespace: a new
/// /proc must be mounted by the owner of the pid namespace), then the init moves into a
/// new user namespace (root inside = an unused host id outside) and makes the node's network
/// namespace there, so that the node's processes, root in that user namespace, can
/// configure their own network and nothing of the host's.
///
/// # Safety
/// Runs in the child of a fork from a multithreaded process: only async-signal-safe
/// system calls, no allocation.
unsafe fn init_main(ops: &[Op], report: RawFd, go: RawFd, sandbox: bool) -> ! {
    unsafe {
        // A fork without exec keeps every descriptor of topolab (O_CLOEXEC acts on exec
        // only), and what a descriptor refers to lives as long as any copy: the network
        // namespaces of other labs run by the same process would outlive their labs, and
        // the neighbour budget's flock'd slot files would stay locked for as long as this
        // node runs (a `test` of many labs starved itself of budget that way). Keep stdio
        // and the two pipes only.
        close_all_but(report, go);
        // The holder thread outlives this setup: it waits for the report below.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        let errno = || *libc::__errno_location();
        // Our pid as the parent's /proc numbers it: read before /proc is replaced.
        let mut host_pid: i32 = 0;
        if sandbox {
            let mut buf = [0u8; 16];
            let n = libc::readlink(c"/proc/self".as_ptr(), buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                send(report, MSG_NS_FAILED, errno());
                libc::_exit(1);
            }
            for b in &buf[..n as usize] {
                host_pid = host_pid * 10 + i32::from(b - b'0');
            }
        }
        if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS) != 0 {
            send(report, MSG_NS_FAILED, errno());
            libc::_exit(1);
        }
        for (i, op) in ops.iter().enumerate() {
            if let Err(e) = run_op(op) {
                send(report, MSG_OP_FAILED + i as u32, e);
                libc::_exit(1);
            }
        }
        if libc::chdir(c"/".as_ptr()) != 0 {
            send(report, MSG_NS_FAILED, errno());
            libc::_exit(1);
        }
        if sandbox {
            // Root's supplementary groups would stay with us (they are ids of the host's
            // user namespace): drop them first.
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::unshare(libc::CLONE_NEWUSER) != 0
            {
                send(report, MSG_NS_FAILED, errno());
                libc::_exit(1);
            }
            send(report, MSG_MAP_ME, host_pid);
            let mut b = [0u8; 1];
            if libc::read(go, b.as_mut_ptr().cast(), 1) != 1 {
                libc::_exit(1);
            }
            // Become root of the new namespace, an unused id on the host: the node's processes
            // hold capabilities over the init there (ptrace), so it must own nothing of
            // the host's either.
            if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
                send(report, MSG_NS_FAILED, errno());
                libc::_exit(1);
            }
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                send(report, MSG_NS_FAILED, errno());
                libc::_exit(1);
            }
        }
        libc::close(go);
        send(report, MSG_OK, 0);
        libc::close(report);
        // Reap whatever the node's processes leave behind. SIGCHLD is blocked and waited
        // for synchronously, so nothing is missed between the two calls.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        loop {
            while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
            libc::sigwaitinfo(&set, std::ptr::null_mut());
        }
    }
}

unsafe fn send(fd: RawFd, kind: u32, value: i32) {
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&kind.to_ne_bytes());
    buf[4..].copy_from_slice(&value.to_ne_bytes());
    unsafe {
        libc::write(fd, buf.as_ptr().cast(), 8);
    }
}

unsafe fn run_op(op: &Op) -> Result<(), i32> {
    let errno = || unsafe { *libc::__errno_location() };
    unsafe {
        match op {
            Op::Mount {
                src,
                target,
                fstype,
                flags,
                data,
                ..
            } => {
                let r = libc::mount(
                    src.as_ptr(),
                    target.as_ptr(),
                    fstype.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                    *flags,
                    data.as_ref()
                        .map_or(std::ptr::null(), |d| d.as_ptr().cast()),
                );
                if r != 0 {
                    return Err(errno());
                }
            }
            Op::ReadOnlyTree => {
                // struct mount_attr { attr_set, attr_clr, propagation, userns_fd }
                let attr: [u64; 4] = [libc::MOUNT_ATTR_RDONLY, 0, 0, 0];
                let r = libc::syscall(
                    libc::SYS_mount_setattr,
                    libc::AT_FDCWD,
                    c"/".as_ptr(),
                    libc::AT_RECURSIVE as libc::c_uint,
                    attr.as_ptr(),
                    std::mem::size_of_val(&attr),
                );
                if r != 0 {
                    return Err(errno());
                }
            }
            Op::Hostname(name) => {
                if libc::sethostname(name.as_ptr().cast(), name.len()) != 0 {
                    return Err(errno());
                }
            }
            Op::Mkdir(path, _) => {
                if libc::mkdir(path.as_ptr(), 0o755) != 0 && errno() != libc::EEXIST {
                    return Err(errno());
                }
            }
            Op::Write {
                path,
                content,
                mode,
                ..
            } => {
                let fd = libc::open(
                    path.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
                    *mode,
                );
                if fd < 0 {
                    return Err(errno());
                }
                let mut off = 0;
                while off < content.len() {
                    let n = libc::write(fd, content[off..].as_ptr().cast(), content.len() - off);
                    if n < 0 {
                        let e = errno();
                        if e == libc::EINTR {
                            continue;
                        }
                        libc::close(fd);
                        return Err(e);
                    }
                    off += n as usize;
                }
                // The mode asked for, whatever the umask made of it.
                libc::fchmod(fd, *mode);
                libc::close(fd);
            }
        }
    }
    Ok(())
}
