//! What a run produces for people and machines: reports (human, JSON, JUnit), the
//! comparison of a lab with its patched twin (`diff`), grading, and terminal styling.

pub mod diff;
pub mod grade;
pub mod report;
pub mod term;
