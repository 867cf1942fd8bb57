//! RTM_NEWNEIGH for permanent neighbour entries and bridge/VXLAN fdb entries.

use std::net::IpAddr;

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::lab::{Fdb, Neighbour};

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
