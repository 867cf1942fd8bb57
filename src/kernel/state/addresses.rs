//! A node's addresses, read back over netlink and rendered for snapshots.

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};

use super::Links;
use crate::kernel::netlink::{Netlink, NlError};

/// "eth0 10.0.0.1/24", sorted; IPv6 link-local addresses are left out (derived from
/// random MACs) and so is the loopback's own 127.0.0.1/8 and ::1/128.
pub async fn read(nl: &Netlink, links: &Links) -> Result<Vec<String>, NlError> {
    let msgs = nl
        .request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )
        .await?;
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        let addr = a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let addr = addr.or_else(|| {
            a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            })
        });
        let Some(ip) = addr else { continue };
        if let std::net::IpAddr::V6(v6) = ip
            && v6.segments()[0] & 0xffc0 == 0xfe80
        {
            continue;
        }
        let dev = links.name(a.header.index);
        let text = format!("{ip}/{}", a.header.prefix_len);
        if dev == "lo" && (text == "127.0.0.1/8" || text == "::1/128") {
            continue;
        }
        out.push(format!("{dev} {text}"));
    }
    out.sort();
    Ok(out)
}
