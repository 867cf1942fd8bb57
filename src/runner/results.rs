//! What a run observed: per check, per matrix, per step, per lab. Reports and snapshots
//! are renderings of these.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::front::lab::Outcome;
use crate::kernel::probe::{Observation, RouteInfo, TraceHop};

/// One observation, in words and in fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    pub outcome: Outcome,
    /// Sender of the ICMP error (or the answering address for `ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteObserved>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Command checks: how the command ended and what it printed. `outcome` is then `ok`
    /// when the command ran to its end (whatever its status) and `timeout` when it did not
    /// finish in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Box<CommandObserved>>,
    /// Trace checks: what answered at each TTL, up to the end of the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<HopObserved>>,
    /// Where and why the probe's packets (or their answers) were dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<Box<DropObserved>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandObserved {
    /// Exit status; absent when a signal ended the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
    /// The parts of the expectation that did not hold, e.g. "stdout does not match /Full/".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
    /// The end of the standard output (at most 4 KiB).
    pub stdout: String,
    /// The end of the standard error (at most 4 KiB).
    pub stderr: String,
}

/// One TTL of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HopObserved {
    pub ttl: u8,
    /// Who answered at this TTL; absent for a silent hop (`*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<IpAddr>,
    /// `ttl-exceeded` for a router on the way, the end of the path's own outcome at its
    /// end, `timeout` for silence.
    pub outcome: Outcome,
    /// Round-trip time in milliseconds (not in snapshots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
}

impl From<&TraceHop> for HopObserved {
    fn from(h: &TraceHop) -> HopObserved {
        HopObserved {
            ttl: h.ttl,
            from: h.from,
            outcome: h.outcome,
            rtt_ms: h.rtt.map(|d| (d.as_secs_f64() * 1e6).round() / 1000.0),
        }
    }
}

/// A path in words: its addresses in order, `*` for a silent hop. A loop is shown up to
/// the first address that answers a second time, then `...`: the rest only goes round.
pub fn path_summary(path: &[HopObserved], outcome: Outcome) -> String {
    let mut words = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for h in path {
        match h.from {
            Some(a) => {
                words.push(a.to_string());
                if outcome == Outcome::Loop && !seen.insert(a) {
                    words.push("...".into());
                    break;
                }
            }
            None => words.push("*".into()),
        }
    }
    words.join(" ")
}

/// A drop of the probe's packets: which node's kernel freed them, on which interface, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DropObserved {
    /// The node (or `switch:NAME`) whose kernel dropped the packet.
    pub node: String,
    /// The interface the packet was on, when the kernel knew one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The kernel's drop reason in lower case with dashes (`ip-rpfilter`), or with
    /// `counters` the name of the counter that moved (`TcpExtIPReversePathFilter`).
    pub reason: String,
    pub method: DropMethod,
    /// When what was dropped is the ICMP error a router sent about the probe (quoting its
    /// headers), not the probe itself: that error, as `host-unreachable from 10.2.0.2`.
    /// The probe then went as far as that router; its answer died on the way back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DropMethod {
    /// The `skb:kfree_skb` tracepoint (root, BTF).
    Ebpf,
    /// Deltas of the nodes' counters around the probe.
    Counters,
}

impl DropObserved {
    /// "dropped at srv eth1: ip-rpfilter (ebpf)", or for an ICMP error about the probe
    /// "its host-unreachable from 10.2.0.2 dropped at r eth1: netfilter-drop (ebpf)".
    pub fn summary(&self) -> String {
        let method = match self.method {
            DropMethod::Ebpf => "ebpf",
            DropMethod::Counters => "counters",
        };
        let what = match &self.icmp_error {
            Some(e) => format!("its {e} "),
            None => String::new(),
        };
        match &self.interface {
            Some(i) => format!(
                "{what}dropped at {} {i}: {} ({method})",
                self.node, self.reason
            ),
            None => format!("{what}dropped at {}: {} ({method})", self.node, self.reason),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteObserved {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
}

impl From<&RouteInfo> for RouteObserved {
    fn from(r: &RouteInfo) -> RouteObserved {
        RouteObserved {
            dev: r.dev.clone(),
            via: r.via,
            src: r.src,
            kind: r.kind.clone(),
            table: r.table,
        }
    }
}

impl From<&Observation> for Observed {
    fn from(o: &Observation) -> Observed {
        Observed {
            outcome: o.outcome,
            from: o.from,
            mtu: o.mtu,
            route: o.route.as_ref().map(RouteObserved::from),
            detail: o.detail.clone(),
            command: None,
            path: o
                .path
                .as_ref()
                .map(|p| p.iter().map(HopObserved::from).collect()),
            drop: None,
        }
    }
}

impl Observed {
    /// "host-unreachable from 192.168.0.1", "frag-needed from 10.0.0.1 mtu 1400",
    /// "dev eth0 via 10.0.0.1 type unicast": deterministic, no timings.
    pub fn summary(&self) -> String {
        if let Some(c) = &self.command {
            return command_summary(self.outcome, c);
        }
        let mut s = self.head();
        if let Some(p) = &self.path {
            s.push_str(&format!(" path {}", path_summary(p, self.outcome)));
        }
        s
    }

    /// The summary without a trace's path, which `hop_lines` shows in full.
    pub fn head(&self) -> String {
        if let Some(r) = &self.route {
            return route_summary(r);
        }
        let mut s = self.outcome.to_string();
        if self.outcome != Outcome::Ok
            && let Some(f) = self.from
        {
            s.push_str(&format!(" from {f}"));
        }
        if let Some(m) = self.mtu {
            s.push_str(&format!(" mtu {m}"));
        }
        s
    }

    /// A trace's hops like traceroute prints them: TTL, who answered (or `*`), what the
    /// answer was and its round-trip time.
    pub fn hop_lines(&self) -> Vec<String> {
        let Some(path) = &self.path else {
            return Vec::new();
        };
        path.iter()
            .map(|h| match h.from {
                Some(a) => {
                    let rtt = h.rtt_ms.map(|r| format!("  {r:.3} ms")).unwrap_or_default();
                    format!("{:>2}  {a}  {}{rtt}", h.ttl, h.outcome)
                }
                None => format!("{:>2}  *", h.ttl),
            })
            .collect()
    }
}

pub fn route_summary(r: &RouteObserved) -> String {
    let mut s = String::new();
    if let Some(d) = &r.dev {
        s.push_str(&format!("dev {d} "));
    }
    if let Some(v) = r.via {
        s.push_str(&format!("via {v} "));
    }
    if let Some(src) = r.src {
        s.push_str(&format!("src {src} "));
    }
    s.push_str(&format!("type {}", r.kind));
    if let Some(t) = r.table {
        let name = match t {
            254 => "main".to_string(),
            255 => "local".to_string(),
            t => t.to_string(),
        };
        s.push_str(&format!(" table {name}"));
    }
    s
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    pub name: String,
    /// The probing node.
    pub from: String,
    /// "ping 10.0.0.2", "tcp 10.0.0.2:80".
    pub probe: String,
    /// The expectation in words: "host-unreachable via 192.168.0.1", "dev eth0".
    pub expected: String,
    pub passed: bool,
    /// What was seen last (the passing observation, or the last failing one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
    /// Why the probe could not run at all (refused by the host guard, bad source, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub attempts: u32,
    /// Until the expectation held (positive checks with `within`) or the last attempt ended.
    #[serde(serialize_with = "secs", deserialize_with = "from_secs")]
    #[schemars(with = "f64")]
    pub duration: Duration,
}

impl CheckResult {
    /// The observation in one line, as snapshots and `diff` compare it.
    pub fn observed_summary(&self) -> String {
        match (&self.observed, &self.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(o), None) => o.summary(),
            (None, None) => "nothing".into(),
        }
    }

    /// The observation with where its packets died, for people: "timeout, dropped at
    /// srv eth1: ip-rpfilter (ebpf)".
    pub fn evidence(&self) -> String {
        self.with_drop(self.observed_summary())
    }

    /// `s`, then where the probe's packets died when that is known.
    pub fn with_drop(&self, mut s: String) -> String {
        if self.error.is_none()
            && let Some(d) = self.observed.as_ref().and_then(|o| o.drop.as_ref())
        {
            s.push_str(", ");
            s.push_str(&d.summary());
        }
        s
    }

    /// The line a snapshot keeps: the observation, and for a check that asserts a drop the
    /// drop, in the assertion's words when it held so that it reads the same whether eBPF
    /// or counters saw it (timings, methods and unasserted drops vary between runs).
    pub fn snapshot_summary(&self) -> String {
        let mut s = self.observed_summary();
        if let Some(i) = self.expected.find(", dropped at ") {
            if self.passed {
                s.push_str(&self.expected[i..]);
            } else {
                match self.observed.as_ref().and_then(|o| o.drop.as_ref()) {
                    Some(d) => {
                        s.push_str(", dropped at ");
                        s.push_str(&d.node);
                        if let Some(iface) = &d.interface {
                            s.push_str(&format!(" {iface}"));
                        }
                        s.push_str(&format!(": {}", d.reason));
                    }
                    None => s.push_str(", no drop seen"),
                }
            }
        }
        s
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MatrixCell {
    pub from: String,
    pub to: String,
    pub addr: IpAddr,
    pub expected: Outcome,
    pub observed: Option<Observed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MatrixResult {
    pub name: String,
    pub probe: String,
    pub cells: Vec<MatrixCell>,
    pub passed: bool,
    #[serde(serialize_with = "secs", deserialize_with = "from_secs")]
    #[schemars(with = "f64")]
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActionResult {
    pub action: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepResult {
    pub name: String,
    pub actions: Vec<ActionResult>,
    pub checks: Vec<CheckResult>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SnapshotStatus {
    /// The run matched the reviewed snapshot.
    Matched,
    /// No snapshot existed. Outside CI the observed one was written as `.snap.new`.
    New { pending: Option<PathBuf> },
    /// The run differs from the snapshot; `diff` is unified, old to new.
    Changed {
        diff: String,
        pending: Option<PathBuf>,
    },
    /// `--accept`: the observed snapshot was written as the reviewed one.
    Accepted,
    /// Not compared (the lab did not run to the end).
    NotCompared,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LabStatus {
    Passed,
    Failed,
    /// The kernel lacks what the lab needs.
    Skipped {
        reasons: Vec<String>,
    },
    /// The lab could not be run: invalid, refused by the kernel, missing tool.
    Error {
        // Serialized as its number (2, 3 or 4), which is what reports have always held.
        #[schemars(with = "u8")]
        exit: crate::error::Exit,
        message: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ServiceLog {
    pub node: String,
    pub service: String,
    pub output: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LabResult {
    pub lab: String,
    pub file: PathBuf,
    pub status: LabStatus,
    pub checks: Vec<CheckResult>,
    pub matrices: Vec<MatrixResult>,
    pub steps: Vec<StepResult>,
    pub snapshot: SnapshotStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceLog>,
    /// Release of the kernel the lab ran on (or would have).
    pub kernel: String,
    /// Validation warnings of the lab file, rendered (file:line:col: warning: ...), and
    /// doubts about the run (the host's neighbour table overflowed while it probed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Time to build the lab.
    #[serde(serialize_with = "secs", deserialize_with = "from_secs")]
    #[schemars(with = "f64")]
    pub build: Duration,
    #[serde(serialize_with = "secs", deserialize_with = "from_secs")]
    #[schemars(with = "f64")]
    pub duration: Duration,
    /// The lab's packet capture (`test --capture`); absent when none was asked for or
    /// `on-failure` did not keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<crate::kernel::capture::CaptureResult>,
}

impl LabResult {
    pub fn failed_checks(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
            + self
                .matrices
                .iter()
                .map(|m| m.cells.iter().filter(|c| !c.passed).count())
                .sum::<usize>()
            + self
                .steps
                .iter()
                .map(|s| {
                    s.checks.iter().filter(|c| !c.passed).count()
                        + s.actions.iter().filter(|a| !a.ok).count()
                })
                .sum::<usize>()
    }

    pub fn total_checks(&self) -> usize {
        self.checks.len()
            + self.matrices.iter().map(|m| m.cells.len()).sum::<usize>()
            + self.steps.iter().map(|s| s.checks.len()).sum::<usize>()
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Reports are read back to merge the shards of a suite.
fn from_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

/// Deterministic (no output text, which has timers and counters): how the command ended
/// and which parts of the expectation failed.
pub(crate) fn command_summary(outcome: Outcome, c: &CommandObserved) -> String {
    if outcome == Outcome::Timeout {
        return "timeout (the command did not finish)".into();
    }
    let mut s = match c.exit {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".into(),
    };
    for m in &c.mismatches {
        s.push_str(", ");
        s.push_str(m);
    }
    s
}
