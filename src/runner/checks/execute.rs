//! Executing one check: probe, compare, and for checks with `within` poll until the
//! expectation holds or the deadline passes. Negative outcomes need no polling to be
//! robust: `timeout` is only observed after a whole probe deadline of silence.

use std::time::{Duration, Instant};

use super::expect;
use crate::front::lab::Check;
use crate::kernel::engine::LiveLab;
use crate::runner::results::{CheckResult, Observed};

/// Pause between attempts while converging. Short: it bounds how late convergence is
/// noticed, not whether it is.
const RETRY: Duration = Duration::from_millis(100);
/// The shortest attempt while converging, so that the last attempts before the deadline
/// can still see an answer.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);
const SHORTAGE_PAUSE: Duration = Duration::from_millis(250);

/// Routers limit the ICMP errors they send for unroutable packets per source (a burst of
/// five, then one per second; not a per-namespace sysctl). An expected ICMP error that did
/// not come may have been rate limited: ask again once the limit has refilled. Silence is
/// never taken for an error: `timeout` itself needs no retry.
const ICMP_REFILL: Duration = Duration::from_millis(1100);
const ICMP_RETRIES: u32 = 2;
/// How often a check whose asserted drop went unseen by eBPF is asked again (below).
const UNSEEN_DROP_RETRIES: u32 = 1;

fn icmp_error_missed(check: &Check, r: &CheckResult, attempts: u32) -> bool {
    let expected_error = matches!(check.expect, crate::front::lab::Expectation::Outcome(o) if !matches!(o, crate::front::lab::Outcome::Ok | crate::front::lab::Outcome::Timeout | crate::front::lab::Outcome::Refused | crate::front::lab::Outcome::NoRoute));
    let got_silence = r
        .observed
        .as_ref()
        .is_some_and(|o| o.outcome == crate::front::lab::Outcome::Timeout);
    expected_error && got_silence && attempts <= ICMP_RETRIES
}

pub async fn execute(live: &LiveLab, check: &Check) -> CheckResult {
    if let crate::front::lab::Probe::Command { .. } = check.probe {
        return super::command::run(live, check).await;
    }
    let ns = live.node_ns(check.from);
    let start = Instant::now();
    let deadline = check.within.map(|w| start + w);
    let mut attempts = 0;
    let mut result = CheckResult {
        name: check.name.clone(),
        from: live.lab.node(check.from).name.clone(),
        probe: format!("{} {}", check.probe.kind(), check.probe.target()),
        expected: expect::describe(check),
        passed: false,
        observed: None,
        error: None,
        attempts: 0,
        duration: Duration::ZERO,
    };
    // A drop the kernel made can go unreported: under heavy load, about one neighbour
    // failure in a thousand freed its queue (`neigh-failed`, the ICMP error sent) without
    // the tracer reporting it, with the namespace registered, no recursion miss and no
    // ring-buffer loss counted; the cause is not found (docs/drops.md). A check that got
    // all it expects but its drop is asked once more, and its attempts say so.
    loop {
        attempts += 1;
        let drop_unseen;
        let timeout = match deadline {
            Some(d) => check
                .timeout
                .min(d.saturating_duration_since(Instant::now()).max(MIN_ATTEMPT)),
            None => check.timeout,
        };
        let probe = crate::kernel::probe::run(ns.fd(), &check.probe, timeout);
        let (outcome, drops) = match &live.drops {
            Some(s) => {
                s.probe(probe, |r| {
                    s.explain
                        || check.dropped.is_some()
                        || !matches!(r, Ok(o) if o.outcome == crate::front::lab::Outcome::Ok)
                })
                .await
            }
            None => (probe.await, Vec::new()),
        };
        match outcome {
            // The neighbour table is shared by every namespace on the machine: a full one
            // is another lab's doing, and clears within seconds.
            Err(e)
                if e.is_resource_shortage()
                    && start.elapsed() < check.timeout.max(check.within.unwrap_or_default()) =>
            {
                result.error = Some(e.to_string());
                tokio::time::sleep(SHORTAGE_PAUSE).await;
                continue;
            }
            Err(e) => {
                result.error = Some(e.to_string());
                break;
            }
            Ok(obs) => {
                result.error = None;
                let mut observed = Observed::from(&obs);
                let explain = live.drops.as_ref().is_some_and(|s| s.explain);
                if obs.outcome != crate::front::lab::Outcome::Ok
                    || explain
                    || check.dropped.is_some()
                {
                    observed.drop = crate::runner::checks::drops::attribute(
                        live,
                        check.from,
                        obs.outcome == crate::front::lab::Outcome::Ok,
                        &drops,
                    )
                    .await
                    .map(Box::new);
                }
                result.passed = expect::matches(check, &obs, observed.drop.as_deref());
                drop_unseen = !result.passed
                    && live.drops.as_ref().is_some_and(|s| s.active())
                    && expect::only_drop_unseen(check, &obs, observed.drop.as_deref());
                result.observed = Some(observed);
                if result.passed {
                    break;
                }
            }
        }
        match deadline {
            Some(d) if Instant::now() + RETRY < d => tokio::time::sleep(RETRY).await,
            _ if icmp_error_missed(check, &result, attempts) => {
                tokio::time::sleep(ICMP_REFILL).await
            }
            // The pause lets the ICMP error's token bucket refill, as above.
            _ if drop_unseen && attempts <= UNSEEN_DROP_RETRIES => {
                tokio::time::sleep(ICMP_REFILL).await
            }
            _ => break,
        }
    }
    result.attempts = attempts;
    result.duration = start.elapsed();
    result
}

/// Whether the check moves bulk data (tcp `send`): it can fill a slow link and make other
/// checks through it lose packets, so it runs alone.
pub fn bulk(c: &Check) -> bool {
    matches!(c.probe, crate::front::lab::Probe::Tcp { send: Some(_), .. })
}

/// Checks of one batch: each may create two neighbour entries (one on each side), the
/// same reckoning as a matrix cell.
const CHECKS_PER_BATCH: usize = super::matrix::NEIGHBOUR_BUDGET / 2;

/// Run checks concurrently (the probe layer bounds how many sockets are open at once),
/// then the bulk transfers one at a time. Results keep the checks' order.
///
/// Like matrix cells, checks take their neighbour entries from the host's budget: the
/// host's neighbour table is shared by every namespace and its entries younger than five
/// seconds cannot be reclaimed, so 1,200 pings sent at once fail with ENOBUFS by the
/// hundred, and make every other lab on the host fail too. More checks than one batch
/// holds run batch after batch, and after each batch the neighbour entries it created are
/// removed (as a matrix does): the lab's tables end as they began. Labs with fewer checks
/// keep what their checks resolved (snapshots of `neighbours` state show it).
pub async fn execute_all(live: &LiveLab, checks: &[Check]) -> Vec<CheckResult> {
    let light: Vec<usize> = (0..checks.len()).filter(|&i| !bulk(&checks[i])).collect();
    let mut results: Vec<Option<CheckResult>> = vec![None; checks.len()];
    let batched = light.len() > CHECKS_PER_BATCH;
    let before = if batched {
        let nodes: Vec<_> = (0..live.lab.nodes.len())
            .map(crate::front::lab::NodeId)
            .collect();
        Some(super::matrix::neighbour_keys(live, &nodes).await)
    } else {
        None
    };
    for batch in light.chunks(CHECKS_PER_BATCH) {
        let permit = crate::kernel::neigh::budget::acquire(batch.len() * 2).await;
        let done =
            futures::future::join_all(batch.iter().map(|&i| execute(live, &checks[i]))).await;
        for (&i, r) in batch.iter().zip(done) {
            results[i] = Some(r);
        }
        match &before {
            Some(before) => super::matrix::forget_new(live, before).await,
            // The entries stay: the budget comes back once the kernel may reclaim them.
            None => permit.release_later(),
        }
    }
    for i in 0..checks.len() {
        if results[i].is_none() {
            results[i] = Some(execute(live, &checks[i]).await);
        }
    }
    results.into_iter().flatten().collect()
}
