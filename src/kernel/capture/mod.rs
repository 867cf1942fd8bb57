//! Packet capture of a running lab (`test --capture`, `pcap`): every interface of every
//! node, recorded by AF_PACKET sockets inside the nodes' namespaces with kernel timestamps,
//! streamed into one pcapng file per lab.
//!
//! One OS thread per lab reads every socket (epoll) into one buffer and writes straight to
//! the file, so memory stays bounded whatever the traffic: the file is the only thing that
//! grows, and it stops growing at the size limit.

pub(crate) mod limit;
pub(crate) mod packet;
pub(crate) mod pcapng;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::EventFd;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::front::lab::NodeId;
use crate::kernel::engine::LiveLab;
use packet::PacketSocket;
use pcapng::{Stats, Writer};

/// When `test` keeps a lab's capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// No capture (the default).
    Off,
    /// Record, and keep the file only when the lab failed.
    OnFailure,
    /// Record and keep every lab's file.
    Always,
}

/// What `test --capture` asked for.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    /// Where the files go (`--artifacts`).
    pub dir: PathBuf,
    /// Size cap of one lab's file in bytes (`--capture-limit`).
    pub limit: u64,
}

/// The capture of one lab, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaptureResult {
    /// The pcapng file: one interface block per `node:iface`, nanosecond kernel
    /// timestamps. Absent when the capture could not be made (see `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Interfaces recorded.
    pub interfaces: u32,
    /// Packets written to the file.
    pub packets: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The size limit of the file, in bytes.
    pub limit: u64,
    /// Packets seen after the file reached its size limit, and so not in it.
    #[serde(default)]
    pub cut: u64,
    /// Packets the kernel dropped before topolab could read them (socket buffer full).
    #[serde(default)]
    pub dropped: u64,
    /// Why the capture is missing or incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CaptureResult {
    /// The capture thread ended without a summary.
    pub fn lost(why: String) -> CaptureResult {
        CaptureResult::failed(0, format!("the capture thread failed: {why}"))
    }

    fn failed(limit: u64, error: String) -> CaptureResult {
        CaptureResult {
            file: None,
            interfaces: 0,
            packets: 0,
            bytes: 0,
            limit,
            cut: 0,
            dropped: 0,
            error: Some(error),
        }
    }
}

/// File names claimed by this process: two labs of the same name in one run must not
/// write the same file.
static CLAIMED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// `DIR/LAB.pcapng`, or `DIR/LAB-2.pcapng`... when this run already wrote `LAB.pcapng`.
fn claim(dir: &Path, lab: &str) -> PathBuf {
    let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
    let set = claimed.get_or_insert_with(HashSet::new);
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{lab}.pcapng")
        } else {
            format!("{lab}-{n}.pcapng")
        };
        let path = dir.join(name);
        if set.insert(path.clone()) {
            return path;
        }
        n += 1;
    }
}

/// A capture in progress. Dropping it stops it (the file is then left as written).
pub struct Running {
    stop: Arc<EventFd>,
    thread: Option<JoinHandle<CaptureResult>>,
}

/// An interface being recorded: its socket and its interface id in the file.
struct Source {
    /// Closed once the file is full.
    sock: Option<PacketSocket>,
    id: u32,
}

/// Every interface of every node of `live`, in lab order, `lo` first in each node: ICMP
/// errors a node sends itself (a failed neighbour's host-unreachable, a local route's
/// refusal) only ever cross its loopback, and they are often the evidence.
pub fn interfaces(live: &LiveLab) -> Vec<(NodeId, String)> {
    live.lab
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            std::iter::once("lo".to_string())
                .chain(n.interfaces.iter().map(|f| f.name.clone()))
                .map(move |f| (NodeId(i), f))
        })
        .collect()
}

/// Starts recording every interface of `live` into `DIR/LAB.pcapng`. Sockets are opened
/// before this returns, so every packet the checks cause after it is recorded.
pub async fn start(live: &LiveLab, settings: &Settings) -> Result<Running, CaptureResult> {
    let fail = |e: String| CaptureResult::failed(settings.limit, e);
    let mut socks = Vec::new();
    let all = interfaces(live);
    let queue = packet::queue_size(all.len());
    for (node, iface) in all {
        let name = &live.lab.node(node).name;
        let sock = PacketSocket::open(live.node_ns(node).fd(), &iface, queue)
            .await
            .map_err(|e| fail(format!("cannot capture on {name}:{iface}: {e}")))?;
        socks.push((format!("{name}:{iface}"), sock));
    }
    let path = claim(&settings.dir, &live.lab.name);
    let file =
        File::create(&path).map_err(|e| fail(format!("cannot create {}: {e}", path.display())))?;
    // Large writes: a busy lab records tens of MiB, in packets of a few dozen bytes.
    let out = BufWriter::with_capacity(1 << 16, file);
    let mut w = Writer::new(out, settings.limit, &application())
        .map_err(|e| fail(format!("writing {}: {e}", path.display())))?;
    let mut sources = Vec::new();
    for (label, sock) in socks {
        let id = w
            .interface(&label, sock.description(), sock.link())
            .map_err(|e| fail(format!("writing {}: {e}", path.display())))?;
        sources.push(Source {
            sock: Some(sock),
            id,
        });
    }
    let stop = Arc::new(EventFd::new().map_err(|e| fail(format!("eventfd: {e}")))?);
    let thread_stop = Arc::clone(&stop);
    let limit = settings.limit;
    let thread = std::thread::Builder::new()
        .name("topolab-capture".into())
        .spawn(move || {
            let interfaces = sources.len() as u32;
            let mut r = match record(w, sources, &thread_stop) {
                Ok(r) => r,
                Err(e) => CaptureResult::failed(limit, format!("writing {}: {e}", path.display())),
            };
            r.interfaces = interfaces;
            r.file = Some(path);
            r
        })
        .map_err(|e| fail(format!("starting the capture thread: {e}")))?;
    Ok(Running {
        stop,
        thread: Some(thread),
    })
}

impl Running {
    /// Stops recording once every packet already queued is written; returns the summary.
    pub fn finish(mut self) -> CaptureResult {
        self.stop_and_join()
            .unwrap_or_else(|| CaptureResult::lost("it panicked".into()))
    }

    fn stop_and_join(&mut self) -> Option<CaptureResult> {
        let _ = self.stop.write(1);
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

fn application() -> String {
    format!("topolab {}", env!("CARGO_PKG_VERSION"))
}

const STOP: u64 = u64::MAX;

/// The capture thread: read every socket as packets arrive until told to stop, then
/// drain what is still queued and close the file with each interface's statistics.
fn record(
    mut w: Writer<BufWriter<File>>,
    mut sources: Vec<Source>,
    stop: &EventFd,
) -> io::Result<CaptureResult> {
    let start = packet::now_ns();
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    epoll.add(stop.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, STOP))?;
    for (i, s) in sources.iter().enumerate() {
        if let Some(sock) = &s.sock {
            epoll.add(sock.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, i as u64))?;
        }
    }
    let mut buf = vec![0u8; pcapng::SNAPLEN as usize];
    let mut events = vec![EpollEvent::empty(); 64];
    let mut totals: Vec<Stats> = vec![Stats::default(); sources.len()];
    'run: loop {
        let n = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for ev in &events[..n] {
            if ev.data() == STOP {
                break 'run;
            }
            let i = ev.data() as usize;
            drain(&mut w, &sources[i], &mut buf)?;
        }
        if w.cut > 0 {
            // The file is full: close the sockets rather than read and discard packets
            // until the end (their counters go to the statistics blocks).
            close(&mut sources, &mut totals);
        }
    }
    for s in &sources {
        drain(&mut w, s, &mut buf)?;
    }
    close(&mut sources, &mut totals);
    let end = packet::now_ns();
    for (s, t) in sources.iter().zip(&totals) {
        w.stats(s.id, start, end, *t)?;
    }
    w.flush()?;
    Ok(CaptureResult {
        file: None,
        interfaces: 0,
        packets: w.packets,
        bytes: w.written,
        limit: w.limit(),
        cut: w.cut,
        dropped: totals.iter().map(|t| t.dropped).sum(),
        error: None,
    })
}

fn close(sources: &mut [Source], totals: &mut [Stats]) {
    for (s, t) in sources.iter_mut().zip(totals.iter_mut()) {
        if let Some(sock) = s.sock.take() {
            let st = sock.stats();
            t.received += st.received;
            t.dropped += st.dropped;
        }
    }
}

/// Writes every packet queued on `s`.
fn drain<W: io::Write>(w: &mut Writer<W>, s: &Source, buf: &mut [u8]) -> io::Result<()> {
    let Some(sock) = &s.sock else { return Ok(()) };
    while let Some(p) = sock.recv(buf)? {
        w.packet(
            s.id,
            p.ts_ns,
            &buf[..p.captured],
            p.original as u32,
            p.direction,
        )?;
        if w.cut > 0 {
            return Ok(());
        }
    }
    Ok(())
}

/// Whether to keep a lab's file, given how the lab ended.
pub fn keep(mode: Mode, lab_passed: bool) -> bool {
    match mode {
        Mode::Always => true,
        Mode::OnFailure => !lab_passed,
        Mode::Off => false,
    }
}
