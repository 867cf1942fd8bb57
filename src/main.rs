use std::process::ExitCode;

fn main() -> ExitCode {
    topolab::run::main()
}
