//! A validated interface of a node: its kind, addresses, MAC, MTU and tunnel ends.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl std::str::FromStr for Mac {
    type Err = ();
    fn from_str(s: &str) -> Result<Mac, ()> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(());
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        Ok(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub kind: IfaceKind,
    pub addresses: Vec<IpNet>,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    pub up: bool,
    /// A bridge or VRF of the same node.
    pub master: Option<String>,
}

/// Outer addresses of a point-to-point tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelEnds {
    pub local: Option<IpAddr>,
    pub remote: Option<IpAddr>,
    pub parent: Option<String>,
    pub ttl: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    Bridge,
    Private,
    Vepa,
    Passthru,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgPeer {
    /// The peer interface in this lab (node name, interface name), whose key may be
    /// generated per run.
    pub node: Option<(String, String)>,
    pub public_key: Option<String>,
    pub endpoint: Option<std::net::SocketAddr>,
    pub allowed_ips: Vec<IpNet>,
    pub keepalive: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfaceKind {
    /// The node's loopback, which exists in every namespace: only configured.
    Loopback,
    /// One end of `lab.links[link]`; `side` is 0 or 1.
    Veth {
        link: usize,
        side: usize,
    },
    Bridge,
    Dummy,
    Vxlan {
        vni: u32,
        local: Option<IpAddr>,
        remote: Option<IpAddr>,
        group: Option<IpAddr>,
        parent: Option<String>,
        dstport: u16,
        learning: bool,
    },
    Ipip(TunnelEnds),
    Gre {
        ends: TunnelEnds,
        key: Option<u32>,
    },
    Gretap {
        ends: TunnelEnds,
        key: Option<u32>,
    },
    Wireguard {
        private_key: Option<String>,
        listen_port: Option<u16>,
        peers: Vec<WgPeer>,
    },
    Macvlan {
        parent: String,
        mode: MacvlanMode,
    },
    Vlan {
        parent: String,
        id: u16,
    },
    Vrf {
        table: u32,
    },
}

impl IfaceKind {
    pub fn name(&self) -> &'static str {
        match self {
            IfaceKind::Loopback => "loopback",
            IfaceKind::Veth { .. } => "veth",
            IfaceKind::Bridge => "bridge",
            IfaceKind::Dummy => "dummy",
            IfaceKind::Vxlan { .. } => "vxlan",
            IfaceKind::Ipip(_) => "ipip",
            IfaceKind::Gre { .. } => "gre",
            IfaceKind::Gretap { .. } => "gretap",
            IfaceKind::Wireguard { .. } => "wireguard",
            IfaceKind::Macvlan { .. } => "macvlan",
            IfaceKind::Vlan { .. } => "vlan",
            IfaceKind::Vrf { .. } => "vrf",
        }
    }

    /// The lower interface this one is created on, if any.
    pub fn parent(&self) -> Option<&str> {
        match self {
            IfaceKind::Vxlan { parent, .. } => parent.as_deref(),
            IfaceKind::Ipip(e)
            | IfaceKind::Gre { ends: e, .. }
            | IfaceKind::Gretap { ends: e, .. } => e.parent.as_deref(),
            IfaceKind::Macvlan { parent, .. } | IfaceKind::Vlan { parent, .. } => Some(parent),
            _ => None,
        }
    }
}
