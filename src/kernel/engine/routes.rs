//! RTM_NEWROUTE / RTM_DELROUTE for lab routes.

use std::net::IpAddr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric,
    RouteProtocol, RouteScope, RouteType as NlRouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::front::lab::{Route, RouteType};

fn addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

pub fn message(r: &Route, dev_ifindex: Option<u32>) -> RouteMessage {
    let mut m = RouteMessage::default();
    let v4 = r.to.addr().is_ipv4();
    m.header.address_family = if v4 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.destination_prefix_length = r.to.prefix_len();
    m.header.protocol = RouteProtocol::Static;
    m.header.kind = match r.kind {
        RouteType::Unicast => NlRouteType::Unicast,
        RouteType::Blackhole => NlRouteType::BlackHole,
        RouteType::Unreachable => NlRouteType::Unreachable,
        RouteType::Prohibit => NlRouteType::Prohibit,
    };
    // Like `ip route`: a route without gateway is on-link (scope link), the rest global.
    m.header.scope = if r.kind == RouteType::Unicast && r.via.is_none() {
        RouteScope::Link
    } else {
        RouteScope::Universe
    };
    let table = r.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
    m.header.table = u8::try_from(table).unwrap_or(0);
    if table > 255 {
        m.attributes.push(RouteAttribute::Table(table));
    }
    if r.to.prefix_len() > 0 {
        m.attributes
            .push(RouteAttribute::Destination(addr(r.to.network())));
    }
    if let Some(v) = r.via {
        m.attributes.push(RouteAttribute::Gateway(addr(v)));
    }
    if let Some(i) = dev_ifindex {
        m.attributes.push(RouteAttribute::Oif(i));
    }
    if let Some(s) = r.src {
        m.attributes.push(RouteAttribute::PrefSource(addr(s)));
    }
    if let Some(p) = r.metric {
        m.attributes.push(RouteAttribute::Priority(p));
    }
    if let Some(mtu) = r.mtu {
        m.attributes
            .push(RouteAttribute::Metrics(vec![RouteMetric::Mtu(mtu)]));
    }
    if r.onlink {
        m.header.flags = RouteFlags::Onlink;
    }
    m
}

pub fn add(r: &Route, dev_ifindex: Option<u32>) -> RouteNetlinkMessage {
    RouteNetlinkMessage::NewRoute(message(r, dev_ifindex))
}

pub fn del(r: &Route, dev_ifindex: Option<u32>) -> RouteNetlinkMessage {
    let mut m = message(r, dev_ifindex);
    // Deleting matches on what is given; the protocol of the route is not given here.
    m.header.protocol = RouteProtocol::Unspec;
    m.header.scope = RouteScope::NoWhere;
    RouteNetlinkMessage::DelRoute(m)
}
