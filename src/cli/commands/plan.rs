//! `topolab plan`: print the ordered kernel operations a lab would be built with.

use std::path::PathBuf;

use crate::error::{Exit, Result};
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The lab file.
    pub lab: PathBuf,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let lab = super::load_lab(&args.lab, use_color(color, true))?;
    print!("{}", crate::plan::render(&crate::plan::build(&lab)));
    Ok(Exit::Pass)
}
