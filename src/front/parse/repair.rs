//! Getting past a deserialization error so that the next one can be found too: the
//! offending value is replaced by the likely intended enum variant, or dropped, and a
//! missing required key is filled in with an empty value of its type.

use std::borrow::Cow;

use serde_json::Value;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::front::diag::did_you_mean;
use crate::front::schema;
use crate::front::source::{Seg, SpanMap, TomlPath};

/// Change `doc` so that the error `e` does not occur again; returns the path changed, or
/// `None` when no repair applies (the caller then stops).
pub fn repair(
    doc: &mut Spanned<DeTable<'_>>,
    spans: &SpanMap,
    e: &toml::de::Error,
) -> Option<TomlPath> {
    let span = e.span()?;
    let message = e.message();
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next()?;
        let table = if span == doc.span() {
            TomlPath::root()
        } else {
            spans.path_at(&span)?
        };
        let schema = schema::lab_schema();
        let value = placeholder(schema::property_at(&schema, &table, key)?)?;
        let t = table_mut(doc.get_mut(), &table.0)?;
        t.insert(
            Spanned::new(span.clone(), Cow::Owned(key.to_string())),
            Spanned::new(span, value),
        );
        return Some(table.key(key));
    }
    let mut path = spans.path_at(&span)?;
    if let Some((word, choices)) = super::unknown_variant(message)
        && let Some(s) = did_you_mean(word, choices)
    {
        *value_mut(doc.get_mut(), &path.0)? = DeValue::String(Cow::Owned(s.to_string()));
        return Some(path);
    }
    // Drop the nearest enclosing key: an array item cannot go without shifting the
    // positions, and so the reported locations, of the items after it.
    while let Some(Seg::Index(_)) = path.0.last() {
        path = path.parent()?;
    }
    let key = path.last_key()?.to_string();
    let parent = path.parent()?;
    table_mut(doc.get_mut(), &parent.0)?.remove(key.as_str())?;
    Some(path)
}

/// An empty value of the type the schema gives a key.
fn placeholder(schema: &Value) -> Option<DeValue<'static>> {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        return Some(DeValue::String(Cow::Owned(first.to_string())));
    }
    Some(match schema.get("type").and_then(Value::as_str)? {
        "string" => DeValue::String(Cow::Borrowed("")),
        "array" => DeValue::Array(DeArray::new()),
        "object" => DeValue::Table(DeTable::new()),
        "boolean" => DeValue::Boolean(false),
        _ => return None,
    })
}

fn value_mut<'a, 'i>(table: &'a mut DeTable<'i>, path: &[Seg]) -> Option<&'a mut DeValue<'i>> {
    let (Seg::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let mut v = table.get_mut(first.as_str())?.get_mut();
    for seg in rest {
        v = match (seg, v) {
            (Seg::Key(k), DeValue::Table(t)) => t.get_mut(k.as_str())?.get_mut(),
            (Seg::Index(i), DeValue::Array(a)) => a.get_mut(*i)?.get_mut(),
            _ => return None,
        };
    }
    Some(v)
}

fn table_mut<'a, 'i>(doc: &'a mut DeTable<'i>, path: &[Seg]) -> Option<&'a mut DeTable<'i>> {
    if path.is_empty() {
        return Some(doc);
    }
    match value_mut(doc, path)? {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}
