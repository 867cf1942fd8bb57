//! Built-in responders (`[[nodes.X.listen]]`): TCP accept-and-close or echo, UDP echo,
//! served inside a node's namespace as tokio tasks. No external tools needed.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::cmsg_space;
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, sendmsg,
};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

use crate::front::lab::{Listen, ListenMode, ListenProto};

use super::ProbeError;
use super::netns::{SocketKind, socket_in};
use super::sys;

/// Running responder sockets; dropping it (or `stop`) closes them and every connection.
#[derive(Debug)]
pub struct Responder {
    tasks: Vec<JoinHandle<()>>,
    addrs: Vec<SocketAddr>,
}

impl Responder {
    /// The bound addresses (with the port), one per socket.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops serving: the sockets are closed once the tasks are gone.
    pub async fn stop(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts serving `listen` inside `ns`. Returns once every socket is bound and listening,
/// so a probe started afterwards cannot race it.
///
/// Without an address it binds every address of the node: one IPv4 and one IPv6-only
/// socket, so the answer comes from the family the probe used.
pub async fn start(ns: BorrowedFd<'_>, listen: &Listen) -> Result<Responder, ProbeError> {
    let addrs: Vec<SocketAddr> = match listen.address {
        Some(a) => vec![SocketAddr::new(a, listen.port)],
        None => vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), listen.port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), listen.port),
        ],
    };
    let mut r = Responder {
        tasks: Vec::new(),
        addrs: Vec::new(),
    };
    for addr in addrs {
        let fd = socket_in(ns, kind(&listen.proto, addr)).await?;
        prepare(fd.as_fd(), &listen.proto, addr).map_err(|e| {
            ProbeError::Invalid(format!(
                "listen on {addr} ({}): {}",
                if listen.proto == ListenProto::Tcp {
                    "tcp"
                } else {
                    "udp"
                },
                e
            ))
        })?;
        let local = sys::local_addr(fd.as_fd()).unwrap_or(addr);
        let task = match listen.proto {
            ListenProto::Tcp => {
                let l = TcpListener::from_std(std::net::TcpListener::from(fd))
                    .map_err(ProbeError::os("registering the listener"))?;
                tokio::spawn(serve_tcp(l, listen.mode))
            }
            ListenProto::Udp => {
                let s = UdpSocket::from_std(std::net::UdpSocket::from(fd))
                    .map_err(ProbeError::os("registering the udp responder"))?;
                tokio::spawn(serve_udp(s))
            }
        };
        r.tasks.push(task);
        r.addrs.push(local);
    }
    Ok(r)
}

fn kind(proto: &ListenProto, addr: SocketAddr) -> SocketKind {
    SocketKind {
        domain: if addr.is_ipv6() {
            libc::AF_INET6
        } else {
            libc::AF_INET
        },
        ty: match proto {
            ListenProto::Tcp => libc::SOCK_STREAM,
            ListenProto::Udp => libc::SOCK_DGRAM,
        },
        protocol: 0,
    }
}

fn prepare(fd: BorrowedFd<'_>, proto: &ListenProto, addr: SocketAddr) -> io::Result<()> {
    sys::set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if addr.is_ipv6() {
        // Explicit, so the node's bindv6only sysctl cannot make the two sockets collide.
        sys::set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    if *proto == ListenProto::Udp {
        // Answer from the address the datagram was sent to, whatever routing would pick.
        if addr.is_ipv6() {
            sys::set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        } else {
            sys::set_int(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
        }
    }
    sys::bind(fd, addr)?;
    if *proto == ListenProto::Tcp {
        // SAFETY: listen(2) on a socket we own.
        if unsafe { libc::listen(fd.as_raw_fd(), 1024) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

async fn serve_tcp(listener: TcpListener, mode: ListenMode) {
    // Connections live in the set, so aborting this task closes them all.
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            // EMFILE and the like: keep serving rather than vanish.
            tokio::task::yield_now().await;
            continue;
        };
        match mode {
            ListenMode::Close => drop(stream),
            ListenMode::Echo => {
                conns.spawn(echo(stream));
            }
        }
    }
}

async fn echo(mut stream: TcpStream) {
    let (mut rd, mut wr) = stream.split();
    if tokio::io::copy(&mut rd, &mut wr).await.is_ok() {
        let _ = wr.shutdown().await;
    }
}

async fn serve_udp(sock: UdpSocket) {
    let mut buf = vec![0u8; 65536];
    loop {
        if sock.readable().await.is_err() {
            return;
        }
        while let Ok((n, peer, local)) =
            sock.try_io(Interest::READABLE, || receive(sock.as_fd(), &mut buf))
        {
            let _ = reply(sock.as_fd(), &buf[..n], peer, local);
        }
    }
}

/// Where a datagram was sent to: its destination address and interface.
enum Arrival {
    V4(libc::in_pktinfo),
    V6(libc::in6_pktinfo),
    Unknown,
}

fn receive(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, SockaddrStorage, Arrival)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut cmsg = cmsg_space!(libc::in6_pktinfo);
    let msg = recvmsg::<SockaddrStorage>(
        fd.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let mut arrival = Arrival::Unknown;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv4PacketInfo(i) => arrival = Arrival::V4(i),
                ControlMessageOwned::Ipv6PacketInfo(i) => arrival = Arrival::V6(i),
                _ => {}
            }
        }
    }
    let peer = msg
        .address
        .ok_or_else(|| io::Error::other("datagram without sender"))?;
    Ok((msg.bytes, peer, arrival))
}

fn reply(
    fd: BorrowedFd<'_>,
    data: &[u8],
    peer: SockaddrStorage,
    arrival: Arrival,
) -> io::Result<()> {
    let iov = [IoSlice::new(data)];
    let send = |cmsgs: &[ControlMessage]| {
        sendmsg(
            fd.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_DONTWAIT,
            Some(&peer),
        )
    };
    let sent = match arrival {
        Arrival::V4(i) => {
            let info = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: i.ipi_addr,
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            send(&[ControlMessage::Ipv4PacketInfo(&info)])
        }
        Arrival::V6(i) => {
            let link_local =
                i.ipi6_addr.s6_addr[0] == 0xfe && i.ipi6_addr.s6_addr[1] & 0xc0 == 0x80;
            let info = libc::in6_pktinfo {
                ipi6_addr: i.ipi6_addr,
                ipi6_ifindex: if link_local { i.ipi6_ifindex } else { 0 },
            };
            send(&[ControlMessage::Ipv6PacketInfo(&info)])
        }
        Arrival::Unknown => send(&[]),
    };
    // A datagram to a broadcast or multicast address cannot be answered from it.
    match sent {
        Ok(_) => Ok(()),
        Err(_) => send(&[]).map(|_| ()).map_err(io::Error::from),
    }
}
