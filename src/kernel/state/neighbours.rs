//! A node's neighbour entries, read back and rendered for snapshots.

use std::collections::BTreeMap;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};

use super::Links;
use crate::kernel::netlink::{Netlink, NlError};

/// Neighbour entries with the neighbour named ("10.0.0.2 dev eth0 is rds:eth0") instead of
/// its random MAC. Timer states (reachable, stale, delay, probe) depend on timing, so
/// they are folded into "resolved"; failed resolutions and permanent entries are shown.
pub async fn read(
    nl: &Netlink,
    links: &Links,
    owners: &BTreeMap<[u8; 6], String>,
) -> Result<Vec<String>, NlError> {
    let msgs = nl
        .request(
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            NLM_F_REQUEST | NLM_F_DUMP,
        )
        .await?;
    let mut out = Vec::new();
    for m in msgs {
        let RouteNetlinkMessage::NewNeighbour(n) = m else {
            continue;
        };
        let mut dst = None;
        let mut lladdr = None;
        for a in &n.attributes {
            match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => {
                    dst = Some(IpAddr::V4(*v))
                }
                NeighbourAttribute::Destination(NeighbourAddress::Inet6(v)) => {
                    dst = Some(IpAddr::V6(*v))
                }
                NeighbourAttribute::LinkLayerAddress(l) => {
                    lladdr = <[u8; 6]>::try_from(l.as_slice()).ok()
                }
                _ => {}
            }
        }
        let Some(dst) = dst else { continue };
        if let IpAddr::V6(v6) = dst
            && (v6.segments()[0] & 0xffc0 == 0xfe80 || v6.is_multicast())
        {
            continue;
        }
        if dst.is_multicast() {
            continue;
        }
        let dev = links.name(n.header.ifindex);
        let who = |mac: [u8; 6]| {
            owners.get(&mac).cloned().unwrap_or_else(|| {
                format!(
                    "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
                )
            })
        };
        let line = match (n.header.state, lladdr) {
            (NeighbourState::Permanent, Some(mac)) => {
                format!("{dst} dev {dev} is {} permanent", who(mac))
            }
            (NeighbourState::Noarp, _) => continue,
            (NeighbourState::Failed | NeighbourState::Incomplete, _) => {
                format!("{dst} dev {dev} failed")
            }
            (_, Some(mac)) => format!("{dst} dev {dev} is {}", who(mac)),
            (_, None) => continue,
        };
        out.push(line);
    }
    out.sort();
    out.dedup();
    Ok(out)
}
