use std::path::PathBuf;

use crate::error::{Exit, Result};
use crate::graph::{self, Format};
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Mermaid is the default because GitHub and GitLab render it inside a \
```mermaid block; pipe DOT into Graphviz for an image: \
topolab graph lab.toml --format dot | dot -Tsvg > lab.svg"
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
