//! The `[[checks]]` table as written: probe kinds, expectations and their deserializers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A probe from a node and the outcome it must have. Exactly one of `ping`, `tcp`, `udp`,
/// `route`, `command` or `trace`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
// Exactly one probe kind, so that an editor flags a second one (or none) while typing.
#[schemars(extend("oneOf" = [
    {"required": ["ping"]},
    {"required": ["tcp"]},
    {"required": ["udp"]},
    {"required": ["route"]},
    {"required": ["command"]},
    {"required": ["trace"]}
]))]
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
    /// A command run with `sh -c` inside the node (its mount, UTS and pid namespaces),
    /// e.g. "vtysh -c 'show ip ospf neighbor json'"; `expect` is a table of `exit`,
    /// `stdout`, `stderr` and `json` (default: exit 0). With `within`, it is run again
    /// until the expectation holds: how routing state is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The path to this address, hop by hop, like traceroute: probes with TTL 1 to
    /// `max_hops`, all sent at once. Ends in the outcome of the path's end (`ok` when the
    /// target answered, `host-unreachable` from a router, ...), `loop` when the path
    /// revisits the same routers until the TTL runs out, or `timeout` when it dies in
    /// silence. Assert the hops with expect = { path = ["10.0.0.1", "*", "..."] }.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// trace: what each hop sends, "icmp" (echo requests, the default), "udp" or "tcp"
    /// (SYNs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// trace with proto udp or tcp: the destination port (default 33434 for udp, as
    /// traceroute, and 80 for tcp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// trace: the highest TTL probed (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hops: Option<u8>,
    /// Expected outcome: ok, timeout, refused, no-route, net-unreachable,
    /// host-unreachable, port-unreachable, admin-prohibited, ttl-exceeded, frag-needed;
    /// `loop` for trace checks.
    /// For `route` checks, a table of the expected dev / via / src / type / table; for
    /// `trace` checks, a table with the expected `path` (and optionally `outcome`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Address that must have sent the ICMP error (e.g. the router that says
    /// "ttl-exceeded"); with `loop`, the router that reported the last ttl-exceeded.
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

/// An outcome name, or for route checks a table of expected route attributes, for trace
/// checks a table of `path` and `outcome`, or for command checks a table of `exit`,
/// `stdout`, `stderr`, `json`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Expect {
    // The schema lists the outcome vocabulary, so an editor flags a misspelt outcome.
    Outcome(#[schemars(with = "crate::front::lab::Outcome")] String),
    Route(RouteExpect),
    Command(CommandExpect),
}

/// What a command check expects; only the given parts are compared.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CommandExpect {
    /// Exit status: a number, or "nonzero" (default 0 when nothing else is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitExpect>,
    /// A regular expression the standard output must match (anywhere; `(?m)^...$` for
    /// whole lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// A regular expression the standard error must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// The standard output parsed as JSON: each JSON pointer (RFC 6901, e.g.
    /// "/neighbors/2.2.2.2/0/nbrState") must exist and its value (a string as is, anything
    /// else as JSON text) match the regular expression.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub json: indexmap::IndexMap<String, String>,
}

/// An exit status: a number, or "nonzero".
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ExitExpect {
    Code(i64),
    Word(String),
}

/// Every key an `expect` table can have: read in one pass (so unknown keys are still
/// reported by the unknown-key pass), then split by kind.
#[derive(Deserialize)]
struct ExpectTable {
    #[serde(default)]
    dev: Option<String>,
    #[serde(default)]
    via: Option<String>,
    #[serde(default)]
    src: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    table: Option<u32>,
    #[serde(default)]
    path: Option<Vec<String>>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    exit: Option<ExitExpect>,
    #[serde(default)]
    stdout: Option<String>,
    #[serde(default)]
    stderr: Option<String>,
    #[serde(default)]
    json: indexmap::IndexMap<String, String>,
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
                let t =
                    ExpectTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                let route = t.dev.is_some()
                    || t.via.is_some()
                    || t.src.is_some()
                    || t.kind.is_some()
                    || t.table.is_some()
                    || t.path.is_some()
                    || t.outcome.is_some();
                let command = t.exit.is_some()
                    || t.stdout.is_some()
                    || t.stderr.is_some()
                    || !t.json.is_empty();
                if route && command {
                    return Err(serde::de::Error::custom(
                        "an expect table has route or trace keys (dev, via, src, type, table, path, outcome) or command keys (exit, stdout, stderr, json), not both",
                    ));
                }
                if command {
                    return Ok(Expect::Command(CommandExpect {
                        exit: t.exit,
                        stdout: t.stdout,
                        stderr: t.stderr,
                        json: t.json,
                    }));
                }
                Ok(Expect::Route(RouteExpect {
                    dev: t.dev,
                    via: t.via,
                    src: t.src,
                    kind: t.kind,
                    table: t.table,
                    path: t.path,
                    outcome: t.outcome,
                }))
            }
        }
        de.deserialize_any(V)
    }
}

/// Expected attributes of a route lookup (dev, via, src, type, table), or of a trace
/// (path, outcome); only the given ones are compared.
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
    /// trace: the address expected to answer at each TTL from 1 on; "*" for a silent hop,
    /// a trailing "..." for any rest of the path. Without "..." the path must end there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<String>>,
    /// trace: the outcome at the end of the path, e.g. "loop" (not compared when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
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
