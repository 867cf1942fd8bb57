//! One test per validation rule: each bad input asserts the message, the line and column
//! it points at, and (where there is one) the help. Inputs start with `name = "t"` on
//! line 1, so the line numbers read straight off the text.

mod checks;
mod hardening;
mod interfaces;
mod lab;
mod links;
mod names;
mod node_config;
mod routing;
mod steps;

use crate::front::diag::Severity;
use crate::front::source::SourceFile;

use super::{Loaded, load_source};

/// A diagnostic reduced to what a lab author sees.
#[derive(Debug, Clone)]
pub struct D {
    pub severity: Severity,
    pub at: (usize, usize),
    pub message: String,
    pub help: Option<String>,
}

impl D {
    #[track_caller]
    pub fn error(&self, at: (usize, usize), message: &str) -> &Self {
        self.is(Severity::Error, at, message)
    }

    #[track_caller]
    pub fn warning(&self, at: (usize, usize), message: &str) -> &Self {
        self.is(Severity::Warning, at, message)
    }

    #[track_caller]
    fn is(&self, severity: Severity, at: (usize, usize), message: &str) -> &Self {
        assert_eq!(
            (self.severity, self.at, self.message.as_str()),
            (severity, at, message),
            "{self:#?}"
        );
        self
    }

    /// The help contains `text`.
    #[track_caller]
    pub fn help(&self, text: &str) -> &Self {
        let help = self.help.as_deref().unwrap_or("");
        assert!(help.contains(text), "help {help:?} lacks {text:?}");
        self
    }
}

pub fn load(text: &str) -> Loaded {
    load_source(SourceFile::new("t.toml", text))
}

/// Every diagnostic of `text`, in the order they are printed. With SHOW_DIAGS set in
/// the environment, also prints them as `topolab check` would (to check a column).
pub fn all(text: &str) -> Vec<D> {
    let loaded = load(text);
    if std::env::var_os("SHOW_DIAGS").is_some() {
        eprintln!("{}", loaded.render(false));
    }
    loaded
        .diags
        .iter()
        .map(|d| D {
            severity: d.severity,
            at: d.location(&loaded.file),
            message: d.message.clone(),
            help: d.help.clone(),
        })
        .collect()
}

/// The single diagnostic of `text`.
#[track_caller]
pub fn one(text: &str) -> D {
    let mut ds = all(text);
    assert_eq!(ds.len(), 1, "expected one diagnostic: {ds:#?}");
    ds.remove(0)
}

/// `text` is a valid lab without any diagnostic.
#[track_caller]
pub fn clean(text: &str) {
    let loaded = load(text);
    let ds = all(text);
    assert!(ds.is_empty(), "{ds:#?}");
    assert!(loaded.lab.is_some());
}

/// Two nodes `a` and `b` linked a:eth0 10.0.0.1/24 -- b:eth0 10.0.0.2/24, on lines 2-6;
/// tests append from line 7.
pub const AB: &str = r#"name = "t"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;

pub fn ab(rest: &str) -> String {
    format!("{AB}{rest}")
}

/// `ab(rest)` with one more line, `a_line`, under `[nodes.a]` on line 3 (so `rest` starts
/// on line 8).
pub fn ab_a(a_line: &str, rest: &str) -> String {
    ab(rest).replacen("[nodes.a]\n", &format!("[nodes.a]\n{a_line}\n"), 1)
}
