//! The lab-format reference (docs/lab-format.md), rendered from the JSON Schema so that it
//! cannot drift from what the parser accepts: one section per table, one row per key.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

fn resolve<'a>(root: &'a Value, node: &'a Value) -> (&'a Value, Option<String>) {
    match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => (def, Some(name.to_string())),
            None => (node, None),
        },
        None => (node, None),
    }
}

/// A short type description: "string", "integer", "array of Route", "table of Node".
fn type_name(root: &Value, node: &Value, tables: &mut Vec<String>) -> String {
    if let Some(r) = node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        let (def, _) = resolve(root, node);
        if def.get("properties").is_some() {
            tables.push(r.to_string());
            return format!("[{r}](#{})", r.to_lowercase());
        }
        return type_name(root, def, tables);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = node.get(key).and_then(Value::as_array) {
            let names: Vec<String> = alts
                .iter()
                .filter(|a| a.get("type") != Some(&Value::String("null".into())))
                .map(|a| type_name(root, a, tables))
                .collect();
            return names.join(" or ");
        }
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        let v: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|s| format!("`\"{s}\"`"))
            .collect();
        return v.join(" \\| ");
    }
    let ty = match node.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    };
    match ty.as_str() {
        "array" => match node.get("items") {
            Some(items) => format!("array of {}", type_name(root, items, tables)),
            None => "array".into(),
        },
        "object" => match node.get("additionalProperties").filter(|a| a.is_object()) {
            Some(v) => format!("table of {}", type_name(root, v, tables)),
            None => "table".into(),
        },
        "" => "value".into(),
        t => t.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn section(out: &mut String, root: &Value, title: &str, node: &Value, queue: &mut Vec<String>) {
    let _ = writeln!(out, "## {title}\n");
    if let Some(d) = node.get("description").and_then(Value::as_str) {
        let _ = writeln!(out, "{}\n", d.trim());
    }
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: BTreeSet<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let _ = writeln!(out, "| key | type | description |\n| --- | --- | --- |");
    for (key, prop) in props {
        let ty = type_name(root, prop, queue);
        let (def, _) = resolve(root, prop);
        let desc = prop
            .get("description")
            .or_else(|| def.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let req = if required.contains(key.as_str()) {
            " **(required)**"
        } else {
            ""
        };
        let _ = writeln!(out, "| `{key}`{req} | {ty} | {} |", one_line(desc));
    }
    out.push('\n');
}

pub fn markdown(schema: &Value) -> String {
    let mut out = String::from(
        "# Lab format reference\n\n\
         Generated from the lab file types by `topolab schema --markdown`; the same types\n\
         give `schemas/lab.schema.json`. A test keeps this file current.\n\n",
    );
    let mut queue: Vec<String> = Vec::new();
    section(&mut out, schema, "Top level", schema, &mut queue);
    let mut done = BTreeSet::new();
    while let Some(name) = queue.first().cloned() {
        queue.remove(0);
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(def) = schema.get("$defs").and_then(|d| d.get(&name)) {
            section(&mut out, schema, &name, def, &mut queue);
        }
    }
    out
}
