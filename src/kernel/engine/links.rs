//! RTM_NEWLINK messages for every interface kind. Each message carries the ifindex the
//! plan chose, the MTU, MAC, master and the up flag, so one request creates a fully set
//! up interface.

use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    GreIOFlags, InfoBridge, InfoData, InfoGre, InfoIpTunnel, InfoKind, InfoMacVlan, InfoVeth,
    InfoVlan, InfoVrf, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};

use crate::front::lab::{IfaceKind, Mac, MacvlanMode};
use crate::plan::{NewInterface, VethEnd};

fn base(name: &str, ifindex: u32, mtu: Option<u32>, mac: Option<Mac>, up: bool) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = ifindex;
    if up {
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
    }
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    if let Some(mtu) = mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = mac {
        m.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    m
}

/// A veth pair as the plan gives it, created from the namespace of the socket the request
/// goes to (that of `a`); `b_netns_fd` places the peer directly in its own.
pub fn veth(a: &VethEnd, b: &VethEnd, b_netns_fd: i32) -> RouteNetlinkMessage {
    let mut peer = base(&b.name, b.ifindex, b.mtu, b.mac, b.up);
    peer.attributes.push(LinkAttribute::NetNsFd(b_netns_fd));
    let mut m = base(&a.name, a.ifindex, a.mtu, a.mac, a.up);
    if let Some(master) = a.master {
        m.attributes.push(LinkAttribute::Controller(master));
    }
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    RouteNetlinkMessage::NewLink(m)
}

/// Any other kind, created in the namespace of the socket the message is sent on.
/// Returns None for kinds that are not links (loopback, veth).
pub fn interface(s: &NewInterface) -> Option<RouteNetlinkMessage> {
    // A bridge without a set address takes its lowest port's, and changes it as ports
    // join: neighbours that learned the old one stop answering (seen on half the builds
    // of a bridge with an address). A set address never changes.
    let mac = match (s.mac, &s.kind) {
        (None, IfaceKind::Bridge) => random_mac(),
        (mac, _) => mac,
    };
    let mut m = base(&s.name, s.ifindex, s.mtu, mac, s.up);
    let (kind, data) = match &s.kind {
        IfaceKind::Loopback | IfaceKind::Veth { .. } => return None,
        IfaceKind::Bridge => {
            let mut opts = vec![InfoBridge::StpState(
                netlink_packet_route::link::BridgeStpState::Disabled,
            )];
            if s.vlan_filtering {
                opts.push(InfoBridge::VlanFiltering(true));
            }
            (InfoKind::Bridge, Some(InfoData::Bridge(opts)))
        }
        IfaceKind::Dummy => (InfoKind::Dummy, None),
        IfaceKind::Vxlan {
            vni,
            local,
            remote,
            group,
            dstport,
            learning,
            ..
        } => {
            let mut v = vec![
                InfoVxlan::Id(*vni),
                InfoVxlan::Port(*dstport),
                InfoVxlan::Learning(*learning),
            ];
            // The kernel calls both a unicast remote and a multicast group "group".
            match remote.or(*group) {
                Some(IpAddr::V4(a)) => v.push(InfoVxlan::Group(a)),
                Some(IpAddr::V6(a)) => v.push(InfoVxlan::Group6(a)),
                None => {}
            }
            match local {
                Some(IpAddr::V4(a)) => v.push(InfoVxlan::Local(*a)),
                Some(IpAddr::V6(a)) => v.push(InfoVxlan::Local6(*a)),
                None => {}
            }
            if let Some(p) = s.parent {
                v.push(InfoVxlan::Link(p));
            }
            (InfoKind::Vxlan, Some(InfoData::Vxlan(v)))
        }
        IfaceKind::Ipip(e) => {
            let mut v = Vec::new();
            if let Some(l) = e.local {
                v.push(InfoIpTunnel::Local(l));
            }
            if let Some(r) = e.remote {
                v.push(InfoIpTunnel::Remote(r));
            }
            if let Some(t) = e.ttl {
                v.push(InfoIpTunnel::Ttl(t));
            }
            if let Some(p) = s.parent {
                v.push(InfoIpTunnel::Link(p));
            }
            (InfoKind::IpIp, Some(InfoData::IpTunnel(v)))
        }
        IfaceKind::Gre { ends: e, key } | IfaceKind::Gretap { ends: e, key } => {
            let mut v = Vec::new();
            if let Some(IpAddr::V4(l)) = e.local {
                v.push(InfoGre::Local(l));
            }
            if let Some(IpAddr::V4(r)) = e.remote {
                v.push(InfoGre::Remote(r));
            }
            if let Some(t) = e.ttl {
                v.push(InfoGre::Ttl(t));
            }
            if let Some(k) = key {
                v.push(InfoGre::IKey(*k));
                v.push(InfoGre::OKey(*k));
                v.push(InfoGre::IFlags(GreIOFlags::Key));
                v.push(InfoGre::OFlags(GreIOFlags::Key));
            }
            if let Some(p) = s.parent {
                v.push(InfoGre::Link(p));
            }
            if matches!(s.kind, IfaceKind::Gre { .. }) {
                (InfoKind::GreTun, Some(InfoData::GreTun(v)))
            } else {
                (InfoKind::GreTap, Some(InfoData::GreTap(v)))
            }
        }
        IfaceKind::Wireguard { .. } => (InfoKind::Wireguard, None),
        IfaceKind::Macvlan { mode, .. } => {
            let mode = match mode {
                MacvlanMode::Bridge => MacVlanMode::Bridge,
                MacvlanMode::Private => MacVlanMode::Private,
                MacvlanMode::Vepa => MacVlanMode::Vepa,
                MacvlanMode::Passthru => MacVlanMode::Passthrough,
            };
            if let Some(p) = s.parent {
                m.attributes.push(LinkAttribute::Link(p));
            }
            (
                InfoKind::MacVlan,
                Some(InfoData::MacVlan(vec![InfoMacVlan::Mode(mode)])),
            )
        }
        IfaceKind::Vlan { id, .. } => {
            if let Some(p) = s.parent {
                m.attributes.push(LinkAttribute::Link(p));
            }
            (
                InfoKind::Vlan,
                Some(InfoData::Vlan(vec![InfoVlan::Id(*id)])),
            )
        }
        IfaceKind::Vrf { table } => (
            InfoKind::Vrf,
            Some(InfoData::Vrf(vec![InfoVrf::TableId(*table)])),
        ),
    };
    let mut info = vec![LinkInfo::Kind(kind)];
    info.extend(data.map(LinkInfo::Data));
    m.attributes.push(LinkAttribute::LinkInfo(info));
    Some(RouteNetlinkMessage::NewLink(m))
}

/// RTM_NEWLINK without create flags: change an existing link by index.
pub fn set(ifindex: u32, f: impl FnOnce(&mut LinkMessage)) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = ifindex;
    f(&mut m);
    RouteNetlinkMessage::SetLink(m)
}

pub fn set_up(ifindex: u32, up: bool) -> RouteNetlinkMessage {
    set(ifindex, |m| {
        m.header.change_mask = LinkFlags::Up;
        if up {
            m.header.flags = LinkFlags::Up;
        }
    })
}

pub fn set_master(ifindex: u32, master: u32) -> RouteNetlinkMessage {
    set(ifindex, |m| {
        m.attributes.push(LinkAttribute::Controller(master))
    })
}

pub fn set_mtu(ifindex: u32, mtu: u32) -> RouteNetlinkMessage {
    set(ifindex, |m| m.attributes.push(LinkAttribute::Mtu(mtu)))
}

/// A random locally administered unicast MAC; None if no randomness can be read (the
/// kernel then picks one as usual).
pub fn random_mac() -> Option<Mac> {
    let mut m = [0u8; 6];
    getrandom::fill(&mut m[1..]).ok()?;
    m[0] = 0x02;
    Some(Mac(m))
}
