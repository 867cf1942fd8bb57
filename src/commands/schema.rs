use crate::error::{Exit, Result};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_: Args) -> Result<Exit> {
    print!("{}", crate::schema::lab_schema_text());
    Ok(Exit::Pass)
}
