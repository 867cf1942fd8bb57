use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A probe from a node and the outcome it must have. Exactly one of `ping`, `tcp`, `udp`
/// or `route`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Check {
    /// Stable name used in reports and snapshots; derived from the probe when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Node the probe runs in.
    pub from: String,
    /// ICMP echo to this address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<String>,
    /// TCP connect to "address:port" ("[v6]:port" for IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// UDP datagram to "address:port", answered by a built-in `udp` listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<String>,
    /// Route lookup for this destination in the node's kernel (like `ip route get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Expected outcome: ok, timeout, refused, no-route, net-unreachable,
    /// host-unreachable, port-unreachable, admin-prohibited, ttl-exceeded, frag-needed.
    /// For `route` checks, a table of the expected dev / via / src / type / table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Address that must have sent the ICMP error (e.g. the router that says
    /// "ttl-exceeded").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// With `expect = "frag-needed"`: the next-hop MTU that must be reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Keep probing until the expectation holds or this much time has passed, e.g. "10s".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// How long one probe waits for an answer (default 5s, or `[defaults] timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// ping: echo requests per attempt (default 1); the outcome is ok if any is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// ping: ICMP payload size in bytes (default 56); udp: datagram size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// ping, udp: set the don't-fragment bit (no local fragmentation either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dont_fragment: Option<bool>,
    /// ping, tcp, udp: IP TTL / hop limit of the probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// Source address of the probe (or of the route lookup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// route: look the destination up as if it arrived on this interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// tcp: bytes to send and expect echoed back by an `echo` listener (tests large
    /// transfers, e.g. a PMTU black hole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<u32>,
    /// Where and why the probe's packets (or their answers) must be dropped, e.g.
    /// `{ node = "srv", reason = "ip-rpfilter", interface = "eth1" }`. Not with
    /// `expect = "ok"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<Dropped>,
}

/// The drop a check asserts: the node whose kernel dropped the probe's packet and the
/// kernel's reason, as `topolab test --explain` reports them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Dropped {
    /// The node (or switch) whose kernel dropped the packet.
    pub node: String,
    /// The kernel's drop reason in lower case with dashes: `ip-rpfilter`,
    /// `netfilter-drop`, `neigh-failed`, `ip-outnoroutes`, `xfrm-policy`, ... Without eBPF
    /// (rootless) the counters that stand for these reasons match them too.
    pub reason: String,
    /// The interface the packet was on when it was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// An outcome name, or for route checks a table of expected route attributes.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Expect {
    Outcome(String),
    Route(RouteExpect),
}

/// Hand-written rather than `untagged`: an untagged enum buffers its input, which would hide
/// unknown keys inside the route table from the unknown-key pass.
impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Expect;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an outcome name or a table of route attributes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Expect, E> {
                Ok(Expect::Outcome(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Expect, A::Error> {
                RouteExpect::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Expect::Route)
            }
        }
        de.deserialize_any(V)
    }
}

/// Expected attributes of a route lookup; only the given ones are compared.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RouteExpect {
    /// Output interface of the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Gateway of the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Source address the kernel would pick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// unicast, local, broadcast, blackhole, unreachable, prohibit, ...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Routing table the route was found in (254 is main).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
}

/// All-pairs reachability among nodes: every node in `from` probes every address of every
/// node in `to` (except itself). The result is reported as one table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Matrix {
    /// Name of the table in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Probing nodes; all nodes when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<String>>,
    /// Target nodes (each of their addresses) or addresses; `from` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// "ping" (default) or "tcp:PORT".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// Outcome expected for every pair not listed in `except` (default "ok").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// Pairs with a different expected outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<MatrixException>,
    /// Per-probe timeout (default 2s: matrices are about reachability at scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// A pair of a matrix whose expected outcome differs from the matrix's `expect`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MatrixException {
    /// Probing node.
    pub from: String,
    /// Target node or address.
    pub to: String,
    /// Expected outcome for this pair, e.g. "timeout".
    pub expect: String,
}
