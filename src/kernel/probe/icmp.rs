//! ICMP echo packets: building requests, recognising replies and the requests quoted in
//! ICMP errors, and the kernel-side filters that keep other probes' replies out of a
//! socket.

use std::io;
use std::os::fd::BorrowedFd;

use super::sys;

pub const ECHO_REQUEST_V4: u8 = 8;
pub const ECHO_REPLY_V4: u8 = 0;
pub const ECHO_REQUEST_V6: u8 = 128;
pub const ECHO_REPLY_V6: u8 = 129;

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request. ICMPv6 checksums cover a pseudo-header the kernel fills in itself, so
/// only v4 requests carry one from here.
pub fn echo_request(v6: bool, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + payload.len());
    p.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// The payload of a probe: a per-probe tag, repeated, so that a reply is recognised by
/// content as well as by id and sequence.
pub fn payload(tag: u64, size: usize) -> Vec<u8> {
    tag.to_be_bytes()
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo<'a> {
    pub id: u16,
    pub seq: u16,
    pub payload: &'a [u8],
}

/// An echo reply as a raw socket returns it: IPv4 with its IP header, IPv6 without.
pub fn parse_reply(v6: bool, packet: &[u8]) -> Option<Echo<'_>> {
    let icmp = if v6 {
        packet
    } else {
        let ihl = usize::from(packet.first()? & 0x0f) * 4;
        packet.get(ihl..)?
    };
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if icmp.len() < 8 || icmp[0] != want || icmp[1] != 0 {
        return None;
    }
    Some(Echo {
        id: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
        payload: &icmp[8..],
    })
}

/// The id and sequence of our echo request as an ICMP error quotes it (the error queue
/// hands back the quoted ICMP header).
pub fn quoted_request(v6: bool, quoted: &[u8]) -> Option<(u16, u16)> {
    let want = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
    if quoted.len() < 8 || quoted[0] != want {
        return None;
    }
    Some((
        u16::from_be_bytes([quoted[4], quoted[5]]),
        u16::from_be_bytes([quoted[6], quoted[7]]),
    ))
}

/// A classic BPF program accepting only packets whose ICMP id is `id`: every raw ICMP
/// socket of a namespace gets a copy of every ICMP packet, so without it N concurrent
/// probes would each wake for all N replies.
pub fn id_filter(v6: bool, id: u16) -> Vec<libc::sock_filter> {
    const LDX_MSH: u16 = (libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH) as u16;
    const LD_H_IND: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_IND) as u16;
    const LD_H_ABS: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let mut prog = Vec::new();
    if v6 {
        // ICMPv6 raw sockets see the packet from the ICMP header on.
        prog.push(op(LD_H_ABS, 0, 0, 4));
    } else {
        // IPv4 raw sockets see the IP header: X = its length, then the id at X + 4.
        prog.push(op(LDX_MSH, 0, 0, 0));
        prog.push(op(LD_H_IND, 0, 0, 4));
    }
    prog.push(op(JEQ, 0, 1, u32::from(id)));
    prog.push(op(RET, 0, 0, u32::MAX));
    prog.push(op(RET, 0, 0, 0));
    prog
}

/// Lets only echo replies carrying `id` reach the socket as data; ICMP errors still reach
/// its error queue, which these filters do not touch.
pub fn install_filters(fd: BorrowedFd<'_>, v6: bool, id: u16) -> io::Result<()> {
    if v6 {
        // struct icmp6_filter: a set bit blocks that type.
        let mut blocked = [u32::MAX; 8];
        let t = usize::from(ECHO_REPLY_V6);
        blocked[t >> 5] &= !(1u32 << (t & 31));
        let bytes: Vec<u8> = blocked.iter().flat_map(|w| w.to_ne_bytes()).collect();
        sys::set_bytes(fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &bytes)?;
    } else {
        let blocked = !(1u32 << ECHO_REPLY_V4);
        sys::set_bytes(fd, SOL_RAW, ICMP_FILTER, &blocked.to_ne_bytes())?;
    }
    let prog = id_filter(v6, id);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: viewing a plain C struct as bytes for setsockopt; `prog` outlives the call.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&raw const fprog).cast::<u8>(),
            std::mem::size_of::<libc::sock_fprog>(),
        )
    };
    sys::set_bytes(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, bytes)
}

const SOL_RAW: libc::c_int = 255;
const ICMP_FILTER: libc::c_int = 1;
const ICMP6_FILTER: libc::c_int = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_packet() {
        // 0x0800 + 0x1234 + 0x0001 = 0x1a35, whose complement is 0xe5ca.
        let p = echo_request(false, 0x1234, 1, &[]);
        assert_eq!(p, vec![8, 0, 0xe5, 0xca, 0x12, 0x34, 0, 1]);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        let odd = echo_request(false, 7, 9, &[1, 2, 3]);
        assert_eq!(checksum(&odd), 0);
    }

    #[test]
    fn v6_requests_leave_the_checksum_to_the_kernel() {
        let p = echo_request(true, 0xabcd, 2, b"xy");
        assert_eq!(p, vec![128, 0, 0, 0, 0xab, 0xcd, 0, 2, b'x', b'y']);
    }

    #[test]
    fn parses_replies_with_and_without_ip_header() {
        let mut v4 = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
        ];
        v4.extend_from_slice(&[0, 0, 0, 0, 0x12, 0x34, 0, 5, 9, 9]);
        let e = parse_reply(false, &v4).unwrap();
        assert_eq!((e.id, e.seq, e.payload), (0x1234, 5, &[9u8, 9][..]));
        let v6 = [129, 0, 0, 0, 0, 1, 0, 2];
        assert_eq!(parse_reply(true, &v6).unwrap().id, 1);
        assert_eq!(parse_reply(true, &[128, 0, 0, 0, 0, 1, 0, 2]), None);
        assert_eq!(parse_reply(false, &[0x4f]), None, "truncated");
    }

    #[test]
    fn recognises_quoted_requests() {
        let q = echo_request(false, 0x0102, 3, b"abc");
        assert_eq!(quoted_request(false, &q), Some((0x0102, 3)));
        assert_eq!(quoted_request(true, &q), None);
        assert_eq!(quoted_request(false, &q[..6]), None);
    }

    #[test]
    fn payload_repeats_the_tag() {
        let p = payload(0x0102030405060708, 10);
        assert_eq!(p, vec![1, 2, 3, 4, 5, 6, 7, 8, 1, 2]);
        assert!(payload(1, 0).is_empty());
    }

    #[test]
    fn id_filter_shape() {
        let f = id_filter(false, 0x4242);
        assert_eq!(f.len(), 5);
        assert_eq!(f[2].k, 0x4242);
        assert_eq!(id_filter(true, 1).len(), 4);
    }
}
