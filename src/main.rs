use std::process::ExitCode;

fn main() -> ExitCode {
    topolab::cli::main()
}
