//! `topolab ls`: the labs running under supervisors, as a table or JSON.

use crate::error::{Exit, Result};
use crate::supervisor::instance;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    let dir = instance::runtime_dir();
    let all = instance::list(&dir)?;
    if args.json {
        let v: Vec<serde_json::Value> = all
            .iter()
            .map(|(s, alive)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["alive"] = serde_json::Value::Bool(*alive);
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(Exit::Pass);
    }
    if all.is_empty() {
        println!("no lab is up");
        return Ok(Exit::Pass);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    println!(
        "{:<28} {:<8} {:>5} {:>8}  FILE",
        "ID", "STATE", "NODES", "UP"
    );
    for (s, alive) in all {
        let age = now.saturating_sub(s.started);
        let up = if age < 120 {
            format!("{age}s")
        } else if age < 7200 {
            format!("{}m", age / 60)
        } else {
            format!("{}h", age / 3600)
        };
        println!(
            "{:<28} {:<8} {:>5} {:>8}  {}",
            s.id,
            if alive { "up" } else { "stale" },
            s.nodes.len(),
            up,
            s.file.display()
        );
    }
    Ok(Exit::Pass)
}
