//! The command line: the process entry (parse arguments, dispatch, map errors to exit
//! codes), the argument definitions (`args`) and one module per subcommand.

pub mod args;
pub mod commands;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::args::{Cli, Command};

use crate::error::{Exit, Result};

pub fn main() -> ExitCode {
    // First, before any thread could enter a lab namespace: record the host namespace so
    // that no probe can ever send from it. A failure here leaves the guard unarmed, and an
    // unarmed guard refuses every probe.
    let _ = crate::kernel::host_guard::arm();
    // Before anything is open: a large lab needs two descriptors per namespace.
    crate::kernel::fd_limit::raise();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors, which matches "invalid usage"; help/version are 0.
            return ExitCode::from(if e.use_stderr() {
                Exit::Invalid.code()
            } else {
                0
            });
        }
    };
    match dispatch(cli) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("topolab: {e}");
            e.exit().into()
        }
    }
}

fn dispatch(cli: Cli) -> Result<Exit> {
    let color = cli.color;
    if cli.command.needs_sandbox() {
        // Still single-threaded here: nothing has started a thread yet.
        crate::kernel::sandbox::enter()?;
    }
    match cli.command {
        Command::Check(a) => commands::check::run(a, color),
        Command::Plan(a) => commands::plan::run(a, color),
        Command::Graph(a) => commands::graph::run(a, color),
        Command::Schema(a) => commands::schema::run(a),
        Command::Test(a) => commands::test::run(a, color),
        Command::Diff(a) => commands::diff::run(a, color),
        Command::Grade(a) => commands::grade::run(a, color),
        Command::MergeReports(a) => commands::merge_reports::run(a, color),
        Command::Review(a) => commands::review::run(a, color),
        Command::Import(a) => commands::import::run(a, color),
        Command::Up(a) => commands::up::run(a, color),
        Command::Down(a) => commands::down::run(a),
        Command::Ls(a) => commands::ls::run(a),
        Command::Exec(a) => commands::exec::run(a),
        Command::Shell(a) => commands::shell::run(a),
        Command::Pcap(a) => commands::pcap::run(a),
        Command::Clean(a) => commands::clean::run(a),
        Command::VmRun(a) => commands::vm_run::run(a),
        Command::Build(a) => commands::build::run(a, color),
        Command::Supervise(a) => crate::supervisor::run(a),
    }
}
