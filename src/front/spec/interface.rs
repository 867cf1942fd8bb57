//! A node's `[nodes.X.interfaces.Y]` table as written, with its kind and WireGuard peers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An interface of a node. With `kind` it is created inside the node; without, it is the
/// node's end of a link and only its settings (addresses, mtu, mac, up, master) apply.
/// Kind-specific keys are accepted only with their kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Interface {
    /// What to create. Absent: the node's end of a `[[links]]` veth pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<InterfaceKind>,
    /// Addresses with prefix length, e.g. "192.168.0.1/20" or "fd00::1/64".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// MTU of the interface; for a link end it overrides the link's `mtu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// MAC address, e.g. "02:00:00:00:00:01".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Set to false to leave the interface down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<bool>,
    /// Bridge or VRF of the same node this interface is enslaved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,

    /// vlan, macvlan, vxlan, ipip, gre, gretap: the lower interface of the same node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// vlan: the 802.1Q id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
    /// macvlan: bridge (default), private, vepa or passthru.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// vrf: routing table of the VRF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,

    /// vxlan: the VXLAN network identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// vxlan, ipip, gre, gretap: local tunnel endpoint address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// vxlan (unicast), ipip, gre, gretap: remote tunnel endpoint address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// vxlan: multicast group instead of a single remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// vxlan: UDP destination port (default 4789).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dstport: Option<u16>,
    /// vxlan: learn remote MACs from traffic (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning: Option<bool>,
    /// ipip, gre, gretap: TTL of the outer header (default: inherit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// gre, gretap: GRE key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u32>,

    /// wireguard: base64 private key; generated for the run when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// wireguard: UDP port to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    /// wireguard: peers of this interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<WireguardPeer>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceKind {
    Bridge,
    Dummy,
    Vxlan,
    Ipip,
    Gre,
    Gretap,
    Wireguard,
    Macvlan,
    Vlan,
    Vrf,
}

impl InterfaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InterfaceKind::Bridge => "bridge",
            InterfaceKind::Dummy => "dummy",
            InterfaceKind::Vxlan => "vxlan",
            InterfaceKind::Ipip => "ipip",
            InterfaceKind::Gre => "gre",
            InterfaceKind::Gretap => "gretap",
            InterfaceKind::Wireguard => "wireguard",
            InterfaceKind::Macvlan => "macvlan",
            InterfaceKind::Vlan => "vlan",
            InterfaceKind::Vrf => "vrf",
        }
    }
}

impl std::fmt::Display for InterfaceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A WireGuard peer. Name the peer's interface in the lab with `node = "b:wg0"` (its key
/// is then known, even when generated), or give its `public_key`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WireguardPeer {
    /// The peer's WireGuard interface in this lab, "node:iface".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The peer's base64 public key, for a peer outside the lab's generated keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// "address:port" where the peer listens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Prefixes routed to and accepted from the peer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<String>,
    /// Persistent keepalive in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<u16>,
}
