//! The eBPF drop tracer: a program on the `skb:kfree_skb` tracepoint (tp_btf) that reports
//! every drop inside the namespaces user space registered, through a ring buffer.
//!
//! Loaded with aya (pure Rust, no libelf). Everything the kernel holds for it (program,
//! maps, the attachment) is owned by file descriptors of this process: dropping `Ebpf`
//! detaches it, and so does the process dying, SIGKILL included. Nothing is pinned.

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use aya::Ebpf;
use aya::maps::{HashMap as BpfHashMap, MapData, RingBuf};
use aya::programs::BtfTracePoint;

use super::{RawDrop, Shared, Unavailable};

/// The compiled program (empty when clang was missing at build time).
static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/drops.bpf.o"));

pub struct Loaded {
    ebpf: Ebpf,
}

/// Loads and attaches the program; the ring buffer goes to a reader thread that hands
/// events to `shared`.
pub fn load(shared: Arc<Shared>) -> Result<(Loaded, std::thread::JoinHandle<()>), Unavailable> {
    if OBJECT.is_empty() {
        return Err(Unavailable::NoProgram);
    }
    // aya reads the program's ELF with `object`, which wants it 8-byte aligned.
    let aligned: Vec<u64> = OBJECT
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_ne_bytes(b)
        })
        .collect();
    // SAFETY: a Vec<u64> is at least as long in bytes as OBJECT and u8 has no invalid values.
    let bytes = unsafe { std::slice::from_raw_parts(aligned.as_ptr().cast::<u8>(), OBJECT.len()) };
    let mut ebpf = Ebpf::load(bytes).map_err(Unavailable::ebpf("loading the eBPF program"))?;
    let btf = aya::Btf::from_sys_fs().map_err(Unavailable::ebpf("reading the kernel's BTF"))?;
    let prog: &mut BtfTracePoint = ebpf
        .program_mut("on_drop")
        .ok_or(Unavailable::Missing(
            "the eBPF object has no on_drop program",
        ))?
        .try_into()
        .map_err(Unavailable::ebpf("on_drop"))?;
    prog.load("kfree_skb", &btf)
        .map_err(Unavailable::ebpf("loading on_drop for kfree_skb"))?;
    prog.attach()
        .map_err(Unavailable::ebpf("attaching to kfree_skb"))?;
    let events = ebpf
        .take_map("events")
        .ok_or(Unavailable::Missing("no events map"))?;
    let ring = RingBuf::try_from(events).map_err(Unavailable::ebpf("events map"))?;
    let reader = std::thread::Builder::new()
        .name("topolab-drops".into())
        .spawn(move || read(ring, shared))
        .map_err(Unavailable::ebpf("starting the drop reader"))?;
    Ok((Loaded { ebpf }, reader))
}

impl Loaded {
    /// Tells the program which reason number is `no-socket` in this kernel.
    pub fn set_no_socket(&mut self, reason: u32) -> Result<(), Unavailable> {
        let config = self
            .ebpf
            .map_mut("config")
            .ok_or(Unavailable::Missing("no config map"))?;
        let mut m: aya::maps::Array<&mut MapData, u32> =
            aya::maps::Array::try_from(config).map_err(Unavailable::ebpf("config map"))?;
        m.set(0, reason, 0)
            .map_err(Unavailable::ebpf("configuring the program"))
    }

    fn netns(&mut self) -> Result<BpfHashMap<&mut MapData, u32, u8>, Unavailable> {
        let netns = self
            .ebpf
            .map_mut("netns")
            .ok_or(Unavailable::Missing("no netns map"))?;
        BpfHashMap::try_from(netns).map_err(Unavailable::ebpf("netns map"))
    }

    pub fn add_netns(&mut self, inode: u32) -> Result<(), Unavailable> {
        self.netns()?
            .insert(inode, 1, 0)
            .map_err(Unavailable::ebpf("registering a namespace"))
    }

    pub fn remove_netns(&mut self, inode: u32) {
        if let Ok(mut m) = self.netns() {
            let _ = m.remove(&inode);
        }
    }
}

fn read(mut ring: RingBuf<aya::maps::MapData>, shared: Arc<Shared>) {
    let fd = ring.as_raw_fd();
    while !shared.stop.load(Ordering::Acquire) {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; the ring buffer outlives the call.
        unsafe { libc::poll(&mut pfd, 1, 10) };
        let mut batch = Vec::new();
        while let Some(item) = ring.next() {
            if let Some(d) = parse(&item) {
                batch.push(d);
            }
        }
        shared.deliver(batch);
    }
}

/// `struct event` of drops.bpf.c.
fn parse(b: &[u8]) -> Option<RawDrop> {
    if b.len() < 52 {
        return None;
    }
    let u32_at = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
    let addr = |o: usize, family: u8| -> Option<IpAddr> {
        match family {
            4 => Some(IpAddr::from([b[o], b[o + 1], b[o + 2], b[o + 3]])),
            6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[o..o + 16]);
                Some(IpAddr::from(a))
            }
            _ => None,
        }
    };
    let family = b[12];
    Some(RawDrop {
        netns: u32_at(0),
        ifindex: u32_at(4),
        reason: u32_at(8),
        proto: b[13],
        sport: u16_at(14),
        dport: u16_at(16),
        seq: u16_at(18),
        src: addr(20, family)?,
        dst: addr(36, family)?,
    })
}
