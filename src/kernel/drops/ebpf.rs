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
use aya::maps::{HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;

use super::{QuotedBy, RawDrop, Shared, Unavailable};

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
    // on_drop_nested covers what on_drop misses while busy (see drops.bpf.c); attached
    // first so that no drop falls between the two.
    for name in ["on_drop_nested", "on_drop"] {
        let prog: &mut BtfTracePoint = ebpf
            .program_mut(name)
            .ok_or(Unavailable::Missing("the eBPF object lacks a program"))?
            .try_into()
            .map_err(Unavailable::ebpf("reading a program of the eBPF object"))?;
        prog.load("kfree_skb", &btf)
            .map_err(Unavailable::ebpf("loading a program for kfree_skb"))?;
        prog.attach()
            .map_err(Unavailable::ebpf("attaching to kfree_skb"))?;
    }
    let events = ebpf
        .take_map("events")
        .ok_or(Unavailable::Missing("no events map"))?;
    let ring = RingBuf::try_from(events).map_err(Unavailable::ebpf("events map"))?;
    let lost = ebpf
        .take_map("lost")
        .ok_or(Unavailable::Missing("no lost map"))?;
    let lost = PerCpuArray::try_from(lost).map_err(Unavailable::ebpf("lost map"))?;
    let reader = std::thread::Builder::new()
        .name("topolab-drops".into())
        .spawn(move || read(ring, lost, shared))
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

fn read(mut ring: RingBuf<MapData>, lost: PerCpuArray<MapData, u64>, shared: Arc<Shared>) {
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
        // Read after the ring: a probe that sees this pass has every loss before it.
        if let Ok(per_cpu) = lost.get(&0, 0) {
            shared
                .lost
                .store(per_cpu.iter().sum::<u64>(), Ordering::Release);
        }
        shared.deliver(batch);
    }
}

/// `struct event` of drops.bpf.c.
fn parse(b: &[u8]) -> Option<RawDrop> {
    if b.len() < 72 {
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
    let error = match u16_at(52) {
        0 => None,
        e => Some(QuotedBy {
            icmp_type: ((e >> 8) & 0x7f) as u8,
            code: e as u8,
            from: addr(56, family)?,
        }),
    };
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
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `struct event` for srv's ttl-exceeded (11/0) from 10.2.0.2 quoting
    /// cli's echo request (id 7, seq 1) to 10.9.9.9, dropped in netns 42 on ifindex 3.
    fn quoted_event() -> Vec<u8> {
        let mut b = vec![0u8; 72];
        b[0..4].copy_from_slice(&42u32.to_ne_bytes());
        b[4..8].copy_from_slice(&3u32.to_ne_bytes());
        b[8..12].copy_from_slice(&5u32.to_ne_bytes());
        b[12] = 4;
        b[13] = 1;
        b[14..16].copy_from_slice(&7u16.to_ne_bytes());
        b[16..18].copy_from_slice(&(8u16 << 8).to_ne_bytes());
        b[18..20].copy_from_slice(&1u16.to_ne_bytes());
        b[20..24].copy_from_slice(&[10, 1, 0, 2]);
        b[36..40].copy_from_slice(&[10, 9, 9, 9]);
        b[52..54].copy_from_slice(&(0x8000u16 | 11 << 8).to_ne_bytes());
        b[56..60].copy_from_slice(&[10, 2, 0, 2]);
        b
    }

    #[test]
    fn a_dropped_icmp_error_reads_as_the_packet_it_quotes() {
        let d = parse(&quoted_event()).expect("parsed");
        assert_eq!(d.src, IpAddr::from([10, 1, 0, 2]));
        assert_eq!(d.dst, IpAddr::from([10, 9, 9, 9]));
        assert_eq!((d.proto, d.sport, d.dport >> 8, d.seq), (1, 7, 8, 1));
        assert_eq!(
            d.error,
            Some(QuotedBy {
                icmp_type: 11,
                code: 0,
                from: IpAddr::from([10, 2, 0, 2]),
            })
        );
        // The probe's own echo request matches, as if it had been dropped itself.
        let key = super::super::Key::Echo { dst: d.dst, id: 7 };
        assert!(key.matches(&d));
    }

    #[test]
    fn a_drop_of_the_packet_itself_has_no_error_and_a_short_event_is_refused() {
        let mut b = quoted_event();
        b[52..54].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(parse(&b).expect("parsed").error, None);
        assert!(parse(&b[..52]).is_none());
    }
}
