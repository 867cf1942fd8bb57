//! Checks: expectation matching, probing with convergence, matrices and steps.

pub mod command;
pub mod drops;
pub mod execute;
pub mod expect;
pub mod matrix;
pub mod steps;
