//! TOML syntax errors, made specific where the parser's own message is terse.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::front::diag::Diagnostic;
use crate::front::source::{Seg, SourceFile, TomlPath};

pub fn diagnostics(file: &SourceFile, errors: &[toml::de::Error]) -> Vec<Diagnostic> {
    let mut twice = Vec::new();
    let mut out = Vec::new();
    for e in errors {
        let message = e.message().trim();
        match e.span() {
            Some(span) if message == "duplicate key" => {
                let (d, what) = duplicate(file, span);
                match what {
                    Twice::Table(path) => twice.push(path),
                    // The parser merges a repeated table into the first, so its keys
                    // come out "set twice" too; the table is the one mistake.
                    Twice::Key(table) if twice.contains(&table) => continue,
                    Twice::Key(_) => {}
                }
                out.push(d);
            }
            None if message.contains("recursion") => {
                // The parser gives no place for this one: point at where the nesting is
                // deepest, which is where it gave up.
                let at = deepest_nesting(&file.text);
                let d = Diagnostic::error(
                    Some(at..at + 1),
                    "arrays and tables are nested too deeply here (the TOML parser's recursion limit)",
                )
                .with_help("a lab needs a few levels at most: flatten this value");
                out.push(d);
            }
            span => {
                let d = Diagnostic::error(span, message.to_string());
                let d = match message.strip_prefix("cannot extend value of type ") {
                    Some(what) if what.starts_with("inline table") => d.with_help(
                        "a table written inline, `{ ... }`, is complete: move its keys under a [header] to add to it",
                    ),
                    Some(_) => d.with_help("this key already holds a value, not a table"),
                    None => d,
                };
                // Recovery can report one mistake twice at the same place.
                if !out.contains(&d) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// Byte offset of the most deeply nested place of the text: the first `[` or `{` at the
/// deepest nesting outside strings and comments, or the key with the most dotted parts
/// (`a.b.c = 1` and `[a.b.c]` nest tables too), whichever is deeper.
fn deepest_nesting(text: &str) -> usize {
    let (depth, at) = deepest_brackets(text);
    let mut line_start = 0;
    let (mut dots, mut dot_at) = (0, 0);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let key = if trimmed.starts_with('[') {
            trimmed
        } else {
            trimmed.split('=').next().unwrap_or("")
        };
        let n = key.matches('.').count();
        if n > dots {
            (dots, dot_at) = (n, line_start + line.len() - trimmed.len());
        }
        line_start += line.len();
    }
    if dots > depth { dot_at } else { at }
}

fn deepest_brackets(text: &str) -> (usize, usize) {
    let (mut depth, mut best, mut at) = (0usize, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '#' => comment = true,
            '[' | '{' => {
                depth += 1;
                if depth > best {
                    (best, at) = (depth, i);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (best, at)
}

enum Twice {
    Table(TomlPath),
    /// A key, with the table it is in.
    Key(TomlPath),
}

/// A key or table written twice. This is also how a duplicate node, switch or interface
/// name shows up, since names are table keys: say which one, and where the first is.
fn duplicate(file: &SourceFile, span: Range<usize>) -> (Diagnostic, Twice) {
    let (line, _) = file.line_col(span.start);
    let before = file.text.get(..span.start).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let upto = file
        .text
        .get(line_start..span.end)
        .unwrap_or_default()
        .trim_start();
    let lines: Vec<&str> = (1..line).map(|l| file.line_text(l)).collect();
    if let Some(header) = upto.strip_prefix('[') {
        let header = header.strip_prefix('[').unwrap_or(header);
        let Some(path) = dotted(header) else {
            return (generic(span), Twice::Key(TomlPath::root()));
        };
        let first = lines
            .iter()
            .position(|l| header_path(l).as_ref() == Some(&path));
        let d = Diagnostic::error(Some(span), format!("table `{path}` is defined twice"));
        let d = d.with_help(match first {
            Some(i) => format!(
                "it is first defined on line {}; merge the two, or rename one if they are meant to be different",
                i + 1
            ),
            None => "merge the two definitions, or rename one if they are meant to be different"
                .to_string(),
        });
        return (d, Twice::Table(path));
    }
    // A key inside an inline table: the table is on this line, say no more than the key.
    let Some(key) = dotted(upto) else {
        let key = file.text.get(span.clone()).unwrap_or("?").to_string();
        let d = Diagnostic::error(
            Some(span),
            format!("key `{key}` is set twice in this table"),
        )
        .with_help("remove one of them");
        return (d, Twice::Key(TomlPath::root()));
    };
    // The table the key belongs to starts at the closest header above.
    let header = lines.iter().rposition(|l| header_path(l).is_some());
    let table = header
        .and_then(|i| header_path(lines[i]))
        .unwrap_or_default();
    let table_start = header.map_or(0, |i| i + 1);
    let first = lines[table_start..]
        .iter()
        .position(|l| key_path(l).as_ref() == Some(&key))
        .map(|i| table_start + i + 1);
    let full = TomlPath(table.0.iter().chain(&key.0).cloned().collect());
    let d = Diagnostic::error(Some(span), format!("key `{full}` is set twice"));
    let d = d.with_help(match first {
        Some(l) => format!("it is first set on line {l}; remove one of them"),
        None => "remove one of them".to_string(),
    });
    (d, Twice::Key(table))
}

fn generic(span: Range<usize>) -> Diagnostic {
    Diagnostic::error(Some(span), "duplicate key")
        .with_help("TOML allows each key and table once; remove or rename one of them")
}

/// The path of a `[table]` or `[[array]]` header line.
fn header_path(line: &str) -> Option<TomlPath> {
    let inner = line.trim_start().strip_prefix('[')?;
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    let end = inner.find(']')?;
    dotted(&inner[..end])
}

/// The dotted key of a `key = value` line.
fn key_path(line: &str) -> Option<TomlPath> {
    let t = line.trim_start();
    if t.starts_with(['[', '#']) {
        return None;
    }
    dotted(&t[..t.find('=')?])
}

/// A dotted key as TOML reads it (quotes, spaces and all), by letting TOML parse it.
fn dotted(key: &str) -> Option<TomlPath> {
    let key = key.trim();
    if key.is_empty() || key.contains(['\n', '=', '[', ']', '{', '}', '#']) {
        return None;
    }
    let text = format!("{key} = 0");
    let doc = DeTable::parse(&text).ok()?;
    let mut segs = Vec::new();
    let mut table = doc.into_inner();
    loop {
        let (k, v) = table.into_iter().next()?;
        segs.push(Seg::Key(k.into_inner().into_owned()));
        match v.into_inner() {
            DeValue::Table(t) => table = t,
            _ => return Some(TomlPath(segs)),
        }
    }
}
