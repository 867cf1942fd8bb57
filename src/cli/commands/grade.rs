//! `topolab grade EXERCISE SUBMISSIONS`: apply each student's files to the exercise lab,
//! run its checks, write per-student and combined reports.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use futures::StreamExt;

use crate::error::{Error, Exit, Result};
use crate::front::lab::Lab;
use crate::front::source::SourceFile;
use crate::output::grade::{self, Grade, Grading, Prepared, Status};
use crate::runner::driver::{self, Options};
use crate::runner::results::{LabResult, LabStatus};
use crate::term::{ColorChoice, use_color};

pub use super::format::Format;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each subdirectory of SUBMISSIONS is one student's submission, holding the files the exercise lists (nft rulesets, route lists, shell lines, lab patches). Submitted shell lines and rulesets run as root inside the lab's namespaces: grade submissions you trust, or grade inside a VM.\n\nExit codes: 0 every submission was graded (broken ones get 0), 2 invalid exercise or usage, 3 environment (the report directory cannot be written, or the host's shared neighbour table overflowed while grading: reports are written, with a warning), 4 the kernel refused to build the exercise lab itself."
)]
pub struct Args {
    /// The exercise: a lab file with an [exercise] table.
    pub exercise: PathBuf,
    /// A directory with one subdirectory per student.
    pub submissions: PathBuf,
    /// Directory the reports are written to (grades.csv, grades.md, grades.html and
    /// students/NAME.md).
    #[arg(short, long, default_value = "grades")]
    pub out: PathBuf,
    /// How many submissions are graded at once (each lab is isolated in its own
    /// namespaces).
    #[arg(short, long, default_value_t = 4)]
    pub jobs: usize,
    /// What to print on stdout: a summary, or every grade as JSON.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Grade only shard K of N (1 <= K <= N) of the submissions, for CI matrices. A
    /// student's shard is a hash of the submission's directory name, so adding students
    /// never moves the others; every shard also runs the lab as handed out. Merge the
    /// shards' JSON reports (`--format json`) with `topolab merge-reports --out DIR`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::runner::shard::Shard>,
}

/// What runs for a submission, or why nothing does.
enum Job {
    Run(Box<Lab>, Vec<(String, PathBuf)>),
    Done(Status),
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    // Submissions are strangers' files: always sandboxed.
    crate::kernel::sandbox::set_untrusted(true);
    let file = SourceFile::read(&args.exercise)
        .map_err(|e| Error::invalid(format!("{}: {e}", args.exercise.display())))?;
    let label = args.exercise.display().to_string();
    let lab = super::lab_of(
        crate::front::validate::load_source(file.clone()),
        &label,
        use_color(color, true),
    )?;
    let Some(exercise) = lab.exercise.clone() else {
        return Err(Error::invalid(format!(
            "{label}: not an exercise: the lab has no [exercise] table (title, goal, files)"
        )));
    };
    let mut subs = grade::submissions(&args.submissions)?;
    if subs.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no submissions: expected one subdirectory per student",
            args.submissions.display()
        )));
    }
    if let Some(shard) = args.shard {
        let all = subs.len();
        subs.retain(|s| crate::runner::shard::Shard::of(&s.student, shard.total) == shard.index);
        eprintln!(
            "topolab: shard {shard}: {} of {all} submissions",
            subs.len()
        );
    }
    let mut jobs = Vec::new();
    for sub in &subs {
        let mut notes = Vec::new();
        let job = match grade::prepare(&file, &exercise, sub, &mut notes) {
            Prepared::Lab(lab, nft) => Job::Run(lab, nft),
            Prepared::Broken(error) => Job::Done(Status::Broken { error }),
            Prepared::Empty => Job::Done(Status::Empty),
        };
        jobs.push((sub.student.clone(), job, notes));
    }

    let overflows_before = crate::kernel::neigh::table::overflows();
    let (baseline, runs) = run_all(lab.clone(), &jobs, args.jobs)?;
    let overflows = match (overflows_before, crate::kernel::neigh::table::overflows()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => 0,
    };
    if let LabStatus::Error { exit, message } = &baseline.status {
        let e = format!("the exercise lab itself cannot be built: {message}");
        return Err(match exit {
            Exit::Invalid => Error::invalid(e),
            Exit::Environment => Error::env(e),
            _ => Error::kernel(e),
        });
    }
    let goal = grade::items(&baseline);
    let grades: Vec<Grade> = jobs
        .into_iter()
        .zip(runs)
        .map(|((student, job, notes), run)| {
            let run = match (job, run) {
                (Job::Done(status), _) => Err(status),
                (Job::Run(_, nft), Some(mut r)) => {
                    if let LabStatus::Error { message, .. } = &mut r.status {
                        *message = grade::locate_nft_errors(message, &nft);
                    }
                    Ok(r)
                }
                (Job::Run(..), None) => Err(Status::Broken {
                    error: "the lab did not run".into(),
                }),
            };
            grade::grade(&student, run, &goal, notes)
        })
        .collect();
    let grading = Grading {
        exercise: label,
        title: exercise.title.clone(),
        goal: exercise.goal.clone(),
        baseline: goal,
        grades,
        warnings: if overflows > 0 {
            vec![format!(
                "the host's neighbour table (shared by every network namespace on the host) \
                 overflowed {overflows} time(s) while the labs ran: checks that timed out may \
                 have failed for that reason alone; grade again with fewer --jobs or on a \
                 quieter host"
            )]
        } else {
            Vec::new()
        },
        shard: args.shard,
    };
    let written = write_reports(&args.out, &grading, &lab)?;
    match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&grading)
                .map_err(|e| Error::env(format!("JSON: {e}")))?;
            s.push('\n');
            print!("{s}");
        }
        Format::Human => print!("{}", summary(&grading, &written)),
    }
    for w in &grading.warnings {
        eprintln!("topolab: warning: {w}");
    }
    // Grades taken while neighbours could not be resolved are not to be trusted.
    Ok(if grading.warnings.is_empty() {
        Exit::Pass
    } else {
        Exit::Environment
    })
}

/// The exercise as handed out, and every submission that has a lab, `jobs` at a time.
fn run_all(
    exercise: Lab,
    jobs: &[(String, Job, Vec<String>)],
    parallel: usize,
) -> Result<(LabResult, Vec<Option<LabResult>>)> {
    let opts = Options {
        skip_snapshot: true,
        ..Options::default()
    };
    let progress = std::io::stderr().is_terminal();
    let total = jobs
        .iter()
        .filter(|(_, j, _)| matches!(j, Job::Run(..)))
        .count()
        + 1;
    let rt = super::runtime()?;
    let out = rt.block_on(async {
        let work = async {
            let labs =
                std::iter::once(Some(exercise)).chain(jobs.iter().map(|(_, j, _)| match j {
                    Job::Run(lab, _) => Some((**lab).clone()),
                    Job::Done(_) => None,
                }));
            let mut stream = futures::stream::iter(labs.enumerate())
                .map(|(i, lab)| async move {
                    match lab {
                        Some(lab) => (i, Some(driver::run(lab, opts).await)),
                        None => (i, None),
                    }
                })
                .buffer_unordered(parallel.max(1));
            let mut slots: Vec<Option<LabResult>> = (0..=jobs.len()).map(|_| None).collect();
            let mut done = 0;
            while let Some((i, r)) = stream.next().await {
                if r.is_some() {
                    done += 1;
                    if progress {
                        eprint!("\r\x1b[K{done}/{total} labs graded");
                    }
                }
                slots[i] = r;
            }
            if progress {
                eprint!("\r\x1b[K");
            }
            slots
        };
        // SIGINT and SIGTERM end the process, which is a complete teardown (see `sandbox`).
        work.await
    });
    drop(rt);
    let mut results = out;
    let baseline = results
        .first_mut()
        .and_then(Option::take)
        .ok_or_else(|| Error::env("the exercise lab did not run"))?;
    Ok((baseline, results.into_iter().skip(1).collect()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| Error::env(format!("cannot write {}: {e}", path.display())))
}

/// Write every report; returns the paths written, combined reports first.
pub(super) fn write_reports(out: &Path, g: &Grading, lab: &Lab) -> Result<Vec<PathBuf>> {
    let students = out.join("students");
    std::fs::create_dir_all(&students)
        .map_err(|e| Error::env(format!("cannot create {}: {e}", students.display())))?;
    let mut written = Vec::new();
    let combined = [
        ("grades.csv", grade::report::csv(g)),
        ("grades.md", grade::report::markdown(g)),
        (
            "grades.html",
            grade::html::render(g, &grade::html::topology(lab)),
        ),
    ];
    for (name, text) in combined {
        let p = out.join(name);
        write(&p, &text)?;
        written.push(p);
    }
    for s in &g.grades {
        let p = out.join(grade::report::student_page(&s.student));
        write(&p, &grade::report::student_markdown(g, s))?;
        written.push(p);
    }
    Ok(written)
}

pub(super) fn summary(g: &Grading, written: &[PathBuf]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {} submission{}\n",
        g.title,
        g.exercise,
        g.grades.len(),
        if g.grades.len() == 1 { "" } else { "s" }
    );
    let width = g
        .grades
        .iter()
        .map(|s| s.student.chars().count())
        .max()
        .unwrap_or(0);
    for s in &g.grades {
        let status = match &s.status {
            Status::Graded => String::new(),
            other => format!(
                "  {}{}",
                grade::report::status_word(other),
                match grade::report::headline(other) {
                    h if h.is_empty() => String::new(),
                    h => format!(": {h}"),
                }
            ),
        };
        let _ = writeln!(
            out,
            "  {:width$}  {:>3}%  fixed {}/{}, broke {}  (raw {:>3}%, {}/{}){status}",
            s.student, s.score, s.fixed, s.to_fix, s.broke, s.raw_score, s.passed, s.total
        );
    }
    let base_passed = g.baseline.iter().filter(|c| c.passed).count();
    let _ = writeln!(
        out,
        "\nThe lab as handed out passes {base_passed}/{} checks.",
        g.baseline.len()
    );
    // A merge without --out writes no report files.
    if written.is_empty() {
        return out;
    }
    let shown: Vec<String> = written
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    let _ = writeln!(
        out,
        "Reports: {}, and one page per student in {}",
        shown.join(", "),
        written
            .first()
            .and_then(|p| p.parent())
            .map(|d| d.join("students").display().to_string())
            .unwrap_or_default()
    );
    out
}
