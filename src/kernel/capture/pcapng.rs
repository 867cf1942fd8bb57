//! A streaming pcapng writer: one section header, one interface description block per
//! captured interface, enhanced packet blocks, interface statistics at the end.
//!
//! Written here rather than with a crate: the format is four small blocks (see
//! draft-ietf-opsawg-pcapng), and the writer must account for every byte to honour the
//! size cap and flush per packet when streaming; the existing crates buffer differently
//! and would still need that accounting around them.

use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const ISB: u32 = 0x0000_0005;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const OPT_END: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const EPB_FLAGS: u16 = 2;
const ISB_STARTTIME: u16 = 2;
const ISB_ENDTIME: u16 = 3;
const ISB_IFRECV: u16 = 4;
const ISB_IFDROP: u16 = 5;

/// Largest packet kept whole; longer ones (GSO super-packets) are cut to this length with
/// their original length recorded, as tcpdump does with its default snap length.
pub const SNAPLEN: u32 = 262_144;

/// Link types (the tcpdump.org LINKTYPE_ registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// Every interface, headerless ones (wireguard, ipip) with a synthesized header:
    /// libpcap reads a file only when all its interfaces share one link type.
    Ethernet,
}

impl LinkType {
    fn code(self) -> u16 {
        match self {
            LinkType::Ethernet => 1,
        }
    }
}

/// Which way a packet went through its interface (epb_flags bits 0-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Size of an enhanced packet block carrying `captured` bytes of packet data.
pub fn packet_block_len(captured: usize) -> u64 {
    // header 8 + fixed fields 20 + padded data + epb_flags 8 + end of options 4 + trailer 4
    (8 + 20 + padded(captured) + 8 + 4 + 4) as u64
}

/// Size of the statistics block written per interface at the end.
pub const STATS_BLOCK_LEN: u64 = 8 + 12 + 4 * 12 + 4 + 4;

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Builds one block in memory (blocks are small) so that its length is known up front.
struct Block {
    buf: Vec<u8>,
}

impl Block {
    fn new(kind: u32) -> Block {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&kind.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        Block { buf }
    }

    fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn bytes(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.buf
            .resize(self.buf.len() + padded(data.len()) - data.len(), 0);
        self
    }

    fn option(&mut self, code: u16, value: &[u8]) -> &mut Self {
        self.u16(code).u16(value.len() as u16).bytes(value)
    }

    /// pcapng timestamps are one 64-bit count split in two 32-bit halves, high first.
    fn timestamp(&mut self, ns: u64) -> &mut Self {
        self.u32((ns >> 32) as u32).u32(ns as u32)
    }

    fn finish(mut self) -> Vec<u8> {
        self.u16(OPT_END).u16(0);
        let len = (self.buf.len() + 4) as u32;
        self.buf[4..8].copy_from_slice(&len.to_le_bytes());
        self.u32(len);
        self.buf
    }
}

/// Statistics of one interface, from the capture socket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Packets the socket received (written or not).
    pub received: u64,
    /// Packets the kernel dropped because the socket's buffer was full.
    pub dropped: u64,
}

/// Writes a pcapng stream to `out`, never more than `limit` bytes in all (the headers
/// excepted: a file always starts valid). Packets that would cross the limit are counted
/// in `cut` and not written; the statistics blocks that end the file are reserved for.
pub struct Writer<W: Write> {
    out: W,
    limit: u64,
    reserved: u64,
    pub written: u64,
    pub packets: u64,
    pub cut: u64,
    interfaces: u32,
}

impl<W: Write> Writer<W> {
    /// Starts the section. `application` names the writer (shb_userappl).
    pub fn new(out: W, limit: u64, application: &str) -> io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            limit,
            reserved: 0,
            written: 0,
            packets: 0,
            cut: 0,
            interfaces: 0,
        };
        let mut b = Block::new(SHB);
        b.u32(BYTE_ORDER_MAGIC)
            .u16(1)
            .u16(0)
            // Section length unknown: the file is written as a stream.
            .u64(u64::MAX)
            .option(SHB_USERAPPL, application.as_bytes());
        w.emit(&b.finish())?;
        Ok(w)
    }

    /// Declares an interface; returns its id for `packet`. `name` is "node:iface".
    pub fn interface(&mut self, name: &str, description: &str, link: LinkType) -> io::Result<u32> {
        let mut b = Block::new(IDB);
        b.u16(link.code())
            .u16(0)
            .u32(SNAPLEN)
            .option(IF_NAME, name.as_bytes());
        if !description.is_empty() {
            b.option(IF_DESCRIPTION, description.as_bytes());
        }
        // Nanosecond timestamps: the kernel's resolution (SO_TIMESTAMPNS).
        b.option(IF_TSRESOL, &[9]);
        self.emit(&b.finish())?;
        self.reserved += STATS_BLOCK_LEN;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Writes one packet, or counts it in `cut` when it would cross the size limit.
    /// Returns whether it was written.
    pub fn packet(
        &mut self,
        interface: u32,
        ts_ns: u64,
        data: &[u8],
        original_len: u32,
        direction: Direction,
    ) -> io::Result<bool> {
        let data = &data[..data.len().min(SNAPLEN as usize)];
        if self.cut > 0 || self.written + packet_block_len(data.len()) + self.reserved > self.limit
        {
            self.cut += 1;
            return Ok(false);
        }
        let flags: u32 = match direction {
            Direction::Inbound => 1,
            Direction::Outbound => 2,
        };
        // The hot path: written in place, no block built in memory (a busy lab records
        // hundreds of thousands of packets).
        let len = packet_block_len(data.len()) as u32;
        let mut head = [0u8; 28];
        for (i, v) in [
            EPB,
            len,
            interface,
            (ts_ns >> 32) as u32,
            ts_ns as u32,
            data.len() as u32,
            original_len,
        ]
        .iter()
        .enumerate()
        {
            head[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut tail = [0u8; 3 + 16];
        let pad = padded(data.len()) - data.len();
        tail[pad..pad + 2].copy_from_slice(&EPB_FLAGS.to_le_bytes());
        tail[pad + 2..pad + 4].copy_from_slice(&4u16.to_le_bytes());
        tail[pad + 4..pad + 8].copy_from_slice(&flags.to_le_bytes());
        // tail[pad + 8..pad + 12] stays zero: end of options.
        tail[pad + 12..pad + 16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(data)?;
        self.out.write_all(&tail[..pad + 16])?;
        self.written += len as u64;
        self.packets += 1;
        Ok(true)
    }

    /// Ends an interface's record with what its socket counted.
    pub fn stats(
        &mut self,
        interface: u32,
        start_ns: u64,
        end_ns: u64,
        s: Stats,
    ) -> io::Result<()> {
        let mut b = Block::new(ISB);
        b.u32(interface)
            .timestamp(end_ns)
            .option(ISB_STARTTIME, &ts_bytes(start_ns))
            .option(ISB_ENDTIME, &ts_bytes(end_ns))
            .option(ISB_IFRECV, &s.received.to_le_bytes())
            .option(ISB_IFDROP, &s.dropped.to_le_bytes());
        let block = b.finish();
        debug_assert_eq!(block.len() as u64, STATS_BLOCK_LEN);
        self.reserved = self.reserved.saturating_sub(STATS_BLOCK_LEN);
        self.emit(&block)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }

    fn emit(&mut self, block: &[u8]) -> io::Result<()> {
        self.out.write_all(block)?;
        self.written += block.len() as u64;
        Ok(())
    }
}

fn ts_bytes(ns: u64) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&((ns >> 32) as u32).to_le_bytes());
    out[4..].copy_from_slice(&(ns as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
    }

    /// Walks the blocks: every block's leading and trailing lengths agree and are
    /// multiples of 4, and the blocks exactly fill the stream.
    fn blocks(b: &[u8]) -> Vec<(u32, &[u8])> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let kind = u32_at(b, at);
            let len = u32_at(b, at + 4) as usize;
            assert_eq!(len % 4, 0, "block length {len} not a multiple of 4");
            assert_eq!(u32_at(b, at + len - 4) as usize, len, "trailing length");
            out.push((kind, &b[at..at + len]));
            at += len;
        }
        assert_eq!(at, b.len());
        out
    }

    #[test]
    fn blocks_are_well_formed() {
        let mut w = Writer::new(Vec::new(), u64::MAX, "topolab test").expect("shb");
        let a = w.interface("a:eth0", "", LinkType::Ethernet).expect("idb");
        let b = w
            .interface("b:wg0", "wireguard", LinkType::Ethernet)
            .expect("idb");
        assert_eq!((a, b), (0, 1));
        let ts = 1_700_000_000_123_456_789u64;
        assert!(
            w.packet(a, ts, &[1, 2, 3, 4, 5], 5, Direction::Outbound)
                .expect("epb")
        );
        assert!(
            w.packet(b, ts + 1, &[9; 60], 1500, Direction::Inbound)
                .expect("epb")
        );
        w.stats(
            a,
            ts,
            ts + 10,
            Stats {
                received: 1,
                dropped: 0,
            },
        )
        .expect("isb");
        w.stats(
            b,
            ts,
            ts + 10,
            Stats {
                received: 1,
                dropped: 2,
            },
        )
        .expect("isb");
        let written = w.written;
        let bytes = w.into_inner();
        assert_eq!(written, bytes.len() as u64);
        let kinds: Vec<u32> = blocks(&bytes).iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![SHB, IDB, IDB, EPB, EPB, ISB, ISB]);
        let list = blocks(&bytes);
        // SHB: byte-order magic, version 1.0.
        assert_eq!(u32_at(list[0].1, 8), BYTE_ORDER_MAGIC);
        // IDB: link type, snaplen, then if_name as the first option.
        let idb = list[1].1;
        assert_eq!(u16::from_le_bytes([idb[8], idb[9]]), 1);
        assert_eq!(u32_at(idb, 12), SNAPLEN);
        assert_eq!(u16::from_le_bytes([idb[16], idb[17]]), IF_NAME);
        assert_eq!(&idb[20..26], b"a:eth0");
        assert_eq!(u16::from_le_bytes([list[2].1[8], list[2].1[9]]), 1);
        // EPB: interface, timestamp halves, captured and original length, data.
        let epb = list[3].1;
        assert_eq!(epb.len() as u64, packet_block_len(5));
        assert_eq!(u32_at(epb, 8), 0);
        assert_eq!(
            ((u32_at(epb, 12) as u64) << 32) | u32_at(epb, 16) as u64,
            ts
        );
        assert_eq!((u32_at(epb, 20), u32_at(epb, 24)), (5, 5));
        assert_eq!(&epb[28..33], &[1, 2, 3, 4, 5]);
        // epb_flags: outbound.
        assert_eq!(u32_at(epb, 36 + 4), 2);
        let epb2 = list[4].1;
        assert_eq!((u32_at(epb2, 20), u32_at(epb2, 24)), (60, 1500));
        assert_eq!(list[5].1.len() as u64, STATS_BLOCK_LEN);
    }

    #[test]
    fn the_limit_holds_with_the_statistics_blocks() {
        let limit = 1000;
        let mut w = Writer::new(Vec::new(), limit, "t").expect("shb");
        let i = w.interface("a:eth0", "", LinkType::Ethernet).expect("idb");
        let mut written = 0;
        for n in 0..100 {
            if w.packet(i, n, &[0u8; 98], 98, Direction::Inbound)
                .expect("epb")
            {
                written += 1;
            }
        }
        w.stats(i, 0, 100, Stats::default()).expect("isb");
        assert!(w.written <= limit, "{} > {limit}", w.written);
        assert!(written > 0);
        assert_eq!(w.packets, written);
        assert_eq!(w.cut, 100 - written);
        // Nothing is written once the cap is reached, even a packet that would fit.
        assert!(!w.packet(i, 0, &[], 0, Direction::Inbound).expect("epb"));
        let bytes = w.into_inner();
        assert_eq!(blocks(&bytes).len() as u64, 3 + written);
    }

    #[test]
    fn long_packets_are_cut_to_the_snap_length() {
        let mut w = Writer::new(Vec::new(), u64::MAX, "t").expect("shb");
        let i = w.interface("a:eth0", "", LinkType::Ethernet).expect("idb");
        let big = vec![7u8; SNAPLEN as usize + 10];
        w.packet(i, 0, &big, big.len() as u32, Direction::Outbound)
            .expect("epb");
        let bytes = w.into_inner();
        let epb = blocks(&bytes)[2].1;
        assert_eq!(u32_at(epb, 20), SNAPLEN);
        assert_eq!(u32_at(epb, 24), SNAPLEN + 10);
    }
}
