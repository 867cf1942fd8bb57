//! The JSON Schema of lab files, generated from the spec types. It is also the single
//! source of truth for "which keys are allowed here", used for did-you-mean suggestions.

pub mod reference;

use serde_json::Value;

use crate::front::source::{Seg, TomlPath};
use crate::front::spec::LabFile;

pub fn lab_schema() -> Value {
    let schema = schemars::schema_for!(LabFile);
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

/// The schema rendered as committed in `schemas/lab.schema.json`.
pub fn lab_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&lab_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Keys allowed in the table at `path`, for suggestions. Empty when unknown.
pub fn keys_at(schema: &Value, path: &TomlPath) -> Vec<String> {
    let mut node = schema;
    for seg in &path.0 {
        node = match descend(schema, node, seg) {
            Some(n) => n,
            None => return Vec::new(),
        };
    }
    let mut keys = Vec::new();
    collect_properties(schema, node, &mut keys);
    keys
}

/// The schema of `key` in the table at `path`, references resolved; for filling in a
/// missing required key with a value of the right type.
pub fn property_at<'a>(schema: &'a Value, path: &TomlPath, key: &str) -> Option<&'a Value> {
    let mut node = schema;
    for seg in path.0.iter().chain([&Seg::Key(key.to_string())]) {
        node = descend(schema, node, seg)?;
    }
    Some(resolve(schema, node))
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs").and_then(|d| d.get(name)))
            .map(|n| resolve(root, n))
            .unwrap_or(node),
        None => node,
    }
}

/// Alternatives of a node (anyOf/oneOf), or the node itself.
fn alternatives<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolve(root, node);
    let mut out: Vec<&Value> = Vec::new();
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = node.get(key).and_then(Value::as_array) {
            out.extend(alts.iter().flat_map(|a| alternatives(root, a)));
        }
    }
    // A table whose keys are constrained by alternatives (a check's one probe kind)
    // still has its own properties.
    if out.is_empty() || node.get("properties").is_some() {
        out.insert(0, node);
    }
    out
}

fn descend<'a>(root: &'a Value, node: &'a Value, seg: &Seg) -> Option<&'a Value> {
    for alt in alternatives(root, node) {
        let next = match seg {
            Seg::Key(k) => alt
                .get("properties")
                .and_then(|p| p.get(k.as_str()))
                .or_else(|| alt.get("additionalProperties").filter(|a| a.is_object())),
            Seg::Index(_) => alt.get("items").filter(|i| i.is_object()),
        };
        if let Some(n) = next {
            return Some(n);
        }
    }
    None
}

fn collect_properties(root: &Value, node: &Value, out: &mut Vec<String>) {
    for alt in alternatives(root, node) {
        if let Some(props) = alt.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_of_nested_tables() {
        let schema = lab_schema();
        let keys = keys_at(&schema, &TomlPath::root().key("links").idx(0));
        assert!(keys.contains(&"endpoints".to_string()), "{keys:?}");
        let keys = keys_at(
            &schema,
            &TomlPath::root()
                .key("nodes")
                .key("anything")
                .key("routes")
                .idx(3),
        );
        assert!(keys.contains(&"via".to_string()), "{keys:?}");
        let keys = keys_at(
            &schema,
            &TomlPath::root().key("checks").idx(0).key("expect"),
        );
        assert!(keys.contains(&"dev".to_string()), "{keys:?}");
    }
}
