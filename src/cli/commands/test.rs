//! `topolab test`: run labs (in parallel, sharded, sandboxed or in a VM as asked), compare
//! them with their snapshots and report in the chosen formats.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;

use crate::error::{Error, Exit, Result};
use crate::kernel::capture;
use crate::output::report;
use crate::runner::driver::{self, Options};
use crate::runner::results::{LabResult, LabStatus};
use crate::term::{ColorChoice, Paint, use_color};

pub use super::format::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lab files or directories (searched recursively for *.toml).
    #[arg(default_value = "labs")]
    pub paths: Vec<PathBuf>,
    /// Run the lab sandboxed, as for a lab from a pull request: every process it brings
    /// (exec lines, services, step and check commands, nft) runs in a user namespace as an
    /// unprivileged host user, and nft rulesets cannot include files (docs/grade.md).
    #[arg(long)]
    pub untrusted: bool,
    /// How many labs run at once (each is isolated in its own namespaces).
    #[arg(short, long, default_value_t = 4)]
    pub jobs: usize,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the observed snapshots as the reviewed ones (never under CI).
    #[arg(long)]
    pub accept: bool,
    /// Say where and why the packets of every probe died, passing ones included (failing
    /// ones always get it).
    #[arg(long)]
    pub explain: bool,
    /// Trace dropped packets (eBPF on skb:kfree_skb as root) to say where and why a probe
    /// failed, and to conclude `timeout` as soon as the kernel dropped the last packet.
    #[arg(long, value_enum, default_value_t = crate::kernel::drops::Mode::Auto)]
    pub drops: crate::kernel::drops::Mode,
    /// Treat labs skipped for missing kernel features as failures (exit 3). Under CI (the
    /// `CI` environment variable set) this is the default: a regression lab that is
    /// skipped guards nothing.
    #[arg(long)]
    pub strict: bool,
    /// Under CI, let a skipped lab pass (exit 0) instead of failing the run.
    #[arg(long, conflicts_with = "strict")]
    pub allow_skip: bool,
    /// Run everything inside a throwaway VM booted from this kernel image (qemu with
    /// virtme-ng; the host's root filesystem read-only, the current directory writable).
    #[arg(long, value_name = "IMAGE", conflicts_with = "vm_fallback")]
    pub kernel: Option<PathBuf>,
    /// Run the labs this kernel cannot run again inside a VM booted from `--vm-kernel`
    /// (default: the newest image in /boot whose modules are installed); a lab skipped
    /// there too fails.
    #[arg(long)]
    pub vm_fallback: bool,
    /// Kernel image for `--vm-fallback`.
    #[arg(long, value_name = "IMAGE", requires = "vm_fallback")]
    pub vm_kernel: Option<PathBuf>,
    /// Write the JSON report to FILE instead of printing a report (used by VM runs).
    #[arg(long, value_name = "FILE", hide = true)]
    pub report_file: Option<PathBuf>,
    /// Run only shard K of N (1 <= K <= N) of the labs found, for CI matrices. A lab's
    /// shard is a hash of its path relative to the directory given, so adding labs never
    /// moves the others; merge the shards' JSON reports with `topolab merge-reports`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::runner::shard::Shard>,
    /// Record every interface of every node while checks and steps run, one pcapng file
    /// per lab under `--artifacts`; `on-failure` keeps only failed labs' files.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = capture::Mode::Off)]
    pub capture: capture::Mode,
    /// Directory for the capture files (created if missing).
    #[arg(long, value_name = "DIR", default_value = "topolab-artifacts")]
    pub artifacts: PathBuf,
    /// Size cap of one lab's capture file (bytes, or with a unit: 512KiB, 64MiB, 1GiB);
    /// packets after it are counted, not written.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = capture::limit::parse)]
    pub capture_limit: u64,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    crate::kernel::sandbox::set_untrusted(args.untrusted);
    if let Some(kernel) = &args.kernel {
        return whole_run_in_vm(kernel);
    }
    let mut files = crate::runner::discover::runnable_lab_files(&args.paths)?;
    if files.is_empty() {
        return Err(Error::invalid("no lab files found"));
    }
    if let Some(shard) = args.shard {
        let all = files.len();
        files = shard.select(files, &args.paths);
        if args.format == Format::Human || files.is_empty() {
            eprintln!("topolab: shard {shard}: {} of {all} labs", files.len());
        }
    }
    let ci = driver::in_ci();
    if args.accept && ci {
        eprintln!("topolab: --accept is ignored under CI: snapshots are never written there");
    }
    let opts = Options {
        accept: args.accept,
        ci,
        skip_snapshot: false,
        capture: capture_settings(&args)?,
        explain: args.explain,
        drops: args.drops,
    };
    let paint = Paint {
        on: use_color(color, false),
    };
    let quiet = args.report_file.is_some();
    let human = args.format == Format::Human && !quiet;
    let progress = human && std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut results = run_labs(&files, opts, args.jobs, human, progress, paint)?;
    if args.vm_fallback {
        rerun_skipped_in_vm(&mut results, args.vm_kernel.as_deref(), &args, human)?;
    }
    if let Some(path) = &args.report_file {
        std::fs::write(path, report::json::render(&results))
            .map_err(|e| Error::env(format!("cannot write {}: {e}", path.display())))?;
    } else {
        match args.format {
            Format::Human => print!(
                "{}",
                report::human::summary(&results, start.elapsed(), paint)
            ),
            Format::Json => {
                let mut r = report::json::Report::new(&results);
                r.shard = args.shard;
                r.duration = Some((start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
                print!("{}", r.to_text());
            }
        }
    }
    if let Some(path) = &args.junit {
        let xml = report::junit::render(&results)
            .map_err(|e| Error::env(format!("JUnit report: {e}")))?;
        std::fs::write(path, xml)
            .map_err(|e| Error::env(format!("cannot write {}: {e}", path.display())))?;
    }
    // Under CI a skip fails the run: an incident regression that quietly stops running
    // would otherwise stay green for ever.
    let strict = args.strict || (ci && !args.allow_skip);
    let skipped = results
        .iter()
        .filter(|r| matches!(r.status, LabStatus::Skipped { .. }))
        .count();
    if skipped > 0 && strict && !args.strict && args.report_file.is_none() {
        eprintln!(
            "topolab: {skipped} lab{} skipped, which fails the run under CI (exit 3)\n  = help: run {} in a VM with `--vm-fallback`, or pass `--allow-skip` to let skips pass",
            if skipped == 1 { "" } else { "s" },
            if skipped == 1 { "it" } else { "them" }
        );
    }
    Ok(report::exit_code(&results, strict))
}

/// The capture settings, made once for the whole process (labs share them), with the
/// artifacts directory created up front so that a bad `--artifacts` fails before any lab
/// is built. Nothing is written without `--capture`, under CI or not.
fn capture_settings(args: &Args) -> Result<Option<&'static capture::Settings>> {
    if args.capture == capture::Mode::Off {
        return Ok(None);
    }
    std::fs::create_dir_all(&args.artifacts).map_err(|e| {
        Error::env(format!(
            "--artifacts {}: cannot create the directory: {e}",
            args.artifacts.display()
        ))
    })?;
    let settings = capture::Settings {
        mode: args.capture,
        dir: args.artifacts.clone(),
        limit: args.capture_limit,
    };
    Ok(Some(Box::leak(Box::new(settings))))
}

/// Run the labs, `jobs` at a time, printing each lab's report as it finishes. (SIGINT and
/// SIGTERM end the whole process, which is a complete teardown: see `sandbox`.)
fn run_labs(
    files: &[PathBuf],
    opts: Options,
    jobs: usize,
    human: bool,
    progress: bool,
    paint: Paint,
) -> Result<Vec<LabResult>> {
    let rt = super::runtime()?;
    let total = files.len();
    let results = rt.block_on(async {
        let run_all = async {
            let mut results: Vec<Option<LabResult>> = (0..total).map(|_| None).collect();
            let mut done = 0;
            let mut stream = futures::stream::iter(files.iter().enumerate())
                .map(|(i, f)| async move { (i, driver::run_file(f, opts).await) })
                .buffer_unordered(jobs.max(1));
            while let Some((i, r)) = stream.next().await {
                done += 1;
                if progress {
                    eprint!("\r\x1b[K");
                }
                if human {
                    print!("{}", report::human::lab(&r, paint));
                    let _ = std::io::stdout().flush();
                }
                if progress && done < total {
                    eprint!("{done}/{total} labs done, running...");
                }
                results[i] = Some(r);
            }
            results.into_iter().flatten().collect::<Vec<_>>()
        };
        run_all.await
    });
    drop(rt);
    Ok(results)
}

/// `--kernel`: this very command, minus `--kernel`, inside a VM.
fn whole_run_in_vm(kernel: &Path) -> Result<Exit> {
    let mut args: Vec<OsString> = Vec::new();
    let mut skip = false;
    for a in std::env::args_os().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        if a == "--kernel" {
            skip = true;
            continue;
        }
        if a.to_string_lossy().starts_with("--kernel=") {
            continue;
        }
        args.push(a);
    }
    let status = crate::vm::run_in_vm(kernel, &args)?;
    // A code that is not one of ours (a panic in the VM) is the kernel's doing there.
    Ok(Exit::from_code(status.code().unwrap_or(1)).unwrap_or(Exit::Kernel))
}

/// `--vm-fallback`: run the skipped labs again in a VM, strictly (a lab skipped there too
/// is a failure), and put their results in place of the skips.
fn rerun_skipped_in_vm(
    results: &mut [LabResult],
    image: Option<&Path>,
    args: &Args,
    human: bool,
) -> Result<()> {
    let skipped: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.status, LabStatus::Skipped { .. }))
        .map(|(i, _)| i)
        .collect();
    if skipped.is_empty() {
        return Ok(());
    }
    let kernel = match image {
        Some(i) => i.to_path_buf(),
        None => crate::vm::image::default_kernel()
            .ok_or_else(|| Error::env("--vm-fallback: no kernel image in /boot with installed modules (Debian: apt-get install linux-image-amd64)"))?,
    };
    if human {
        println!(
            "\nrunning {} lab{} this kernel cannot run in a VM booted from {}",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            kernel.display()
        );
    }
    // mkdtemp, not the pid: topolab runs as pid 1 of its own pid namespace, so every
    // concurrent run would share (and remove) the same directory.
    let dir = crate::vm::temp_dir("topolab-vm-report")?;
    let report_file = dir.join("report.json");
    let mut vm_args: Vec<OsString> = vec![
        "test".into(),
        "--strict".into(),
        "--jobs".into(),
        args.jobs.to_string().into(),
        "--report-file".into(),
        report_file.clone().into(),
    ];
    if args.accept {
        vm_args.push("--accept".into());
    }
    // The guest writes the capture files straight into our artifacts directory.
    let artifacts = match args.capture {
        capture::Mode::Off => None,
        _ => std::fs::canonicalize(&args.artifacts).ok(),
    };
    if let Some(dir) = &artifacts {
        let mode = match args.capture {
            capture::Mode::Always => "always",
            _ => "on-failure",
        };
        vm_args.extend([
            "--capture".into(),
            mode.into(),
            "--artifacts".into(),
            dir.clone().into(),
            "--capture-limit".into(),
            args.capture_limit.to_string().into(),
        ]);
    }
    // Labs that fall back to the VM stay as untrusted there as here.
    if args.untrusted {
        vm_args.push("--untrusted".into());
    }
    vm_args.extend(
        skipped
            .iter()
            .map(|&i| OsString::from(results[i].file.as_os_str())),
    );
    let mut vm = crate::vm::Vm::new(&kernel);
    vm.writable.push(dir.clone());
    vm.writable.extend(artifacts);
    // Lab directories get the snapshots the guest writes.
    for &i in &skipped {
        if let Some(parent) = results[i]
            .file
            .parent()
            .and_then(|p| std::fs::canonicalize(p).ok())
            && !vm.writable.contains(&parent)
        {
            vm.writable.push(parent);
        }
    }
    let status = crate::vm::run(&vm, &vm_args);
    let report = std::fs::read_to_string(&report_file);
    let _ = std::fs::remove_dir_all(&dir);
    let status = status?;
    let report = report.map_err(|_| {
        Error::env(format!(
            "the VM run ({}) left no report (status {status})",
            kernel.display()
        ))
    })?;
    let parsed: serde_json::Value =
        serde_json::from_str(&report).map_err(|e| Error::env(format!("the VM's report: {e}")))?;
    let labs = parsed["labs"].as_array().cloned().unwrap_or_default();
    for (&i, lab) in skipped.iter().zip(labs) {
        match serde_json::from_value::<LabResult>(lab) {
            Ok(mut r) => {
                if let LabStatus::Skipped { reasons } = &r.status {
                    r.status = LabStatus::Error {
                        exit: Exit::Environment,
                        message: format!(
                            "skipped on the VM's kernel {} too: {}",
                            r.kernel,
                            reasons.join("; ")
                        ),
                    };
                }
                if human {
                    print!("{}", report::human::lab(&r, Paint { on: false }));
                }
                results[i] = r;
            }
            Err(e) => return Err(Error::env(format!("the VM's report: {e}"))),
        }
    }
    Ok(())
}
