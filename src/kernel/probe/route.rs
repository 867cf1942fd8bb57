//! Route lookups (RTM_GETROUTE), like `ip route get DST [from SRC] [iif DEV]`.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use netlink_packet_core::NLM_F_REQUEST;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use tokio::time::Instant;

use crate::front::lab::Outcome;
use crate::kernel::netlink::wire;

use super::netns::{SocketKind, socket_in};
use super::{Observation, ProbeError, RouteInfo, sys, wait};

pub async fn run(
    ns: BorrowedFd<'_>,
    dst: IpAddr,
    source: Option<IpAddr>,
    iif: Option<&str>,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    let kind = SocketKind {
        domain: libc::AF_NETLINK,
        ty: libc::SOCK_RAW,
        protocol: libc::NETLINK_ROUTE,
    };
    let fd = socket_in(ns, kind).await?;
    let iif_index = match iif {
        Some(name) => Some(if_index(fd.as_fd(), name).map_err(|_| {
            ProbeError::Invalid(format!("route lookup: the node has no interface `{name}`"))
        })?),
        None => None,
    };
    let seq = (wait::unique() & 0x7fff_ffff) as u32;
    let request = encode(dst, source, iif_index, seq);
    let start = Instant::now();
    let deadline = start + timeout;
    sys::send(fd.as_fd(), &request).map_err(ProbeError::os("sending the route lookup"))?;
    let afd = wait::register(fd).map_err(ProbeError::os("registering the netlink socket"))?;
    let mut buf = vec![0u8; 16384];
    loop {
        match sys::recv_from(afd.get_ref().as_fd(), &mut buf) {
            Ok((n, _)) => {
                if let Some(answer) = decode(&buf[..n], seq) {
                    let elapsed = start.elapsed();
                    return answer
                        .and_then(|r| resolve_names(afd.get_ref().as_fd(), r))
                        .map(|(o, info)| Observation {
                            route: info,
                            ..Observation::new(o, elapsed)
                        })
                        .or_else(|errno| lookup_error(errno, elapsed));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait::ready(&afd, deadline)
                    .await
                    .map_err(ProbeError::os("waiting for the route lookup"))?
                {
                    return Err(ProbeError::Os {
                        what: "route lookup",
                        source: io::Error::from(io::ErrorKind::TimedOut),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(ProbeError::Os {
                    what: "reading the route lookup",
                    source: e,
                });
            }
        }
    }
}

/// What the kernel answered before interface indexes are turned into names.
struct Answer {
    kind: RouteType,
    oif: Option<u32>,
    via: Option<IpAddr>,
    src: Option<IpAddr>,
    table: u32,
}

fn encode(dst: IpAddr, source: Option<IpAddr>, iif: Option<u32>, seq: u32) -> Vec<u8> {
    let mut msg = RouteMessage::default();
    msg.header.address_family = match dst {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    msg.header.destination_prefix_length = if dst.is_ipv4() { 32 } else { 128 };
    // Report the table the answer came from, not just "main".
    msg.header.flags = RouteFlags::LookupTable;
    msg.attributes.push(RouteAttribute::Destination(addr(dst)));
    if let Some(s) = source {
        msg.header.source_prefix_length = if s.is_ipv4() { 32 } else { 128 };
        msg.attributes.push(RouteAttribute::Source(addr(s)));
    }
    if let Some(i) = iif {
        msg.attributes.push(RouteAttribute::Iif(i));
    }
    wire::encode(RouteNetlinkMessage::GetRoute(msg), NLM_F_REQUEST, seq)
}

fn addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

fn ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// `Some(Ok)` for our answer, `Some(Err(errno))` for our error, `None` while the
/// datagram held only other requests' replies.
fn decode(buf: &[u8], seq: u32) -> Option<Result<Answer, i32>> {
    let mut replies = Vec::new();
    match wire::parse::<RouteNetlinkMessage>(buf, seq, NLM_F_REQUEST, &mut replies) {
        Err(e) => Some(Err(e.errno)),
        Ok(false) => None,
        Ok(true) => match replies.first() {
            Some(RouteNetlinkMessage::NewRoute(r)) => Some(Ok(answer(r))),
            _ => Some(Err(libc::EBADMSG)),
        },
    }
}

fn answer(r: &RouteMessage) -> Answer {
    let mut a = Answer {
        kind: r.header.kind,
        oif: None,
        via: None,
        src: None,
        table: u32::from(r.header.table),
    };
    for attr in &r.attributes {
        match attr {
            RouteAttribute::Oif(i) => a.oif = Some(*i),
            RouteAttribute::Gateway(g) => a.via = ip(g),
            RouteAttribute::Via(RouteVia::Inet(v4)) => a.via = Some(IpAddr::V4(*v4)),
            RouteAttribute::Via(RouteVia::Inet6(v6)) => a.via = Some(IpAddr::V6(*v6)),
            RouteAttribute::PrefSource(s) => a.src = ip(s),
            RouteAttribute::Table(t) => a.table = *t,
            _ => {}
        }
    }
    a
}

fn resolve_names(fd: BorrowedFd<'_>, a: Answer) -> Result<(Outcome, Option<RouteInfo>), i32> {
    let dev = a.oif.and_then(|i| if_name(fd, i).ok());
    Ok((
        Outcome::Ok,
        Some(RouteInfo {
            dev,
            via: a.via,
            src: a.src,
            kind: type_name(a.kind),
            table: Some(a.table),
        }),
    ))
}

/// The lookup failed: `ENETUNREACH` is no route at all; the kernel answers the lookup of an
/// unreachable, prohibit or blackhole route with that route's error, which names its type.
fn lookup_error(errno: i32, elapsed: Duration) -> Result<Observation, ProbeError> {
    let kind = match errno {
        libc::ENETUNREACH => None,
        libc::EHOSTUNREACH => Some("unreachable"),
        libc::EACCES => Some("prohibit"),
        libc::EINVAL => Some("blackhole"),
        _ => {
            return Err(ProbeError::Os {
                what: "route lookup",
                source: io::Error::from_raw_os_error(errno),
            });
        }
    };
    Ok(Observation {
        route: kind.map(|k| RouteInfo {
            dev: None,
            via: None,
            src: None,
            kind: k.to_string(),
            table: None,
        }),
        detail: Some(crate::error::errno_words(errno)),
        ..Observation::new(Outcome::NoRoute, elapsed)
    })
}

fn type_name(t: RouteType) -> String {
    match t {
        RouteType::Unicast => "unicast",
        RouteType::Local => "local",
        RouteType::Broadcast => "broadcast",
        RouteType::Anycast => "anycast",
        RouteType::Multicast => "multicast",
        RouteType::BlackHole => "blackhole",
        RouteType::Unreachable => "unreachable",
        RouteType::Prohibit => "prohibit",
        RouteType::Throw => "throw",
        RouteType::Nat => "nat",
        other => return format!("{other:?}").to_lowercase(),
    }
    .to_string()
}

/// Interface name -> index inside the socket's namespace (SIOCGIFINDEX answers for the
/// namespace of the socket it is issued on).
fn if_index(fd: BorrowedFd<'_>, name: &str) -> io::Result<u32> {
    let mut req = ifreq(name)?;
    // SAFETY: req is a valid ifreq the kernel fills in.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFINDEX, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFINDEX filled the ifindex member.
    Ok(unsafe { req.ifr_ifru.ifru_ifindex } as u32)
}

fn if_name(fd: BorrowedFd<'_>, index: u32) -> io::Result<String> {
    let mut req = ifreq("")?;
    req.ifr_ifru.ifru_ifindex = index as libc::c_int;
    // SAFETY: req is a valid ifreq the kernel fills in.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFNAME, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let name: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&name).into_owned())
}

fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: an all-zero ifreq is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() || name.contains('\0') {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let buf = encode(
            "10.0.0.1".parse().unwrap(),
            Some("10.0.0.2".parse().unwrap()),
            Some(3),
            7,
        );
        let msg =
            netlink_packet_core::NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf).unwrap();
        assert_eq!(msg.header.sequence_number, 7);
        let netlink_packet_core::NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetRoute(r)) =
            msg.payload
        else {
            panic!("not a GetRoute");
        };
        assert_eq!(r.header.destination_prefix_length, 32);
        assert!(r.attributes.contains(&RouteAttribute::Iif(3)));
        assert!(r.header.flags.contains(RouteFlags::LookupTable));
    }

    #[test]
    fn lookup_errors_name_the_route_type() {
        let o = lookup_error(libc::EINVAL, Duration::ZERO).unwrap();
        assert_eq!(o.outcome, Outcome::NoRoute);
        assert_eq!(o.route.unwrap().kind, "blackhole");
        assert_eq!(
            lookup_error(libc::ENETUNREACH, Duration::ZERO)
                .unwrap()
                .route,
            None
        );
        assert!(lookup_error(libc::ENODEV, Duration::ZERO).is_err());
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name(RouteType::Unicast), "unicast");
        assert_eq!(type_name(RouteType::BlackHole), "blackhole");
    }
}
