//! Snapshots: a lab `x.toml` has its reviewed results in `x.snap` beside it. A run renders
//! what it observed the same way; any difference fails the lab. Outside CI the new
//! rendering is written to `x.snap.new` for `topolab review`; under CI nothing is written.

mod files;
mod render;

pub use files::{Comparison, compare, diff, pending_path, snap_path};
pub use render::render;
