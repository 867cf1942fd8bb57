//! topolab: declarative network test labs on Linux namespaces.
//!
//! The module tree reads as the pipeline (docs/DESIGN.md shows it one line per module):
//! a lab file goes through the front end (`front`: parse, validate), becomes a plan of
//! kernel operations (`plan`), is built and probed by the kernel side (`kernel`), run and
//! compared with its snapshot (`runner`), and reported (`output`). Long-lived labs
//! (`supervisor`), labs in a VM (`vm`), labs imported from a host (`import`) and the
//! command line (`cli`) sit on top. A module only uses the layers declared before it
//! (tests/offline/layers.rs checks it; the comments keep rustfmt from sorting them).

// Errors and exit codes, used everywhere.
pub(crate) mod error;
// Terminal styling (one palette on anstyle), used by diagnostics and reports.
pub mod term;
// From a lab file's text to a validated lab: no kernel.
pub mod front;
// The ordered kernel operations of a lab, and its drawing.
pub mod plan;
// Everything that reads or changes kernel state.
pub mod kernel;
// A host's network state turned into lab nodes.
pub mod import;
// Running labs: discovery, shards, one lab's run, checks, results, snapshots.
pub mod runner;
// Reports, diff, grading.
pub mod output;
// Long-lived labs (`up`/`down`/`exec`/`shell`) and their instances.
pub(crate) mod supervisor;
// Labs this kernel cannot run, inside a full kernel under qemu.
pub mod vm;
// The command line: process entry, arguments, one module per subcommand.
pub mod cli;
