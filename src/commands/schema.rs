use crate::error::{Exit, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the schema of `topolab test --format json` reports instead of lab files.
    #[arg(long)]
    pub report: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    if args.report {
        print!("{}", crate::report::json::schema_text());
        return Ok(Exit::Pass);
    }
    print!("{}", crate::schema::lab_schema_text());
    Ok(Exit::Pass)
}
