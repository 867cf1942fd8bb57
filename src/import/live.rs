//! `import --live`: the network namespace topolab runs in, read over netlink dumps.
//!
//! Read-only by construction: [`requests`] is the complete list of what is sent to the
//! kernel, every one an `RTM_GET*` with `NLM_F_REQUEST | NLM_F_DUMP` (a unit test checks
//! it); WireGuard interfaces are read with the two generic netlink gets of
//! [`wireguard_requests`] (the family lookup and WG_CMD_GET_DEVICE), whose private keys are
//! dropped unread; sysctls are read from /proc/sys (never written); the only program run
//! is `nft list ruleset`.

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoData, InfoIpTunnel, InfoKind, InfoMacVlan, InfoVlan, InfoVrf, InfoVxlan, LinkAttribute,
    LinkFlags, LinkInfo, LinkLayerType, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteMetric, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_packet_wireguard::{
    WireguardAllowedIpAttr, WireguardAttribute, WireguardCmd, WireguardMessage,
    WireguardPeerAttribute,
};
use netlink_sys::protocols::{NETLINK_GENERIC, NETLINK_ROUTE};

use super::model::{
    Addr, FdbInfo, Host, LinkInfo as Link, LinkKind, NeighInfo, RouteInfo, RuleInfo, WgPeer,
};
use super::to_lab::SYSCTL_DEFAULTS;
use crate::error::{Error, Result};
use crate::kernel::netlink::{NlError, SyncSocket};

/// Every netlink message `--live` sends, with its flags. Nothing else is ever sent.
pub fn requests() -> Vec<(RouteNetlinkMessage, u16)> {
    let dump = NLM_F_REQUEST | NLM_F_DUMP;
    let mut route4 = RouteMessage::default();
    route4.header.address_family = AddressFamily::Inet;
    let mut route6 = RouteMessage::default();
    route6.header.address_family = AddressFamily::Inet6;
    let mut rule4 = RuleMessage::default();
    rule4.header.family = AddressFamily::Inet;
    let mut rule6 = RuleMessage::default();
    rule6.header.family = AddressFamily::Inet6;
    let mut fdb = NeighbourMessage::default();
    fdb.header.family = AddressFamily::Bridge;
    vec![
        (RouteNetlinkMessage::GetLink(LinkMessage::default()), dump),
        (
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            dump,
        ),
        (RouteNetlinkMessage::GetRoute(route4), dump),
        (RouteNetlinkMessage::GetRoute(route6), dump),
        (RouteNetlinkMessage::GetRule(rule4), dump),
        (RouteNetlinkMessage::GetRule(rule6), dump),
        (
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            dump,
        ),
        (RouteNetlinkMessage::GetNeighbour(fdb), dump),
    ]
}

/// The generic netlink messages `--live` sends for the WireGuard interface `ifname`: the
/// family lookup (CTRL_CMD_GETFAMILY) and the device dump (WG_CMD_GET_DEVICE). Nothing
/// else goes to generic netlink.
pub fn wireguard_requests(ifname: &str) -> ((GenlCtrl, u16), (WireguardMessage, u16)) {
    (
        (
            GenlCtrl {
                cmd: GenlCtrlCmd::GetFamily,
                nlas: vec![GenlCtrlAttrs::FamilyName("wireguard".into())],
            },
            NLM_F_REQUEST | NLM_F_ACK,
        ),
        (
            WireguardMessage {
                cmd: WireguardCmd::GetDevice,
                attributes: vec![WireguardAttribute::IfName(ifname.to_string())],
            },
            // The kernel serves WG_CMD_GET_DEVICE as a dump only.
            NLM_F_REQUEST | NLM_F_DUMP,
        ),
    )
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".into())
}

/// Reads the current network namespace.
pub fn read() -> Result<Host> {
    let mut nl =
        SyncSocket::open(NETLINK_ROUTE).map_err(|e| Error::env(format!("netlink socket: {e}")))?;
    let mut replies = Vec::new();
    for (msg, flags) in requests() {
        let what = format!("{msg:?}")
            .split('(')
            .next()
            .unwrap_or("")
            .to_string();
        replies.push(
            nl.request(msg, flags)
                .map_err(|e| Error::kernel(format!("netlink dump {what}: {e}")))?,
        );
    }
    let mut host = Host::default();
    let mut names: HashMap<u32, String> = HashMap::new();
    for m in &replies[0] {
        if let RouteNetlinkMessage::NewLink(l) = m {
            for a in &l.attributes {
                if let LinkAttribute::IfName(n) = a {
                    names.insert(l.header.index, n.clone());
                }
            }
        }
    }
    let name = |i: u32| names.get(&i).cloned().unwrap_or_else(|| format!("if{i}"));
    for m in replies.iter().flatten() {
        match m {
            RouteNetlinkMessage::NewLink(l) => link(&mut host, l, &name),
            RouteNetlinkMessage::NewAddress(a) => address(&mut host, a, &name),
            RouteNetlinkMessage::NewRoute(r) => route(&mut host, r, &name),
            RouteNetlinkMessage::NewRule(r) => rule(&mut host, r),
            RouteNetlinkMessage::NewNeighbour(n) => neighbour(&mut host, n, &name),
            _ => {}
        }
    }
    wireguard(&mut host);
    sysctls(&mut host);
    nft(&mut host);
    state_not_carried(&mut host);
    Ok(host)
}

/// Listen port and peers of every WireGuard interface.
fn wireguard(host: &mut Host) {
    let names: Vec<String> = host
        .links
        .iter()
        .filter(|(_, l)| l.kind == LinkKind::Wireguard)
        .map(|(n, _)| n.clone())
        .collect();
    for name in names {
        match wireguard_device(&name) {
            Ok(replies) => {
                let (port, peers) = wireguard_config(&replies);
                let l = host.link(&name);
                l.listen_port = port;
                l.peers = peers;
            }
            Err(e) => host
                .skipped
                .push(format!("{name}: wireguard peers not read: {e}")),
        }
    }
}

fn wireguard_device(ifname: &str) -> std::result::Result<Vec<WireguardMessage>, NlError> {
    let mut sock = SyncSocket::open(NETLINK_GENERIC).map_err(|e| NlError {
        errno: e.raw_os_error().unwrap_or(libc::EIO),
        message: Some("cannot open a generic netlink socket".into()),
    })?;
    let ((ctrl, ctrl_flags), (get, get_flags)) = wireguard_requests(ifname);
    let family = sock
        .request(GenlMessage::from_payload(ctrl), ctrl_flags)?
        .iter()
        .flat_map(|r| r.payload.nlas.iter())
        .find_map(|a| match a {
            GenlCtrlAttrs::FamilyId(id) => Some(*id),
            _ => None,
        })
        .ok_or(NlError {
            errno: libc::ENOENT,
            message: Some("no generic netlink family `wireguard`".into()),
        })?;
    let mut genl = GenlMessage::from_payload(get);
    genl.set_resolved_family_id(family);
    Ok(sock
        .request(genl, get_flags)?
        .into_iter()
        .map(|m| m.payload)
        .collect())
}

/// The listen port and peers in the replies to WG_CMD_GET_DEVICE. The private and
/// preshared keys the kernel includes for a privileged caller are skipped here, never
/// kept. A device with many peers comes in several messages, and a peer with many allowed
/// IPs continues in the next message under the same public key.
pub fn wireguard_config(replies: &[WireguardMessage]) -> (Option<u16>, Vec<WgPeer>) {
    let mut port = None;
    let mut peers: Vec<WgPeer> = Vec::new();
    for m in replies {
        for a in &m.attributes {
            match a {
                WireguardAttribute::ListenPort(p) if *p != 0 => port = Some(*p),
                WireguardAttribute::Peers(ps) => {
                    for p in ps {
                        let mut peer = WgPeer::default();
                        for x in &p.0 {
                            match x {
                                WireguardPeerAttribute::PublicKey(k) => {
                                    peer.public_key = crate::kernel::engine::wireguard::encode(k)
                                }
                                WireguardPeerAttribute::Endpoint(e) => {
                                    peer.endpoint = Some(e.to_string())
                                }
                                WireguardPeerAttribute::PersistentKeepalive(k) if *k > 0 => {
                                    peer.keepalive = Some(*k)
                                }
                                WireguardPeerAttribute::AllowedIps(ips) => {
                                    for ip in ips {
                                        let mut addr = None;
                                        let mut cidr = None;
                                        for y in &ip.0 {
                                            match y {
                                                WireguardAllowedIpAttr::IpAddr(a) => {
                                                    addr = Some(*a)
                                                }
                                                WireguardAllowedIpAttr::Cidr(c) => cidr = Some(*c),
                                                _ => {}
                                            }
                                        }
                                        if let (Some(a), Some(c)) = (addr, cidr) {
                                            peer.allowed_ips.push(format!("{a}/{c}"));
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                        match peers.iter_mut().find(|q| q.public_key == peer.public_key) {
                            Some(q) => q.allowed_ips.extend(peer.allowed_ips),
                            None => peers.push(peer),
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (port, peers)
}

/// Kernel state a lab has no place for, read from /proc/net (per namespace) so the import
/// can say it was left out.
fn state_not_carried(host: &mut Host) {
    let lines = |path: &str, keep: &dyn Fn(&str) -> bool| {
        std::fs::read_to_string(path)
            .map(|t| t.lines().filter(|l| keep(l)).count())
            .unwrap_or(0)
    };
    let ipvs = lines("/proc/net/ip_vs", &|l| {
        l.starts_with("TCP") || l.starts_with("UDP")
    });
    if ipvs > 0 {
        host.skipped.push(format!(
            "{ipvs} IPVS virtual service(s) (kube-proxy, keepalived): not carried over; reproduce them with a `listen` responder or an nft DNAT"
        ));
    }
    let conntrack = lines("/proc/net/nf_conntrack", &|l| !l.trim().is_empty());
    if conntrack > 0 {
        host.skipped.push(format!(
            "{conntrack} conntrack entries: connection state, not carried over"
        ));
    }
}

fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn link(host: &mut Host, m: &LinkMessage, name: &dyn Fn(u32) -> String) {
    let ifname = name(m.header.index);
    let mut l = Link {
        up: Some(m.header.flags.contains(LinkFlags::Up)),
        ..Link::default()
    };
    if m.header.link_layer_type == LinkLayerType::Loopback {
        l.kind = LinkKind::Loopback;
    } else if m.header.link_layer_type == LinkLayerType::Ether {
        // No linkinfo kind: a physical NIC.
        l.kind = LinkKind::Physical;
    } else {
        l.kind = LinkKind::Other(format!("{:?}", m.header.link_layer_type).to_lowercase());
    }
    let mut netns_peer = false;
    for a in &m.attributes {
        match a {
            LinkAttribute::Mtu(v) => l.mtu = Some(*v),
            LinkAttribute::Address(b) if b.len() == 6 => l.mac = Some(mac(b)),
            LinkAttribute::Controller(i) => l.master = Some(name(*i)),
            LinkAttribute::Link(i) if *i != 0 => l.parent = Some(name(*i)),
            LinkAttribute::LinkNetNsId(_) => netns_peer = true,
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(k) => l.kind = kind(k),
                        LinkInfo::Data(d) => data(&mut l, d, name),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // A lower device in another namespace (a veth's peer) is not a parent here.
    if netns_peer || l.kind == LinkKind::Veth {
        l.parent = None;
    }
    host.links.insert(ifname, l);
}

fn kind(k: &InfoKind) -> LinkKind {
    LinkKind::from_ip(&k.to_string())
}

fn data(l: &mut Link, d: &InfoData, name: &dyn Fn(u32) -> String) {
    match d {
        InfoData::Vxlan(v) => {
            for x in v {
                match x {
                    InfoVxlan::Id(id) => l.vni = Some(*id),
                    InfoVxlan::Group(g) if g.is_multicast() => l.group = Some(g.to_string()),
                    InfoVxlan::Group(g) => l.remote = Some(g.to_string()),
                    InfoVxlan::Group6(g) if g.is_multicast() => l.group = Some(g.to_string()),
                    InfoVxlan::Group6(g) => l.remote = Some(g.to_string()),
                    InfoVxlan::Local(a) => l.local = Some(a.to_string()),
                    InfoVxlan::Local6(a) => l.local = Some(a.to_string()),
                    InfoVxlan::Port(p) => l.dstport = Some(*p),
                    InfoVxlan::Learning(b) => l.learning = Some(*b),
                    InfoVxlan::Link(i) if *i != 0 => l.parent = Some(name(*i)),
                    _ => {}
                }
            }
        }
        InfoData::Vlan(v) => {
            for x in v {
                if let InfoVlan::Id(id) = x {
                    l.vlan_id = Some(*id);
                }
            }
        }
        InfoData::MacVlan(v) => {
            for x in v {
                if let InfoMacVlan::Mode(m) = x {
                    l.mode = Some(format!("{m:?}").to_lowercase());
                }
            }
        }
        InfoData::Vrf(v) => {
            for x in v {
                if let InfoVrf::TableId(t) = x {
                    l.table = Some(*t);
                }
            }
        }
        InfoData::IpTunnel(v) => {
            for x in v {
                match x {
                    InfoIpTunnel::Local(a) => l.local = Some(a.to_string()),
                    InfoIpTunnel::Remote(a) => l.remote = Some(a.to_string()),
                    InfoIpTunnel::Ttl(t) if *t > 0 => l.ttl = Some(*t),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn address(host: &mut Host, m: &AddressMessage, name: &dyn Fn(u32) -> String) {
    let dev = name(m.header.index);
    // IFA_LOCAL is the address of the interface; IFA_ADDRESS is the peer on
    // point-to-point links and equal to it otherwise.
    let mut local = None;
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    let Some(ip) = local.or(address) else { return };
    if m.header.scope == AddressScope::Host && dev == "lo" {
        return;
    }
    if let IpAddr::V6(v6) = ip
        && v6.segments()[0] & 0xffc0 == 0xfe80
    {
        return;
    }
    host.addrs.push(Addr {
        dev,
        cidr: format!("{ip}/{}", m.header.prefix_len),
    });
}

fn route_addr(a: &RouteAddress) -> Option<String> {
    match a {
        RouteAddress::Inet(v) => Some(v.to_string()),
        RouteAddress::Inet6(v) => Some(v.to_string()),
        _ => None,
    }
}

fn route(host: &mut Host, m: &RouteMessage, name: &dyn Fn(u32) -> String) {
    let v6 = m.header.address_family == AddressFamily::Inet6;
    let len = m.header.destination_prefix_length;
    let mut dst = None;
    let mut r = RouteInfo::new(String::new());
    r.v6 = v6;
    r.table = u32::from(m.header.table);
    r.kind = match m.header.kind {
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
        _ => "other",
    }
    .into();
    r.proto = Some(match m.header.protocol {
        RouteProtocol::Kernel => "kernel".to_string(),
        RouteProtocol::Boot => "boot".to_string(),
        RouteProtocol::Static => "static".to_string(),
        RouteProtocol::Ra => "ra".to_string(),
        RouteProtocol::Dhcp => "dhcp".to_string(),
        RouteProtocol::IcmpRedirect => "redirect".to_string(),
        p => p.to_string(),
    });
    r.scope = Some(m.header.scope.to_string());
    let _ = RouteScope::Universe;
    r.onlink = m.header.flags.contains(RouteFlags::Onlink);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = route_addr(d),
            RouteAttribute::Gateway(g) => r.via = route_addr(g),
            RouteAttribute::PrefSource(s) => r.src = route_addr(s),
            RouteAttribute::Oif(i) => r.dev = Some(name(*i)),
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            RouteAttribute::Table(t) => r.table = *t,
            RouteAttribute::Metrics(ms) => {
                for x in ms {
                    if let RouteMetric::Mtu(v) = x {
                        r.mtu = Some(*v);
                    }
                }
            }
            RouteAttribute::MultiPath(hops) => {
                if let Some(h) = hops.first() {
                    r.dev = Some(name(h.interface_index));
                    for a in &h.attributes {
                        if let RouteAttribute::Gateway(g) = a {
                            r.via = route_addr(g);
                        }
                    }
                }
                if hops.len() > 1 {
                    host.skipped.push(format!(
                        "multipath route to {}: only its first nexthop is imported",
                        dst.clone().unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
    }
    r.dst = match dst {
        Some(d) => format!("{d}/{len}"),
        None if len == 0 => "default".into(),
        None => return,
    };
    host.routes.push(r);
}

fn rule(host: &mut Host, m: &RuleMessage) {
    let v6 = m.header.family == AddressFamily::Inet6;
    let mut r = RuleInfo {
        v6,
        // The kernel leaves FRA_PRIORITY out for priority 0 (the local rule).
        priority: Some(0),
        table: Some(u32::from(m.header.table)),
        action: match m.header.action {
            RuleAction::ToTable => "lookup",
            RuleAction::Goto => "goto",
            RuleAction::Nop => "nop",
            RuleAction::Blackhole => "blackhole",
            RuleAction::Unreachable => "unreachable",
            RuleAction::Prohibit => "prohibit",
            _ => "other",
        }
        .into(),
        ..RuleInfo::default()
    };
    if m.header.flags.bits() & 0x2 != 0 {
        // FIB_RULE_INVERT
        r.extra.push("not".into());
    }
    if m.header.tos != 0 {
        r.extra.push(format!("tos {}", m.header.tos));
    }
    for a in &m.attributes {
        match a {
            RuleAttribute::Source(ip) => r.from = Some(format!("{ip}/{}", m.header.src_len)),
            RuleAttribute::Destination(ip) => r.to = Some(format!("{ip}/{}", m.header.dst_len)),
            RuleAttribute::Iifname(n) => r.iif = Some(n.clone()),
            RuleAttribute::Oifname(n) => r.oif = Some(n.clone()),
            RuleAttribute::Priority(p) => r.priority = Some(*p),
            RuleAttribute::FwMark(f) => r.fwmark = Some(*f),
            RuleAttribute::FwMask(mask) if *mask != u32::MAX => {
                r.extra.push(format!("fwmark mask {mask:#x}"))
            }
            RuleAttribute::Table(t) => r.table = Some(*t),
            RuleAttribute::Goto(g) => r.extra.push(format!("goto {g}")),
            RuleAttribute::SuppressPrefixLen(p) if *p != u32::MAX => {
                r.extra.push(format!("suppress_prefixlength {p}"))
            }
            RuleAttribute::L3MDev(true) => r.extra.push("l3mdev".into()),
            RuleAttribute::UidRange(_) => r.extra.push("uidrange".into()),
            RuleAttribute::IpProtocol(p) => r.extra.push(format!("ipproto {p:?}")),
            RuleAttribute::SourcePortRange(_) => r.extra.push("sport".into()),
            RuleAttribute::DestinationPortRange(_) => r.extra.push("dport".into()),
            _ => {}
        }
    }
    // A host prefix prints as the address alone, as `ip rule` does.
    for p in [&mut r.from, &mut r.to] {
        if let Some(s) = p
            && (s.ends_with("/32") && !s.contains(':') || s.ends_with("/128"))
        {
            *s = s
                .rsplit_once('/')
                .map(|x| x.0.to_string())
                .unwrap_or_default();
        }
    }
    if r.action != "lookup" {
        r.table = None;
    }
    host.rules.push(r);
}

fn neighbour(host: &mut Host, m: &NeighbourMessage, name: &dyn Fn(u32) -> String) {
    let dev = name(m.header.ifindex);
    let mut dst = None;
    let mut lladdr = None;
    for a in &m.attributes {
        match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => dst = Some(v.to_string()),
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v)) => {
                dst = Some(v.to_string())
            }
            // In AF_BRIDGE (fdb) messages the crate cannot tell the remote's family from
            // the header: the length does.
            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => {
                dst = match b.len() {
                    4 => <[u8; 4]>::try_from(b.as_slice())
                        .ok()
                        .map(|a| std::net::Ipv4Addr::from(a).to_string()),
                    16 => <[u8; 16]>::try_from(b.as_slice())
                        .ok()
                        .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                    _ => None,
                }
            }
            NeighbourAttribute::LinkLayerAddress(b) if b.len() == 6 => lladdr = Some(mac(b)),
            _ => {}
        }
    }
    let permanent = m.header.state == NeighbourState::Permanent;
    if m.header.family == AddressFamily::Bridge {
        // fdb: the static entries of a tunnel device itself (NTF_SELF) towards a remote;
        // learned ones are REACHABLE or STALE.
        let own = m.header.flags.contains(NeighbourFlags::Own);
        if let Some(mac) = lladdr
            && own
            && (permanent || m.header.state == NeighbourState::Noarp)
            && dst.is_some()
        {
            host.fdb.push(FdbInfo { dev, mac, dst });
        }
        return;
    }
    let Some(address) = dst else { return };
    host.neighbours.push(NeighInfo {
        dev,
        address,
        mac: lladdr,
        state: if permanent {
            "PERMANENT".into()
        } else {
            format!("{:?}", m.header.state).to_uppercase()
        },
    });
}

fn sysctls(host: &mut Host) {
    let read = |key: &str| {
        std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/")))
            .ok()
            .map(|v| v.trim().to_string())
    };
    for (k, _) in SYSCTL_DEFAULTS {
        if let Some(v) = read(k) {
            host.sysctl.insert((*k).to_string(), v);
        }
    }
    for base in ["net.ipv4.conf.default", "net.ipv4.conf.all"] {
        for key in [
            "rp_filter",
            "accept_local",
            "proxy_arp",
            "forwarding",
            "arp_ignore",
            "arp_announce",
        ] {
            let k = format!("{base}.{key}");
            if let Some(v) = read(&k) {
                host.sysctl.entry(k).or_insert(v);
            }
        }
    }
    let names: Vec<String> = host
        .links
        .keys()
        .filter(|n| !n.contains('.'))
        .cloned()
        .collect();
    for ifname in names {
        for key in [
            "rp_filter",
            "accept_local",
            "proxy_arp",
            "forwarding",
            "arp_ignore",
            "arp_announce",
        ] {
            let k = format!("net.ipv4.conf.{ifname}.{key}");
            if let Some(v) = read(&k) {
                host.sysctl.insert(k, v);
            }
        }
    }
}

fn nft(host: &mut Host) {
    match std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
    {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            if !text.trim().is_empty() {
                host.nft = Some(text);
            }
        }
        Ok(o) => host.skipped.push(format!(
            "nft list ruleset failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => host.skipped.push(format!("nft ruleset not read: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE};

    /// The read-only proof: every request is a get, flagged as a dump, with none of the
    /// flags that make the kernel create or replace anything.
    #[test]
    fn every_request_is_a_dump() {
        let reqs = requests();
        assert_eq!(reqs.len(), 8);
        for (m, flags) in reqs {
            let is_get = matches!(
                m,
                RouteNetlinkMessage::GetLink(_)
                    | RouteNetlinkMessage::GetAddress(_)
                    | RouteNetlinkMessage::GetRoute(_)
                    | RouteNetlinkMessage::GetRule(_)
                    | RouteNetlinkMessage::GetNeighbour(_)
            );
            assert!(is_get, "{m:?} is not a get");
            assert_eq!(flags, NLM_F_REQUEST | NLM_F_DUMP, "{m:?}");
            // NLM_F_DUMP is NLM_F_ROOT|NLM_F_MATCH, the same bits as NLM_F_REPLACE|NLM_F_EXCL:
            // the kernel reads them as the latter only on RTM_NEW*, which is why the type
            // check above is the one that matters. CREATE and APPEND have no GET meaning.
            assert_eq!(flags & (NLM_F_CREATE | NLM_F_APPEND), 0, "{m:?}");
            // The message type on the wire is an RTM_GET* (they are 2 mod 4 from RTM_NEW*).
            assert_eq!(m.message_type() % 4, 2, "{m:?}");
        }
    }

    /// The WireGuard half of the proof: a family lookup and a device get, nothing that sets.
    #[test]
    fn wireguard_requests_are_gets() {
        let ((ctrl, ctrl_flags), (get, get_flags)) = wireguard_requests("wg0");
        for (flags, what) in [(ctrl_flags, "GETFAMILY"), (get_flags, "GET_DEVICE")] {
            assert_eq!(flags & (NLM_F_CREATE | NLM_F_APPEND), 0, "{what}");
            assert_ne!(flags & NLM_F_REQUEST, 0, "{what}");
        }
        // The command byte on the wire (after the 16-byte netlink header):
        // CTRL_CMD_GETFAMILY is 3, WG_CMD_GET_DEVICE 0 (WG_CMD_SET_DEVICE is 1).
        let wire = crate::kernel::netlink::wire::encode(GenlMessage::from_payload(ctrl), 0, 1);
        assert_eq!(wire[16], 3);
        let mut genl = GenlMessage::from_payload(get);
        genl.set_resolved_family_id(0x20);
        let wire = crate::kernel::netlink::wire::encode(genl, 0, 1);
        assert_eq!(wire[16], 0);
    }

    /// WG_CMD_GET_DEVICE replies as the kernel sends them (a dump of two messages, the
    /// second continuing a peer's allowed IPs, then NLMSG_DONE), parsed from the bytes by
    /// the same reply parser `--live` uses: the port and the peers come out, the private
    /// and preshared keys do not.
    #[test]
    fn wireguard_replies_give_port_and_peers_without_secrets() {
        use netlink_packet_core::NLM_F_MULTIPART as NLM_F_MULTI;
        use netlink_packet_wireguard::{
            WireguardAddressFamily, WireguardAllowedIp, WireguardPeer, WireguardTimeSpec,
        };
        let allowed = |a: &str, c: u8| {
            let ip: IpAddr = a.parse().expect("ip");
            WireguardAllowedIp(vec![
                WireguardAllowedIpAttr::Family(if ip.is_ipv4() {
                    WireguardAddressFamily::Ipv4
                } else {
                    WireguardAddressFamily::Ipv6
                }),
                WireguardAllowedIpAttr::IpAddr(ip),
                WireguardAllowedIpAttr::Cidr(c),
            ])
        };
        let private = [7u8; 32];
        let psk = [9u8; 32];
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let first = WireguardMessage {
            cmd: WireguardCmd::GetDevice,
            attributes: vec![
                WireguardAttribute::IfIndex(5),
                WireguardAttribute::IfName("wg0".into()),
                WireguardAttribute::PrivateKey(private),
                WireguardAttribute::PublicKey([3u8; 32]),
                WireguardAttribute::ListenPort(51820),
                WireguardAttribute::Fwmark(0),
                WireguardAttribute::Peers(vec![
                    WireguardPeer(vec![
                        WireguardPeerAttribute::PublicKey(a),
                        WireguardPeerAttribute::PresharedKey(psk),
                        WireguardPeerAttribute::Endpoint("192.0.2.7:51820".parse().expect("addr")),
                        WireguardPeerAttribute::PersistentKeepalive(25),
                        WireguardPeerAttribute::LastHandshake(WireguardTimeSpec::default()),
                        WireguardPeerAttribute::RxBytes(0),
                        WireguardPeerAttribute::TxBytes(0),
                        WireguardPeerAttribute::AllowedIps(vec![allowed("10.8.0.2", 32)]),
                    ]),
                    WireguardPeer(vec![
                        WireguardPeerAttribute::PublicKey(b),
                        WireguardPeerAttribute::PresharedKey([0u8; 32]),
                        WireguardPeerAttribute::Endpoint(
                            "[2001:db8::1]:4500".parse().expect("addr"),
                        ),
                        WireguardPeerAttribute::PersistentKeepalive(0),
                        WireguardPeerAttribute::AllowedIps(vec![allowed("10.9.0.0", 24)]),
                    ]),
                ]),
            ],
        };
        // The kernel starts the next message with the peer it was filling.
        let second = WireguardMessage {
            cmd: WireguardCmd::GetDevice,
            attributes: vec![
                WireguardAttribute::IfIndex(5),
                WireguardAttribute::IfName("wg0".into()),
                WireguardAttribute::Peers(vec![WireguardPeer(vec![
                    WireguardPeerAttribute::PublicKey(b),
                    WireguardPeerAttribute::AllowedIps(vec![allowed("fd09::", 64)]),
                ])]),
            ],
        };
        let seq = 9;
        let mut data = Vec::new();
        for m in [first, second] {
            let mut genl = GenlMessage::from_payload(m);
            genl.set_resolved_family_id(0x20);
            data.extend(crate::kernel::netlink::wire::encode(genl, NLM_F_MULTI, seq));
        }
        // NLMSG_DONE: header (length 20, type 3, NLM_F_MULTI) and a zero error code.
        let mut done = Vec::new();
        done.extend(20u32.to_ne_bytes());
        done.extend(3u16.to_ne_bytes());
        done.extend(NLM_F_MULTI.to_ne_bytes());
        done.extend(seq.to_ne_bytes());
        done.extend(0u32.to_ne_bytes());
        done.extend(0i32.to_ne_bytes());
        data.extend(done);

        let mut out: Vec<GenlMessage<WireguardMessage>> = Vec::new();
        let complete =
            crate::kernel::netlink::wire::parse(&data, seq, NLM_F_REQUEST | NLM_F_DUMP, &mut out)
                .expect("parses");
        assert!(complete, "the dump ends at NLMSG_DONE");
        let replies: Vec<WireguardMessage> = out.into_iter().map(|m| m.payload).collect();
        let (port, peers) = wireguard_config(&replies);
        let b64 = crate::kernel::engine::wireguard::encode;
        assert_eq!(port, Some(51820));
        assert_eq!(
            peers,
            vec![
                WgPeer {
                    public_key: b64(&a),
                    endpoint: Some("192.0.2.7:51820".into()),
                    allowed_ips: vec!["10.8.0.2/32".into()],
                    keepalive: Some(25),
                },
                WgPeer {
                    public_key: b64(&b),
                    endpoint: Some("[2001:db8::1]:4500".into()),
                    allowed_ips: vec!["10.9.0.0/24".into(), "fd09::/64".into()],
                    keepalive: None,
                },
            ]
        );
        let shown = format!("{peers:?}");
        assert!(!shown.contains(&b64(&private)) && !shown.contains(&b64(&psk)));
    }
}
