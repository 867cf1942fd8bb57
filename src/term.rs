//! Terminal styling: the one palette of every coloured thing topolab prints (reports,
//! diffs, review, diagnostics of lab files, and clap's help and usage errors), as anstyle
//! styles; colour only on a TTY and never with NO_COLOR, unless asked for.
//!
//! Here rather than under `output` because the front end's diagnostics use it too, and the
//! front end comes before every other layer.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether to colour output written to stdout (or stderr when `stderr`).
pub fn use_color(choice: ColorChoice, stderr: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let tty = if stderr {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            !no_color && tty
        }
    }
}

pub const RED: Style = AnsiColor::Red.on_default();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
/// The label and caret of an error in a lab file, and clap's `error:`.
pub const ERROR: Style = RED.bold();
/// The label and caret of a warning in a lab file.
pub const WARNING: Style = YELLOW.bold();

/// clap's help and usage errors in this palette. These are clap's own defaults: naming them
/// here keeps one palette, and `--help` prints what it always did.
pub const CLAP: clap::builder::Styles = clap::builder::Styles::styled()
    .header(BOLD.underline())
    .usage(BOLD.underline())
    .literal(BOLD)
    .error(ERROR)
    .valid(GREEN)
    .invalid(YELLOW);

#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    /// `s` in `style`, reset after it; `s` as it is when colour is off.
    pub fn paint(&self, style: Style, s: &str) -> String {
        if self.on {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }
    pub fn red(&self, s: &str) -> String {
        self.paint(RED, s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint(GREEN, s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint(YELLOW, s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(BOLD, s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(DIM, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the hand-written escapes printed before the palette moved onto anstyle.
    #[test]
    fn paints_the_same_escapes_as_before() {
        let p = Paint { on: true };
        assert_eq!(p.red("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(p.green("x"), "\x1b[32mx\x1b[0m");
        assert_eq!(p.yellow("x"), "\x1b[33mx\x1b[0m");
        assert_eq!(p.bold("x"), "\x1b[1mx\x1b[0m");
        assert_eq!(p.dim("x"), "\x1b[2mx\x1b[0m");
        // anstyle writes one sequence per attribute (the old diagnostics wrote `\x1b[1;31m`).
        assert_eq!(p.paint(ERROR, "x"), "\x1b[1m\x1b[31mx\x1b[0m");
        assert_eq!(p.paint(WARNING, "x"), "\x1b[1m\x1b[33mx\x1b[0m");
    }

    #[test]
    fn paints_nothing_when_off() {
        let p = Paint { on: false };
        for s in [p.red("x"), p.bold("x"), p.paint(ERROR, "x")] {
            assert_eq!(s, "x");
        }
    }

    #[test]
    fn clap_styles_are_clap_defaults() {
        assert_eq!(
            format!("{CLAP:?}"),
            format!("{:?}", clap::builder::Styles::styled())
        );
    }
}
