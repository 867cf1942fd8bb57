//! `topolab graph`: draw a lab's topology as DOT or Mermaid.

use std::path::PathBuf;

use crate::error::{Exit, Result};
use crate::plan::graph::{self, Format};
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Nodes are groups of their interfaces (kind, mtu, addresses), switches \
are hexagons, veth links are solid lines, bridge ports and stacked interfaces point at their \
master or parent, and tunnels between nodes of the lab are dashed. The output depends only on \
the lab, so it can be committed and diffed."
)]
pub struct Args {
    /// The lab file.
    pub lab: PathBuf,
    /// Output syntax.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    pub format: Format,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let lab = super::load_lab(&args.lab, use_color(color, true))?;
    print!("{}", graph::render(&lab, args.format));
    Ok(Exit::Pass)
}
