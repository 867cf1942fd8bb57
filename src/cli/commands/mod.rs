//! One file per subcommand: its arguments and its `run`.

pub mod build;
pub mod check;
pub mod clean;
pub mod diff;
pub mod down;
pub mod exec;
pub mod format;
pub mod grade;
pub mod graph;
pub mod import;
pub mod ls;
pub mod merge_reports;
pub mod pcap;
pub mod plan;
pub mod review;
pub mod schema;
pub mod shell;
pub mod test;
pub mod up;
pub mod vm_run;

use std::path::Path;

use crate::error::{Error, Result};
use crate::front::lab::Lab;
use crate::front::validate;

/// Load one lab, printing its diagnostics to stderr; errors make it `Error::invalid`.
pub fn load_lab(path: &Path, color: bool) -> Result<Lab> {
    let loaded =
        validate::load(path).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    lab_of(loaded, &path.display().to_string(), color)
}

/// The lab of a validated file (or of a lab and its patches, named `label`), printing its
/// diagnostics to stderr; errors make it `Error::invalid`.
pub fn lab_of(loaded: validate::Loaded, label: &str, color: bool) -> Result<Lab> {
    if !loaded.diags.is_empty() {
        eprint!("{}", loaded.render(color));
    }
    match loaded.lab {
        Some(lab) => Ok(lab),
        None => {
            let n = loaded.errors().count();
            Err(Error::invalid(format!(
                "{label}: {n} error{} in lab file",
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

/// A multi-threaded runtime for commands that build labs.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::env(format!("tokio: {e}")))
}
