//! `topolab diff`: the same flows probed in two labs, and those whose outcome changed.
//!
//! A flow changed when what was observed differs in the outcome or in its evidence: the
//! ICMP error's sender, the frag-needed MTU, the route (dev, via, src, type, table), or a
//! probe that could run in one lab and not in the other. Free-text details and timings
//! never count. A difference is probed again before it is reported, so that an ICMP
//! error lost to rate limiting is not taken for a change.

mod flows;
pub(crate) mod merge;
pub(crate) mod render;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::front::lab::Outcome;
use crate::kernel::engine::LiveLab;
use crate::runner::results::Observed;

pub use flows::{Flow, Origin, Run, flows};

/// How often a difference is probed again before it counts, and the pause before each
/// round: routers rate-limit the ICMP errors they send per destination (a burst, then
/// one per second), so an error missed in a burst comes on a later try.
const CONFIRMATIONS: u32 = 2;
const REFILL: Duration = Duration::from_millis(1100);

/// What one lab showed for a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Side {
    /// The probe ran; this is what the network answered.
    Observed(Observed),
    /// The probe could not be made (no such source address, ...).
    Error { message: String },
    /// The flow does not exist in this lab: its node is missing.
    Absent { reason: String },
}

impl Side {
    /// The outcome and its evidence in words, with where its packets died; two sides
    /// differ when these differ (a flow that dies elsewhere, or for another reason, changed).
    pub fn evidence(&self) -> String {
        match self {
            Side::Observed(o) => match &o.drop {
                Some(d) => {
                    let at = match &d.interface {
                        Some(i) => format!("{} {i}", d.node),
                        None => d.node.clone(),
                    };
                    format!("{}, dropped at {at}: {}", o.summary(), d.reason)
                }
                None => o.summary(),
            },
            Side::Error { message } => format!("error: {message}"),
            Side::Absent { reason } => format!("not probed: {reason}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowResult {
    /// The flow's place among all the diff's flows, in a shard's report (`diff --shard`):
    /// what puts the shards' flows back in the order of a whole run.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<usize>,
    #[serde(flatten)]
    pub origin: Origin,
    pub from: String,
    pub probe: String,
    pub changed: bool,
    /// Probed more than once because the first answers differed.
    pub retried: bool,
    pub base: Side,
    pub candidate: Side,
}

impl FlowResult {
    pub fn label(&self) -> String {
        flows::label(&self.origin, &self.from, &self.probe)
    }
}

/// Everything a diff observed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffResult {
    /// Version of this JSON shape.
    pub version: u32,
    pub base: String,
    pub candidate: String,
    /// Flows probed in both labs (or in the one that has their node).
    pub probed: usize,
    /// Of which checks, `[[matrix]]` cells and automatic matrix flows.
    pub checks: usize,
    pub matrix: usize,
    pub auto: usize,
    pub changed: usize,
    /// Flows that differed at first and agreed when probed again.
    pub settled_on_retry: usize,
    /// Whether the labs were probed at the same time or one after the other (see
    /// `CONCURRENT_PAIRS`).
    pub one_at_a_time: bool,
    /// What "no change" means.
    pub scope: String,
    /// How often the host's neighbour tables overflowed while the labs were probed
    /// (see `neigh_table`); when not 0 the results cannot be trusted.
    pub neighbour_overflows: u64,
    /// Doubts about the results, e.g. a neighbour table that overflowed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// The part of the flows this run probed (`diff --shard K/N`); absent for all of
    /// them, including a diff merged from its shards.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<crate::runner::shard::Shard>,
    /// Changed flows, or every flow with `--all`.
    pub flows: Vec<FlowResult>,
}

pub const VERSION: u32 = 1;

pub const SCOPE: &str = "the probed flows only: traffic that was not probed may still differ";

async fn observe(live: &LiveLab, flow: &Flow, side: usize) -> Side {
    let absent = || Side::Absent {
        reason: format!("no node `{}` in this lab", flow.from),
    };
    match &flow.run {
        Run::Check(per_lab) => {
            let Some(check) = &per_lab[side] else {
                return absent();
            };
            let r = crate::runner::checks::execute::execute(live, check).await;
            match (r.observed, r.error) {
                (_, Some(message)) => Side::Error { message },
                (Some(o), None) => Side::Observed(o),
                (None, None) => Side::Error {
                    message: "nothing observed".into(),
                },
            }
        }
        Run::Probe { probe, timeout } => {
            let Some(id) = live.lab.node_id(&flow.from) else {
                return absent();
            };
            let run = crate::kernel::probe::run(live.node_ns(id).fd(), probe, *timeout);
            let (result, seen) = match &live.drops {
                Some(d) => {
                    d.probe(
                        run,
                        |r| !matches!(r, Ok(o) if o.outcome == crate::front::lab::Outcome::Ok),
                    )
                    .await
                }
                None => (run.await, Vec::new()),
            };
            match result {
                Ok(o) => {
                    let mut observed = Observed::from(&o);
                    if o.outcome != crate::front::lab::Outcome::Ok {
                        observed.drop =
                            crate::runner::checks::drops::attribute(live, id, false, &seen)
                                .await
                                .map(Box::new);
                    }
                    Side::Observed(observed)
                }
                Err(e) => Side::Error {
                    message: e.to_string(),
                },
            }
        }
    }
}

async fn observe_both(labs: [&LiveLab; 2], flow: &Flow) -> (Side, Side) {
    tokio::join!(observe(labs[0], flow, 0), observe(labs[1], flow, 1))
}

/// Whether the flow is a check that moves bulk data: run alone, as `test` runs it, since
/// it can fill a slow link and starve the flows beside it (or another transfer).
fn bulk(flow: &Flow, side: usize) -> bool {
    match &flow.run {
        Run::Check(per_lab) => per_lab[side]
            .as_ref()
            .is_some_and(crate::runner::checks::execute::bulk),
        Run::Probe { .. } => false,
    }
}

/// Probe every flow in one lab (`side` 0 is the base), concurrently (the probe layer
/// bounds the sockets open at once), then the bulk transfers one at a time.
pub async fn probe_all(live: &LiveLab, flows: &[Flow], side: usize) -> Vec<Side> {
    // In batches under the host's neighbour budget (two entries per flow at most), each
    // batch's budget held until the kernel may reclaim its entries: two diffs running at
    // once (or a diff beside test runs) overflowed the host's table and got exit 3.
    let per_batch = crate::kernel::neigh::budget::BATCH_ENTRIES / 2;
    let mut light = Vec::with_capacity(flows.len());
    for batch in flows.chunks(per_batch) {
        let permit = crate::kernel::neigh::budget::acquire(batch.len() * 2).await;
        light.extend(
            futures::future::join_all(batch.iter().map(|f| async move {
                if bulk(f, side) {
                    None
                } else {
                    Some(observe(live, f, side).await)
                }
            }))
            .await,
        );
        permit.release_later();
    }
    let mut sides = Vec::with_capacity(flows.len());
    for (f, seen) in flows.iter().zip(light) {
        sides.push(match seen {
            Some(s) => s,
            None => observe(live, f, side).await,
        });
    }
    sides
}

/// Pair up what each lab showed.
pub fn compare(flows: &[Flow], base: Vec<Side>, candidate: Vec<Side>) -> Vec<FlowResult> {
    flows
        .iter()
        .zip(base.into_iter().zip(candidate))
        .map(|(f, (base, candidate))| FlowResult {
            index: None,
            origin: f.origin.clone(),
            from: f.from.clone(),
            probe: f.probe.clone(),
            changed: base.evidence() != candidate.evidence(),
            retried: false,
            base,
            candidate,
        })
        .collect()
}

/// Whether some difference deserves to be probed again (see `confirm`).
pub fn needs_confirmation(results: &[FlowResult]) -> bool {
    results.iter().any(|r| r.changed && retriable(r))
}

/// Probe the doubtful differences again in both labs, up to `CONFIRMATIONS` times.
pub async fn confirm(labs: [&LiveLab; 2], flows: &[Flow], results: &mut [FlowResult]) {
    for _ in 0..CONFIRMATIONS {
        let again: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].changed && retriable(&results[i]))
            .collect();
        if again.is_empty() {
            break;
        }
        tokio::time::sleep(REFILL).await;
        let seen =
            futures::future::join_all(again.iter().map(|&i| observe_both(labs, &flows[i]))).await;
        for (i, (base, candidate)) in again.into_iter().zip(seen) {
            let r = &mut results[i];
            r.retried = true;
            r.changed = base.evidence() != candidate.evidence();
            r.base = base;
            r.candidate = candidate;
        }
    }
}

/// Neighbour (ARP/NDP) entries live in one table shared by every namespace of the host
/// (1024 entries by default: net.ipv4.neigh.default.gc_thresh3), and an entry cannot be
/// reclaimed in its first five seconds. Two big labs probed at once can fill it, and then
/// probes fail with ENOBUFS or time out for reasons that have nothing to do with either
/// lab. Above this many distinct (node, target) pairs the labs are probed one after the
/// other, each torn down (its entries freed) before the next is built.
pub const CONCURRENT_PAIRS: usize = 300;

/// Distinct (probing node, target address) pairs: a bound on the neighbour entries one
/// lab's probes create.
pub fn neighbour_pairs(flows: &[Flow]) -> usize {
    let mut pairs = std::collections::BTreeSet::new();
    for f in flows {
        let target = f.probe.split_whitespace().nth(1).unwrap_or("");
        let addr = target
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|_| target.to_string());
        pairs.insert((f.from.as_str(), addr));
    }
    pairs.len()
}

/// Differences worth a second look: an ICMP error on one side against silence on the
/// other (the error may have been rate limited), or a probe that failed to run. A flow
/// missing from one lab stays missing, and ok against silence is a real change.
fn retriable(r: &FlowResult) -> bool {
    match (&r.base, &r.candidate) {
        (Side::Absent { .. }, _) | (_, Side::Absent { .. }) => false,
        (Side::Error { .. }, _) | (_, Side::Error { .. }) => true,
        (Side::Observed(a), Side::Observed(b)) => {
            silence_against_icmp(a.outcome, b.outcome) || silence_against_icmp(b.outcome, a.outcome)
        }
    }
}

fn silence_against_icmp(a: Outcome, b: Outcome) -> bool {
    a == Outcome::Timeout
        && matches!(
            b,
            Outcome::NetUnreachable
                | Outcome::HostUnreachable
                | Outcome::PortUnreachable
                | Outcome::AdminProhibited
                | Outcome::TtlExceeded
                | Outcome::FragNeeded
        )
}

/// Count what was probed and keep the changed flows (or all of them).
pub fn summarize(
    base: String,
    candidate: String,
    results: Vec<FlowResult>,
    all: bool,
    one_at_a_time: bool,
    overflows: u64,
) -> DiffResult {
    let enobufs = results
        .iter()
        .filter(|r| {
            [&r.base, &r.candidate]
                .iter()
                .any(|s| matches!(s, Side::Error { message } if message.contains("ENOBUFS")))
        })
        .count();
    let mut warnings = Vec::new();
    if overflows > 0 {
        warnings.push(format!(
            "the host's neighbour table overflowed {overflows} time(s) while the labs were \
             probed (it is shared by every namespace on the host, other labs running now \
             included): flows that timed out or could not be sent may be wrong; run the diff \
             again when the host is quieter"
        ));
    }
    if enobufs > 0 && overflows == 0 {
        warnings.push(format!(
            "{enobufs} flow(s) could not be sent (ENOBUFS): the kernel's neighbour table, \
             shared by every namespace on this host (net.ipv4.neigh.default.gc_thresh3), was \
             probably full, and flows near them may have timed out for that reason alone; \
             run the diff again with fewer labs running on the host, or with --no-matrix"
        ));
    }
    let count = |p: fn(&Origin) -> bool| results.iter().filter(|r| p(&r.origin)).count();
    DiffResult {
        version: VERSION,
        base,
        candidate,
        probed: results.len(),
        checks: count(|o| matches!(o, Origin::Check { .. })),
        matrix: count(|o| matches!(o, Origin::Matrix { .. })),
        auto: count(|o| matches!(o, Origin::Auto)),
        changed: results.iter().filter(|r| r.changed).count(),
        settled_on_retry: results.iter().filter(|r| r.retried && !r.changed).count(),
        one_at_a_time,
        scope: SCOPE.to_string(),
        neighbour_overflows: overflows,
        warnings,
        shard: None,
        flows: results.into_iter().filter(|r| all || r.changed).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(from: &str, probe: &str) -> Flow {
        Flow {
            origin: Origin::Auto,
            from: from.into(),
            probe: probe.into(),
            run: Run::Check(Box::new([None, None])),
        }
    }

    #[test]
    fn neighbour_pairs_count_targets_not_ports() {
        let flows = [
            flow("a", "ping 10.0.0.2"),
            flow("a", "tcp 10.0.0.2:80"),
            flow("a", "tcp [fd00::2]:80"),
            flow("b", "ping 10.0.0.2"),
        ];
        assert_eq!(neighbour_pairs(&flows), 3);
    }

    #[test]
    fn only_doubtful_differences_are_probed_again() {
        let obs = |o: Outcome| {
            Side::Observed(Observed {
                outcome: o,
                from: None,
                mtu: None,
                route: None,
                detail: None,
                command: None,
                path: None,
                drop: None,
            })
        };
        let r = |b: Side, c: Side| FlowResult {
            index: None,
            origin: Origin::Auto,
            from: "a".into(),
            probe: "ping 10.0.0.2".into(),
            changed: true,
            retried: false,
            base: b,
            candidate: c,
        };
        let absent = || Side::Absent { reason: "x".into() };
        let error = || Side::Error {
            message: "ENOBUFS".into(),
        };
        assert!(retriable(&r(
            obs(Outcome::Timeout),
            obs(Outcome::HostUnreachable)
        )));
        assert!(retriable(&r(
            obs(Outcome::AdminProhibited),
            obs(Outcome::Timeout)
        )));
        assert!(retriable(&r(error(), obs(Outcome::Ok))));
        assert!(!retriable(&r(obs(Outcome::Timeout), obs(Outcome::Ok))));
        assert!(!retriable(&r(obs(Outcome::Refused), obs(Outcome::Ok))));
        assert!(!retriable(&r(absent(), obs(Outcome::Ok))));
    }
}
