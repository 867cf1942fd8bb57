//! `topolab test --shard K/N` splits a suite into disjoint parts that cover it, and
//! `topolab merge-reports` turns the shards' reports into the report of the whole suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use topolab::runner::shard::Shard;

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token};
use crate::support::text;

const LABS: usize = 7;

/// Lab `i`: two nodes and a ping; lab 3 expects the wrong outcome and fails.
fn lab(i: usize) -> String {
    let expect = if i == 3 { "timeout" } else { "ok" };
    format!(
        r#"name = "shard-{i}"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[checks]]
from = "a"
ping = "10.0.0.2"
expect = "{expect}"
timeout = "1s"
"#
    )
}

/// The binary outside CI (so that `--accept` writes snapshots), with the leak token.
fn run(args: &[&str], tmp: &Path, tok: &str) -> Output {
    Command::new(crate::support::bin())
        .args(args)
        .env_remove("CI")
        .env("TOPOLAB_RUNTIME_DIR", tmp)
        .env("TOPOLAB_TEST_TOKEN", tok)
        .env("NO_COLOR", "1")
        .output()
        .expect("run topolab")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(o)))
}

fn files(report: &Value) -> Vec<String> {
    report["labs"]
        .as_array()
        .expect("labs")
        .iter()
        .map(|l| l["file"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// (file, status) of every lab of a report.
fn outcome(report: &Value) -> Vec<(String, String)> {
    report["labs"]
        .as_array()
        .expect("labs")
        .iter()
        .map(|l| {
            (
                l["file"].as_str().unwrap_or("?").to_string(),
                l["status"]["kind"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

#[test]
fn shards_cover_the_suite_once_and_merge_into_its_report() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("shard");
    let labs = tmp.0.join("labs");
    std::fs::create_dir_all(labs.join("nested")).expect("mkdir");
    let mut all = Vec::new();
    for i in 0..LABS {
        let rel = if i % 3 == 0 {
            format!("nested/lab-{i}.toml")
        } else {
            format!("lab-{i}.toml")
        };
        std::fs::write(labs.join(&rel), lab(i)).expect("write lab");
        all.push(rel);
    }
    let labs_arg = labs.to_str().expect("utf-8");
    let tok = token();

    let mut reports: Vec<PathBuf> = Vec::new();
    let mut seen = BTreeSet::new();
    for k in 1..=3u32 {
        let shard = format!("{k}/3");
        let junit = tmp.0.join(format!("junit-{k}.xml"));
        let out = run(
            &[
                "test",
                labs_arg,
                "--shard",
                &shard,
                "--format",
                "json",
                "--accept",
                "--junit",
                junit.to_str().expect("utf-8"),
            ],
            &tmp.0,
            &tok,
        );
        let report = json(&out);
        assert_eq!(report["shard"]["index"], k);
        assert_eq!(report["shard"]["total"], 3);
        // Exactly the labs whose key hashes to this shard, keys relative to the directory.
        let expected: Vec<String> = all
            .iter()
            .filter(|rel| Shard::of(rel, 3) == k)
            .map(|rel| labs.join(rel).display().to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let got = files(&report);
        assert_eq!(got, expected, "shard {k}");
        for f in got {
            assert!(seen.insert(f), "a lab ran in two shards");
        }
        let path = tmp.0.join(format!("shard-{k}.json"));
        std::fs::write(&path, &out.stdout).expect("write report");
        reports.push(path);
    }
    assert_eq!(seen.len(), LABS, "the shards cover the suite");

    let whole = run(&["test", labs_arg, "--format", "json"], &tmp.0, &tok);
    let whole = json(&whole);

    let merged_junit = tmp.0.join("merged.xml");
    let mut args: Vec<&str> = vec!["merge-reports"];
    args.extend(reports.iter().map(|p| p.to_str().expect("utf-8")));
    args.extend([
        "--format",
        "json",
        "--junit",
        merged_junit.to_str().expect("utf-8"),
    ]);
    let out = run(&args, &tmp.0, &tok);
    assert_eq!(out.status.code(), Some(1), "one lab fails:\n{}", text(&out));
    let merged = json(&out);
    assert_eq!(outcome(&merged), outcome(&whole));
    assert_eq!(merged["summary"], whole["summary"]);
    assert_eq!(merged["summary"]["failed"], 1);
    assert!(merged.get("shard").is_none());

    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json"),
        )
        .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for r in [&merged, &whole] {
        if let Err(e) = validator.validate(r) {
            panic!("a report does not match schemas/report.schema.json: {e}");
        }
    }
    let xml = std::fs::read_to_string(&merged_junit).expect("merged JUnit");
    assert_eq!(xml.matches("<testsuite ").count(), LABS, "{xml}");

    // Human output of the merge, and a set with a shard missing.
    let out = run(
        &["merge-reports", reports[0].to_str().expect("utf-8")],
        &tmp.0,
        &tok,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("shards 2/3, 3/3 are missing: their labs would go unreported"),
        "{}",
        text(&out)
    );
    assert_no_processes(&tok);
}

#[test]
fn bad_shards_and_reports_are_usage_errors() {
    let tmp = TempDir::new("shard-bad");
    let tok = token();
    let out = run(&["test", "labs", "--shard", "4/3"], &tmp.0, &tok);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("`4/3` is not a shard"),
        "{}",
        text(&out)
    );

    let bad = tmp.write("bad.json", "{\n  \"version\": 1,\n  \"labs\": 3\n}\n");
    let out = run(
        &["merge-reports", bad.to_str().expect("utf-8")],
        &tmp.0,
        &tok,
    );
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains(&format!("{}:3:", bad.display())), "{t}");
    assert!(
        t.contains("expected a report of `topolab test --format json`"),
        "{t}"
    );
}
