//! topolab: declarative network test labs on Linux namespaces.
//!
//! The module tree reads as the pipeline (docs/DESIGN.md shows it one line per module):
//! a lab file goes through the front end (`front`: parse, validate), becomes a plan of
//! kernel operations (`plan`), is built and probed by the kernel side (`kernel`), run and
//! compared with its snapshot (`runner`), and reported (`output`). Long-lived labs
//! (`supervisor`), labs in a VM (`vm`), labs imported from a host (`import`) and the
//! command line (`cli`) sit on top. A module only uses the layers listed before it;
//! `error` (exit classes) and `term` (terminal styling) serve every layer.

pub mod cli;
pub mod error;
pub mod front;
pub mod import;
pub mod kernel;
pub mod output;
pub mod plan;
pub mod runner;
pub mod supervisor;
pub mod term;
pub mod vm;
