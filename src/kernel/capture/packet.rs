//! An AF_PACKET socket bound to one interface of a node, created inside the node's
//! namespace by the probes' namespace thread and checked by the host guard like every
//! probe socket: a capture can never listen on the host's interfaces.
//!
//! AF_PACKET needs CAP_NET_RAW in the user namespace that owns the network namespace, so
//! rootless runs capture too (the lab's namespaces belong to topolab's user namespace).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{ControlMessageOwned, LinkAddr, MsgFlags, recvmsg, setsockopt, sockopt};

use super::pcapng::{Direction, LinkType};
use crate::kernel::probe::{ProbeError, SocketKind, socket_in};

/// Why a capture socket could not be opened on an interface.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The socket could not be made in the node's namespace.
    #[error(transparent)]
    Socket(#[from] ProbeError),
    /// The interface could not be looked up (typically: there is none of that name).
    #[error("interface {iface}: {source}")]
    Interface {
        iface: String,
        #[source]
        source: io::Error,
    },
    #[error("SO_TIMESTAMPNS: {0}")]
    Timestamps(#[source] Errno),
    #[error("binding to {iface}: {source}")]
    Bind {
        iface: String,
        #[source]
        source: io::Error,
    },
}

const ETH_P_ALL: u16 = 0x0003;
/// Receive queue of one capture socket, at most (the kernel doubles it for bookkeeping).
pub const RCVBUF_MAX: usize = 1 << 20;
/// Receive queues of one lab's capture sockets, together: the bound on kernel memory a
/// lab's capture holds when its reader falls behind, whatever the number of interfaces.
pub const RCVBUF_PER_LAB: usize = 128 << 20;
/// The kernel's default (net.core.rmem_default); never asked for less.
const RCVBUF_MIN: usize = 212_992;

/// Queue size for each of `sockets` capture sockets of one lab.
pub fn queue_size(sockets: usize) -> usize {
    (RCVBUF_PER_LAB / sockets.max(1)).clamp(RCVBUF_MIN, RCVBUF_MAX)
}
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86DD;

pub struct PacketSocket {
    fd: OwnedFd,
    /// The interface has no link-layer header (wireguard, ipip, gre): its packets are read
    /// by a cooked socket and given a synthesized Ethernet header.
    pub cooked: bool,
}

/// Length of the Ethernet header synthesized for cooked interfaces.
const ETH_HLEN: usize = 14;

/// One packet read: its length in the buffer, its length on the wire, kernel timestamp.
pub struct Packet {
    pub captured: usize,
    pub original: usize,
    pub ts_ns: u64,
    pub direction: Direction,
}

impl PacketSocket {
    /// A capture socket on `iface` inside the namespace `ns`, receiving nothing until it
    /// is bound (protocol 0 at creation), so no packet of another interface slips in.
    /// `queue` is the receive queue size to ask for (see `queue_size`).
    pub async fn open(
        ns: BorrowedFd<'_>,
        iface: &str,
        queue: usize,
    ) -> Result<PacketSocket, OpenError> {
        let raw = socket_in(ns, kind(libc::SOCK_RAW)).await?;
        let (ifindex, hatype) =
            lookup(raw.as_fd(), iface).map_err(|source| OpenError::Interface {
                iface: iface.to_string(),
                source,
            })?;
        // Interfaces without a link-layer header (wireguard, ipip, gre) are read by a
        // cooked socket, which strips whatever pseudo-header the driver has, and their
        // packets get an Ethernet header with zero addresses: libpcap (tcpdump -r)
        // refuses a pcapng file whose interfaces have different link types, so every
        // interface of a lab's file is Ethernet.
        let (fd, cooked) = if hatype == libc::ARPHRD_ETHER || hatype == libc::ARPHRD_LOOPBACK {
            (raw, false)
        } else {
            let cooked = socket_in(ns, kind(libc::SOCK_DGRAM)).await?;
            (cooked, true)
        };
        setsockopt(&fd, sockopt::ReceiveTimestampns, &true).map_err(OpenError::Timestamps)?;
        // A broadcast storm (every ARP of a 100-host matrix reaches every host) outruns
        // the default 208 KiB queue while the reader waits for a core. FORCE passes
        // rmem_max but needs CAP_NET_ADMIN on the host; rootless gets what rmem_max allows.
        if setsockopt(&fd, sockopt::RcvBufForce, &queue).is_err() {
            let _ = setsockopt(&fd, sockopt::RcvBuf, &queue);
        }
        bind(fd.as_fd(), ifindex).map_err(|source| OpenError::Bind {
            iface: iface.to_string(),
            source,
        })?;
        Ok(PacketSocket { fd, cooked })
    }

    /// Every packet is recorded as Ethernet (see `cooked`).
    pub fn link(&self) -> LinkType {
        LinkType::Ethernet
    }

    /// What the file says about the interface: whether its Ethernet header is real.
    pub fn description(&self) -> &'static str {
        if self.cooked {
            "no link-layer header on this interface: the Ethernet header is synthesized (zero addresses)"
        } else {
            ""
        }
    }

    /// The next queued packet, `None` when the queue is empty.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Packet>> {
        let skip = if self.cooked { ETH_HLEN } else { 0 };
        loop {
            let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
            let mut iov = [io::IoSliceMut::new(&mut buf[skip..])];
            let msg = match recvmsg::<LinkAddr>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(m) => m,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EINTR) => continue,
                // The interface went down (a step, or `up = false`): the socket reports
                // it once and stays bound; it receives again when the interface is up.
                Err(Errno::ENETDOWN) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut ts_ns = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    if let ControlMessageOwned::ScmTimestampns(t) = c {
                        ts_ns = Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64);
                    }
                }
            }
            let bytes = msg.bytes;
            let Some(addr) = msg.address else { continue };
            if self.cooked {
                let proto = u16::from_be(addr.protocol());
                if proto != ETH_P_IP && proto != ETH_P_IPV6 {
                    continue;
                }
                buf[..12].fill(0);
                buf[12..ETH_HLEN].copy_from_slice(&proto.to_be_bytes());
            }
            let direction = if addr.pkttype() == libc::PACKET_OUTGOING {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let original = bytes + skip;
            return Ok(Some(Packet {
                captured: original.min(buf.len()),
                original,
                ts_ns: ts_ns.unwrap_or_else(now_ns),
                direction,
            }));
        }
    }

    /// Packets the socket saw and those the kernel dropped for want of buffer space, since
    /// the last call (the kernel resets them on read).
    pub fn stats(&self) -> super::pcapng::Stats {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS fills a tpacket_stats of the given length.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut st).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return super::pcapng::Stats::default();
        }
        // tp_packets already includes the drops.
        super::pcapng::Stats {
            received: st.tp_packets as u64,
            dropped: st.tp_drops as u64,
        }
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn kind(ty: libc::c_int) -> SocketKind {
    SocketKind {
        domain: libc::AF_PACKET,
        ty,
        protocol: 0,
    }
}

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a valid interface name",
        ));
    }
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(req)
}

/// Index and hardware type of `name`, looked up by ioctls on the socket itself: they
/// resolve in the socket's namespace, the node's, whatever thread calls them.
fn lookup(sock: BorrowedFd<'_>, name: &str) -> io::Result<(i32, u16)> {
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFINDEX reads ifr_name and writes ifr_ifindex of the ifreq given.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFINDEX, &mut req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the union member SIOCGIFINDEX wrote.
    let index = unsafe { req.ifr_ifru.ifru_ifindex };
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFHWADDR reads ifr_name and writes ifr_hwaddr of the ifreq given.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the union member SIOCGIFHWADDR wrote.
    let hatype = unsafe { req.ifr_ifru.ifru_hwaddr.sa_family };
    Ok((index, hatype))
}

fn bind(sock: BorrowedFd<'_>, ifindex: i32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ETH_P_ALL.to_be();
    addr.sll_ifindex = ifindex;
    // SAFETY: bind with a sockaddr_ll of its own size.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_share_a_per_lab_budget() {
        assert_eq!(queue_size(1), RCVBUF_MAX);
        assert_eq!(queue_size(128), RCVBUF_MAX);
        assert_eq!(queue_size(512), 256 << 10);
        assert_eq!(queue_size(100_000), RCVBUF_MIN);
        for n in [1, 200, 2000] {
            assert!(queue_size(n) * n <= RCVBUF_PER_LAB.max(RCVBUF_MIN * n));
        }
    }
}
