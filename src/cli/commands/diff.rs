//! `topolab diff BASE CANDIDATE`: build both labs, probe the same flows in each, show
//! the flows whose outcome changed.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Exit, Result};
use crate::front::lab::Lab;
use crate::kernel::engine::LiveLab;
use crate::output::diff;
use crate::term::{ColorChoice, Paint, use_color};

pub use super::format::Format;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 no probed flow changed, 1 some flow changed, 2 invalid lab, patch or usage, 3 environment (also: the host's neighbour table, shared by every namespace, overflowed while the labs were probed, so the results cannot be trusted), 4 the kernel refused to build a lab."
)]
pub struct Args {
    /// The reference lab.
    pub base: PathBuf,
    /// Run the lab sandboxed, as for a lab from a pull request: every process it brings
    /// (exec lines, services, step and check commands, nft) runs in a user namespace as an
    /// unprivileged host user, and nft rulesets cannot include files (docs/grade.md).
    #[arg(long)]
    pub untrusted: bool,
    /// The changed lab: a lab file, or a patch (*.patch.toml) merged into BASE.
    pub candidate: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Show every probed flow, not only the changed ones.
    #[arg(long)]
    pub all: bool,
    /// Probe only the labs' checks and matrices, not every pair of addresses.
    #[arg(long)]
    pub no_matrix: bool,
    /// How long each automatic probe waits for an answer. The default outlasts the
    /// kernel's neighbour resolution, so an address nobody answers ARP for shows as
    /// host-unreachable rather than timeout.
    #[arg(long, default_value = "5s", value_parser = crate::front::validate::values::duration)]
    pub timeout: Duration,
    /// Probe only shard K of N (1 <= K <= N) of the flows, for CI matrices: every shard
    /// builds both labs and probes every N-th flow. Merge the shards' JSON reports
    /// (`--format json`) with `topolab merge-reports`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::runner::shard::Shard>,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    crate::kernel::sandbox::set_untrusted(args.untrusted);
    let diag_color = use_color(color, true);
    let base = super::load_lab(&args.base, diag_color)?;
    let (candidate, label) = if crate::front::patch::is_patch_file(&args.candidate) {
        let loaded = crate::front::patch::load(&args.base, &args.candidate)
            .map_err(|e| Error::invalid(format!("{}: {e}", args.candidate.display())))?;
        let label = crate::front::patch::label(&args.base, std::slice::from_ref(&args.candidate));
        (super::lab_of(loaded, &label, diag_color)?, label)
    } else {
        (
            super::load_lab(&args.candidate, diag_color)?,
            args.candidate.display().to_string(),
        )
    };
    let mut flows = diff::flows([&base, &candidate], !args.no_matrix, args.timeout);
    let base_label = args.base.display().to_string();
    // Decided on every flow, so that each shard probes the way the whole diff would.
    let one_at_a_time = diff::neighbour_pairs(&flows) > diff::CONCURRENT_PAIRS;
    // Dealt out in turn: the flow list is the same in every job (it depends on the labs
    // only), and flows next to each other (one node's pings) spread over the shards.
    let mut indices: Vec<usize> = (0..flows.len()).collect();
    if let Some(shard) = args.shard {
        let all = flows.len();
        let total = shard.total as usize;
        let mine = |i: &usize| i % total == shard.index as usize - 1;
        indices.retain(mine);
        flows = flows
            .into_iter()
            .enumerate()
            .filter(|(i, _)| mine(i))
            .map(|(_, f)| f)
            .collect();
        eprintln!("topolab: shard {shard}: {} of {all} flows", flows.len());
    }

    let overflows_before = crate::kernel::neigh::table::overflows();
    let rt = super::runtime()?;
    // SIGINT and SIGTERM end the process, which is a complete teardown (see `sandbox`).
    let results = rt.block_on(run_labs(base, candidate, &flows, one_at_a_time));
    drop(rt);
    let overflows = match (overflows_before, crate::kernel::neigh::table::overflows()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => 0,
    };
    let mut results = results?;
    if args.shard.is_some() {
        for (r, i) in results.iter_mut().zip(&indices) {
            r.index = Some(*i);
        }
    }
    let mut d = diff::summarize(
        base_label,
        label,
        results,
        args.all,
        one_at_a_time,
        overflows,
    );
    d.shard = args.shard;
    match args.format {
        Format::Human => print!(
            "{}",
            diff::render::human(
                &d,
                Paint {
                    on: use_color(color, false)
                }
            )
        ),
        Format::Json => print!("{}", diff::render::json(&d)),
    }
    // Results taken while the host could not resolve neighbours say nothing about the labs.
    if d.neighbour_overflows > 0 {
        return Ok(Exit::Environment);
    }
    Ok(if d.changed == 0 {
        Exit::Pass
    } else {
        Exit::Fail
    })
}

/// Small diffs build both labs at once and probe them side by side (they live in
/// namespaces of their own and never meet). Big ones probe one lab after the other, so
/// that the host's shared neighbour table holds one lab's entries at a time; the few
/// doubtful differences are then probed again with both labs up.
async fn run_labs(
    base: Lab,
    candidate: Lab,
    flows: &[diff::Flow],
    one_at_a_time: bool,
) -> Result<Vec<diff::FlowResult>> {
    if !one_at_a_time {
        let (b, c) = tokio::join!(build(base, "base"), build(candidate, "candidate"));
        let (b, c) = (b?, c?);
        let (sb, sc) = tokio::join!(diff::probe_all(&b, flows, 0), diff::probe_all(&c, flows, 1));
        let mut results = diff::compare(flows, sb, sc);
        diff::confirm([&b, &c], flows, &mut results).await;
        return Ok(results);
    }
    let sb = {
        let b = build(base.clone(), "base").await?;
        diff::probe_all(&b, flows, 0).await
    };
    let sc = {
        let c = build(candidate.clone(), "candidate").await?;
        diff::probe_all(&c, flows, 1).await
    };
    let mut results = diff::compare(flows, sb, sc);
    if diff::needs_confirmation(&results) {
        let (b, c) = tokio::join!(build(base, "base"), build(candidate, "candidate"));
        let (b, c) = (b?, c?);
        diff::confirm([&b, &c], flows, &mut results).await;
    }
    Ok(results)
}

async fn build(lab: Lab, which: &str) -> Result<LiveLab> {
    let name = lab.name.clone();
    let plan = crate::plan::build(&lab);
    let mut live = crate::kernel::engine::apply(lab, plan)
        .await
        .map(|(live, _)| live)
        .map_err(|e| e.context(format!("building the {which} lab `{name}`")))?;
    // Where a flow dies is part of its evidence, in `diff` as in `test`.
    live.drops = Some(std::sync::Arc::new(crate::kernel::drops::Session::start(
        live.namespaces.iter().map(|n| (n.inode, n.fd())),
        false,
    )));
    Ok(live)
}
