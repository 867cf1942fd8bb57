//! Checks: expectation matching, probing with convergence, matrices and steps.

pub mod command;
pub(crate) mod drops;
pub(crate) mod execute;
pub(crate) mod expect;
pub(crate) mod matrix;
pub(crate) mod steps;
