//! Snapshots of what the pure commands print for every bundled lab: the plan and both
//! graph formats. A change in planning or drawing shows up as a reviewable diff
//! (`cargo insta review`).

use std::path::Path;

use topolab::front::lab::Lab;
use topolab::plan::graph::{self, Format};

fn load(path: &Path) -> Lab {
    let loaded =
        topolab::front::validate::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let diags = loaded.render(false);
    loaded
        .lab
        .unwrap_or_else(|| panic!("{} is invalid:\n{diags}", path.display()))
}

#[test]
fn plan() {
    insta::glob!("../../labs", "**/*.toml", |path| {
        let lab = load(path);
        insta::assert_snapshot!(topolab::plan::render(&topolab::plan::build(&lab)));
    });
}

#[test]
fn graph_mermaid() {
    insta::glob!("../../labs", "**/*.toml", |path| {
        insta::assert_snapshot!(graph::render(&load(path), Format::Mermaid));
    });
}

#[test]
fn graph_dot() {
    insta::glob!("../../labs", "**/*.toml", |path| {
        insta::assert_snapshot!(graph::render(&load(path), Format::Dot));
    });
}
