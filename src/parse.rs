//! Text to spec: TOML syntax, types, and every unknown key in one pass.

use toml::de::DeTable;

use crate::diag::{Diagnostic, did_you_mean};
use crate::schema;
use crate::source::{Seg, SourceFile, SpanMap, TomlPath};
use crate::spec::LabFile;

/// A parsed lab file: the spec, where each of its parts is written, and any
/// diagnostics (all errors found at this stage; the spec is only usable without errors).
pub struct Parsed {
    pub spec: LabFile,
    pub spans: SpanMap,
}

pub fn parse(file: &SourceFile) -> Result<Parsed, Vec<Diagnostic>> {
    let (doc, syntax) = DeTable::parse_recoverable(&file.text);
    if !syntax.is_empty() {
        return Err(syntax.iter().map(toml_error).collect());
    }
    let spans = SpanMap::build(doc.get_ref());

    let de = match toml::de::Deserializer::parse(&file.text) {
        Ok(de) => de,
        Err(e) => return Err(vec![toml_error(&e)]),
    };
    let mut unknown = Vec::new();
    let result: Result<LabFile, _> =
        serde_ignored::deserialize(de, |path| unknown.push(convert_path(&path)));

    let mut diags = unknown_key_diagnostics(&unknown, &spans);
    match result {
        Ok(spec) if diags.is_empty() => Ok(Parsed { spec, spans }),
        Ok(_) => Err(diags),
        Err(e) => {
            diags.push(toml_error(&e));
            diags.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
            Err(diags)
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
        .replace("expected u32", "expected a non-negative integer")
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
    if m.contains("unknown variant") {
        return (m, None);
    }
    (m, None)
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

fn unknown_key_diagnostics(unknown: &[TomlPath], spans: &SpanMap) -> Vec<Diagnostic> {
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
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<(String, (usize, usize), Option<String>)> {
        let file = SourceFile::new("t.toml", text);
        match parse(&file) {
            Ok(_) => Vec::new(),
            Err(ds) => ds
                .iter()
                .map(|d| (d.message.clone(), d.location(&file), d.help.clone()))
                .collect(),
        }
    }

    #[test]
    fn reports_every_unknown_key_with_suggestion() {
        let errs = errors(
            "name = \"x\"\nnmae = 1\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\nadresses = []\n",
        );
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].0, "unknown key `nmae` at the top level");
        assert_eq!(errs[0].1, (2, 1));
        assert_eq!(errs[1].0, "unknown key `adresses` in links[0]");
        assert_eq!(errs[1].1, (5, 1));
        assert_eq!(errs[1].2.as_deref(), Some("did you mean `addresses`?"));
    }

    #[test]
    fn unknown_keys_inside_route_expectations_are_found() {
        let errs = errors(
            "name = \"x\"\n[[checks]]\nfrom = \"a\"\nroute = \"1.2.3.4\"\nexpect = { deev = \"eth0\" }\n",
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "unknown key `deev` in checks[0].expect");
        assert_eq!(errs[0].2.as_deref(), Some("did you mean `dev`?"));
    }

    #[test]
    fn type_errors_have_a_location() {
        let errs =
            errors("name = \"x\"\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\nmtu = \"big\"\n");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].1, (4, 7));
        assert!(
            errs[0].0.contains("expected a non-negative integer"),
            "{errs:?}"
        );
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let errs = errors("name = \"x\"\n[nodes.a\n");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].1.0, 2);
    }
}
