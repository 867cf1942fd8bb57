//! One lab, end to end: validate, build, probe, run steps, read state, tear down, compare
//! with the snapshot. Everything a lab does is recorded in its `LabResult`, including the
//! reason it could not run.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Exit};
use crate::front::lab::Lab;
use crate::kernel::engine::LiveLab;
use crate::kernel::state::{NodeState, StateError};
use crate::runner::results::{LabResult, LabStatus, ServiceLog, SnapshotStatus};
use crate::runner::snapshot::{self, Comparison};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Write the observed snapshot as the reviewed one.
    pub accept: bool,
    /// Under CI: never write snapshot files, and a missing snapshot fails.
    pub ci: bool,
    /// Judge the lab by its checks alone (grading): no snapshot is read or written.
    pub skip_snapshot: bool,
    /// Record every interface while the checks and steps run (`test --capture`). Static:
    /// the settings are made once per process and shared by every lab.
    pub capture: Option<&'static crate::kernel::capture::Settings>,
    /// Say where the packets of every probe died, passing ones included.
    pub explain: bool,
    /// Whether drops are traced at all.
    pub drops: crate::kernel::drops::Mode,
}

/// Whether we run under CI (the `CI` variable that CI systems set).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn empty(lab: &str, file: &Path, status: LabStatus) -> LabResult {
    LabResult {
        lab: lab.to_string(),
        file: file.to_path_buf(),
        status,
        checks: Vec::new(),
        matrices: Vec::new(),
        steps: Vec::new(),
        snapshot: SnapshotStatus::NotCompared,
        services: Vec::new(),
        warnings: Vec::new(),
        kernel: crate::kernel::features::Kernel::running().release,
        build: Duration::ZERO,
        duration: Duration::ZERO,
        capture: None,
    }
}

/// Validate and run the lab at `path`. Diagnostics of an invalid lab are in the result's
/// error message, rendered.
pub async fn run_file(path: &Path, opts: Options) -> LabResult {
    let loaded = match crate::front::validate::load(path) {
        Ok(l) => l,
        Err(e) => {
            return empty(
                &path.display().to_string(),
                path,
                LabStatus::Error {
                    exit: Exit::Invalid,
                    message: format!("{}: {e}", path.display()),
                },
            );
        }
    };
    match loaded.lab {
        Some(lab) => {
            let mut warnings: Vec<String> = loaded
                .diags
                .iter()
                .map(|d| d.render(&loaded.file, false).trim_end().to_string())
                .collect();
            let mut r = run(lab, opts).await;
            if let LabStatus::Error { message, .. } = &mut r.status {
                *message = crate::front::nft_location::locate(&loaded.file, message);
            }
            warnings.append(&mut r.warnings);
            r.warnings = warnings;
            r
        }
        None => {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            empty(
                &name,
                path,
                LabStatus::Error {
                    exit: Exit::Invalid,
                    message: loaded.render(false),
                },
            )
        }
    }
}

pub async fn run(lab: Lab, opts: Options) -> LabResult {
    let start = Instant::now();
    let name = lab.name.clone();
    let file = lab.path.clone();
    // A lab this kernel cannot run is skipped with the kernel options it needs, not failed.
    match crate::kernel::features::missing(&lab) {
        Ok(missing) if !missing.is_empty() => {
            let reasons = missing
                .iter()
                .map(|m| format!("{m}: {}", m.detail))
                .collect();
            return empty(&name, &file, LabStatus::Skipped { reasons });
        }
        Ok(_) => {}
        Err(e) => {
            return empty(
                &name,
                &file,
                LabStatus::Error {
                    exit: e.exit(),
                    message: e.to_string(),
                },
            );
        }
    }
    let plan = crate::plan::build(&lab);
    let (live, _) = match crate::kernel::engine::apply(lab, plan).await {
        Ok(l) => l,
        Err(e) => {
            let mut r = empty(
                &name,
                &file,
                LabStatus::Error {
                    exit: e.exit(),
                    message: e.to_string(),
                },
            );
            r.duration = start.elapsed();
            return r;
        }
    };
    let build = start.elapsed();
    let mut result = empty(&name, &file, LabStatus::Passed);
    result.build = build;
    let capture = match opts.capture {
        Some(settings) => Some(crate::kernel::capture::start(&live, settings).await),
        None => None,
    };
    let mut result = probe_and_compare(live, opts, result, capture).await;
    if let Some(settings) = opts.capture {
        settle_capture(&mut result, settings);
    }
    result.duration = start.elapsed();
    result
}

/// Checks, matrices and steps (recorded by `capture` when asked), then the snapshot.
async fn probe_and_compare(
    mut live: LiveLab,
    opts: Options,
    mut result: LabResult,
    capture: Option<Result<crate::kernel::capture::Running, crate::kernel::capture::CaptureResult>>,
) -> LabResult {
    let overflows_before = crate::kernel::neigh::table::overflows();
    if opts.drops != crate::kernel::drops::Mode::Off {
        live.drops = Some(std::sync::Arc::new(crate::kernel::drops::Session::start(
            live.namespaces.iter().map(|n| (n.inode, n.fd())),
            opts.explain,
        )));
    }
    let lost_before = live.drops.as_ref().map_or(0, |d| d.lost());
    result.checks = crate::runner::checks::execute::execute_all(&live, &live.lab.checks).await;
    for m in &live.lab.matrices {
        result
            .matrices
            .push(crate::runner::checks::matrix::run(&live, m).await);
    }
    for s in &live.lab.steps {
        result
            .steps
            .push(crate::runner::checks::steps::run(&live, s).await);
    }
    let lost = live
        .drops
        .as_ref()
        .map_or(0, |d| d.lost())
        .saturating_sub(lost_before);
    if lost > 0 {
        result
            .warnings
            .push(crate::kernel::drops::lost_warning(lost));
    }
    if let (Some(before), Some(after)) =
        (overflows_before, crate::kernel::neigh::table::overflows())
        && after > before
    {
        result
            .warnings
            .push(crate::kernel::neigh::table::warning(after - before));
    }
    result.capture = match capture {
        // Joining waits for the last queued packets to be written: not on a runtime worker.
        Some(Ok(running)) => Some(
            tokio::task::spawn_blocking(move || running.finish())
                .await
                .unwrap_or_else(|e| crate::kernel::capture::CaptureResult::lost(e.to_string())),
        ),
        Some(Err(failed)) => Some(failed),
        None => None,
    };
    if opts.skip_snapshot {
        result.services = service_logs(&live).await;
        drop(live);
        result.status = if result.failed_checks() == 0 {
            LabStatus::Passed
        } else {
            LabStatus::Failed
        };
        return result;
    }
    let state = match selected_state(&live).await {
        Ok(s) => s,
        Err(e) => {
            let e = Error::from(e).context("reading node state for the snapshot");
            result.status = LabStatus::Error {
                exit: e.exit(),
                message: e.to_string(),
            };
            return result;
        }
    };
    result.services = service_logs(&live).await;
    drop(live);

    let text = snapshot::render(&result, &state);
    result.snapshot = settle_snapshot(&result.file, &text, opts);
    // A snapshot nobody reviewed protects nothing: a new one fails the run like a changed
    // one, until it is accepted (`topolab review`, or `test --accept`).
    let snapshot_ok = matches!(
        result.snapshot,
        SnapshotStatus::Matched | SnapshotStatus::Accepted
    );
    result.status = if result.failed_checks() == 0 && snapshot_ok {
        LabStatus::Passed
    } else {
        LabStatus::Failed
    };
    result
}

/// `on-failure`: a passing lab's capture is deleted and not reported.
fn settle_capture(result: &mut LabResult, settings: &crate::kernel::capture::Settings) {
    let passed = matches!(result.status, LabStatus::Passed);
    if crate::kernel::capture::keep(settings.mode, passed) {
        return;
    }
    if let Some(file) = result.capture.take().and_then(|c| c.file) {
        let _ = std::fs::remove_file(file);
    }
}

async fn selected_state(live: &LiveLab) -> Result<Vec<NodeState>, StateError> {
    let sel = &live.lab.snapshot;
    if sel.state.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<_> = sel.state.iter().copied().collect();
    let macs = crate::kernel::state::mac_owners(live).await?;
    let mut out = Vec::new();
    for node in &sel.nodes {
        out.push(crate::kernel::state::read(live, *node, &kinds, &macs).await?);
    }
    Ok(out)
}

async fn service_logs(live: &LiveLab) -> Vec<ServiceLog> {
    let services = live.services.lock().await;
    services
        .iter()
        .map(|s| ServiceLog {
            node: live.lab.node(s.node).name.clone(),
            service: s.spec.name.clone(),
            output: s.output(),
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|l| !l.output.trim().is_empty())
        .collect()
}

/// Compare with the reviewed snapshot and write what the mode asks for.
fn settle_snapshot(lab: &Path, text: &str, opts: Options) -> SnapshotStatus {
    let pending = snapshot::pending_path(lab);
    if opts.accept && !opts.ci {
        return match std::fs::write(snapshot::snap_path(lab), text) {
            Ok(()) => {
                let _ = std::fs::remove_file(&pending);
                SnapshotStatus::Accepted
            }
            Err(e) => SnapshotStatus::Changed {
                diff: format!("cannot write {}: {e}", snapshot::snap_path(lab).display()),
                pending: None,
            },
        };
    }
    let write_pending = |_: ()| -> Option<std::path::PathBuf> {
        if opts.ci {
            return None;
        }
        std::fs::write(&pending, text).ok().map(|_| pending.clone())
    };
    match snapshot::compare(lab, text) {
        Comparison::Matched => {
            let _ = std::fs::remove_file(&pending);
            SnapshotStatus::Matched
        }
        Comparison::Missing => SnapshotStatus::New {
            pending: write_pending(()),
        },
        Comparison::Changed(diff) => SnapshotStatus::Changed {
            diff,
            pending: write_pending(()),
        },
    }
}
