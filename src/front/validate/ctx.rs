//! The validation context: the spans of the source being validated and the diagnostics
//! gathered so far.

use std::collections::HashSet;

use crate::front::diag::Diagnostic;
use crate::front::source::{SpanMap, TomlPath};

/// Collects diagnostics while validating, resolving paths to spans.
pub struct Ctx<'a> {
    spans: &'a SpanMap,
    pub diags: Vec<Diagnostic>,
    /// Paths the parser had to repair, and the tables holding them: anything said there
    /// (a route "without via" whose `vai` was an unknown key) repeats the parse error.
    quiet: HashSet<TomlPath>,
    muted: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(spans: &'a SpanMap, repaired: &[TomlPath]) -> Ctx<'a> {
        let quiet = repaired
            .iter()
            .flat_map(|p| [Some(p.clone()), p.parent()])
            .flatten()
            .collect();
        Ctx {
            spans,
            diags: Vec::new(),
            quiet,
            muted: Vec::new(),
        }
    }

    /// Where the value at `path` starts in the text, to order two places.
    pub fn start(&self, path: &TomlPath) -> Option<usize> {
        self.spans.value(path).map(|s| s.start)
    }

    fn push(&mut self, path: &TomlPath, d: Diagnostic) -> &mut Diagnostic {
        let list = if self.quiet.contains(path) {
            &mut self.muted
        } else {
            &mut self.diags
        };
        list.push(d);
        list.last_mut().expect("just pushed")
    }

    /// An error pointing at the value at `path`; returns it so a help can be attached.
    pub fn error(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::error(self.spans.value(path), message);
        self.push(path, d)
    }

    /// An error pointing at the key at `path` (for keys that must not be there).
    pub fn key_error(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::error(self.spans.key(path), message);
        self.push(path, d)
    }

    /// An error about a name written as the key at `path`. Never muted: a name is wrong
    /// whatever the parser repaired inside its table.
    pub fn name_error(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(self.spans.key(path), message));
        self.diags.last_mut().expect("just pushed")
    }

    pub fn warning(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::warning(self.spans.value(path), message);
        self.push(path, d)
    }
}

pub trait Help {
    fn help(&mut self, help: impl Into<String>);
}

impl Help for Diagnostic {
    fn help(&mut self, help: impl Into<String>) {
        self.help = Some(help.into());
    }
}
