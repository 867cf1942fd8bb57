//! One file per subcommand: its arguments and its `run`.

pub mod build;
pub mod check;
pub mod clean;
pub mod down;
pub mod exec;
pub mod graph;
pub mod ls;
pub mod plan;
pub mod review;
pub mod schema;
pub mod shell;
pub mod test;
pub mod up;
pub mod vm_run;

use std::path::Path;

use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::validate;

/// Load one lab, printing its diagnostics to stderr; errors make it `Error::invalid`.
pub fn load_lab(path: &Path, color: bool) -> Result<Lab> {
    let loaded =
        validate::load(path).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    if !loaded.diags.is_empty() {
        eprint!("{}", loaded.render(color));
    }
    match loaded.lab {
        Some(lab) => Ok(lab),
        None => {
            let n = loaded.errors().count();
            Err(Error::invalid(format!(
                "{}: {n} error{} in lab file",
                path.display(),
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}
