//! `topolab check`: parse and validate lab files without touching the kernel; diagnostics
//! at file:line:column, exit 2 when any file is invalid.

use std::path::PathBuf;

use crate::error::{Exit, Result};
use crate::front::validate;
use crate::runner::discover;
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lab files or directories (searched recursively for *.toml).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print nothing for valid files.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let color = use_color(color, true);
    let files = discover::lab_files(&args.paths)?;
    if files.is_empty() {
        eprintln!("no lab files found");
        return Ok(Exit::Invalid);
    }
    let mut bad = 0;
    for path in &files {
        let loaded = match validate::load(path) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                bad += 1;
                continue;
            }
        };
        if !loaded.diags.is_empty() {
            eprint!("{}", loaded.render(color));
        }
        let errors = loaded.errors().count();
        let warnings = loaded.diags.len() - errors;
        if errors > 0 || (args.deny_warnings && warnings > 0) {
            bad += 1;
        } else if !args.quiet {
            let w = if warnings > 0 {
                format!(
                    " ({warnings} warning{})",
                    if warnings == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            println!("ok {}{w}", path.display());
        }
    }
    if bad > 0 {
        eprintln!(
            "{bad} of {} lab file{} invalid",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
        Ok(Exit::Invalid)
    } else {
        Ok(Exit::Pass)
    }
}
