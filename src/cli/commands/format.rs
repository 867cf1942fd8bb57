//! What a report-printing subcommand writes on stdout: shared by `test`, `diff`, `grade`
//! and `merge-reports`, so that `--format` means the same everywhere.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
}
