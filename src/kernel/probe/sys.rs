//! Thin socket-option and address helpers over libc, for the options std and tokio do not
//! expose (IP_RECVERR, IP_MTU_DISCOVER, ICMP filters, ...).

use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{SockaddrLike, SockaddrStorage};

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub fn set_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    set_bytes(fd, level, name, &value.to_ne_bytes())
}

pub fn set_bytes(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &[u8],
) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, which outlives the call.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast(),
            value.len() as libc::socklen_t,
        )
    })
}

pub fn get_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len describe a c_int the kernel may fill.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

pub fn bind(fd: BorrowedFd<'_>, addr: SocketAddr) -> io::Result<()> {
    let sa = SockaddrStorage::from(addr);
    // SAFETY: sa is a valid sockaddr of the stated length.
    check(unsafe { libc::bind(fd.as_raw_fd(), sa.as_ptr(), sa.len()) })
}

/// connect(2); a non-blocking socket answers `EINPROGRESS` as an error.
pub fn connect(fd: BorrowedFd<'_>, addr: SocketAddr) -> io::Result<()> {
    let sa = SockaddrStorage::from(addr);
    // SAFETY: sa is a valid sockaddr of the stated length.
    check(unsafe { libc::connect(fd.as_raw_fd(), sa.as_ptr(), sa.len()) })
}

pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for reads of its length.
    let n = unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// recvfrom(2) without blocking; returns the length and the sender.
pub fn recv_from(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddr>)> {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: buf and ss are valid for writes of the lengths given.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&raw mut ss).cast(),
            &mut len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel wrote a sockaddr of `len` bytes into ss.
    let from = unsafe { SockaddrStorage::from_raw((&raw const ss).cast(), Some(len)) }
        .and_then(|s| to_std(&s));
    Ok((n as usize, from))
}

pub fn to_std(sa: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = sa.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    sa.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

/// Ask the kernel to stamp every packet (and error-queue entry) with its arrival time
/// (SO_TIMESTAMPNS, wall clock), so that an answer read late, on a busy machine, is still
/// judged by when it came.
pub fn enable_rx_timestamps(fd: BorrowedFd<'_>) -> io::Result<()> {
    set_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)
}

/// The arrival time in a control message, if it is an SCM_TIMESTAMPNS one.
pub fn cmsg_time(level: i32, kind: i32, data: &[u8]) -> Option<SystemTime> {
    if level != libc::SOL_SOCKET
        || kind != libc::SCM_TIMESTAMPNS
        || data.len() < size_of::<libc::timespec>()
    {
        return None;
    }
    let secs = i64::from_ne_bytes(data[0..8].try_into().ok()?);
    let nanos = i64::from_ne_bytes(data[8..16].try_into().ok()?);
    let d = Duration::from_secs(u64::try_from(secs).ok()?)
        + Duration::from_nanos(u64::try_from(nanos).ok()?);
    Some(UNIX_EPOCH + d)
}

/// recvmsg(2) without blocking: length, sender and kernel arrival time.
pub fn recv_timed(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Option<SocketAddr>, Option<SystemTime>)> {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut ss).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 16]>();
    // SAFETY: msg describes buffers that live across the call.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut at = None;
    // SAFETY: walking the control messages the kernel wrote into `msg`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let hdr = &*c;
            let len = hdr.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            let body = std::slice::from_raw_parts(libc::CMSG_DATA(c), len);
            at = at.or(cmsg_time(hdr.cmsg_level, hdr.cmsg_type, body));
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    // SAFETY: the kernel wrote a sockaddr of msg_namelen bytes into ss.
    let from = unsafe { SockaddrStorage::from_raw((&raw const ss).cast(), Some(msg.msg_namelen)) }
        .and_then(|s| to_std(&s));
    Ok((n as usize, from, at))
}

/// The path MTU of a connected socket (IP_MTU / IPV6_MTU), for local `EMSGSIZE`.
pub fn path_mtu(fd: BorrowedFd<'_>, v6: bool) -> Option<u32> {
    let r = if v6 {
        get_int(fd, libc::IPPROTO_IPV6, libc::IPV6_MTU)
    } else {
        get_int(fd, libc::IPPROTO_IP, libc::IP_MTU)
    };
    r.ok().and_then(|m| u32::try_from(m).ok())
}

/// Options every probe socket of a family gets: ICMP errors on the error queue, TTL, DF.
pub fn set_ip_options(
    fd: BorrowedFd<'_>,
    v6: bool,
    ttl: Option<u8>,
    dont_fragment: Option<bool>,
) -> io::Result<()> {
    if v6 {
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)?;
        if let Some(ttl) = ttl {
            set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ttl.into())?;
        }
        if let Some(df) = dont_fragment {
            set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, df.into())?;
        }
    } else {
        set_int(fd, libc::IPPROTO_IP, libc::IP_RECVERR, 1)?;
        if let Some(ttl) = ttl {
            set_int(fd, libc::IPPROTO_IP, libc::IP_TTL, ttl.into())?;
        }
        if let Some(df) = dont_fragment {
            let mode = if df {
                libc::IP_PMTUDISC_DO
            } else {
                libc::IP_PMTUDISC_DONT
            };
            set_int(fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, mode)?;
        }
    }
    Ok(())
}

/// getsockname(2) as a std address.
pub fn local_addr(fd: BorrowedFd<'_>) -> Option<SocketAddr> {
    nix::sys::socket::getsockname::<SockaddrStorage>(fd.as_raw_fd())
        .ok()
        .and_then(|s| to_std(&s))
}

#[cfg(test)]
mod timestamp_tests {
    use super::*;

    #[test]
    fn reads_an_scm_timestampns() {
        let mut data = Vec::new();
        data.extend_from_slice(&1_700_000_000i64.to_ne_bytes());
        data.extend_from_slice(&250_000_000i64.to_ne_bytes());
        let t = cmsg_time(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &data).expect("a time");
        assert_eq!(
            t.duration_since(UNIX_EPOCH).ok(),
            Some(Duration::from_millis(1_700_000_000_250))
        );
        assert_eq!(cmsg_time(libc::SOL_IP, libc::IP_RECVERR, &data), None);
        assert_eq!(
            cmsg_time(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &data[..8]),
            None
        );
    }
}
