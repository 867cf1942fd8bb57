//! Command-line interface: global options and the subcommand table. Each subcommand lives
//! in its own file under `commands/`.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::term::ColorChoice;

#[derive(Debug, Parser)]
#[command(name = "topolab", version, about = "Declarative network test labs on Linux namespaces", long_about = None)]
#[command(
    after_help = "Exit codes: 0 pass, 1 a check or snapshot failed, 2 invalid lab or usage, 3 environment (privileges, missing kernel feature or tool), 4 the kernel refused an operation."
)]
pub struct Cli {
    /// When to colour output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate lab files or directories of them.
    Check(commands::check::Args),
    /// Print the kernel operations that would build a lab.
    Plan(commands::plan::Args),
    /// Draw a lab's topology as Mermaid (default) or Graphviz DOT.
    Graph(commands::graph::Args),
    /// Print the JSON Schema of lab files.
    Schema(commands::schema::Args),
}

impl Command {
    /// Whether the command needs the kernel (namespaces, netlink). Pure commands never
    /// enter a user namespace or fork.
    pub fn needs_kernel(&self) -> bool {
        !matches!(
            self,
            Command::Check(_) | Command::Plan(_) | Command::Graph(_) | Command::Schema(_)
        )
    }
}
