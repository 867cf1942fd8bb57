//! Build a lab, print `ip addr`/`ip route` of every node, tear it down. A development aid.
use std::time::Instant;

#[tokio::main]
async fn main() {
    let path = std::env::args().nth(1).expect("lab path");
    let show = std::env::args().nth(2).is_some();
    let loaded = topolab::validate::load(std::path::Path::new(&path)).expect("read");
    let lab = match loaded.lab {
        Some(l) => l,
        None => {
            eprintln!("{}", loaded.render(false));
            std::process::exit(2)
        }
    };
    let plan = topolab::plan::build(&lab);
    let t = Instant::now();
    match topolab::engine::apply(lab, plan).await {
        Ok((live, stats)) => {
            eprintln!(
                "built in {:?} ({:?} ns + {:?} ops, {} ops)",
                t.elapsed(),
                stats.namespaces,
                stats.operations,
                stats.ops
            );
            if show {
                for (i, n) in live.lab.nodes.iter().enumerate() {
                    let ns = live.node_ns(topolab::lab::NodeId(i));
                    let out = topolab::engine::command::run_shell(
                        ns,
                        "ip -br addr; ip route; ip rule | head -3",
                        None,
                        std::time::Duration::from_secs(5),
                    )
                    .await
                    .unwrap();
                    println!("== {}\n{}", n.name, out.text());
                }
            }
            let t = Instant::now();
            drop(live);
            eprintln!("down in {:?}", t.elapsed());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit as i32)
        }
    }
}
