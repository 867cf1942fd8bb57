use crate::diag::Diagnostic;
use crate::source::{SpanMap, TomlPath};

/// Collects diagnostics while validating, resolving paths to spans.
pub struct Ctx<'a> {
    spans: &'a SpanMap,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(spans: &'a SpanMap) -> Ctx<'a> {
        Ctx {
            spans,
            diags: Vec::new(),
        }
    }

    /// An error pointing at the value at `path`; returns it so a help can be attached.
    pub fn error(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(self.spans.value(path), message));
        self.diags.last_mut().expect("just pushed")
    }

    /// An error pointing at the key at `path` (for keys that must not be there).
    pub fn key_error(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(self.spans.key(path), message));
        self.diags.last_mut().expect("just pushed")
    }

    pub fn warning(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::warning(self.spans.value(path), message));
        self.diags.last_mut().expect("just pushed")
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
