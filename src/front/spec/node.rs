//! A `[nodes.X]` table as written: interfaces, routes, sysctls, files, listeners, services.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Interface, Ipsec, Route, Rule, Service};

/// A node: one network namespace with its interfaces, routing and firewall.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Node {
    /// Turn IPv4 and IPv6 forwarding on (a router) or explicitly off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<bool>,
    /// Network sysctls of the node, e.g. `{ "net.ipv4.conf.all.rp_filter" = 1 }`.
    /// Only keys under `net.` are namespaced; others are refused.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sysctl: IndexMap<String, SysctlValue>,
    /// Interfaces created inside the node (bridge, vxlan, ...), or settings for the node's
    /// end of a link (no `kind`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub interfaces: IndexMap<String, Interface>,
    /// Routes, added after addresses and interfaces exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// Policy routing rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// An nftables ruleset (nft syntax) loaded into the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nft: Option<String>,
    /// One-shot setup commands run with `sh -c` inside the node, in order, after
    /// everything else is configured. A failing command aborts the build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec: Vec<String>,
    /// Static forwarding database entries (e.g. for VXLAN without learning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fdb: Vec<Fdb>,
    /// Static neighbour (ARP/NDP) entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<Neighbour>,
    /// Built-in responders that answer probes without external tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<Listen>,
    /// Background commands kept running while the lab is up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// Site-to-site IPsec (ESP tunnel mode) built as xfrm states and policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipsec: Vec<Ipsec>,
    /// Files only this node sees, keyed by their absolute path inside the node:
    /// `"/etc/frr/frr.conf" = { source = "r1/frr.conf" }` (a file next to the lab) or
    /// `"/etc/frr/daemons" = { content = "..." }`. A node with files (or exec lines or
    /// services) gets its own mount, UTS and pid namespaces: hostname = node name, the
    /// host's files visible read-only, private /run, /tmp, /var/tmp, /var/log, /proc.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub files: IndexMap<String, NodeFile>,
}

/// A file inside a node: exactly one of `source` or `content`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NodeFile {
    /// A file next to the lab file (relative path, inside the lab's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The file's content, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Permission bits as an octal string, e.g. "0755" (default "0644").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// A sysctl value: written as given.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SysctlValue {
    Int(i64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for SysctlValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SysctlValue::Int(v) => write!(f, "{v}"),
            SysctlValue::Bool(v) => write!(f, "{}", u8::from(*v)),
            SysctlValue::Text(v) => f.write_str(v),
        }
    }
}

/// A built-in responder. Exactly one of `tcp` or `udp`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Listen {
    /// TCP port to accept connections on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<u16>,
    /// UDP port whose datagrams are echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<u16>,
    /// Address to bind; every address of the node when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// TCP only: `close` (accept then close, the default) or `echo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ListenMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListenMode {
    Close,
    Echo,
}

/// A static bridge forwarding database entry, e.g. for VXLAN with learning off:
/// `{ dev = "vxlan0", mac = "00:00:00:00:00:00", dst = "10.0.0.2" }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Fdb {
    /// Interface the entry belongs to.
    pub dev: String,
    /// MAC address (all zeros for the default flood entry of a VXLAN).
    pub mac: String,
    /// Remote VTEP address (VXLAN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    /// Add as an extra entry instead of replacing (several flood destinations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append: Option<bool>,
}

/// A permanent neighbour entry: `{ dev = "vxlan0", address = "10.244.1.0", mac = "..." }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Neighbour {
    /// Interface of the node the neighbour is on.
    pub dev: String,
    /// The neighbour's IP address.
    pub address: String,
    /// The neighbour's MAC address.
    pub mac: String,
}
