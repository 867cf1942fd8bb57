//! All-pairs reachability: every cell probed once, concurrently; one table per matrix.
//!
//! The kernel's neighbour (ARP/NDP) table is one table shared by every namespace, with a
//! limit set only in the host's namespace (gc_thresh3, 1024 by default), and entries
//! younger than five seconds cannot be reclaimed. A matrix of 100 hosts on one switch
//! needs 9,900 entries; sent all at once, most probes fail with ENOBUFS. So the matrix
//! runs in batches that stay well under the limit, and after each batch removes the
//! neighbour entries that it created itself (entries that existed before are kept): every
//! pair still resolves its neighbour for real, and the lab's tables end as they began.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::front::lab::{Matrix, MatrixPair, MatrixProbe, NodeId, Probe};
use crate::kernel::engine::LiveLab;
use crate::kernel::engine::neighbours::{self, NeighKey};
use crate::runner::results::{MatrixCell, MatrixResult, Observed};

/// New neighbour entries a batch may create: a pair of nodes on one segment creates two
/// (one on each side, per address family). The budget is the host's, shared with every
/// lab and topolab process beside this one (see `neigh_budget`).
pub const NEIGHBOUR_BUDGET: usize = crate::kernel::neigh::budget::BATCH_ENTRIES;
/// Rounds for cells that still met a full neighbour table (another process at work).
const RETRY_ROUNDS: usize = 10;
const RETRY_PAUSE: Duration = Duration::from_millis(600);

fn probe_for(m: &Matrix, p: &MatrixPair) -> Probe {
    match m.probe {
        MatrixProbe::Ping => Probe::Ping {
            dst: p.addr,
            count: 1,
            size: 56,
            dont_fragment: false,
            ttl: None,
            source: None,
        },
        MatrixProbe::Tcp(port) => Probe::Tcp {
            dst: SocketAddr::new(p.addr, port),
            ttl: None,
            source: None,
            send: None,
        },
    }
}

/// The node that owns an address, if it is one of the lab's.
fn owners(live: &LiveLab) -> HashMap<IpAddr, NodeId> {
    let mut map = HashMap::new();
    for (i, n) in live.lab.nodes.iter().enumerate() {
        for (_, a) in n.addresses() {
            map.entry(a.addr()).or_insert(NodeId(i));
        }
    }
    map
}

/// Cells grouped so that both directions between two nodes share a batch (they share
/// the two neighbour entries), then cut into batches within the budget.
fn batches(m: &Matrix, owners: &HashMap<IpAddr, NodeId>) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(usize, usize, bool), Vec<usize>> = BTreeMap::new();
    for (i, p) in m.pairs.iter().enumerate() {
        let to = owners.get(&p.addr).map(|n| n.0).unwrap_or(usize::MAX);
        let key = (p.from.0.min(to), p.from.0.max(to), p.addr.is_ipv4());
        groups.entry(key).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut cost = 0;
    for cells in groups.into_values() {
        if cost + 2 > NEIGHBOUR_BUDGET && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            cost = 0;
        }
        cost += 2;
        current.extend(cells);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

pub async fn neighbour_keys(
    live: &LiveLab,
    nodes: &[NodeId],
) -> HashMap<NodeId, HashSet<NeighKey>> {
    let lists = futures::future::join_all(nodes.iter().map(|n| async move {
        (
            *n,
            match live.node_netlink(*n).await {
                Ok(nl) => neighbours::list(&nl).await.unwrap_or_default(),
                Err(_) => Vec::new(),
            },
        )
    }))
    .await;
    lists
        .into_iter()
        .map(|(n, keys)| (n, keys.into_iter().collect()))
        .collect()
}

/// Remove the entries that appeared since `before` (the matrix made them).
pub async fn forget_new(live: &LiveLab, before: &HashMap<NodeId, HashSet<NeighKey>>) {
    let nodes: Vec<NodeId> = before.keys().copied().collect();
    let now = neighbour_keys(live, &nodes).await;
    let deletions = now.into_iter().flat_map(|(n, keys)| {
        let old = before.get(&n);
        keys.into_iter()
            .filter(move |k| old.is_none_or(|o| !o.contains(k)))
            .map(move |k| (n, k))
    });
    futures::future::join_all(deletions.map(|(n, k)| async move {
        // An entry that went away by itself in the meantime is fine.
        if let Ok(nl) = live.node_netlink(n).await {
            let _ = nl.change(neighbours::delete(&k)).await;
        }
    }))
    .await;
}

type CellResult = (
    Option<Observed>,
    Option<String>,
    bool,
    Vec<crate::kernel::drops::Seen>,
);

/// Probes one cell on a task of its own: a batch is hundreds of probes whose sends run the
/// whole path (veth, bridge, the peer's stack) in the sending thread, so one task would
/// keep every core but one idle.
/// The tasks sit in a JoinSet, which aborts them if the matrix is dropped half-way (a run
/// cut short), so that none outlives the lab holding a namespace.
fn probe_cell(
    tasks: &mut tokio::task::JoinSet<(usize, CellResult)>,
    i: usize,
    live: &LiveLab,
    m: &Matrix,
    p: &MatrixPair,
) {
    let ns = live.node_ns(p.from).fd().try_clone_to_owned();
    let probe = probe_for(m, p);
    let timeout = m.timeout;
    // Only eBPF: counters would need the matrix's thousands of probes one at a time.
    let drops = live.drops.clone().filter(|d| d.active());
    tasks.spawn(async move { (i, probe_one(ns, probe, timeout, drops).await) });
}

async fn probe_one(
    ns: std::io::Result<std::os::fd::OwnedFd>,
    probe: Probe,
    timeout: Duration,
    drops: Option<std::sync::Arc<crate::kernel::drops::Session>>,
) -> CellResult {
    let ns = match ns {
        Ok(ns) => ns,
        Err(e) => {
            let why = format!("duplicating the node's namespace descriptor: {e}");
            return (None, Some(why), true, Vec::new());
        }
    };
    let run = crate::kernel::probe::run(std::os::fd::AsFd::as_fd(&ns), &probe, timeout);
    let (result, seen) = match &drops {
        Some(d) => {
            d.probe(run, |r| {
                !matches!(r, Ok(o) if o.outcome == crate::front::lab::Outcome::Ok) || d.explain
            })
            .await
        }
        None => (run.await, Vec::new()),
    };
    match result {
        Ok(o) => (Some(Observed::from(&o)), None, false, seen),
        Err(e) => {
            let shortage = e.is_resource_shortage();
            (None, Some(e.to_string()), shortage, seen)
        }
    }
}

pub async fn run(live: &LiveLab, m: &Matrix) -> MatrixResult {
    let start = Instant::now();
    let owners = owners(live);
    let all_nodes: Vec<NodeId> = (0..live.lab.nodes.len()).map(NodeId).collect();
    let before = neighbour_keys(live, &all_nodes).await;
    let mut seen: Vec<(Option<Observed>, Option<String>)> = vec![(None, None); m.pairs.len()];
    let mut drops: Vec<Vec<crate::kernel::drops::Seen>> = vec![Vec::new(); m.pairs.len()];
    let mut todo = batches(m, &owners);
    for round in 0..=RETRY_ROUNDS {
        let mut short = Vec::new();
        for batch in &todo {
            // Two entries per cell at most; a batch never asks for more than the budget.
            let _permit = crate::kernel::neigh::budget::acquire(batch.len() * 2).await;
            let mut tasks = tokio::task::JoinSet::new();
            for &i in batch {
                probe_cell(&mut tasks, i, live, m, &m.pairs[i]);
            }
            while let Some(done) = tasks.join_next().await {
                // A task that panicked leaves its cell unobserved, with no error: reported
                // as not probed rather than taking the run down.
                let Ok((i, (obs, err, shortage, dropped))) = done else {
                    continue;
                };
                if shortage {
                    short.push(i);
                }
                seen[i] = (obs, err);
                drops[i] = dropped;
            }
            forget_new(live, &before).await;
        }
        if short.is_empty() || round == RETRY_ROUNDS {
            break;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
        todo = vec![short];
    }
    let explain = live.drops.as_ref().is_some_and(|d| d.explain);
    for (i, (observed, _)) in seen.iter_mut().enumerate() {
        if let Some(o) = observed
            && (o.outcome != crate::front::lab::Outcome::Ok || explain)
        {
            let ok = o.outcome == crate::front::lab::Outcome::Ok;
            o.drop = super::drops::attribute(live, m.pairs[i].from, ok, &drops[i])
                .await
                .map(Box::new);
        }
    }
    let cells: Vec<MatrixCell> = m
        .pairs
        .iter()
        .zip(seen)
        .map(|(p, (observed, error))| {
            let passed = observed.as_ref().is_some_and(|o| o.outcome == p.expect);
            MatrixCell {
                from: live.lab.node(p.from).name.clone(),
                to: p.to.clone(),
                addr: p.addr,
                expected: p.expect,
                observed,
                error,
                passed,
            }
        })
        .collect();
    let probe = match m.probe {
        MatrixProbe::Ping => "ping".to_string(),
        MatrixProbe::Tcp(p) => format!("tcp:{p}"),
    };
    MatrixResult {
        name: m.name.clone(),
        probe,
        passed: cells.iter().all(|c| c.passed),
        cells,
        duration: start.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_batch_and_batches_respect_the_budget() {
        let n = 60;
        let mut pairs = Vec::new();
        let mut owners = HashMap::new();
        for i in 0..n {
            owners.insert(IpAddr::from([10, 0, 0, i as u8 + 1]), NodeId(i));
        }
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    pairs.push(MatrixPair {
                        from: NodeId(a),
                        to: format!("n{b}"),
                        addr: IpAddr::from([10, 0, 0, b as u8 + 1]),
                        expect: crate::front::lab::Outcome::Ok,
                    });
                }
            }
        }
        let m = Matrix {
            name: "m".into(),
            probe: MatrixProbe::Ping,
            pairs,
            timeout: Duration::from_secs(1),
        };
        let bs = batches(&m, &owners);
        assert_eq!(bs.iter().map(Vec::len).sum::<usize>(), n * (n - 1));
        for b in &bs {
            // Two probes (one per direction) per pair, two entries per pair.
            assert!(b.len() <= NEIGHBOUR_BUDGET, "{}", b.len());
        }
        let batch_of = |from: usize, to: usize| {
            bs.iter().position(|b| {
                b.iter().any(|&i| {
                    m.pairs[i].from.0 == from
                        && m.pairs[i].addr == IpAddr::from([10, 0, 0, to as u8 + 1])
                })
            })
        };
        assert_eq!(batch_of(3, 7), batch_of(7, 3));
    }
}
