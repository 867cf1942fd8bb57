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

use crate::front::lab::Lab;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::source::SourceFile;

    fn lab(text: &str) -> Lab {
        let loaded = crate::front::validate::load_source(SourceFile::new("t.toml", text));
        let errors = loaded.render(false);
        loaded.lab.unwrap_or_else(|| panic!("{errors}"))
    }

    #[test]
    fn names_that_are_not_identifiers_are_escaped() {
        let lab = lab(r#"
name = "esc"
[nodes.end]
[nodes.b]
[[links]]
endpoints = ["end:a\"<b>#1", "b:e\\0"]
"#);
        let mermaid = render(&lab, Format::Mermaid);
        assert!(
            mermaid.contains(r#"n0i0["a#quot;#lt;b#gt;#35;1"]"#),
            "{mermaid}"
        );
        // `end` is a Mermaid keyword: ids are positional, the name only a label.
        assert!(mermaid.contains(r#"subgraph n0["end"]"#), "{mermaid}");
        let dot = render(&lab, Format::Dot);
        assert!(dot.contains(r#""end:a\"<b>#1" -- "b:e\\0";"#), "{dot}");
    }

    #[test]
    fn a_node_without_interfaces_is_a_plain_box() {
        let lab = lab("name = \"lone\"\n[nodes.solo]\nforward = true\n");
        assert_eq!(
            render(&lab, Format::Mermaid),
            "---\ntitle: lone\n---\nflowchart LR\n  n0[\"solo (forwarding)\"]\n"
        );
        assert!(render(&lab, Format::Dot).contains("  \"solo\" [label=\"solo (forwarding)\"];\n"));
    }

    #[test]
    fn tunnels_join_the_two_ends_once() {
        let lab = lab(r#"
name = "tun"
[nodes.a.interfaces.gre1]
kind = "gre"
local = "10.0.0.1"
remote = "10.0.0.2"
[nodes.b.interfaces.gre1]
kind = "gre"
local = "10.0.0.2"
remote = "10.0.0.1"
[nodes.a.interfaces.wg0]
kind = "wireguard"
peers = [{ node = "b:wg0", allowed_ips = ["10.9.0.2/32"] }]
[nodes.b.interfaces.wg0]
kind = "wireguard"
listen_port = 51820
peers = [{ node = "a:wg0", allowed_ips = ["10.9.0.1/32"] }]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#);
        let topo = Topology::of(&lab);
        let tunnels: Vec<_> = topo
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Tunnel)
            .map(|e| e.label.clone().unwrap_or_default())
            .collect();
        assert_eq!(tunnels, ["gre", "wireguard"]);
        assert!(render(&lab, Format::Mermaid).contains("n0i1 -.-|\"gre\"| n1i1"));
    }

    #[test]
    fn impairments_label_the_link_in_the_units_authors_write() {
        let lab = lab(r#"
name = "imp"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
impair = [{ rate = "1.5mbit" }, { from = "a:eth0", delay = "20ms", rate = "2gbit" }]
"#);
        let dot = render(&lab, Format::Dot);
        assert!(
            dot.contains(r#"[label="rate 1500kbit, delay 20ms rate 2gbit from a:eth0"]"#),
            "{dot}"
        );
    }
}
