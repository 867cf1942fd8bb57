//! Thin socket-option and address helpers over libc, for the options std and tokio do not
//! expose (IP_RECVERR, IP_MTU_DISCOVER, ICMP filters, ...).

use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

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
