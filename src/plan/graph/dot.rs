//! Graphviz DOT syntax for a `Topology`.

use std::fmt::Write as _;

use super::model::{EdgeKind, Topology, Vertex};

/// Ids are the names the rest of topolab uses ("node:iface", "switch:NAME"), quoted, so
/// the output stays editable by hand.
fn id(topo: &Topology, v: Vertex) -> String {
    match v {
        Vertex::Iface { node, iface } => quote(&format!(
            "{}:{}",
            topo.nodes[node].name, topo.nodes[node].ifaces[iface].name
        )),
        Vertex::Switch(s) => quote(&format!("switch:{}", topo.switches[s].name)),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn label(lines: &[String]) -> String {
    quote(&lines.join("\n"))
}

pub fn render(topo: &Topology) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "graph {} {{", quote(&topo.lab));
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, label={}, labelloc=t, fontname=\"sans-serif\"];",
        quote(&topo.lab)
    );
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"sans-serif\", fontsize=10];\n",
    );
    out.push_str("  edge [fontname=\"sans-serif\", fontsize=9];\n");
    for (n, node) in topo.nodes.iter().enumerate() {
        if node.ifaces.is_empty() {
            let _ = writeln!(
                out,
                "  {} [label={}];",
                quote(&node.name),
                label(std::slice::from_ref(&node.title))
            );
            continue;
        }
        let _ = writeln!(
            out,
            "  subgraph {} {{",
            quote(&format!("cluster_{}", node.name))
        );
        let _ = writeln!(out, "    label={};", quote(&node.title));
        out.push_str("    style=rounded;\n    bgcolor=\"#f2f2f2\";\n");
        for (i, iface) in node.ifaces.iter().enumerate() {
            let v = Vertex::Iface { node: n, iface: i };
            let _ = writeln!(out, "    {} [label={}];", id(topo, v), label(&iface.lines));
        }
        out.push_str("  }\n");
    }
    for (s, sw) in topo.switches.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} [shape=hexagon, style=filled, fillcolor=\"#dde8f5\", label={}];",
            id(topo, Vertex::Switch(s)),
            label(&sw.lines)
        );
    }
    for e in &topo.edges {
        let mut attrs = Vec::new();
        match e.kind {
            EdgeKind::Link => {}
            EdgeKind::Tunnel => attrs.push("style=dashed".to_string()),
            EdgeKind::Master | EdgeKind::Parent => {
                attrs.push("style=dotted".to_string());
                attrs.push("dir=forward".to_string());
            }
        }
        let text = e.label.as_deref();
        if let Some(t) = text {
            attrs.push(format!("label={}", quote(t)));
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(out, "  {} -- {}{attrs};", id(topo, e.a), id(topo, e.b));
    }
    out.push_str("}\n");
    out
}
