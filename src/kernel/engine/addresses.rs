//! RTM_NEWADDR for interface addresses.

use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// An address on an interface. IPv6 addresses skip duplicate address detection: a lab
/// address must be usable the moment the build returns, not a second later.
pub fn add(ifindex: u32, net: &IpNet) -> RouteNetlinkMessage {
    let mut m = AddressMessage::default();
    m.header.index = ifindex;
    m.header.prefix_len = net.prefix_len();
    let addr = net.addr();
    match addr {
        IpAddr::V4(v4) => {
            m.header.family = AddressFamily::Inet;
            m.attributes.push(AddressAttribute::Local(addr));
            m.attributes.push(AddressAttribute::Address(addr));
            // The broadcast address `ip addr add ... brd +` would set; none for /31 and /32.
            if net.prefix_len() < 31
                && let IpNet::V4(n) = net
            {
                m.attributes
                    .push(AddressAttribute::Broadcast(n.broadcast()));
            }
            let _ = v4;
        }
        IpAddr::V6(_) => {
            m.header.family = AddressFamily::Inet6;
            m.attributes.push(AddressAttribute::Address(addr));
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
    }
    RouteNetlinkMessage::NewAddress(m)
}
