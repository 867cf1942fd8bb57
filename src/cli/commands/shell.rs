//! `topolab shell`: an interactive shell inside a node of a running lab.

use crate::error::{Exit, Result};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance id or lab name (see `topolab ls`).
    pub lab: String,
    /// Node to open a shell in.
    pub node: String,
}

/// An interactive shell ($SHELL, else /bin/sh) in the node; TOPOLAB_NODE and
/// TOPOLAB_LAB are set for prompts, and PS1 names the node for shells that keep it.
pub fn run(args: Args) -> Result<Exit> {
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    let env = vec![
        ("TOPOLAB_NODE".to_string(), args.node.clone()),
        ("TOPOLAB_LAB".to_string(), args.lab.clone()),
        (
            "PS1".to_string(),
            format!("[{}:{}] \\w\\$ ", args.lab, args.node),
        ),
    ];
    eprintln!(
        "entering node `{}` of `{}`; exit the shell to leave",
        args.node, args.lab
    );
    let code = crate::supervisor::enter::run(&args.lab, &args.node, &[shell], &env)?;
    std::process::exit(code);
}
