//! `topolab schema`: the JSON schema of lab files or reports, or the lab-format reference.

use crate::error::{Exit, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of `topolab test --format json` reports instead of lab files.
    #[arg(long, conflicts_with = "markdown")]
    pub report: bool,
    /// Print the lab-format reference as Markdown (docs/lab-format.md).
    #[arg(long)]
    pub markdown: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    if args.report {
        print!("{}", crate::output::report::json::schema_text());
    } else if args.markdown {
        print!(
            "{}",
            crate::front::schema::reference::markdown(&crate::front::schema::lab_schema())
        );
    } else {
        print!("{}", crate::front::schema::lab_schema_text());
    }
    Ok(Exit::Pass)
}
