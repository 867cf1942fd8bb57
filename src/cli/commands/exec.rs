//! `topolab exec`: run one command inside a node of a running lab, in its namespaces.

use crate::error::{Exit, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance id or lab name (see `topolab ls`).
    pub lab: String,
    /// Node to run in.
    pub node: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Runs before any thread exists: entering a user namespace requires it.
pub fn run(args: Args) -> Result<Exit> {
    let env = vec![
        ("TOPOLAB_NODE".to_string(), args.node.clone()),
        ("TOPOLAB_LAB".to_string(), args.lab.clone()),
    ];
    let code = crate::supervisor::enter::run(&args.lab, &args.node, &args.command, &env)?;
    std::process::exit(code);
}
