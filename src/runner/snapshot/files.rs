//! Where snapshots live and how a run compares with them.

use std::path::{Path, PathBuf};

/// `x.toml` -> `x.snap`.
pub fn snap_path(lab: &Path) -> PathBuf {
    lab.with_extension("snap")
}

/// `x.toml` -> `x.snap.new`.
pub fn pending_path(lab: &Path) -> PathBuf {
    lab.with_extension("snap.new")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    Matched,
    /// There is no reviewed snapshot.
    Missing,
    /// Unified diff from the reviewed snapshot to this run.
    Changed(String),
}

pub fn compare(lab: &Path, observed: &str) -> Comparison {
    match std::fs::read_to_string(snap_path(lab)) {
        Err(_) => Comparison::Missing,
        Ok(reviewed) if reviewed == observed => Comparison::Matched,
        Ok(reviewed) => Comparison::Changed(diff(&reviewed, observed)),
    }
}

pub fn diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header("reviewed", "observed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_beside_the_lab() {
        assert_eq!(
            snap_path(Path::new("labs/x.toml")),
            PathBuf::from("labs/x.snap")
        );
        assert_eq!(
            pending_path(Path::new("labs/x.toml")),
            PathBuf::from("labs/x.snap.new")
        );
    }

    #[test]
    fn diff_shows_both_sides() {
        let d = diff("a: ok\nb: ok\n", "a: ok\nb: timeout\n");
        assert!(d.contains("-b: ok") && d.contains("+b: timeout"), "{d}");
    }
}
