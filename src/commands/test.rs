use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use futures::StreamExt;

use crate::error::{Error, Exit, Result};
use crate::report;
use crate::results::LabResult;
use crate::runner::{self, Options};
use crate::term::{ColorChoice, Paint, use_color};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lab files or directories (searched recursively for *.toml).
    #[arg(default_value = "labs")]
    pub paths: Vec<PathBuf>,
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
    /// Treat labs skipped for missing kernel features as failures (exit 3).
    #[arg(long)]
    pub strict: bool,
    /// Run only shard K of N (1 <= K <= N) of the labs found, for CI matrices. A lab's
    /// shard is a hash of its path relative to the directory given, so adding labs never
    /// moves the others; merge the shards' JSON reports with `topolab merge-reports`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::Shard>,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let mut files = crate::discover::lab_files(&args.paths)?;
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
    let ci = runner::in_ci();
    if args.accept && ci {
        eprintln!("topolab: --accept is ignored under CI: snapshots are never written there");
    }
    let opts = Options {
        accept: args.accept,
        ci,
        skip_snapshot: false,
    };
    let paint = Paint {
        on: use_color(color, false),
    };
    let progress = args.format == Format::Human && std::io::stderr().is_terminal();
    let rt = super::runtime()?;
    let start = Instant::now();
    let total = files.len();
    let human = args.format == Format::Human;
    // A shard can be empty; its (empty) reports still complete the set to merge.
    let results = rt.block_on(async {
        let run_all = async {
            let mut results: Vec<Option<LabResult>> = (0..total).map(|_| None).collect();
            let mut done = 0;
            let mut stream = futures::stream::iter(files.iter().enumerate())
                .map(|(i, f)| async move { (i, runner::run_file(f, opts).await) })
                .buffer_unordered(args.jobs.max(1));
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
        tokio::select! {
            r = run_all => Some(r),
            _ = super::interrupted() => None,
        }
    });
    // Dropping the runtime ends every lab still running: their namespaces and processes go.
    drop(rt);
    let Some(results) = results else {
        eprintln!("\ntopolab: interrupted; every lab was torn down");
        std::process::exit(130);
    };
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
    if let Some(path) = &args.junit {
        let xml = report::junit::render(&results)
            .map_err(|e| Error::env(format!("JUnit report: {e}")))?;
        std::fs::write(path, xml)
            .map_err(|e| Error::env(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(report::exit_code(&results, args.strict))
}
