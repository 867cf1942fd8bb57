//! The `topolab` binary: everything is in the library (`cli::main`).

use std::process::ExitCode;

fn main() -> ExitCode {
    topolab::cli::main()
}
