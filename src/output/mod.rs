//! What a run produces for people and machines: reports (human, JSON, JUnit), the
//! comparison of a lab with its patched twin (`diff`) and grading. Terminal styling is
//! `crate::term`: diagnostics use it too.

pub(crate) mod diff;
pub mod grade;
pub mod report;
