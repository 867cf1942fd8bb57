//! One diff from the diffs of its shards (`diff --shard K/N`, one CI job each): the same
//! shape, counts and flow order as a diff that probed every flow in one run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{DiffResult, VERSION};
use crate::output::report::merge::MergeError;

/// Merge diffs read from files (the paths are for messages). They must be the shards of
/// one run: the same base and candidate, each shard 1..=N once.
pub fn merge(inputs: Vec<(PathBuf, DiffResult)>) -> Result<DiffResult, MergeError> {
    for (path, d) in &inputs {
        if d.version != VERSION {
            return Err(MergeError::Version {
                path: path.clone(),
                what: "diff report",
                version: d.version,
                supported: VERSION,
            });
        }
    }
    let shards: Vec<(&Path, _)> = inputs.iter().map(|(p, d)| (p.as_path(), d.shard)).collect();
    // Two whole diffs probed the same flows: adding them up would count each flow twice.
    if !crate::output::report::merge::shard_set(&shards, "diff", "flows")? {
        return Err(MergeError::NotOneRun(
            "these diff reports are not shards: only the reports of `diff --shard K/N` merge"
                .into(),
        ));
    }
    let Some((first_path, first)) = inputs.first() else {
        return Err(MergeError::Empty("diff"));
    };
    for (path, d) in &inputs[1..] {
        if d.base != first.base || d.candidate != first.candidate {
            return Err(MergeError::NotOneRun(format!(
                "{} compares {} with {} but {} compares {} with {}: merge the shards of one diff",
                path.display(),
                d.base,
                d.candidate,
                first_path.display(),
                first.base,
                first.candidate
            )));
        }
    }
    let mut by_index = BTreeMap::new();
    for (path, d) in &inputs {
        for f in &d.flows {
            let Some(i) = f.index else {
                return Err(MergeError::NotAReport {
                    path: path.clone(),
                    problem: format!(
                        "flow `{}` has no index: was this report written by `diff --shard`?",
                        f.label()
                    ),
                });
            };
            if let Some(other) = by_index.insert(i, path) {
                return Err(MergeError::InBoth {
                    item: format!("flow {i}"),
                    first: other.to_path_buf(),
                    second: path.clone(),
                    inputs: "labs",
                });
            }
        }
    }
    let mut inputs = inputs.into_iter();
    let Some((_, mut merged)) = inputs.next() else {
        return Err(MergeError::Empty("diff"));
    };
    for (_, d) in inputs {
        merged.probed += d.probed;
        merged.checks += d.checks;
        merged.matrix += d.matrix;
        merged.auto += d.auto;
        merged.changed += d.changed;
        merged.settled_on_retry += d.settled_on_retry;
        merged.one_at_a_time |= d.one_at_a_time;
        merged.neighbour_overflows += d.neighbour_overflows;
        merged.flows.extend(d.flows);
        for w in d.warnings {
            if !merged.warnings.contains(&w) {
                merged.warnings.push(w);
            }
        }
    }
    merged.flows.sort_by_key(|f| f.index);
    for f in &mut merged.flows {
        f.index = None;
    }
    merged.shard = None;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::lab::Outcome;
    use crate::output::diff::{FlowResult, Origin, SCOPE, Side};
    use crate::runner::results::Observed;
    use crate::runner::shard::Shard;

    fn obs(o: Outcome) -> Side {
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
    }

    fn flow(index: usize, origin: Origin) -> FlowResult {
        FlowResult {
            index: Some(index),
            origin,
            from: "a".into(),
            probe: format!("ping 10.0.0.{index}"),
            changed: true,
            retried: false,
            base: obs(Outcome::Ok),
            candidate: obs(Outcome::Timeout),
        }
    }

    fn shard(
        index: u32,
        total: u32,
        probed: usize,
        flows: Vec<FlowResult>,
    ) -> (PathBuf, DiffResult) {
        let d = DiffResult {
            version: VERSION,
            base: "base.toml".into(),
            candidate: "fix.patch.toml".into(),
            probed,
            checks: 0,
            matrix: 0,
            auto: probed,
            changed: flows.len(),
            settled_on_retry: 0,
            one_at_a_time: false,
            scope: SCOPE.into(),
            neighbour_overflows: 0,
            warnings: Vec::new(),
            shard: Some(Shard { index, total }),
            flows,
        };
        (format!("diff-{index}.json").into(), d)
    }

    #[test]
    fn shards_merge_in_the_order_of_a_whole_run() {
        let m = merge(vec![
            shard(2, 2, 5, vec![flow(1, Origin::Auto), flow(7, Origin::Auto)]),
            shard(
                1,
                2,
                5,
                vec![
                    flow(0, Origin::Check { name: "web".into() }),
                    flow(4, Origin::Auto),
                ],
            ),
        ])
        .unwrap();
        let order: Vec<String> = m.flows.iter().map(|f| f.probe.clone()).collect();
        assert_eq!(
            order,
            [
                "ping 10.0.0.0",
                "ping 10.0.0.1",
                "ping 10.0.0.4",
                "ping 10.0.0.7"
            ]
        );
        assert_eq!((m.probed, m.auto, m.changed), (10, 10, 4));
        assert!(m.flows.iter().all(|f| f.index.is_none()));
        assert_eq!(m.shard, None);
        // A diff survives its JSON (what the merge reads), flattened origin included.
        let text = super::super::render::json(&m);
        let back: DiffResult = serde_json::from_str(&text).unwrap();
        assert_eq!(super::super::render::json(&back), text);
    }

    #[test]
    fn shards_of_different_runs_are_refused() {
        let e = merge(vec![shard(1, 2, 1, vec![])]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shard 2/2 is missing: its flows would go unreported"
        );
        let e = merge(vec![
            shard(1, 2, 1, vec![flow(3, Origin::Auto)]),
            shard(2, 2, 1, vec![flow(3, Origin::Auto)]),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("flow 3 is in both"), "{e}");
        let (p, mut whole) = shard(1, 1, 1, vec![]);
        whole.shard = None;
        let e = merge(vec![(p, whole)]).unwrap_err();
        assert!(e.to_string().contains("not shards"), "{e}");
        let (p, mut other) = shard(2, 2, 1, vec![]);
        other.candidate = "other.toml".into();
        let e = merge(vec![shard(1, 2, 1, vec![]), (p, other)]).unwrap_err();
        assert!(
            e.to_string().contains("merge the shards of one diff"),
            "{e}"
        );
    }
}
