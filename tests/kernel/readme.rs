//! The README's sample lab, run: what the README shows is what it prints (the README's
//! and docs' command lines are checked in tests/offline/readme.rs).

use std::process::Command;

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token};
use crate::support::{bin, fenced_blocks as blocks, repo_path};

/// The README's sample lab is the file its output names, and the output is what that
/// file prints, timings aside.
#[test]
fn the_readme_sample_lab_is_real_and_prints_what_the_readme_shows() {
    let readme = blocks(&repo_path("README.md"));
    let (_, _, lab) = readme
        .iter()
        .find(|(_, info, _)| info == "toml")
        .expect("a toml block");
    let (_, _, shown) = readme
        .iter()
        .find(|(_, info, l)| {
            info == "text" && l.first().is_some_and(|f| f.starts_with("$ topolab test "))
        })
        .expect("a `$ topolab test` output block");
    let file = shown[0].trim_start_matches("$ topolab test ").trim();
    let text = std::fs::read_to_string(repo_path(file)).expect("the sample lab exists");
    assert_eq!(
        lab.join("\n") + "\n",
        text,
        "the README's lab differs from {file}"
    );

    require_root!();
    let host = HostGuard::new();
    let run = TempDir::new("readme");
    let tok = token();
    let out = Command::new(bin())
        .args(["test", file])
        .current_dir(repo_path(""))
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .env("TOPOLAB_RUNTIME_DIR", &run.0)
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .output()
        .expect("run topolab");
    assert_no_processes(&tok);
    let normal = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| without_timings(l.trim_end()))
            .filter(|l| !l.is_empty())
            .collect()
    };
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        normal(&shown[1..].join("\n")),
        normal(&printed),
        "the README's output differs from what {file} prints"
    );
    drop(host);
}

/// A line without its durations ("9.20s", "0ms" become "T") and without the
/// ", converged after N attempts" note, which vary from run to run.
fn without_timings(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let len = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        let after = &tail[len..];
        let unit = ["ms", "s"].into_iter().find(|u| {
            after.starts_with(u) && !after[u.len()..].starts_with(|c: char| c.is_alphanumeric())
        });
        match unit {
            Some(u) => {
                out.push('T');
                rest = &after[u.len()..];
            }
            None => {
                out.push_str(&tail[..len]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    while let Some(i) = out.find(", converged after ") {
        let end = out[i..]
            .find(" attempts")
            .map_or(out.len(), |j| i + j + " attempts".len());
        out.replace_range(i..end, "");
    }
    out
}
