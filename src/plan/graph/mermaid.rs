//! Mermaid flowchart syntax for a `Topology`.

use std::fmt::Write as _;

use super::model::{EdgeKind, Topology, Vertex};

/// Ids are positional (`n0i1`, `s0`) because names may be Mermaid keywords (`end`) or
/// hold characters an id cannot.
fn id(v: Vertex) -> String {
    match v {
        Vertex::Iface { node, iface } => format!("n{node}i{iface}"),
        Vertex::Switch(s) => format!("s{s}"),
    }
}

/// A quoted label; Mermaid has entity codes instead of backslash escapes.
fn label(lines: &[String]) -> String {
    let mut out = String::from("\"");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in line.chars() {
            match c {
                '"' => out.push_str("#quot;"),
                '#' => out.push_str("#35;"),
                '&' => out.push_str("#38;"),
                '<' => out.push_str("#lt;"),
                '>' => out.push_str("#gt;"),
                c => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

pub fn render(topo: &Topology) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---\ntitle: {}\n---\nflowchart LR", topo.lab);
    for (n, node) in topo.nodes.iter().enumerate() {
        let title = label(std::slice::from_ref(&node.title));
        if node.ifaces.is_empty() {
            let _ = writeln!(out, "  n{n}[{title}]");
            continue;
        }
        let _ = writeln!(out, "  subgraph n{n}[{title}]");
        for (i, iface) in node.ifaces.iter().enumerate() {
            let v = Vertex::Iface { node: n, iface: i };
            let _ = writeln!(out, "    {}[{}]", id(v), label(&iface.lines));
        }
        let _ = writeln!(out, "  end");
    }
    for (s, sw) in topo.switches.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}{{{{{}}}}}",
            id(Vertex::Switch(s)),
            label(&sw.lines)
        );
    }
    for e in &topo.edges {
        let arrow = match e.kind {
            EdgeKind::Link => "---",
            EdgeKind::Tunnel => "-.-",
            EdgeKind::Master | EdgeKind::Parent => "-.->",
        };
        let text = e.label.as_deref();
        match text {
            Some(t) => {
                let _ = writeln!(
                    out,
                    "  {} {arrow}|{}| {}",
                    id(e.a),
                    label(&[t.to_string()]),
                    id(e.b)
                );
            }
            None => {
                let _ = writeln!(out, "  {} {arrow} {}", id(e.a), id(e.b));
            }
        }
    }
    out
}
