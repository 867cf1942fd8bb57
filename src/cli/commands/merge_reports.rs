//! `topolab merge-reports`: one report from the JSON reports of a suite's shards.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Exit, Result};
use crate::output::report;
use crate::term::{ColorChoice, Paint, use_color};

pub use super::format::Format;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: those of `topolab test` for the merged suite (0 pass, 1 a check or snapshot failed, 2 invalid lab, 3 environment, 4 kernel refusal); 2 as well when a report cannot be read or the shards do not form a whole suite (one missing, two with the same index, different N)."
)]
pub struct Args {
    /// JSON reports written by `topolab test --format json` (typically one per shard).
    #[arg(required = true, value_name = "FILE.json")]
    pub reports: Vec<PathBuf>,
    /// Also write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Format of the merged report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat labs skipped for missing kernel features as failures (exit 3).
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let mut inputs = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        let r = report::json::parse(&text).map_err(|e| {
            Error::invalid(format!(
                "{}:{e}\n  = help: expected a report of `topolab test --format json`",
                path.display()
            ))
        })?;
        inputs.push((path.clone(), r));
    }
    let merged = report::merge::merge(inputs)?;
    match args.format {
        Format::Json => print!("{}", merged.to_text()),
        Format::Human => {
            let paint = Paint {
                on: use_color(color, false),
            };
            for r in &merged.labs {
                print!("{}", report::human::lab(r, paint));
            }
            let elapsed = Duration::try_from_secs_f64(merged.duration.unwrap_or(0.0))
                .unwrap_or(Duration::ZERO);
            print!("{}", report::human::summary(&merged.labs, elapsed, paint));
        }
    }
    if let Some(path) = &args.junit {
        let xml = report::junit::render(&merged.labs)
            .map_err(|e| Error::env(format!("JUnit report: {e}")))?;
        std::fs::write(path, xml)
            .map_err(|e| Error::env(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(report::exit_code(&merged.labs, args.strict))
}
