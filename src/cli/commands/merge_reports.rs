//! `topolab merge-reports`: one report from the reports of a run's shards: `test`'s
//! JSON reports, `grade`'s JSON reports or grades.csv files, or `diff`'s JSON reports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Exit, Result};
use crate::output::report;
use crate::term::{ColorChoice, Paint, use_color};

pub use super::format::Format;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The reports are all of one kind: those of `topolab test --format json`, of `topolab grade --format json` (or its grades.csv files), or of `topolab diff --shard K/N --format json`; the merged report is the one a single run over everything would have given (timings aside).\n\nExit codes: those of the command whose reports are merged, for the whole run (test: 0 pass, 1 a check or snapshot failed, 3 environment, 4 kernel refusal; diff: 0 no change, 1 some flow changed, 3 the neighbour table overflowed; grade: 0, or 3 when a shard warned); 2 when a report cannot be read, the reports are of different kinds, or the shards do not form a whole run (one missing, two with the same index, different N, a lab, student or flow in two of them)."
)]
pub struct Args {
    /// Reports written by `topolab test --format json`, `topolab grade --format json`
    /// (or grade's grades.csv) or `topolab diff --shard K/N --format json`, typically one
    /// per shard.
    #[arg(required = true, value_name = "FILE")]
    pub reports: Vec<PathBuf>,
    /// Also write the merged JUnit XML report to FILE (test reports).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the merged grading's reports to DIR, as `grade --out` does (grade reports;
    /// the exercise file must be where the shards found it, for the topology).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Format of the merged report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat labs skipped for missing kernel features as failures (exit 3).
    #[arg(long)]
    pub strict: bool,
}

/// What a report file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Test,
    Grade,
    GradeCsv,
    Diff,
}

impl Kind {
    fn of(path: &Path, text: &str) -> Kind {
        if path.extension().is_some_and(|e| e == "csv") {
            return Kind::GradeCsv;
        }
        // Anything else is read as a test report, whose parser says what is wrong.
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.get("grades").is_some() && v.get("baseline").is_some() => Kind::Grade,
            Ok(v) if v.get("flows").is_some() && v.get("candidate").is_some() => Kind::Diff,
            _ => Kind::Test,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Test => "a report of `topolab test --format json`",
            Kind::Grade => "a report of `topolab grade --format json`",
            Kind::GradeCsv => "a grades.csv of `topolab grade`",
            Kind::Diff => "a report of `topolab diff --format json`",
        }
    }
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let mut texts: Vec<(PathBuf, Kind, String)> = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        let kind = Kind::of(path, &text);
        if let Some((first, k, _)) = texts.first()
            && *k != kind
        {
            return Err(Error::invalid(format!(
                "{} is {} but {} is {}: merge reports of one kind",
                path.display(),
                kind.name(),
                first.display(),
                k.name()
            )));
        }
        texts.push((path.clone(), kind, text));
    }
    let kind = texts.first().map(|(_, k, _)| *k).unwrap_or(Kind::Test);
    if kind != Kind::Test && (args.junit.is_some() || args.strict) {
        return Err(Error::invalid(
            "--junit and --strict are for test reports: these are not",
        ));
    }
    // grades.csv files merge into a grades.csv: no JSON to print from them.
    if kind == Kind::GradeCsv && args.format == Format::Json {
        return Err(Error::invalid(
            "grades.csv files merge into a grades.csv: for JSON, merge the shards' JSON \
             reports (`grade --format json`)",
        ));
    }
    if kind != Kind::Grade && kind != Kind::GradeCsv && args.out.is_some() {
        return Err(Error::invalid("--out is for grade reports: these are not"));
    }
    match kind {
        Kind::Test => {}
        Kind::Grade => return grades(texts, &args, color),
        Kind::GradeCsv => return grades_csv(texts, &args),
        Kind::Diff => return diffs(texts, &args, color),
    }
    let mut inputs = Vec::new();
    for (path, _, text) in &texts {
        let r = report::json::parse(text).map_err(|e| {
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

/// A report of another command, parsed; errors say where.
fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str, kind: Kind) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::invalid(format!(
            "{}:{}:{}: {e}\n  = help: expected {}",
            path.display(),
            e.line(),
            e.column(),
            kind.name()
        ))
    })
}

fn grades(texts: Vec<(PathBuf, Kind, String)>, args: &Args, color: ColorChoice) -> Result<Exit> {
    let mut inputs = Vec::new();
    for (path, kind, text) in &texts {
        inputs.push((path.clone(), parse(path, text, *kind)?));
    }
    let merged = crate::output::grade::merge::merge(inputs)?;
    let written = match &args.out {
        Some(out) => {
            let exercise = Path::new(&merged.exercise);
            let lab = super::load_lab(exercise, use_color(color, true)).map_err(|e| {
                e.context(format!(
                    "the exercise {} (for the reports' topology; run merge-reports where the \
                     shards ran grade)",
                    exercise.display()
                ))
            })?;
            super::grade::write_reports(out, &merged, &lab)?
        }
        None => Vec::new(),
    };
    match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&merged)
                .map_err(|e| Error::env(format!("JSON: {e}")))?;
            s.push('\n');
            print!("{s}");
        }
        Format::Human => print!("{}", super::grade::summary(&merged, &written)),
    }
    for w in &merged.warnings {
        eprintln!("topolab: warning: {w}");
    }
    Ok(if merged.warnings.is_empty() {
        Exit::Pass
    } else {
        Exit::Environment
    })
}

fn grades_csv(texts: Vec<(PathBuf, Kind, String)>, args: &Args) -> Result<Exit> {
    let inputs: Vec<(PathBuf, String)> = texts.into_iter().map(|(p, _, t)| (p, t)).collect();
    let merged = crate::output::grade::merge::merge_csv(&inputs)?;
    match &args.out {
        Some(out) => {
            std::fs::create_dir_all(out)
                .map_err(|e| Error::env(format!("cannot create {}: {e}", out.display())))?;
            let path = out.join("grades.csv");
            std::fs::write(&path, merged)
                .map_err(|e| Error::env(format!("cannot write {}: {e}", path.display())))?;
        }
        None => print!("{merged}"),
    }
    Ok(Exit::Pass)
}

fn diffs(texts: Vec<(PathBuf, Kind, String)>, args: &Args, color: ColorChoice) -> Result<Exit> {
    let mut inputs = Vec::new();
    for (path, kind, text) in &texts {
        inputs.push((path.clone(), parse(path, text, *kind)?));
    }
    let d = crate::output::diff::merge::merge(inputs)?;
    match args.format {
        Format::Human => print!(
            "{}",
            crate::output::diff::render::human(
                &d,
                Paint {
                    on: use_color(color, false)
                }
            )
        ),
        Format::Json => print!("{}", crate::output::diff::render::json(&d)),
    }
    Ok(if d.neighbour_overflows > 0 {
        Exit::Environment
    } else if d.changed == 0 {
        Exit::Pass
    } else {
        Exit::Fail
    })
}
