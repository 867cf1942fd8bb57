//! The socket error queue (IP_RECVERR / IPV6_RECVERR): the one place where the kernel says
//! which ICMP error arrived, who sent it and the MTU it carried, for raw, UDP and TCP
//! sockets alike. `SO_ERROR` alone would fold admin-prohibited and host-unreachable into
//! one `EHOSTUNREACH`.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

/// `ee_origin` values of `struct sock_extended_err`.
pub const ORIGIN_LOCAL: u8 = 1;
pub const ORIGIN_ICMP: u8 = 2;
pub const ORIGIN_ICMP6: u8 = 3;

/// One decoded `struct sock_extended_err` with its offender and the quoted packet bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedError {
    pub errno: i32,
    pub origin: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Next-hop MTU for frag-needed / packet-too-big and local EMSGSIZE.
    pub info: u32,
    /// SO_EE_OFFENDER: the address that sent the ICMP error.
    pub offender: Option<IpAddr>,
    /// The start of the offending packet's transport payload as the kernel quotes it (for
    /// a raw ICMP socket: the echo request's ICMP header, hence its id and sequence).
    pub quoted: Vec<u8>,
    /// When the error arrived (with SO_TIMESTAMPNS on).
    pub at: Option<std::time::SystemTime>,
}

/// Size of `struct sock_extended_err`.
const EE_LEN: usize = 16;

/// Decodes the control message of an error-queue read. `level`/`kind` are the cmsg's.
pub fn decode(level: i32, kind: i32, data: &[u8], quoted: &[u8]) -> Option<QueuedError> {
    let is_err = (level == libc::SOL_IP && kind == libc::IP_RECVERR)
        || (level == libc::SOL_IPV6 && kind == libc::IPV6_RECVERR);
    if !is_err || data.len() < EE_LEN {
        return None;
    }
    let u32_at = |o: usize| u32::from_ne_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    Some(QueuedError {
        errno: u32_at(0) as i32,
        origin: data[4],
        icmp_type: data[5],
        icmp_code: data[6],
        info: u32_at(8),
        offender: offender(&data[EE_LEN..]),
        quoted: quoted.to_vec(),
        at: None,
    })
}

/// SO_EE_OFFENDER: the sockaddr right after the extended error; AF_UNSPEC when none.
fn offender(sa: &[u8]) -> Option<IpAddr> {
    if sa.len() < 2 {
        return None;
    }
    let family = i32::from(u16::from_ne_bytes([sa[0], sa[1]]));
    if family == libc::AF_INET && sa.len() >= 8 {
        let a: [u8; 4] = sa[4..8].try_into().ok()?;
        return Some(IpAddr::V4(Ipv4Addr::from(a)));
    }
    if family == libc::AF_INET6 && sa.len() >= 24 {
        let a: [u8; 16] = sa[8..24].try_into().ok()?;
        let v6 = Ipv6Addr::from(a);
        // A v6 socket reports v4 offenders as mapped addresses; show them as users wrote them.
        return Some(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        });
    }
    None
}

/// Reads one entry of the error queue; `Ok(None)` when it is empty.
pub fn recv(fd: BorrowedFd<'_>) -> io::Result<Option<QueuedError>> {
    let mut data = [0u8; 256];
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 64]>();
    // SAFETY: msg describes buffers that live across the call.
    let n = unsafe {
        libc::recvmsg(
            fd.as_raw_fd(),
            &mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) => Ok(None),
            _ => Err(e),
        };
    }
    let quoted = &data[..(n as usize).min(data.len())];
    let mut found = None;
    let mut at = None;
    // SAFETY: walking the control messages the kernel wrote into `msg`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let hdr = &*c;
            let head = libc::CMSG_LEN(0) as usize;
            let len = hdr.cmsg_len.saturating_sub(head);
            let body = std::slice::from_raw_parts(libc::CMSG_DATA(c), len);
            at = at.or(super::sys::cmsg_time(hdr.cmsg_level, hdr.cmsg_type, body));
            found = found.or_else(|| decode(hdr.cmsg_level, hdr.cmsg_type, body, quoted));
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if let Some(mut e) = found {
        e.at = at;
        return Ok(Some(e));
    }
    // An entry without an extended error (should not happen): skip it, not the queue.
    Ok(Some(QueuedError {
        errno: 0,
        origin: 0,
        icmp_type: 0,
        icmp_code: 0,
        info: 0,
        offender: None,
        quoted: quoted.to_vec(),
        at,
    }))
}

/// Drains the queue into a vector (the kernel keeps only a handful of entries).
pub fn drain(fd: BorrowedFd<'_>) -> io::Result<Vec<QueuedError>> {
    let mut out = Vec::new();
    while let Some(e) = recv(fd)? {
        out.push(e);
        if out.len() > 1024 {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ee(errno: u32, origin: u8, t: u8, c: u8, info: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&errno.to_ne_bytes());
        v.extend_from_slice(&[origin, t, c, 0]);
        v.extend_from_slice(&info.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v
    }

    #[test]
    fn decodes_an_icmp_error_with_its_offender() {
        let mut d = ee(113, ORIGIN_ICMP, 3, 13, 0);
        d.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        d.extend_from_slice(&[0, 0, 10, 100, 1, 18]);
        d.extend_from_slice(&[0; 8]);
        let e = decode(
            libc::SOL_IP,
            libc::IP_RECVERR,
            &d,
            &[8, 0, 0, 0, 1, 2, 0, 1],
        )
        .unwrap();
        assert_eq!(e.errno, libc::EHOSTUNREACH);
        assert_eq!((e.origin, e.icmp_type, e.icmp_code), (ORIGIN_ICMP, 3, 13));
        assert_eq!(e.offender, Some("10.100.1.18".parse().unwrap()));
        assert_eq!(e.quoted, vec![8, 0, 0, 0, 1, 2, 0, 1]);
    }

    #[test]
    fn decodes_a_local_error_without_offender() {
        let mut d = ee(libc::EMSGSIZE as u32, ORIGIN_LOCAL, 0, 0, 1400);
        d.extend_from_slice(&[0; 16]);
        let e = decode(libc::SOL_IP, libc::IP_RECVERR, &d, &[]).unwrap();
        assert_eq!(e.info, 1400);
        assert_eq!(e.offender, None);
    }

    #[test]
    fn decodes_v6_and_v4_mapped_offenders() {
        let mut d = ee(113, ORIGIN_ICMP6, 1, 3, 0);
        d.extend_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        d.extend_from_slice(&[0; 6]);
        d.extend_from_slice(&"fd00::1".parse::<Ipv6Addr>().unwrap().octets());
        d.extend_from_slice(&[0; 4]);
        let e = decode(libc::SOL_IPV6, libc::IPV6_RECVERR, &d, &[]).unwrap();
        assert_eq!(e.offender, Some("fd00::1".parse().unwrap()));
        let mut m = ee(113, ORIGIN_ICMP, 3, 1, 0);
        m.extend_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        m.extend_from_slice(&[0; 6]);
        m.extend_from_slice(&"::ffff:10.0.0.1".parse::<Ipv6Addr>().unwrap().octets());
        let e = decode(libc::SOL_IPV6, libc::IPV6_RECVERR, &m, &[]).unwrap();
        assert_eq!(e.offender, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn ignores_other_control_messages_and_short_data() {
        assert_eq!(decode(libc::SOL_IP, libc::IP_TTL, &[0; 32], &[]), None);
        assert_eq!(decode(libc::SOL_IP, libc::IP_RECVERR, &[0; 8], &[]), None);
    }
}
