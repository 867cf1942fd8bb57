//! A node's routes, read back over netlink and rendered as `ip route` would.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteMetric, RouteProtocol, RouteType,
};

use super::Links;
use crate::kernel::netlink::{Netlink, NlError};

pub fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

pub fn type_name(t: RouteType) -> String {
    match t {
        RouteType::Unicast => "unicast".into(),
        RouteType::Local => "local".into(),
        RouteType::Broadcast => "broadcast".into(),
        RouteType::Anycast => "anycast".into(),
        RouteType::Multicast => "multicast".into(),
        RouteType::BlackHole => "blackhole".into(),
        RouteType::Unreachable => "unreachable".into(),
        RouteType::Prohibit => "prohibit".into(),
        RouteType::Throw => "throw".into(),
        RouteType::Nat => "nat".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Routes of every table but `local`, like `ip route show table all`, without the IPv6
/// routes the kernel adds for link-local and multicast addressing on every interface.
pub async fn read(nl: &Netlink, links: &Links) -> Result<Vec<String>, NlError> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut req = RouteMessage::default();
        req.header.address_family = family;
        let msgs = nl
            .request(
                RouteNetlinkMessage::GetRoute(req),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await?;
        for m in msgs {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                continue;
            };
            if let Some(line) = render(&r, links) {
                out.push(line);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn render(r: &RouteMessage, links: &Links) -> Option<String> {
    let mut table = u32::from(r.header.table);
    let mut dst = None;
    let mut via = None;
    let mut dev = None;
    let mut src = None;
    let mut metric = None;
    let mut mtu = None;
    for a in &r.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => dst = route_addr(d),
            RouteAttribute::Gateway(g) => via = route_addr(g),
            RouteAttribute::Oif(i) => dev = Some(links.name(*i)),
            RouteAttribute::PrefSource(s) => src = route_addr(s),
            RouteAttribute::Priority(p) => metric = Some(*p),
            RouteAttribute::Metrics(ms) => {
                for m in ms {
                    if let RouteMetric::Mtu(v) = m {
                        mtu = Some(*v);
                    }
                }
            }
            _ => {}
        }
    }
    if table == 255 {
        return None;
    }
    let v6 = r.header.address_family == AddressFamily::Inet6;
    if let Some(IpAddr::V6(d)) = dst
        && (d.segments()[0] & 0xffc0 == 0xfe80 || d.segments()[0] & 0xff00 == 0xff00)
    {
        return None;
    }
    let mut s = String::new();
    if v6 {
        s.push_str("inet6 ");
    }
    if r.header.kind != RouteType::Unicast {
        s.push_str(&type_name(r.header.kind));
        s.push(' ');
    }
    match dst {
        Some(d) => s.push_str(&format!("{d}/{}", r.header.destination_prefix_length)),
        None => s.push_str("default"),
    }
    if let Some(v) = via {
        s.push_str(&format!(" via {v}"));
    }
    if let Some(d) = dev {
        s.push_str(&format!(" dev {d}"));
    }
    if r.header.protocol == RouteProtocol::Kernel {
        s.push_str(" proto kernel");
    }
    if let Some(src) = src {
        s.push_str(&format!(" src {src}"));
    }
    // IPv6 routes always carry a metric (1024 by default): print only what differs.
    if let Some(m) = metric
        && !(v6 && (m == 1024 || m == 256))
    {
        s.push_str(&format!(" metric {m}"));
    }
    if let Some(m) = mtu {
        s.push_str(&format!(" mtu {m}"));
    }
    if table != 254 {
        s.push_str(&format!(" table {table}"));
    }
    Some(s)
}
