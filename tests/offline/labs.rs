//! Every bundled lab goes through the real binary: `check` and `plan` succeed, and so do
//! both graph formats.

use std::process::Command;

use crate::support::bin;

fn topolab(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the topolab binary runs")
}

fn assert_success(out: &std::process::Output, what: &str) {
    assert!(
        out.status.code() == Some(0),
        "{what} exited with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_lab_checks_clean() {
    for lab in crate::support::lab_files() {
        let out = topolab(&[
            "check".as_ref(),
            "--deny-warnings".as_ref(),
            lab.as_os_str(),
        ]);
        assert_success(
            &out,
            &format!("topolab check --deny-warnings {}", lab.display()),
        );
        assert!(
            out.stderr.is_empty(),
            "{}: check printed diagnostics:\n{}",
            lab.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_lab_plans() {
    for lab in crate::support::lab_files() {
        let out = topolab(&["plan".as_ref(), lab.as_os_str()]);
        assert_success(&out, &format!("topolab plan {}", lab.display()));
        assert!(!out.stdout.is_empty(), "{}: empty plan", lab.display());
    }
}

#[test]
fn every_lab_draws_in_both_formats() {
    for lab in crate::support::lab_files() {
        for format in ["mermaid", "dot"] {
            let out = topolab(&[
                "graph".as_ref(),
                lab.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
            ]);
            assert_success(
                &out,
                &format!("topolab graph {} --format {format}", lab.display()),
            );
        }
    }
}

#[test]
fn graph_defaults_to_mermaid() {
    let lab = &crate::support::lab_files()[0];
    let out = topolab(&["graph".as_ref(), lab.as_os_str()]);
    assert_success(&out, "topolab graph");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\nflowchart LR\n"),
        "the default format is Mermaid"
    );
}

#[test]
fn graph_of_an_invalid_lab_exits_2() {
    let dir = std::env::temp_dir().join(format!("topolab-graph-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"bad\"\n[nodes.a]\nfoward = true\n").expect("write lab");
    let out = topolab(&["graph".as_ref(), bad.as_os_str()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2), "invalid labs are exit code 2");
    assert!(out.stdout.is_empty(), "nothing is drawn for an invalid lab");
}
