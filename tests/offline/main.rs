//! The integration tests that need no privileges: the lab format and its schema, the
//! corpus of broken labs, plan and graph snapshots of every bundled lab, report rendering,
//! the README and docs as written, CI templates, set-up scripts and the layer order of
//! src/. `cargo test` runs them as any user; the tests that build labs are in tests/kernel/.

#[path = "../support/mod.rs"]
mod support;

mod ci_templates;
mod corpus;
mod guard_unarmed;
mod labs;
mod layers;
mod mutations;
mod plan_graph;
mod readme;
mod reports;
mod schema;
mod setup_scripts;
