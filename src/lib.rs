//! topolab: declarative network test labs on Linux namespaces.
//!
//! The pipeline is `parse -> validate -> plan -> apply -> checks -> report -> teardown`;
//! each stage is a module of its own (see DESIGN.md in the docs).

pub mod capture;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod diag;
pub mod diff;
pub mod discover;
pub mod drops;
pub mod engine;
pub mod error;
pub mod fd_limit;
pub mod features;
pub mod grade;
pub mod graph;
pub mod import;
pub mod instance;
pub mod lab;
pub mod neigh_budget;
pub mod neigh_table;
pub mod parse;
pub mod patch;
pub mod plan;
pub mod probe;
pub mod report;
pub mod results;
pub mod run;
pub mod runner;
pub mod sandbox;
pub mod schema;
pub mod shard;
pub mod snapshot;
pub mod source;
pub mod spec;
pub mod state;
pub mod supervisor;
pub mod term;
pub mod validate;
pub mod vm;
