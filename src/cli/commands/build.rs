//! `__build LAB...`: build each lab in this process, print what the kernel made, tear it
//! down. No supervisor, no checks: a quick way to see whether a kernel can build a lab,
//! e.g. `topolab vm-run --kernel IMAGE -- __build labs/x.toml`.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Exit, Result};
use crate::kernel::engine::command;
use crate::term::{ColorChoice, use_color};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Lab files.
    #[arg(required = true)]
    pub labs: Vec<PathBuf>,
    /// Also print every node's addresses and routes.
    #[arg(long)]
    pub show: bool,
}

pub fn run(args: Args, color: ColorChoice) -> Result<Exit> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .map_err(|e| Error::env(format!("tokio: {e}")))?;
    let mut worst = Exit::Pass;
    for path in &args.labs {
        let r = rt.block_on(build_one(path, args.show, use_color(color, true)));
        match r {
            Ok(()) => println!("built {}", path.display()),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                worst = worst.max(e.exit());
            }
        }
    }
    Ok(worst)
}

async fn build_one(path: &std::path::Path, show: bool, color: bool) -> Result<()> {
    let lab = super::load_lab(path, color)?;
    crate::kernel::features::check(&lab)?;
    let plan = crate::plan::build(&lab);
    let (live, stats) = crate::kernel::engine::apply(lab, plan).await?;
    println!(
        "{}: {} operations in {:?}",
        live.lab.name,
        stats.ops,
        stats.namespaces + stats.operations
    );
    if show {
        for (node, cmd, out) in &live.exec_log {
            println!("== {} $ {cmd}\n{out}", live.lab.node(*node).name);
        }
        for (i, node) in live.lab.nodes.iter().enumerate() {
            let ns = live.node_ns(crate::front::lab::NodeId(i));
            let out = command::run_shell(
                ns,
                "ip -br link; ip -br addr; ip route show table all | grep -v '^local\\|^broadcast\\|^multicast\\|fe80'",
                None,
                Duration::from_secs(10),
            )
            .await
            .map_err(|e| Error::env(format!("ip: {e}")))?;
            println!("== {}\n{}", node.name, out.text());
        }
    }
    drop(live);
    Ok(())
}
