//! `topolab graph`: the topology of a lab as a picture description, DOT or Mermaid.
//!
//! Nodes are groups of interface boxes (name, kind, mtu, addresses), switches are
//! hexagons, veth pairs are solid lines between interfaces, bridge ports and stacked
//! interfaces point at their master or parent, and tunnels whose far end is in the lab
//! are dashed lines. Output depends only on the lab, never on the machine.

mod dot;
mod mermaid;
mod model;

pub use model::{Edge, EdgeKind, IfaceBox, NodeBox, SwitchBox, Topology, Vertex};

use crate::lab::Lab;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphviz: `topolab graph lab.toml --format dot | dot -Tsvg > lab.svg`.
    Dot,
    /// A Mermaid flowchart, rendered by GitHub and GitLab inside a ```mermaid block.
    Mermaid,
}

pub fn render(lab: &Lab, format: Format) -> String {
    let topo = Topology::of(lab);
    match format {
        Format::Dot => dot::render(&topo),
        Format::Mermaid => mermaid::render(&topo),
    }
}
