//! `topolab import`: a real host's network state as a lab (see docs/import.md).

use std::path::PathBuf;

use crate::error::{Error, Exit, Result};
use crate::front::source::SourceFile;
use crate::front::validate;
use crate::import::{collect, files, live, model::Host, render, to_lab};
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["live", "from", "collect"])))]
pub struct Args {
    /// Read the network namespace topolab runs in (netlink dumps only: changes nothing).
    #[arg(long, conflicts_with = "from")]
    pub live: bool,
    /// A directory of command outputs collected on a host (one per host; repeat for
    /// several). Its name becomes the node's name.
    #[arg(long, value_name = "DIR")]
    pub from: Vec<PathBuf>,
    /// Print a POSIX sh script that collects those files, read-only, on a production host.
    #[arg(long)]
    pub collect: bool,
    /// Combine the hosts into one lab: shared subnets become switches and a default
    /// gateway no imported host owns becomes a router node `gw` that owns it.
    #[arg(long)]
    pub lab: bool,
    /// Name of the node (one host), or of the lab (`--lab`).
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    if args.collect {
        print!("{}", collect::SCRIPT);
        return Ok(Exit::Pass);
    }
    let mut hosts: Vec<(String, Host)> = Vec::new();
    let source;
    if args.live {
        let name = to_lab::node_name(&args.name.clone().unwrap_or_else(live::hostname));
        hosts.push((name, live::read()?));
        source = "this host's network namespace (--live)".to_string();
    } else {
        for dir in &args.from {
            let raw = if args.from.len() == 1 && !args.lab {
                args.name.clone()
            } else {
                None
            };
            let raw = raw.unwrap_or_else(|| {
                dir.canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "host".into())
            });
            let mut name = to_lab::node_name(raw.trim_start_matches("topolab-"));
            if hosts.iter().any(|(n, _)| *n == name) {
                name = format!("{name}-{}", hosts.len() + 1);
            }
            hosts.push((name, files::load_dir(dir)?));
        }
        source = args
            .from
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
    }
    if hosts.len() > 1 && !args.lab {
        return Err(Error::invalid(
            "several --from directories make one lab: add --lab".to_string(),
        ));
    }
    let lab_name = if args.lab {
        args.name
            .clone()
            .map(|n| to_lab::node_name(&n).replace('_', "-"))
    } else {
        None
    }
    .unwrap_or_else(|| {
        let n = hosts
            .first()
            .map(|(n, _)| n.replace('_', "-"))
            .unwrap_or_default();
        if args.lab { format!("{n}-lab") } else { n }
    });
    let imported = to_lab::build(&lab_name, &hosts, args.lab);
    let text = render::toml(&imported, &source)?;
    // What check would say about it: an import that does not validate is a bug or a
    // gap to fill by hand, and the user should see which before running it.
    let loaded = validate::load_source(SourceFile::new("<imported>", text.clone()));
    if !loaded.diags.is_empty() {
        eprint!("{}", loaded.render(use_color(color, true)));
    }
    print!("{text}");
    Ok(Exit::Pass)
}
