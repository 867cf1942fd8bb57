//! One file per subcommand: its arguments and its `run`.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod clean;
pub(crate) mod diff;
pub(crate) mod down;
pub(crate) mod exec;
pub(crate) mod format;
pub mod grade;
pub mod graph;
pub mod import;
pub(crate) mod ls;
pub(crate) mod merge_reports;
pub(crate) mod pcap;
pub mod plan;
pub(crate) mod review;
pub mod schema;
pub(crate) mod shell;
pub mod test;
pub(crate) mod up;
pub(crate) mod vm_run;

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
