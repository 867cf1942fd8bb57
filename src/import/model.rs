//! What an import knows about one host, whatever the source (netlink, `ip -j`, ticket
//! text): a flat picture close to the kernel's objects, before it becomes a lab node.

use indexmap::IndexMap;

/// The main routing table's number.
pub const MAIN: u32 = 254;
/// The local routing table's number: the kernel fills it from the addresses.
pub const LOCAL: u32 = 255;

/// One host's network state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Host {
    /// Interfaces by name, in the order the source listed them.
    pub links: IndexMap<String, LinkInfo>,
    /// Addresses with their prefix length, per interface.
    pub addrs: Vec<Addr>,
    pub routes: Vec<RouteInfo>,
    pub rules: Vec<RuleInfo>,
    pub neighbours: Vec<NeighInfo>,
    pub fdb: Vec<FdbInfo>,
    /// Network sysctls, full dotted key -> value as the kernel prints it.
    pub sysctl: IndexMap<String, String>,
    /// The nft ruleset in nft syntax.
    pub nft: Option<String>,
    /// The ruleset was rendered from `nft -j` (a verbatim `nft list ruleset` is preferred).
    pub nft_from_json: bool,
    /// What the rendering of `nft -j` could not carry, one line each.
    pub nft_notes: Vec<String>,
    /// What the source showed but a lab cannot carry, one line each (becomes a comment).
    pub skipped: Vec<String>,
}

/// The kind of an interface as far as the source tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LinkKind {
    /// The source does not say (plain `ip addr`, `route -n`).
    #[default]
    Unknown,
    Loopback,
    /// A veth whose peer is elsewhere, or a physical NIC: a link endpoint in the lab.
    Veth,
    Physical,
    Bridge,
    Vxlan,
    Macvlan,
    Vlan,
    Vrf,
    Dummy,
    Wireguard,
    Ipip,
    Gre,
    Gretap,
    /// A kind the lab format has no equivalent for (tun, ipvlan, bond, ...).
    Other(String),
}

impl LinkKind {
    /// The kind as `ip -d link` names it.
    pub fn from_ip(kind: &str) -> LinkKind {
        match kind {
            "veth" => LinkKind::Veth,
            "bridge" => LinkKind::Bridge,
            "vxlan" => LinkKind::Vxlan,
            "macvlan" => LinkKind::Macvlan,
            "vlan" => LinkKind::Vlan,
            "vrf" => LinkKind::Vrf,
            "dummy" => LinkKind::Dummy,
            "wireguard" => LinkKind::Wireguard,
            "ipip" => LinkKind::Ipip,
            "gre" => LinkKind::Gre,
            "gretap" => LinkKind::Gretap,
            other => LinkKind::Other(other.to_string()),
        }
    }
}

/// An interface and the parameters the lab format can express.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkInfo {
    pub kind: LinkKind,
    pub mtu: Option<u32>,
    pub mac: Option<String>,
    /// Administratively up (`UP` among the flags).
    pub up: Option<bool>,
    pub master: Option<String>,
    /// Lower interface (vlan, macvlan, vxlan `dev`).
    pub parent: Option<String>,
    pub vlan_id: Option<u16>,
    pub mode: Option<String>,
    pub table: Option<u32>,
    pub vni: Option<u32>,
    pub local: Option<String>,
    pub remote: Option<String>,
    pub group: Option<String>,
    pub dstport: Option<u16>,
    pub learning: Option<bool>,
    pub ttl: Option<u8>,
    pub key: Option<u32>,
    pub listen_port: Option<u16>,
    /// WireGuard peers (never a private or preshared key: the sources' are not read).
    pub peers: Vec<WgPeer>,
}

/// A WireGuard peer as `wg show dump` or WG_CMD_GET_DEVICE gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WgPeer {
    /// Base64, as `wg` prints it.
    pub public_key: String,
    /// "address:port", "[v6]:port".
    pub endpoint: Option<String>,
    pub allowed_ips: Vec<String>,
    /// Persistent keepalive in seconds.
    pub keepalive: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub dev: String,
    /// "address/prefix".
    pub cidr: String,
}

/// A route as the kernel lists it; the lab keeps only what `ip route add` would create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// "default", or a prefix with its length.
    pub dst: String,
    pub via: Option<String>,
    pub dev: Option<String>,
    pub src: Option<String>,
    pub metric: Option<u32>,
    pub table: u32,
    /// unicast, local, broadcast, blackhole, unreachable, prohibit, throw, multicast, ...
    pub kind: String,
    /// kernel, boot, static, dhcp, ra, or a number.
    pub proto: Option<String>,
    pub scope: Option<String>,
    pub onlink: bool,
    pub mtu: Option<u32>,
    /// true for IPv6 routes.
    pub v6: bool,
}

impl RouteInfo {
    pub fn new(dst: impl Into<String>) -> RouteInfo {
        RouteInfo {
            dst: dst.into(),
            via: None,
            dev: None,
            src: None,
            metric: None,
            table: MAIN,
            kind: "unicast".into(),
            proto: None,
            scope: None,
            onlink: false,
            mtu: None,
            v6: false,
        }
    }
}

/// A policy routing rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInfo {
    pub priority: Option<u32>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub table: Option<u32>,
    /// lookup, blackhole, unreachable, prohibit, goto, nop.
    pub action: String,
    /// Options a lab rule cannot express (not, suppress_prefixlength, uidrange, ...).
    pub extra: Vec<String>,
    pub v6: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighInfo {
    pub dev: String,
    pub address: String,
    pub mac: Option<String>,
    /// PERMANENT, REACHABLE, STALE, FAILED, NOARP, ...
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbInfo {
    pub dev: String,
    pub mac: String,
    pub dst: Option<String>,
}

impl Host {
    /// The entry of an interface, created (kind unknown) the first time it is named.
    pub fn link(&mut self, name: &str) -> &mut LinkInfo {
        self.links.entry(name.to_string()).or_default()
    }

    /// Folds another source's view of the same host into this one: known values win
    /// over unknown ones, entries are not duplicated.
    pub fn merge(&mut self, other: Host) {
        for (name, l) in other.links {
            let mine = self.link(&name);
            // `link/none` in `ip addr` is a tun or a WireGuard; `wg show dump` says which.
            let tun_or_wg = mine.kind == LinkKind::Other("tun or wireguard".into())
                && l.kind == LinkKind::Wireguard;
            if mine.kind == LinkKind::Unknown || tun_or_wg {
                mine.kind = l.kind;
            }
            macro_rules! fill {
                ($($f:ident),*) => { $( if mine.$f.is_none() { mine.$f = l.$f; } )* };
            }
            fill!(
                mtu,
                mac,
                up,
                master,
                parent,
                vlan_id,
                mode,
                table,
                vni,
                local,
                remote,
                group,
                dstport,
                learning,
                ttl,
                key,
                listen_port
            );
            if mine.peers.is_empty() {
                mine.peers = l.peers;
            }
        }
        for a in other.addrs {
            if !self.addrs.contains(&a) {
                self.addrs.push(a);
            }
        }
        for r in other.routes {
            if !self.routes.contains(&r) {
                self.routes.push(r);
            }
        }
        for r in other.rules {
            if !self.rules.contains(&r) {
                self.rules.push(r);
            }
        }
        for n in other.neighbours {
            if !self.neighbours.contains(&n) {
                self.neighbours.push(n);
            }
        }
        for f in other.fdb {
            if !self.fdb.contains(&f) {
                self.fdb.push(f);
            }
        }
        for (k, v) in other.sysctl {
            self.sysctl.entry(k).or_insert(v);
        }
        // Verbatim text beats a rendering of the JSON, whichever file came first.
        if self.nft.is_none() || (self.nft_from_json && other.nft.is_some() && !other.nft_from_json)
        {
            self.nft = other.nft;
            self.nft_from_json = other.nft_from_json;
            self.nft_notes = other.nft_notes;
        }
        self.skipped.extend(other.skipped);
    }
}
