//! The README and docs/ as written (issue 13, item 16). Every ```sh block of README.md
//! and docs/*.md is checked line by line:
//!
//! - a `topolab ...` line is expanded by bash as a user's shell would (globs, `$(...)`),
//!   must parse with topolab's own CLI, and every file or directory it reads must exist in
//!   the repository; `check`, `plan`, `graph` and `schema` lines are run and must exit 0.
//!   `test`, `diff`, `grade` and `--kernel` runs are not (a VM boot, minutes of labs):
//!   their inputs are checked, and the sample lab and output below are checked by running.
//! - any other line (`bash ci/labs.sh`, ...) must name existing files.
//!
//! A block that must not be checked (it installs packages, needs a tool not installed
//! here, or names files only the reader has) is marked in its info string: ```sh no-run.
//! The README's sample lab is the file it names, and the output shown is what that file
//! prints (timings aside).

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use topolab::cli::args::{Cli, Command as Sub};

use crate::support::{bin, fenced_blocks as blocks, repo_path};

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo_path("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(repo_path("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// The words of a command line as bash expands them in the repository, redirections and
/// comments dropped; of a pipeline, its first command (the topolab part: what it feeds,
/// tcpdump or dot, is the reader's).
fn expand(line: &str) -> Vec<String> {
    let cut = top_level_end(line);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("printf '%s\\0' {}", &line[..cut]))
        .current_dir(repo_path(""))
        .output()
        .expect("bash");
    assert!(out.status.success(), "bash cannot expand `{line}`");
    out.stdout
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

/// A block's lines with `\` continuations joined, each with the index of its first line.
fn logical_lines(lines: &[String]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (k, line) in lines.iter().enumerate() {
        let text = line.trim();
        let (body, more) = match text.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (text, false),
        };
        match out.last_mut() {
            Some((_, prev)) if continued => {
                prev.push(' ');
                prev.push_str(body);
            }
            _ => out.push((k, body.to_string())),
        }
        continued = more;
    }
    out
}

/// Files and directories a line writes, which later lines of its block may read: the
/// target of `>`, and the artifacts directory of a `--capture` run.
fn outputs(line: &str, argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(i) = line.find(" >") {
        let target = line[i + 2..].trim_start_matches('>');
        out.extend(target.split_whitespace().next().map(str::to_string));
    }
    if argv.iter().any(|w| w == "--capture") {
        let dir = argv
            .iter()
            .position(|w| w == "--artifacts")
            .and_then(|i| argv.get(i + 1))
            .map_or("topolab-artifacts", String::as_str);
        out.push(dir.trim_end_matches('/').to_string());
    }
    out
}

/// Where the first command of `line` ends: at a pipe or output redirection outside quotes
/// and `$(...)`.
fn top_level_end(line: &str) -> usize {
    let bytes = line.as_bytes();
    let (mut depth, mut quote) = (0usize, None::<u8>);
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(') if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            (None, b')') if depth > 0 => depth -= 1,
            (None, _) if depth == 0 => {
                let rest = &line[i..];
                // `>` and `>>` alike: bash would write (or append to) the file.
                if rest.starts_with(" | ") || rest.starts_with(" >") || rest.starts_with(" 2>") {
                    return i;
                }
            }
            _ => {}
        }
    }
    line.len()
}

/// Files and directories a parsed command reads.
fn inputs(cmd: &Sub) -> Vec<PathBuf> {
    match cmd {
        Sub::Check(a) => a.paths.clone(),
        Sub::Plan(a) => vec![a.lab.clone()],
        Sub::Graph(a) => vec![a.lab.clone()],
        Sub::Test(a) => a.paths.iter().cloned().chain(a.kernel.clone()).collect(),
        Sub::Diff(a) => vec![a.base.clone(), a.candidate.clone()],
        Sub::Grade(a) => vec![a.exercise.clone(), a.submissions.clone()],
        Sub::Up(a) => vec![a.lab.clone()],
        _ => Vec::new(),
    }
}

fn runs_here(cmd: &Sub) -> bool {
    matches!(
        cmd,
        Sub::Check(_) | Sub::Plan(_) | Sub::Graph(_) | Sub::Schema(_)
    )
}

#[test]
fn every_command_block_of_the_readme_and_docs_works_as_written() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let name = doc
            .strip_prefix(repo_path(""))
            .unwrap_or(&doc)
            .display()
            .to_string();
        // What earlier lines of the document wrote, which later ones may read.
        let mut produced: Vec<String> = Vec::new();
        for (at, info, lines) in blocks(&doc) {
            let mut words = info.split_whitespace();
            if words.next() != Some("sh") || words.any(|w| w == "no-run") {
                continue;
            }
            for (k, line) in logical_lines(&lines) {
                let line = line.as_str();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let place = format!("{name}:{}", at + 1 + k);
                let argv = expand(line);
                produced.extend(outputs(line, &argv));
                checked += 1;
                if argv.first().map(String::as_str) == Some("topolab") {
                    let cli = match Cli::try_parse_from(&argv) {
                        Ok(c) => c,
                        Err(e) => {
                            problems.push(format!("{place}: `{line}` does not parse: {e}"));
                            continue;
                        }
                    };
                    for p in inputs(&cli.command) {
                        let made_here = produced.iter().any(|w| p == Path::new(w));
                        if !repo_path("").join(&p).exists() && !made_here {
                            problems.push(format!(
                                "{place}: `{line}` reads {}, which does not exist",
                                p.display()
                            ));
                        }
                    }
                    if runs_here(&cli.command) {
                        let out = Command::new(bin())
                            .args(&argv[1..])
                            .current_dir(repo_path(""))
                            .output()
                            .expect("run topolab");
                        if !out.status.success() {
                            problems.push(format!(
                                "{place}: `{line}` exits {:?}: {}",
                                out.status.code(),
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        }
                    }
                } else {
                    for w in argv
                        .iter()
                        .filter(|w| w.contains('/') && !w.starts_with('-'))
                    {
                        let made_here = produced
                            .iter()
                            .any(|p| w == p || w.starts_with(&format!("{p}/")));
                        if !repo_path(w).exists() && !Path::new(w).is_absolute() && !made_here {
                            problems
                                .push(format!("{place}: `{line}` names {w}, which does not exist"));
                        }
                    }
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} command lines found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
