//! The imported lab as TOML, with a comment above each node for every object of the host
//! that could not be carried over.

use super::to_lab::Imported;
use crate::error::{Error, Result};

pub fn toml(imported: &Imported, source: &str) -> Result<String> {
    let body = toml::to_string(&imported.lab)
        .map_err(|e| Error::invalid(format!("rendering the imported lab: {e}")))?;
    let mut out = format!(
        "# Imported by `topolab import` from {source}.\n\
         # Review it: add the checks that show the incident, then `topolab test`.\n"
    );
    let mut pending: Vec<(&String, &Vec<String>)> = imported.notes.iter().collect();
    for line in body.lines() {
        if line.starts_with('[') {
            let header = line.trim_start_matches('[');
            if let Some(pos) = pending.iter().position(|(node, _)| {
                header.starts_with(&format!("nodes.{node}]"))
                    || header.starts_with(&format!("nodes.{node}."))
            }) {
                let (node, notes) = pending.remove(pos);
                out.push('\n');
                if imported.router.as_ref() == Some(node) {
                    out.push_str(&format!("# {node}: a router made up by the import:\n"));
                } else {
                    out.push_str(&format!("# {node}: not carried over or approximated:\n"));
                }
                for n in notes {
                    out.push_str(&format!("#   - {n}\n"));
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    // Nodes with no section of their own (nothing but notes): notes at the end.
    for (node, notes) in pending {
        out.push_str(&format!("\n# {node}: not carried over or approximated:\n"));
        for n in notes {
            out.push_str(&format!("#   - {n}\n"));
        }
    }
    Ok(out)
}
