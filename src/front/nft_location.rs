//! `nft` reads a node's ruleset from stdin and reports errors at `/dev/stdin:LINE:COL`:
//! lines of the ruleset, which is a string inside the lab file. This maps them to the lab
//! file's own lines and columns, so that an editor jumps to the mistake.

use crate::front::source::{SourceFile, SpanMap, TomlPath};

/// `message` with each `/dev/stdin:L:C` of a node's failed ruleset replaced by the place
/// in `file` where that ruleset is written. Left as it is when the ruleset is not a plain
/// run of the file's text (a basic string with escapes, whose lines and columns differ
/// from the file's).
pub fn locate(file: &SourceFile, message: &str) -> String {
    let Some(node) = failed_node(message) else {
        return message.to_string();
    };
    let Ok(doc) = crate::front::parse::parse_syntax(file) else {
        return message.to_string();
    };
    let spans = SpanMap::build(doc.get_ref());
    let path = TomlPath::root().key("nodes").key(node).key("nft");
    if !spans.contains(&path) {
        return message.to_string();
    }
    let Some(span) = spans.value(&path) else {
        return message.to_string();
    };
    let (file, span) = file.locate(&span).unwrap_or((file, span));
    let Some(start) = content_start(&file.text[span.clone()]) else {
        return message.to_string();
    };
    let (line0, col0) = file.line_col(span.start + start);
    let name = file.path.display().to_string();
    replace_positions(message, |line, col| {
        if line == 1 {
            (line0, col0 + col - 1, col0 - 1)
        } else {
            (line0 + line - 1, col, 0)
        }
    })
    .replace("/dev/stdin:", &format!("{name}:"))
}

/// The node of "node `X`: load nft ruleset ...".
fn failed_node(message: &str) -> Option<&str> {
    let at = message.find("`: load nft ruleset")?;
    let start = message[..at].rfind("node `")? + "node `".len();
    Some(&message[start..at])
}

/// Offset of a string value's first content byte, when the content is the file's text as
/// it is: a literal string, or a basic string without escapes. A newline right after an
/// opening `"""`/`'''` is not part of the value (TOML trims it).
fn content_start(raw: &str) -> Option<usize> {
    let (open, escapes) = if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else if raw.starts_with('"') {
        (1, true)
    } else {
        return None;
    };
    if escapes && raw.contains('\\') {
        return None;
    }
    let rest = &raw[open..];
    let trimmed = if open == 3 {
        rest.strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix('\n'))
            .unwrap_or(rest)
    } else {
        rest
    };
    Some(raw.len() - trimmed.len())
}

/// Rewrite every `/dev/stdin:L:C` (and the `-E` end column nft adds) with `to(L, C)`,
/// which gives the new line, column and the shift for end columns on that line.
fn replace_positions(message: &str, to: impl Fn(usize, usize) -> (usize, usize, usize)) -> String {
    const TAG: &str = "/dev/stdin:";
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find(TAG) {
        out.push_str(&rest[..at + TAG.len()]);
        rest = &rest[at + TAG.len()..];
        let (line, after) = number(rest);
        let Some(line) = line.filter(|_| after.starts_with(':')) else {
            continue;
        };
        let (col, after) = number(&after[1..]);
        let Some(col) = col else {
            continue;
        };
        let (l, c, shift) = to(line, col);
        out.push_str(&format!("{l}:{c}"));
        rest = after;
        if let Some(end_text) = rest.strip_prefix('-')
            && let (Some(end), after) = number(end_text)
        {
            out.push_str(&format!("-{}", end + shift));
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn number(s: &str) -> (Option<usize>, &str) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    (s[..digits].parse().ok(), &s[digits..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = r#"name = "fw"

[nodes.gw]
nft = """
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    tcp dport 22 acept
  }
}
"""

[nodes.inline]
nft = "add table ip t; add chain ip t c { type nat hook bogus priority 0; }"
"#;

    #[test]
    fn errors_in_a_multiline_ruleset_point_into_the_lab_file() {
        let file = SourceFile::new("labs/fw.toml", LAB);
        let m = "node `gw`: load nft ruleset (6 lines): nft failed:\n  /dev/stdin:4:18-22: Error: syntax error, unexpected string\n      tcp dport 22 acept";
        insta::assert_snapshot!(locate(&file, m), @r"
        node `gw`: load nft ruleset (6 lines): nft failed:
          labs/fw.toml:8:18-22: Error: syntax error, unexpected string
              tcp dport 22 acept
        ");
    }

    #[test]
    fn errors_on_the_first_line_of_an_inline_ruleset_move_by_its_column() {
        let file = SourceFile::new("labs/fw.toml", LAB);
        let m = "node `inline`: load nft ruleset (1 lines): nft failed:\n  /dev/stdin:1:50-54: Error: unknown hook";
        let out = locate(&file, m);
        assert!(out.contains("labs/fw.toml:14:57-61: Error"), "{out}");
        let line = LAB.lines().nth(13).expect("line 14");
        assert_eq!(&line[56..61], "bogus");
    }

    #[test]
    fn a_ruleset_with_escapes_keeps_its_own_positions() {
        let lab = "[nodes.a]\nnft = \"add table ip t;\\nadd chain ip t c\"\n";
        let file = SourceFile::new("x.toml", lab);
        let m = "node `a`: load nft ruleset (2 lines): nft failed:\n  /dev/stdin:2:1: Error: x";
        assert_eq!(locate(&file, m), m);
    }
}
