//! Text to spec: TOML syntax, types, and every unknown key in one pass.

mod repair;
mod syntax;

use std::collections::{BTreeSet, HashSet};

use toml::Spanned;
use toml::de::DeTable;

use crate::front::diag::{Diagnostic, did_you_mean};
use crate::front::schema;
use crate::front::source::{Seg, SourceFile, SpanMap, TomlPath};
use crate::front::spec::LabFile;

/// A parsed lab file: the spec and where each of its parts is written.
pub struct Parsed {
    pub spec: LabFile,
    pub spans: SpanMap,
    /// Errors the parser worked around (unknown keys, wrong types, unknown enum values),
    /// so that validation can still report everything else in the same run. A lab is
    /// never built from a spec that has any.
    pub diags: Vec<Diagnostic>,
    /// Where the spec differs from the file because of such an error. Later stages stay
    /// quiet about these paths and the tables holding them: whatever they would say
    /// there is a consequence of the first error.
    pub repaired: Vec<TomlPath>,
}

/// Enough for any real file; bounds the work on a hopeless one.
const MAX_REPAIRS: usize = 64;

/// Parse a lab file. `Err` holds the errors when the spec could not be obtained at all
/// (TOML syntax, or a type error the parser cannot work around).
pub fn parse(file: &SourceFile) -> Result<Parsed, Vec<Diagnostic>> {
    parse_document(parse_syntax(file)?)
}

/// The TOML document of a file, or its syntax errors.
pub fn parse_syntax(file: &SourceFile) -> Result<Spanned<DeTable<'_>>, Vec<Diagnostic>> {
    let (doc, syntax_errors) = DeTable::parse_recoverable(&file.text);
    if !syntax_errors.is_empty() {
        return Err(syntax::diagnostics(file, &syntax_errors));
    }
    Ok(doc)
}

/// A lab from a TOML document that may have been assembled from several files (see
/// `patch`); spans are those of the document.
pub fn parse_document(mut doc: Spanned<DeTable<'_>>) -> Result<Parsed, Vec<Diagnostic>> {
    let spans = SpanMap::build(doc.get_ref());
    let mut unknown = BTreeSet::new();
    let mut diags = Vec::new();
    let mut repaired = Vec::new();
    let mut seen = HashSet::new();
    // serde stops at the first type error; repairing the document and deserializing again
    // finds the next one, until the spec deserializes or a repair is impossible.
    loop {
        let de = toml::de::Deserializer::from(doc.clone());
        let result: Result<LabFile, _> = serde_ignored::deserialize(de, |path| {
            unknown.insert(convert_path(&path));
        });
        let e = match result {
            Ok(spec) => {
                repaired.extend(unknown.iter().cloned());
                let mut all = unknown_key_diagnostics(&unknown, &spans);
                all.append(&mut diags);
                all.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
                return Ok(Parsed {
                    spec,
                    spans,
                    diags: all,
                    repaired,
                });
            }
            Err(e) => e,
        };
        let fresh = seen.insert((e.message().to_string(), e.span()));
        let fix = if fresh && repaired.len() < MAX_REPAIRS {
            repair::repair(&mut doc, &spans, &e)
        } else {
            None
        };
        // A required key the parser itself dropped for its type is already reported.
        let consequence = fix.as_ref().is_some_and(|p| repaired.contains(p));
        if fresh && !consequence {
            diags.push(toml_error(&e));
        }
        match fix {
            Some(path) => repaired.push(path),
            None => {
                let mut all = unknown_key_diagnostics(&unknown, &spans);
                all.append(&mut diags);
                all.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
                return Err(all);
            }
        }
    }
}

fn toml_error(e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_string();
    let (message, help) = humanize(&message);
    let d = Diagnostic::error(e.span(), message);
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

/// serde's messages name Rust types; lab authors think in TOML.
fn humanize(message: &str) -> (String, Option<String>) {
    let m = message
        .replace("expected u8", "expected an integer from 0 to 255")
        .replace("expected u16", "expected an integer from 0 to 65535")
        .replace("expected u32", "expected an integer from 0 to 4294967295")
        .replace(
            "expected u64",
            "expected an integer from 0 to 18446744073709551615",
        )
        // serde's wording for integers beyond i64, an internal detail.
        .replace("` as i128", "`")
        .replace("` as u128", "`")
        .replace("expected i64", "expected an integer")
        .replace("a sequence", "an array")
        .replace("a map", "a table")
        .replace("struct ", "a table ")
        .replace("invalid type: map", "invalid type: table")
        .replace("invalid type: sequence", "invalid type: array");
    if let Some(rest) = m.strip_prefix("missing field ") {
        return (
            format!("missing required key {rest}"),
            Some(format!("add {rest} to this table")),
        );
    }
    if let Some((word, choices)) = unknown_variant(&m) {
        let help =
            did_you_mean(word, choices.iter().copied()).map(|s| format!("did you mean `{s}`?"));
        return (m.clone(), help);
    }
    if let Some(help) = type_help(&m) {
        return (m, Some(help));
    }
    if m.starts_with("data did not match any variant of untagged enum SysctlValue") {
        return (
            "a sysctl value is an integer, a boolean or a string".to_string(),
            Some("e.g. 1, true or \"4096 87380 6291456\"".to_string()),
        );
    }
    (m, None)
}

/// How to write a value of the expected type, for the common slips.
fn type_help(m: &str) -> Option<String> {
    if let Some(rest) = m.strip_prefix("invalid type: string \"")
        && let Some((value, expected)) = rest.split_once("\", expected ")
    {
        if expected.contains("integer") && value.trim().parse::<i64>().is_ok() {
            return Some(format!("write the number without quotes: {}", value.trim()));
        }
        if expected == "a boolean" {
            return Some("write true or false, without quotes".to_string());
        }
    }
    if let Some(rest) = m.strip_prefix("invalid type: integer `")
        && let Some((value, expected)) = rest.split_once("`, expected ")
        && expected.starts_with("a string")
    {
        return Some(format!("write it in quotes: \"{value}\""));
    }
    if m.starts_with("invalid value: integer") {
        return Some("use a number in that range".to_string());
    }
    None
}

/// The word and the choices of serde's "unknown variant `x`, expected one of `a`, `b`".
pub(crate) fn unknown_variant(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (word, rest) = rest.split_once('`')?;
    let choices = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| !c.is_empty())
        .collect();
    Some((word, choices))
}

fn convert_path(path: &serde_ignored::Path<'_>) -> TomlPath {
    fn walk(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
        match path {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                walk(parent, out);
                out.push(Seg::Index(*index));
            }
            serde_ignored::Path::Map { parent, key } => {
                walk(parent, out);
                out.push(Seg::Key(key.clone()));
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut segs = Vec::new();
    walk(path, &mut segs);
    TomlPath(segs)
}

fn unknown_key_diagnostics(unknown: &BTreeSet<TomlPath>, spans: &SpanMap) -> Vec<Diagnostic> {
    if unknown.is_empty() {
        return Vec::new();
    }
    let schema = schema::lab_schema();
    unknown
        .iter()
        .map(|path| {
            let key = path.last_key().unwrap_or("?");
            let parent = path.parent().unwrap_or_default();
            let known = schema::keys_at(&schema, &parent);
            let where_ = if parent.0.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in {parent}")
            };
            let d = Diagnostic::error(spans.key(path), format!("unknown key `{key}` {where_}"));
            match did_you_mean(key, known.iter().map(String::as_str)) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None if !known.is_empty() => {
                    d.with_help(format!("expected one of: {}", known.join(", ")))
                }
                None => d,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
