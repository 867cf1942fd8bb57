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
    /// Warnings that hold only if every address of the lab was understood (see
    /// `address_warning`), and whether an error made that untrue.
    about_addresses: Vec<Diagnostic>,
    address_error: bool,
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
            about_addresses: Vec::new(),
            address_error: repaired.iter().any(shapes_addresses),
        }
    }

    /// Where the value at `path` starts in the text, to order two places.
    pub fn start(&self, path: &TomlPath) -> Option<usize> {
        self.spans.value(path).map(|s| s.start)
    }

    fn push(&mut self, path: &TomlPath, d: Diagnostic) -> &mut Diagnostic {
        if d.is_error() && shapes_addresses(path) {
            self.address_error = true;
        }
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
        if shapes_addresses(path) {
            self.address_error = true;
        }
        self.diags
            .push(Diagnostic::error(self.spans.key(path), message));
        self.diags.last_mut().expect("just pushed")
    }

    pub fn warning(&mut self, path: &TomlPath, message: impl Into<String>) -> &mut Diagnostic {
        let d = Diagnostic::warning(self.spans.value(path), message);
        self.push(path, d)
    }

    /// A warning that an address is missing where one is used ("`x` is not an address of
    /// node `a`", "gateway not on a subnet"). After an error in a link, an interface or an
    /// address, the missing address is most likely the one that error left out: the
    /// warning would only repeat it, so it is not printed then.
    pub fn address_warning(
        &mut self,
        path: &TomlPath,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let d = Diagnostic::warning(self.spans.value(path), message);
        if self.quiet.contains(path) {
            self.muted.push(d);
            return self.muted.last_mut().expect("just pushed");
        }
        self.about_addresses.push(d);
        self.about_addresses.last_mut().expect("just pushed")
    }

    /// Everything to print.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        if !self.address_error {
            self.diags.append(&mut self.about_addresses);
        }
        self.diags
    }
}

/// Whether the value at `path` gives a node addresses or interfaces (a link, an interface,
/// a switch, an `addresses` list).
fn shapes_addresses(path: &TomlPath) -> bool {
    use crate::front::source::Seg;
    path.0.iter().any(|s| {
        matches!(s, Seg::Key(k) if matches!(k.as_str(), "links" | "interfaces" | "addresses" | "switches"))
    })
}

pub trait Help {
    fn help(&mut self, help: impl Into<String>);
}

impl Help for Diagnostic {
    fn help(&mut self, help: impl Into<String>) {
        self.help = Some(help.into());
    }
}
