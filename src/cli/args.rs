//! Command-line interface: global options and the subcommand table. Each subcommand lives
//! in its own file under `commands/`.

use clap::{Parser, Subcommand};

use crate::cli::commands;
use crate::term::ColorChoice;

#[derive(Debug, Parser)]
#[command(name = "topolab", version, about = "Declarative network test labs on Linux namespaces", long_about = None)]
#[command(styles = crate::term::CLAP)]
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
    /// Build labs, run their checks and steps, compare with their snapshots, tear down.
    Test(commands::test::Args),
    /// Build two labs (or a lab and a patch), probe the same flows in both, show what changed.
    Diff(commands::diff::Args),
    /// Grade a directory of student submissions against an exercise lab.
    Grade(commands::grade::Args),
    /// Merge the JSON reports of a suite's shards (test --shard K/N) into one report.
    MergeReports(commands::merge_reports::Args),
    /// Accept or reject pending snapshots (*.snap.new), like `cargo insta review`.
    Review(commands::review::Args),
    /// Turn a host's network state (live, or collected files) into a lab.
    Import(commands::import::Args),
    /// Build a lab and keep it running (a supervisor holds it) until `down`.
    Up(commands::up::Args),
    /// Take a running lab down.
    Down(commands::down::Args),
    /// List running labs.
    Ls(commands::ls::Args),
    /// Run a command inside a node of a running lab.
    Exec(commands::exec::Args),
    /// Open a shell inside a node of a running lab.
    Shell(commands::shell::Args),
    /// Stream an interface of a running lab as pcapng to stdout (`| tcpdump -r -`).
    Pcap(commands::pcap::Args),
    /// Remove what killed supervisors left behind (sockets, state and log files).
    Clean(commands::clean::Args),
    /// Run a topolab command inside a VM booted from another kernel (virtme-ng, qemu).
    #[command(name = "vm-run")]
    VmRun(commands::vm_run::Args),
    /// Build a lab, print its nodes' interfaces and routes, tear it down (in-process, no
    /// supervisor): for checking a kernel, e.g. inside `vm-run`.
    #[command(name = "__build", hide = true)]
    Build(commands::build::Args),
    /// The supervisor of a running lab (started by `up`).
    #[command(name = "__supervise", hide = true)]
    Supervise(crate::supervisor::Args),
}

impl Command {
    /// Whether the command builds labs itself and so must run in topolab's sandbox (user
    /// namespace when rootless, pid namespace). Everything else never forks or unshares.
    pub fn needs_sandbox(&self) -> bool {
        matches!(
            self,
            Command::Supervise(_)
                | Command::Test(_)
                | Command::Build(_)
                | Command::Diff(_)
                | Command::Grade(_)
        )
    }
}
