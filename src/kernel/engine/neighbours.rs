//! RTM_NEWNEIGH for permanent neighbour entries and bridge/VXLAN fdb entries.

use std::net::IpAddr;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::front::lab::{Fdb, Neighbour};

fn addr(a: IpAddr) -> NeighbourAddress {
    match a {
        IpAddr::V4(v) => NeighbourAddress::Inet(v),
        IpAddr::V6(v) => NeighbourAddress::Inet6(v),
    }
}

pub fn neighbour(n: &Neighbour, ifindex: u32) -> RouteNetlinkMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = if n.address.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.ifindex = ifindex;
    m.header.state = NeighbourState::Permanent;
    m.attributes
        .push(NeighbourAttribute::Destination(addr(n.address)));
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(n.mac.0.to_vec()));
    RouteNetlinkMessage::NewNeighbour(m)
}

/// Like `bridge fdb add MAC dev DEV dst IP self permanent`.
pub fn fdb(f: &Fdb, ifindex: u32) -> RouteNetlinkMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = ifindex;
    m.header.state = NeighbourState::Permanent;
    m.header.flags = NeighbourFlags::Own;
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(f.mac.0.to_vec()));
    if let Some(d) = f.dst {
        m.attributes.push(NeighbourAttribute::Destination(addr(d)));
    }
    RouteNetlinkMessage::NewNeighbour(m)
}

/// A neighbour entry's identity within a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeighKey {
    pub ifindex: u32,
    pub dst: IpAddr,
}

/// The IPv4 and IPv6 neighbour entries of the namespace behind `nl`.
pub async fn list(
    nl: &crate::kernel::netlink::Netlink,
) -> Result<Vec<NeighKey>, crate::kernel::netlink::NlError> {
    let msgs = nl
        .request(
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            netlink_packet_core::NLM_F_REQUEST | netlink_packet_core::NLM_F_DUMP,
        )
        .await?;
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewNeighbour(n) = m else {
            continue;
        };
        for a in &n.attributes {
            let dst = match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => IpAddr::V4(*v),
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(v)) => IpAddr::V6(*v),
                _ => continue,
            };
            out.push(NeighKey {
                ifindex: n.header.ifindex,
                dst,
            });
        }
    }
    Ok(out)
}

pub fn delete(key: &NeighKey) -> RouteNetlinkMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = if key.dst.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.ifindex = key.ifindex;
    m.attributes
        .push(NeighbourAttribute::Destination(addr(key.dst)));
    RouteNetlinkMessage::DelNeighbour(m)
}
