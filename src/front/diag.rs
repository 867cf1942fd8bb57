//! Diagnostics about lab files: what is wrong, where (file:line:column) and what to do.
//!
//! Rendered by hand rather than through miette: the format is small, must be byte-stable for
//! snapshot tests, and the first line must stay greppable as `file:line:col: error: ...`.

use std::fmt::Write as _;
use std::ops::Range;

use crate::front::source::SourceFile;
use crate::term::{self, Paint};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file a span of a joined document (lab plus patches) was written in, and the
    /// diagnostic with its span in that file.
    fn located<'a>(&self, file: &'a SourceFile) -> Option<(Diagnostic, &'a SourceFile)> {
        let (part, span) = file.locate(self.span.as_ref()?)?;
        let mut d = self.clone();
        d.span = Some(span);
        Some((d, part))
    }

    /// `file:line:col` of the diagnostic (line 1 column 1 when it has no span).
    pub fn location(&self, file: &SourceFile) -> (usize, usize) {
        if let Some((d, part)) = self.located(file) {
            return d.location(part);
        }
        self.span
            .as_ref()
            .map(|s| file.line_col(s.start))
            .unwrap_or((1, 1))
    }

    pub fn render(&self, file: &SourceFile, color: bool) -> String {
        if let Some((d, part)) = self.located(file) {
            return d.render(part, color);
        }
        let (line, col) = self.location(file);
        let (label, style) = match self.severity {
            Severity::Error => ("error:", term::ERROR),
            Severity::Warning => ("warning:", term::WARNING),
        };
        let p = Paint { on: color };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {} {}",
            p.bold(&format!("{}:{line}:{col}:", file.display_path())),
            p.paint(style, label),
            p.bold(&self.message)
        );
        if self.span.is_some() {
            let text = file.line_text(line);
            let gutter = line.to_string().len();
            let width = self
                .span
                .as_ref()
                .map(|s| {
                    let end_line_len = text.chars().count() + 1 - col.min(text.chars().count() + 1);
                    let len = file
                        .text
                        .get(s.clone())
                        .map(|t| t.lines().next().unwrap_or("").chars().count())
                        .unwrap_or(1);
                    len.clamp(1, end_line_len.max(1))
                })
                .unwrap_or(1);
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{line} | {text}");
            let _ = writeln!(
                out,
                "{:gutter$} | {}{}",
                "",
                " ".repeat(col - 1),
                p.paint(style, &"^".repeat(width))
            );
        }
        if let Some(help) = &self.help {
            // Under the gutter's `|`, as rustc does.
            let gutter = if self.span.is_some() {
                line.to_string().len()
            } else {
                1
            };
            let _ = writeln!(out, "{:gutter$} = help: {help}", "");
        }
        out
    }
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        // Jaro-Winkler misses swapped letters in short words ("lna" for "lan"); one edit
        // in three characters is still a typo.
        .filter(|(score, c)| {
            let len = word.chars().count().max(c.chars().count());
            *score > 0.8 || strsim::osa_distance(word, c) * 3 <= len
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_and_help() {
        let file = SourceFile::new("lab.toml", "name = \"x\"\nadresses = 1\n");
        let d = Diagnostic::error(Some(11..19), "unknown key `adresses`")
            .with_help("did you mean `addresses`?");
        let out = d.render(&file, false);
        assert_eq!(
            out,
            "lab.toml:2:1: error: unknown key `adresses`\n  |\n2 | adresses = 1\n  | ^^^^^^^^\n  = help: did you mean `addresses`?\n"
        );
    }

    /// Coloured, the location and message are bold and the label and caret take the
    /// severity's style; the text between the escapes is the uncoloured rendering.
    #[test]
    fn renders_colour_from_the_palette() {
        let file = SourceFile::new("lab.toml", "name = \"x\"\nadresses = 1\n");
        let d = Diagnostic::warning(Some(11..19), "unknown key `adresses`");
        assert_eq!(
            d.render(&file, true),
            "\x1b[1mlab.toml:2:1:\x1b[0m \x1b[1m\x1b[33mwarning:\x1b[0m \x1b[1munknown key `adresses`\x1b[0m\n  |\n2 | adresses = 1\n  | \x1b[1m\x1b[33m^^^^^^^^\x1b[0m\n"
        );
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("adresses", ["addresses", "mtu"]),
            Some("addresses")
        );
        assert_eq!(did_you_mean("zzz", ["addresses", "mtu"]), None);
        assert_eq!(did_you_mean("lna", ["lan", "wan0"]), Some("lan"));
        assert_eq!(did_you_mean("vai", ["dev", "via"]), Some("via"));
        assert_eq!(did_you_mean("b", ["a"]), None);
    }
}
