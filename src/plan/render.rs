//! The plan as text (`topolab plan`), one operation per line.

use std::fmt::Write as _;

use super::{NsOwner, OpKind, Plan};

/// The plan as `topolab plan` prints it: one line per operation, with the namespace it
/// runs in and the operations it waits for.
pub fn render(plan: &Plan) -> String {
    let nodes = plan
        .namespaces
        .iter()
        .filter(|n| matches!(n.owner, NsOwner::Node(_)))
        .count();
    let switches = plan.namespaces.len() - nodes;
    let waves = plan.waves();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for lab `{}`: {nodes} node{}, {switches} switch{}, {} operations in {} waves\n",
        plan.lab,
        if nodes == 1 { "" } else { "s" },
        if switches == 1 { "" } else { "es" },
        plan.ops.len(),
        waves.len()
    );
    let id_width = plan.ops.len().to_string().len() + 1;
    let ns_width = plan
        .namespaces
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let ns_name = |id: super::NsId| plan.ns(id).name.clone();
    for (i, op) in plan.ops.iter().enumerate() {
        let ns = if op.kind == OpKind::Barrier {
            "*"
        } else {
            plan.ns(op.ns).name.as_str()
        };
        let what = op.kind.describe(&ns_name);
        let after = if op.kind == OpKind::Barrier {
            "after all of the above".to_string()
        } else if op.deps.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = op.deps.iter().map(|d| format!("#{}", d.0 + 1)).collect();
            format!("after {}", ids.join(" "))
        };
        let id = format!("#{}", i + 1);
        let line = format!("{id:>id_width$}  {ns:<ns_width$}  {what}");
        if after.is_empty() {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "{line}   [{after}]");
        }
    }
    out
}
