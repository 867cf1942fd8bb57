//! Where and why a probe's packets died: the kernel's drop reason, the node and the
//! interface, for the packets of one probe.
//!
//! As root with BTF, an eBPF program on `skb:kfree_skb` (see `ebpf`) reports every drop
//! inside the lab's namespaces; each probe announces the packets it sends (`announce`) and
//! collects the drops of exactly those (addresses, protocol, ports or ICMP id), in both
//! directions. One tracer serves the whole process, attached while at least one lab is
//! registered (`Session`) and detached when the last one goes.

pub(crate) mod counters;
mod ebpf;
pub(crate) mod reasons;

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

/// Whether a run traces drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// eBPF where the kernel and privileges allow it.
    #[default]
    Auto,
    /// Not at all (no evidence of drops, no early `timeout`).
    Off,
}

/// One drop as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDrop {
    pub netns: u32,
    pub ifindex: u32,
    pub reason: u32,
    pub proto: u8,
    /// TCP/UDP source port; ICMP echo: the id.
    pub sport: u16,
    /// TCP/UDP destination port; ICMP: type << 8 | code.
    pub dport: u16,
    /// ICMP echo: the sequence number.
    pub seq: u16,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Set when what was dropped is an ICMP error about the packet described above (a
    /// router's `host-unreachable` quoting the probe, dropped on its way back): the probe's
    /// answer died, not the probe.
    pub error: Option<QuotedBy>,
}

/// The ICMP error that quoted a probe's packet and was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedBy {
    pub icmp_type: u8,
    pub code: u8,
    /// The error's source: the router that sent it.
    pub from: IpAddr,
}

/// The packets of one probe: both directions of one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// Echo requests to `dst` and their replies, by id.
    Echo { dst: IpAddr, id: u16 },
    /// A TCP or UDP flow from local port `local` to `dst`.
    Flow {
        proto: u8,
        dst: std::net::SocketAddr,
        local: u16,
    },
}

const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;

impl Key {
    /// The keys a drop may belong to (either direction): watches are found by these, not
    /// by trying every watch on every drop (a matrix has hundreds of probes in flight).
    fn candidates(d: &RawDrop) -> [Key; 2] {
        match d.proto {
            1 | 58 => [
                Key::Echo {
                    dst: d.dst,
                    id: d.sport,
                },
                Key::Echo {
                    dst: d.src,
                    id: d.sport,
                },
            ],
            proto => [
                Key::Flow {
                    proto,
                    dst: std::net::SocketAddr::new(d.dst, d.dport),
                    local: d.sport,
                },
                Key::Flow {
                    proto,
                    dst: std::net::SocketAddr::new(d.src, d.sport),
                    local: d.dport,
                },
            ],
        }
    }

    pub fn matches(&self, d: &RawDrop) -> bool {
        match *self {
            Key::Echo { dst, id } => {
                let (proto, request, reply) = if dst.is_ipv6() {
                    (58, ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY)
                } else {
                    (1, ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY)
                };
                let ty = (d.dport >> 8) as u8;
                d.proto == proto
                    && d.sport == id
                    && ((d.dst == dst && ty == request) || (d.src == dst && ty == reply))
            }
            Key::Flow { proto, dst, local } => {
                d.proto == proto
                    && ((d.dst == dst.ip() && d.dport == dst.port() && d.sport == local)
                        || (d.src == dst.ip() && d.sport == dst.port() && d.dport == local))
            }
        }
    }
}

/// What the reader thread and the probes share.
pub struct Shared {
    stop: AtomicBool,
    next_id: AtomicU64,
    /// Bumped after every pass of the reader over the ring buffer.
    passes: AtomicU64,
    /// Drops the ring buffer had no room for, since the program was attached.
    lost: AtomicU64,
    inner: Mutex<Inner>,
    reasons: HashMap<u32, String>,
}

#[derive(Default)]
struct Inner {
    watches: HashMap<u64, Watch>,
    by_key: HashMap<Key, Vec<u64>>,
    /// Drops of the last moments, for a probe that announces its flow only once the
    /// kernel has chosen its port (the connect that chose it may already have sent, and
    /// lost, the first packet).
    recent: std::collections::VecDeque<(std::time::Instant, RawDrop)>,
}

const RECENT: usize = 4096;

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Watch> {
        let watch = self.watches.remove(&id)?;
        if let Some(ids) = self.by_key.get_mut(&watch.key) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_key.remove(&watch.key);
            }
        }
        Some(watch)
    }
}

struct Watch {
    key: Key,
    /// The namespaces of the probe's lab. Labs run side by side in one process may be
    /// copies of one another, with the same addresses, and a TCP or UDP probe's local port
    /// comes from a hash of its addresses, so two copies' flows can have the same key: a
    /// drop in the other copy is not this probe's evidence, nor a reason to conclude.
    netns: Arc<[u32]>,
    seen: Vec<RawDrop>,
    tx: mpsc::UnboundedSender<RawDrop>,
}

impl Shared {
    fn deliver(&self, batch: Vec<RawDrop>) {
        if !batch.is_empty()
            && let Ok(mut inner) = self.inner.lock()
        {
            let now = std::time::Instant::now();
            let inner = &mut *inner;
            for d in batch {
                for key in Key::candidates(&d) {
                    for id in inner.by_key.get(&key).into_iter().flatten() {
                        if let Some(watch) = inner.watches.get_mut(id)
                            && watch.key.matches(&d)
                            && watch.netns.binary_search(&d.netns).is_ok()
                        {
                            watch.seen.push(d.clone());
                            let _ = watch.tx.send(d.clone());
                        }
                    }
                }
                // Only TCP and UDP probes announce after their first packet.
                if matches!(d.proto, 6 | 17) {
                    if inner.recent.len() >= RECENT {
                        inner.recent.pop_front();
                    }
                    inner.recent.push_back((now, d));
                }
            }
        }
        self.passes.fetch_add(1, Ordering::AcqRel);
    }

    pub fn reason(&self, n: u32) -> String {
        self.reasons
            .get(&n)
            .cloned()
            .unwrap_or_else(|| format!("reason-{n}"))
    }

    /// Waits until the reader has gone over the ring buffer twice more: every drop the
    /// kernel reported before this call has been delivered then. Two passes take ~20 ms on
    /// an idle machine, but a loaded one can starve the reader thread for longer: giving
    /// up after 200 ms lost the evidence of 2 in 580 runs of 20 labs side by side. The
    /// limit only guards against a reader that has stopped.
    async fn settle(&self) {
        let target = self.passes.load(Ordering::Acquire) + 2;
        for _ in 0..750 {
            if self.passes.load(Ordering::Acquire) >= target {
                return;
            }
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
    }
}

pub struct Tracer {
    shared: Arc<Shared>,
    loaded: Mutex<Program>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// The attached program and the namespaces it reports on.
struct Program {
    loaded: ebpf::Loaded,
    registered: Registrations,
}

impl Program {
    fn add(&mut self, inode: u32) -> Result<(), Unavailable> {
        if self.registered.add(inode) {
            if let Err(e) = self.loaded.add_netns(inode) {
                self.registered.remove(inode);
                return Err(e);
            }
        }
        Ok(())
    }

    fn remove(&mut self, inode: u32) {
        if self.registered.remove(inode) {
            self.loaded.remove_netns(inode);
        }
    }
}

/// How many labs registered each namespace inode. The kernel reuses a deleted
/// namespace's inode number for a later one (seen here within a second), so with labs
/// running side by side one lab could register an inode that another, torn down a moment
/// before, had not unregistered yet; without counting, the late unregistration would take
/// the new lab's namespace out of the program and its drops would go unreported.
#[derive(Debug, Default)]
struct Registrations(HashMap<u32, usize>);

impl Registrations {
    /// Counts one more registration of `inode`; true when the program must learn it.
    fn add(&mut self, inode: u32) -> bool {
        let n = self.0.entry(inode).or_default();
        *n += 1;
        *n == 1
    }

    /// Counts one registration of `inode` less; true when the program must forget it.
    fn remove(&mut self, inode: u32) -> bool {
        match self.0.get_mut(&inode) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                self.0.remove(&inode);
                true
            }
            None => false,
        }
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        // `loaded` goes next: closing its descriptors detaches the program.
    }
}

/// Why drops are not traced with eBPF in this run (counters are read instead). Kept for
/// the whole run, hence cloneable: the errors underneath are shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unavailable {
    #[error("topolab was built without clang: no eBPF program")]
    NoProgram,
    #[error("not root: eBPF needs CAP_BPF and CAP_PERFMON in the host")]
    NotRoot,
    #[error("no kernel BTF (/sys/kernel/btf/vmlinux: {0})")]
    NoBtf(#[source] Arc<std::io::Error>),
    /// The drop reasons could not be read from the kernel's BTF.
    #[error("{0}")]
    Reasons(#[source] Arc<std::io::Error>),
    /// The eBPF object lacks a program or a map.
    #[error("{0}")]
    Missing(&'static str),
    /// A step of loading, attaching or configuring the program failed.
    #[error("{doing}: {source}")]
    Ebpf {
        doing: &'static str,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    #[error("drop tracer lock poisoned")]
    Poisoned,
}

impl Unavailable {
    /// Builds the `map_err` of a step that failed with `source`.
    fn ebpf<E: std::error::Error + Send + Sync + 'static>(
        doing: &'static str,
    ) -> impl FnOnce(E) -> Unavailable {
        move |source| Unavailable::Ebpf {
            doing,
            source: Arc::new(source),
        }
    }
}

static TRACER: Mutex<Weak<Tracer>> = Mutex::new(Weak::new());
/// Why eBPF could not be used, once found out: loading is not retried for every lab.
static UNAVAILABLE: OnceLock<Unavailable> = OnceLock::new();

fn tracer() -> Result<Arc<Tracer>, Unavailable> {
    if let Some(why) = UNAVAILABLE.get() {
        return Err(why.clone());
    }
    let mut slot = TRACER.lock().map_err(|_| Unavailable::Poisoned)?;
    if let Some(t) = slot.upgrade() {
        return Ok(t);
    }
    match start() {
        Ok(t) => {
            let t = Arc::new(t);
            *slot = Arc::downgrade(&t);
            Ok(t)
        }
        Err(why) => {
            let _ = UNAVAILABLE.set(why.clone());
            Err(why)
        }
    }
}

fn start() -> Result<Tracer, Unavailable> {
    if !nix::unistd::geteuid().is_root() || crate::kernel::sandbox::rootless() {
        return Err(Unavailable::NotRoot);
    }
    let btf =
        std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| Unavailable::NoBtf(Arc::new(e)))?;
    let reasons = reasons::from_btf(&btf).map_err(|e| Unavailable::Reasons(Arc::new(e)))?;
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        next_id: AtomicU64::new(0),
        passes: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        inner: Mutex::new(Inner::default()),
        reasons,
    });
    let (mut loaded, reader) = ebpf::load(shared.clone())?;
    if let Some((&n, _)) = shared.reasons.iter().find(|(_, r)| *r == "no-socket") {
        // Without it the program only reports more: those drops are filtered out later.
        let _ = loaded.set_no_socket(n);
    }
    Ok(Tracer {
        shared,
        loaded: Mutex::new(Program {
            loaded,
            registered: Registrations::default(),
        }),
        reader: Some(reader),
    })
}

/// What a probe's drops were seen as.
#[derive(Debug, Clone)]
pub enum Seen {
    /// Reported by the kernel (eBPF), with the reason's name.
    Kernel(RawDrop, String),
    /// A counter of the namespace `netns` that moved while the probe ran.
    Counter {
        netns: u32,
        name: String,
        interface: Option<String>,
    },
}

/// A lab's registration with the tracer: its namespaces are traced while this lives.
/// Without eBPF, its namespaces' counters are read around each probe instead.
pub struct Session {
    tracer: Option<Arc<Tracer>>,
    inodes: Arc<[u32]>,
    counters: Vec<(u32, Mutex<counters::NsCounters>)>,
    /// Counters cannot tell whose packet they counted: with them, probes run one at a
    /// time so that a moved counter is the running probe's.
    serial: tokio::sync::Mutex<()>,
    /// Why drops are not traced with eBPF in this run.
    pub unavailable: Option<Unavailable>,
    /// Record the drops of every probe, not only of those that failed.
    pub explain: bool,
}

impl Session {
    pub fn start<'a>(
        namespaces: impl IntoIterator<Item = (u64, BorrowedFd<'a>)>,
        explain: bool,
    ) -> Session {
        let namespaces: Vec<(u32, BorrowedFd<'a>)> = namespaces
            .into_iter()
            .map(|(i, fd)| (i as u32, fd))
            .collect();
        // Sorted: every drop that matches a probe's flow is looked up in them, and a lab
        // may have 10,000 namespaces.
        let mut inodes: Vec<u32> = namespaces.iter().map(|(i, _)| *i).collect();
        inodes.sort_unstable();
        let mut session = Session {
            tracer: None,
            inodes: Arc::from([]),
            counters: Vec::new(),
            serial: tokio::sync::Mutex::new(()),
            unavailable: None,
            explain,
        };
        let traced = tracer().and_then(|t| {
            let mut l = t.loaded.lock().map_err(|_| Unavailable::Poisoned)?;
            for (n, &i) in inodes.iter().enumerate() {
                if let Err(e) = l.add(i) {
                    inodes[..n].iter().for_each(|&i| l.remove(i));
                    return Err(e);
                }
            }
            drop(l);
            Ok(t)
        });
        match traced {
            Ok(t) => {
                session.tracer = Some(t);
                session.inodes = inodes.into();
            }
            Err(why) => {
                session.unavailable = Some(why);
                session.counters = namespaces
                    .iter()
                    .filter_map(|(i, fd)| Some((*i, Mutex::new(counters::open(*fd).ok()?))))
                    .collect();
            }
        }
        session
    }

    fn read_counters(&self) -> Vec<counters::Values> {
        self.counters
            .iter()
            .map(|(_, c)| c.lock().map(|mut c| c.read()).unwrap_or_default())
            .collect()
    }

    pub fn active(&self) -> bool {
        self.tracer.is_some()
    }

    /// Drops the tracer could not report so far, in any lab of this process: when this
    /// moved while a lab ran, its `no drop seen` may be wrong.
    pub fn lost(&self) -> u64 {
        self.tracer
            .as_ref()
            .map_or(0, |t| t.shared.lost.load(Ordering::Acquire))
    }

    /// Runs `f` (one probe) collecting the drops of the packets it announces (eBPF), or
    /// the counters that moved meanwhile. `wanted` says from the probe's result whether
    /// its drops will be used: if not, they are not waited for.
    pub async fn probe<F: Future>(
        &self,
        f: F,
        wanted: impl Fn(&F::Output) -> bool,
    ) -> (F::Output, Vec<Seen>) {
        let Some(t) = &self.tracer else {
            if self.counters.is_empty() {
                return (f.await, Vec::new());
            }
            let _alone = self.serial.lock().await;
            let before = self.read_counters();
            let out = f.await;
            let after = self.read_counters();
            let mut seen: Vec<Seen> = self
                .counters
                .iter()
                .zip(before.iter().zip(&after))
                .filter_map(|((netns, _), (b, a))| {
                    let (name, interface) = counters::moved(b, a)?;
                    Some(Seen::Counter {
                        netns: *netns,
                        name,
                        interface,
                    })
                })
                .collect();
            if seen.is_empty() {
                seen = self
                    .counters
                    .iter()
                    .zip(&after)
                    .filter_map(|((netns, _), a)| {
                        let (name, interface) = counters::unresolved(a)?;
                        Some(Seen::Counter {
                            netns: *netns,
                            name,
                            interface,
                        })
                    })
                    .collect();
            }
            return (out, seen);
        };
        let scope = Arc::new(Scope {
            shared: t.shared.clone(),
            netns: self.inodes.clone(),
            ids: Mutex::new(Vec::new()),
            since: std::time::Instant::now(),
        });
        let out = SCOPE.scope(scope.clone(), f).await;
        let ids = scope
            .ids
            .lock()
            .map(|mut i| std::mem::take(&mut *i))
            .unwrap_or_default();
        if !ids.is_empty() && wanted(&out) {
            t.shared.settle().await;
        }
        let mut seen = Vec::new();
        if let Ok(mut inner) = t.shared.inner.lock() {
            for id in ids {
                if let Some(watch) = inner.remove(id) {
                    seen.extend(watch.seen);
                }
            }
        }
        let named = seen
            .into_iter()
            .map(|d| {
                let r = t.shared.reason(d.reason);
                Seen::Kernel(d, r)
            })
            .collect();
        (out, named)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(t) = &self.tracer
            && let Ok(mut l) = t.loaded.lock()
        {
            for &i in self.inodes.iter() {
                l.remove(i);
            }
        }
    }
}

struct Scope {
    shared: Arc<Shared>,
    ids: Mutex<Vec<u64>>,
    /// When the probe started: earlier drops are not its own.
    since: std::time::Instant,
    /// The lab's namespaces, sorted: only drops there are the probe's.
    netns: Arc<[u32]>,
}

impl Drop for Scope {
    /// A part of a probe cancelled before it ended (a hop of a trace that had its answer
    /// without it) takes its watches with it: they are nobody's evidence.
    fn drop(&mut self) {
        let ids = self.ids.get_mut().map(std::mem::take).unwrap_or_default();
        if !ids.is_empty()
            && let Ok(mut inner) = self.shared.inner.lock()
        {
            for id in ids {
                inner.remove(id);
            }
        }
    }
}

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

/// The watches announced by one part of a probe (see `apart`).
pub struct Part {
    scope: Option<Arc<Scope>>,
    ids: Vec<u64>,
}

impl Part {
    /// Makes the drops of this part's packets evidence of the enclosing probe.
    pub fn keep(mut self) {
        let ids = std::mem::take(&mut self.ids);
        if let Some(s) = &self.scope
            && let Ok(mut mine) = s.ids.lock()
        {
            mine.extend(ids);
        }
    }
}

impl Drop for Part {
    /// A part not kept: the drops of its packets are no evidence of the probe's fate.
    fn drop(&mut self) {
        if let Some(s) = &self.scope
            && !self.ids.is_empty()
            && let Ok(mut inner) = s.shared.inner.lock()
        {
            for id in self.ids.drain(..) {
                inner.remove(id);
            }
        }
    }
}

/// Runs `f`, one part of the enclosing probe (one hop of a trace), with the packets it
/// announces set apart: the probe `keep`s the parts whose drops tell its fate, and the
/// drops of the others are forgotten. A trace's TTL-1 packet is dropped by the first
/// router (`ip-inhdr`) right after it answered `ttl-exceeded`: that drop is how a trace
/// works, not where its packets died.
pub async fn apart<F: Future>(f: F) -> (F::Output, Part) {
    let Ok(parent) = SCOPE.try_with(Arc::clone) else {
        return (
            f.await,
            Part {
                scope: None,
                ids: Vec::new(),
            },
        );
    };
    let child = Arc::new(Scope {
        shared: parent.shared.clone(),
        ids: Mutex::new(Vec::new()),
        since: parent.since,
        netns: parent.netns.clone(),
    });
    let out = SCOPE.scope(child.clone(), f).await;
    let ids = child
        .ids
        .lock()
        .map(|mut i| std::mem::take(&mut *i))
        .unwrap_or_default();
    (
        out,
        Part {
            scope: Some(parent),
            ids,
        },
    )
}

/// A probe's view of the drops of its packets while it runs.
pub struct Watcher {
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<RawDrop>,
}

/// Called by a probe once it knows its flow, before sending: from then on the drops of
/// its packets are recorded. `None` when drops are not traced.
pub fn announce(key: Key) -> Option<Watcher> {
    SCOPE
        .try_with(|s| {
            let (tx, rx) = mpsc::unbounded_channel();
            let id = s.shared.next_id.fetch_add(1, Ordering::Relaxed);
            let mut inner = s.shared.inner.lock().ok()?;
            let seen: Vec<RawDrop> = match key {
                Key::Flow { .. } => inner
                    .recent
                    .iter()
                    .filter(|(at, d)| {
                        *at >= s.since && key.matches(d) && s.netns.binary_search(&d.netns).is_ok()
                    })
                    .map(|(_, d)| d.clone())
                    .collect(),
                // An echo probe announces before its first request.
                Key::Echo { .. } => Vec::new(),
            };
            for d in &seen {
                let _ = tx.send(d.clone());
            }
            inner.watches.insert(
                id,
                Watch {
                    key,
                    netns: s.netns.clone(),
                    seen,
                    tx,
                },
            );
            inner.by_key.entry(key).or_default().push(id);
            drop(inner);
            s.ids.lock().ok()?.push(id);
            Some(Watcher {
                shared: s.shared.clone(),
                rx,
            })
        })
        .ok()
        .flatten()
}

/// The warning of a lab during whose probes the tracer lost `n` drops.
pub fn lost_warning(n: u64) -> String {
    format!(
        "the drop tracer lost {n} drop(s) while this lab's probes ran (its ring buffer was \
         full: other labs of this run dropped many packets at once): a `no drop seen` may be \
         wrong"
    )
}

/// After a terminal drop, how long a probe still waits: a `reject` verdict sends its ICMP
/// error (or TCP reset) before the packet is freed with `netfilter-drop`, so the error is
/// already on its way; this covers its trip through a few namespaces on a loaded machine.
pub const GRACE: Duration = Duration::from_millis(200);

/// Waits for the next drop of the probe's packets after which no answer can come; never
/// returns without a watcher. Returns the drop and its reason.
pub async fn terminal(w: &mut Option<Watcher>) -> (RawDrop, String) {
    let Some(w) = w else {
        return std::future::pending().await;
    };
    loop {
        match w.rx.recv().await {
            Some(d) => {
                let r = w.shared.reason(d.reason);
                if reasons::is_terminal(&r) {
                    return (d, r);
                }
            }
            None => return std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(src: &str, dst: &str, proto: u8, sport: u16, dport: u16) -> RawDrop {
        RawDrop {
            netns: 1,
            ifindex: 2,
            reason: 3,
            proto,
            sport,
            dport,
            seq: 1,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            error: None,
        }
    }

    #[test]
    fn a_namespace_two_labs_registered_stays_traced_until_both_are_gone() {
        let mut r = Registrations::default();
        // Lab A's namespace got inode 7; A is torn down, lab B's new namespace gets 7 too
        // and registers it before A unregisters.
        assert!(r.add(7));
        assert!(!r.add(7));
        assert!(
            !r.remove(7),
            "A's late unregistration must leave B's namespace traced"
        );
        assert!(r.remove(7));
        assert!(!r.remove(7), "nothing left to forget");
        assert!(r.add(7));
    }

    #[test]
    fn an_echo_key_takes_its_requests_and_replies_only() {
        let k = Key::Echo {
            dst: "10.0.0.2".parse().unwrap(),
            id: 7,
        };
        assert!(k.matches(&raw("10.0.0.1", "10.0.0.2", 1, 7, 8 << 8)));
        assert!(k.matches(&raw("10.0.0.2", "10.0.0.1", 1, 7, 0)));
        assert!(!k.matches(&raw("10.0.0.1", "10.0.0.2", 1, 8, 8 << 8)));
        assert!(!k.matches(&raw("10.0.0.2", "10.0.0.1", 1, 7, 8 << 8)));
        assert!(!k.matches(&raw("10.0.0.1", "10.0.0.3", 1, 7, 8 << 8)));
    }

    #[test]
    fn a_flow_key_takes_both_directions_of_its_ports() {
        let k = Key::Flow {
            proto: 17,
            dst: "10.0.0.2:53".parse().unwrap(),
            local: 40000,
        };
        assert!(k.matches(&raw("10.0.0.1", "10.0.0.2", 17, 40000, 53)));
        assert!(k.matches(&raw("10.0.0.2", "10.0.0.1", 17, 53, 40000)));
        assert!(!k.matches(&raw("10.0.0.1", "10.0.0.2", 6, 40000, 53)));
        assert!(!k.matches(&raw("10.0.0.1", "10.0.0.2", 17, 40001, 53)));
    }
}
