//! The CI templates in ci/ cannot run here, so they are checked as far as possible
//! without a CI system: every topolab command line they contain parses with topolab's own
//! CLI (variables replaced by sample values), and, where PyYAML is installed, both files
//! are valid YAML with the structure each CI system needs.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use serde_json::Value;
use topolab::cli::args::{Cli, Command as Sub};

fn template(name: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    (path, text)
}

/// CI variables as a job would see them.
const VARS: &[(&str, &str)] = &[
    ("${{ matrix.shard }}", "2"),
    ("${{ strategy.job-total }}", "4"),
    ("$CI_NODE_INDEX", "2"),
    ("$CI_NODE_TOTAL", "4"),
    ("$LABS", "labs"),
    ("$EXERCISE", "exercise.toml"),
    ("$SUBMISSIONS", "submissions"),
    ("$((JOB_COMPLETION_INDEX + 1))", "2"),
    ("$SHARDS", "4"),
];

/// Shell words of a simple command: double quotes, no escapes; stops at a redirection,
/// a pipe or `||`.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '>' | '|' if !quoted => break,
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Every `topolab test ...` / `topolab merge-reports ...` invocation in a template, as
/// argument lists (continuation lines and folded YAML scalars joined).
fn invocations(text: &str) -> Vec<Vec<String>> {
    let mut joined = String::new();
    let mut lines = text.lines().peekable();
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let l = line.trim();
        let Some(at) = [
            "topolab test",
            "topolab)\" test",
            "topolab grade",
            "topolab)\" grade",
            "topolab merge-reports",
        ]
        .iter()
        .find_map(|needle| l.find(needle).map(|i| (i, *needle))) else {
            continue;
        };
        joined.clear();
        joined.push_str(&l[at.0..]);
        // `\` continuations, or the following lines of a `>-` folded scalar (they are
        // indented like this one and start with an option or a redirection).
        while joined.ends_with('\\')
            || lines.peek().is_some_and(|n| {
                n.trim_start().starts_with("--") || n.trim_start().starts_with('>')
            })
        {
            joined = joined.trim_end_matches('\\').to_string();
            let Some(next) = lines.next() else { break };
            joined.push(' ');
            joined.push_str(next.trim());
        }
        let mut cmd = joined.replace("topolab)\"", "topolab");
        for (var, value) in VARS {
            cmd = cmd.replace(var, value);
        }
        out.push(words(&cmd));
    }
    out
}

fn check_invocations(name: &str) -> Vec<Sub> {
    let (_, text) = template(name);
    let all = invocations(&text);
    assert!(!all.is_empty(), "{name}: no topolab command found");
    all.iter()
        .map(|args| match Cli::try_parse_from(args) {
            Ok(cli) => cli.command,
            Err(e) => panic!("{name}: `{}` does not parse:\n{e}", args.join(" ")),
        })
        .collect()
}

fn assert_runs_a_shard_and_merges(name: &str) {
    let cmds = check_invocations(name);
    let shard = cmds.iter().find_map(|c| match c {
        Sub::Test(a) => Some(a),
        _ => None,
    });
    let shard = shard.unwrap_or_else(|| panic!("{name}: no `topolab test`"));
    assert_eq!(
        shard.shard.map(|s| s.to_string()).as_deref(),
        Some("2/4"),
        "{name}"
    );
    assert!(shard.junit.is_some(), "{name}: the shard writes no JUnit");
    assert_eq!(
        shard.format,
        topolab::cli::commands::test::Format::Json,
        "{name}"
    );
    let merge = cmds.iter().find_map(|c| match c {
        Sub::MergeReports(a) => Some(a),
        _ => None,
    });
    let merge = merge.unwrap_or_else(|| panic!("{name}: no `topolab merge-reports`"));
    assert!(merge.junit.is_some(), "{name}: the merge writes no JUnit");
}

/// A grading template: a `grade` per shard writing JSON, and a merge writing the reports.
fn assert_grades_a_shard_and_merges(name: &str) {
    let cmds = check_invocations(name);
    let grade = cmds.iter().find_map(|c| match c {
        Sub::Grade(a) => Some(a),
        _ => None,
    });
    let grade = grade.unwrap_or_else(|| panic!("{name}: no `topolab grade`"));
    assert_eq!(
        grade.shard.map(|s| s.to_string()).as_deref(),
        Some("2/4"),
        "{name}"
    );
    assert_eq!(
        grade.format,
        topolab::cli::commands::grade::Format::Json,
        "{name}: the merge reads the JSON report"
    );
    let merge = cmds.iter().find_map(|c| match c {
        Sub::MergeReports(a) => Some(a),
        _ => None,
    });
    let merge = merge.unwrap_or_else(|| panic!("{name}: no `topolab merge-reports`"));
    assert!(merge.out.is_some(), "{name}: the merge writes no reports");
    assert!(merge.junit.is_none(), "{name}: --junit is for test reports");
}

#[test]
fn grade_github_actions_commands_parse() {
    assert_grades_a_shard_and_merges("grade-github-actions.yml");
}

#[test]
fn grade_gitlab_ci_commands_parse() {
    assert_grades_a_shard_and_merges("grade-gitlab-ci.yml");
}

#[test]
fn grade_kubernetes_job_commands_parse() {
    assert_grades_a_shard_and_merges("grade-k8s-job.yml");
}

#[test]
fn github_actions_commands_parse() {
    assert_runs_a_shard_and_merges("github-actions.yml");
}

#[test]
fn gitlab_ci_commands_parse() {
    assert_runs_a_shard_and_merges("gitlab-ci.yml");
}

#[test]
fn templates_have_no_tabs() {
    for name in [
        "github-actions.yml",
        "gitlab-ci.yml",
        "grade-github-actions.yml",
        "grade-gitlab-ci.yml",
        "grade-k8s-job.yml",
    ] {
        let (_, text) = template(name);
        assert!(
            !text.contains('\t'),
            "{name}: YAML forbids tabs for indentation"
        );
    }
}

/// The template as JSON, through PyYAML; None when python3 or PyYAML is missing.
fn yaml(name: &str) -> Option<Value> {
    yaml_with(
        name,
        "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
    )
}

/// Every document of a multi-document template, as a JSON array.
fn yaml_documents(name: &str) -> Option<Vec<Value>> {
    let all = yaml_with(
        name,
        "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
    )?;
    Some(all.as_array().expect("a list of documents").clone())
}

fn yaml_with(name: &str, script: &str) -> Option<Value> {
    let (path, _) = template(name);
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("No module named 'yaml'") {
            return None;
        }
        panic!("{name} is not valid YAML:\n{err}");
    }
    Some(serde_json::from_slice(&out.stdout).expect("python printed JSON"))
}

#[test]
fn github_actions_structure() {
    let Some(w) = yaml("github-actions.yml") else {
        eprintln!("python3 with PyYAML is not installed: YAML structure not checked");
        return;
    };
    let labs = &w["jobs"]["labs"];
    assert_eq!(labs["strategy"]["fail-fast"], false);
    let shards = labs["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a shard matrix");
    let n = shards.len() as u64;
    let want: Vec<u64> = (1..=n).collect();
    let got: Vec<u64> = shards.iter().filter_map(Value::as_u64).collect();
    assert_eq!(got, want, "shards are numbered 1..N");
    let report = &w["jobs"]["report"];
    assert_eq!(report["needs"], "labs");
    assert_eq!(report["if"], "always()");
    let steps = |job: &Value| -> Vec<String> {
        job["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                s["uses"]
                    .as_str()
                    .or(s["run"].as_str())
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    let upload = labs["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["uses"] == "actions/upload-artifact@v4")
        .expect("the shard uploads its reports");
    assert_eq!(upload["if"], "always()", "failed shards upload too");
    assert!(
        steps(report)
            .iter()
            .any(|s| s.starts_with("actions/download-artifact@"))
    );
    assert!(steps(report).iter().any(|s| s.contains("junit-report")));
}

#[test]
fn gitlab_ci_structure() {
    let Some(c) = yaml("gitlab-ci.yml") else {
        eprintln!("python3 with PyYAML is not installed: YAML structure not checked");
        return;
    };
    let job = &c["topolab"];
    assert!(job["parallel"].as_u64().is_some_and(|n| n >= 2));
    assert_eq!(job["extends"], ".topolab");
    assert_eq!(job["artifacts"]["when"], "always");
    assert_eq!(job["artifacts"]["reports"]["junit"], "junit-*.xml");
    let report = &c["topolab-report"];
    assert_eq!(report["when"], "always");
    assert_eq!(report["needs"][0]["job"], "topolab");
    let stages: Vec<&str> = c["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(stages.contains(&job["stage"].as_str().unwrap_or("?")));
    assert!(stages.contains(&report["stage"].as_str().unwrap_or("?")));
}

#[test]
fn grade_github_actions_structure() {
    let Some(w) = yaml("grade-github-actions.yml") else {
        eprintln!("python3 with PyYAML is not installed: YAML structure not checked");
        return;
    };
    let grade = &w["jobs"]["grade"];
    assert_eq!(grade["strategy"]["fail-fast"], false);
    let shards: Vec<u64> = grade["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a shard matrix")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(shards, (1..=10).collect::<Vec<u64>>(), "10 shards, 1..10");
    let merge = &w["jobs"]["grades"];
    assert_eq!(merge["needs"], "grade");
    assert_eq!(merge["if"], "always()");
    let uses = |job: &Value, what: &str| {
        job["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(what)))
    };
    assert!(uses(merge, "actions/download-artifact@"));
    // The merge reads the exercise for the topology of grades.html.
    assert!(uses(merge, "actions/checkout@"));
}

#[test]
fn grade_gitlab_ci_structure() {
    let Some(c) = yaml("grade-gitlab-ci.yml") else {
        eprintln!("python3 with PyYAML is not installed: YAML structure not checked");
        return;
    };
    assert_eq!(c["grade"]["parallel"], 10);
    assert_eq!(c["grade"]["artifacts"]["when"], "always");
    assert_eq!(c["grades"]["when"], "always");
    assert_eq!(c["grades"]["needs"][0]["job"], "grade");
}

/// The Indexed Job: one pod per shard, the shard count where the command reads it, the
/// privileges grading needs, and a merge Job that needs none.
#[test]
fn grade_kubernetes_job_structure() {
    let Some(docs) = yaml_documents("grade-k8s-job.yml") else {
        eprintln!("python3 with PyYAML is not installed: YAML structure not checked");
        return;
    };
    assert_eq!(docs.len(), 2, "a grading Job and a merge Job");
    for d in &docs {
        assert_eq!(d["apiVersion"], "batch/v1");
        assert_eq!(d["kind"], "Job");
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Never");
    }
    let grade = &docs[0];
    assert_eq!(grade["metadata"]["labels"]["topolab/step"], "grade");
    assert_eq!(grade["spec"]["completionMode"], "Indexed");
    let n = grade["spec"]["completions"].as_u64().expect("completions");
    assert_eq!(grade["spec"]["parallelism"], n);
    let pod = &grade["spec"]["template"]["spec"]["containers"][0];
    let shards = pod["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == "SHARDS")
        .expect("SHARDS");
    assert_eq!(
        shards["value"],
        n.to_string(),
        "SHARDS is the completion count"
    );
    let script = pod["command"][2].as_str().expect("a shell script");
    assert!(
        script.contains("--shard \"$((JOB_COMPLETION_INDEX + 1))/$SHARDS\""),
        "{script}"
    );
    assert_eq!(pod["securityContext"]["privileged"], true);
    let merge = &docs[1];
    assert_eq!(merge["metadata"]["labels"]["topolab/step"], "merge");
    let pod = &merge["spec"]["template"]["spec"]["containers"][0];
    assert!(
        pod["command"][2]
            .as_str()
            .is_some_and(|s| s.contains("merge-reports /grading/reports/grades-*.json"))
    );
    assert!(pod["securityContext"]["privileged"].is_null());
    // Both read and write the same volume.
    for d in &docs {
        assert_eq!(
            d["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "topolab-grading"
        );
    }
}
