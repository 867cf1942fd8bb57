//! `topolab grade` on a small exercise (tests/grade/) with a correct, a partly correct, two
//! broken, an incomplete and an empty submission: the grades, the errors and the reports.

use std::path::Path;

use serde_json::Value;
use topolab::front::source::SourceFile;
use topolab::output::grade::{self, Prepared, Submission};

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, copy_dir, token, topolab, topolab_json};
use crate::support::{repo_path, text};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn grades_a_directory_of_submissions() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("grade");
    let subs = tmp.0.join("subs");
    copy_dir(&repo_path("tests/grade/submissions"), &subs);
    std::fs::create_dir(subs.join("frank")).expect("mkdir");
    std::fs::create_dir(subs.join(".git")).expect("mkdir");
    let out_dir = tmp.0.join("out");
    let exercise = repo_path("tests/grade/exercise.toml");
    let (code, json) = topolab_json(
        &[
            "grade",
            exercise.to_str().expect("utf-8"),
            subs.to_str().expect("utf-8"),
            "--out",
            out_dir.to_str().expect("utf-8"),
            "--jobs",
            "3",
            "--format",
            "json",
        ],
        &tmp.0,
    );
    assert_eq!(code, Some(0), "{json:#}");

    let grades = json["grades"].as_array().expect("grades");
    let summary: Vec<(String, u64, String)> = grades
        .iter()
        .map(|g| {
            (
                g["student"].as_str().unwrap_or("?").to_string(),
                g["score"].as_u64().unwrap_or(999),
                g["kind"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let expect = |s: &str, n: u64, k: &str| (s.to_string(), n, k.to_string());
    assert_eq!(
        summary,
        vec![
            expect("alice", 100, "graded"),
            // Bob fixed two of the three failing checks; the raw share (75 %) is beside it.
            expect("bob", 66, "graded"),
            expect("carol", 0, "broken"),
            expect("dave", 0, "broken"),
            // Erin fixed nothing: the check she passes passed before she touched anything.
            expect("erin", 0, "graded"),
            expect("frank", 0, "empty"),
        ],
        "{json:#}"
    );
    // The lab as handed out passes only the contrast check.
    let baseline: Vec<bool> = json["baseline"]
        .as_array()
        .expect("baseline")
        .iter()
        .map(|c| c["passed"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(baseline, [false, false, false, true]);

    // Bob opened everything: SSH answers instead of being rejected.
    let bob = &grades[1]["checks"][2];
    assert_eq!(bob["name"], "SSH from the client is rejected by the router");
    assert_eq!(bob["passed"], false);
    assert_eq!(bob["observed"], "ok");
    // Erin's missing ruleset is noted; the lab's own (drop everything) stayed.
    assert_eq!(
        grades[4]["notes"][0],
        "firewall.nft was not submitted: the lab's own configuration was used"
    );

    let carol = grades[2]["error"].as_str().expect("carol's error");
    assert!(
        carol.contains("carol/firewall.nft:4:39-39: Error: syntax error"),
        "{carol}"
    );
    let dave = grades[3]["error"].as_str().expect("dave's error");
    assert!(
        dave.contains("dave/routes.toml:3:25: error: unknown key `vai` in nodes.client.routes[0]"),
        "{dave}"
    );
    assert!(dave.contains("did you mean `via`?"), "{dave}");

    // The reports.
    let csv = read(&out_dir.join("grades.csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "student,score,raw_score,fixed,to_fix,broke,passed,total,status,error,the client pings the server,the client reaches the web server,SSH from the client is rejected by the router,the router reaches the server"
    );
    assert_eq!(
        lines[1],
        "alice,100,100,3,3,0,4,4,graded,,pass,pass,pass,pass"
    );
    assert_eq!(lines[2], "bob,66,75,2,3,0,3,4,graded,,pass,pass,fail,pass");
    assert!(
        lines[3].starts_with(
            "carol,0,0,0,3,1,0,4,broken,\"node `router`: load nft ruleset (6 lines): nft failed: "
        ),
        "{}",
        lines[3]
    );
    assert!(lines[3].ends_with(",fail,fail,fail,fail"), "{}", lines[3]);
    assert!(
        lines[4].starts_with("dave,0,0,0,3,1,0,4,broken,"),
        "{}",
        lines[4]
    );
    assert_eq!(lines[5], "erin,0,25,0,3,0,1,4,graded,,fail,fail,fail,pass");
    assert_eq!(
        lines[6],
        "frank,0,0,0,3,1,0,4,nothing submitted,,fail,fail,fail,fail"
    );
    assert_eq!(lines.len(), 7);

    let md = read(&out_dir.join("grades.md"));
    assert!(
        md.starts_with("# Grades: Open the web server, keep SSH closed\n"),
        "{md}"
    );
    assert!(
        md.contains("| [bob](students/bob.md) | 66% | 2/3 | 0 | 75% | 3/4 | graded |"),
        "{md}"
    );
    assert!(
        md.contains("| the router reaches the server | ok | pass (ok) | 3/6 |"),
        "{md}"
    );
    let dave_page = read(&out_dir.join("students/dave.md"));
    assert!(dave_page.starts_with("# dave: 0%\n"), "{dave_page}");
    assert!(
        dave_page.contains("  = help: did you mean `via`?"),
        "{dave_page}"
    );
    let erin_page = read(&out_dir.join("students/erin.md"));
    assert!(
        erin_page.contains("| the client pings the server | ok | timeout | FAIL | FAIL |"),
        "{erin_page}"
    );
    for s in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        assert!(out_dir.join(format!("students/{s}.md")).is_file(), "{s}");
    }
    assert!(!out_dir.join("students/.git.md").exists());

    let html = read(&out_dir.join("grades.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in ["<script", "<link", " src=", "url("] {
        assert!(!html.contains(external), "the report loads {external}");
    }
    let has_dot = std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_dot {
        assert!(html.contains("<figure class=\"topology\"><svg"), "no SVG");
    } else {
        assert!(
            html.contains("<pre class=\"mermaid-source\">"),
            "no Mermaid"
        );
    }
    assert!(html.contains("carol/firewall.nft:4:39-39"), "carol's error");
}

/// The JSON of a grading with the run's timings taken out.
fn without_durations(mut v: Value) -> Value {
    if let Some(grades) = v["grades"].as_array_mut() {
        for g in grades {
            if let Some(o) = g.as_object_mut() {
                o.remove("duration");
            }
        }
    }
    v
}

/// `grade --shard K/N` grades a part of the students (and the lab as handed out); the
/// three shards' JSON reports merge into the grading of the whole class, and their
/// grades.csv files into its grades.csv.
#[test]
fn shards_of_a_grading_merge_into_the_whole_grading() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("grade-shard");
    let subs = tmp.0.join("subs");
    copy_dir(&repo_path("tests/grade/submissions"), &subs);
    std::fs::create_dir(subs.join("frank")).expect("mkdir");
    let exercise = repo_path("tests/grade/exercise.toml");
    let (exercise, subs) = (
        exercise.to_str().expect("utf-8"),
        subs.to_str().expect("utf-8"),
    );
    let tok = token();
    let grade = |out: &Path, shard: Option<&str>| {
        let mut args = vec![
            "grade",
            exercise,
            subs,
            "--out",
            out.to_str().expect("utf-8"),
            "--format",
            "json",
        ];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let o = topolab(&args, &tmp.0, &tok);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let json: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
        json
    };
    let whole_dir = tmp.0.join("whole");
    let whole = grade(&whole_dir, None);
    assert!(whole.get("shard").is_none());

    let mut reports = Vec::new();
    let mut csvs = Vec::new();
    let mut students = Vec::new();
    for k in 1..=3u32 {
        let dir = tmp.0.join(format!("shard-{k}"));
        let json = grade(&dir, Some(&format!("{k}/3")));
        assert_eq!(json["shard"]["index"], k);
        assert_eq!(json["shard"]["total"], 3);
        for g in json["grades"].as_array().expect("grades") {
            let s = g["student"].as_str().expect("student").to_string();
            assert_eq!(topolab::runner::shard::Shard::of(&s, 3), k, "{s}");
            students.push(s);
        }
        // Every shard measures against the lab as handed out.
        assert_eq!(json["baseline"], whole["baseline"]);
        let path = tmp.0.join(format!("grades-{k}.json"));
        std::fs::write(&path, serde_json::to_string(&json).expect("JSON")).expect("write");
        reports.push(path);
        csvs.push(dir.join("grades.csv"));
    }
    students.sort();
    assert_eq!(students, ["alice", "bob", "carol", "dave", "erin", "frank"]);

    let merged_dir = tmp.0.join("merged");
    let mut args = vec!["merge-reports"];
    args.extend(reports.iter().map(|p| p.to_str().expect("utf-8")));
    args.extend([
        "--out",
        merged_dir.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let out = topolab(&args, &tmp.0, &tok);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let merged: Value = serde_json::from_slice(&out.stdout).expect("merged JSON");
    assert_eq!(without_durations(merged), without_durations(whole.clone()));
    let whole_csv = read(&whole_dir.join("grades.csv"));
    assert_eq!(read(&merged_dir.join("grades.csv")), whole_csv);
    assert_eq!(
        read(&merged_dir.join("grades.md")),
        read(&whole_dir.join("grades.md"))
    );
    assert!(merged_dir.join("grades.html").is_file());
    assert_eq!(
        read(&merged_dir.join("students/carol.md")),
        read(&whole_dir.join("students/carol.md"))
    );

    // The shards' grades.csv files merge too.
    let mut args = vec!["merge-reports"];
    args.extend(csvs.iter().map(|p| p.to_str().expect("utf-8")));
    let out = topolab(&args, &tmp.0, &tok);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), whole_csv);

    // CSV files have no JSON to print.
    let mut args = vec!["merge-reports"];
    args.extend(csvs.iter().map(|p| p.to_str().expect("utf-8")));
    args.extend(["--format", "json"]);
    let out = topolab(&args, &tmp.0, &tok);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("merge the shards' JSON reports"),
        "{}",
        text(&out)
    );

    // A missing shard, and reports of different kinds, are refused.
    let out = topolab(
        &["merge-reports", reports[0].to_str().expect("utf-8")],
        &tmp.0,
        &tok,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("are missing: their submissions would go unreported"),
        "{}",
        text(&out)
    );
    let out = topolab(
        &[
            "merge-reports",
            reports[0].to_str().expect("utf-8"),
            csvs[1].to_str().expect("utf-8"),
        ],
        &tmp.0,
        &tok,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("merge reports of one kind"),
        "{}",
        text(&out)
    );
    assert_no_processes(&tok);
}

/// Every kind of exercise file, applied without building anything: nft replaces, routes
/// and exec append, a patch merges but may not touch the checks.
#[test]
fn every_kind_of_file_is_applied() {
    let tmp = TempDir::new("grade-kinds");
    let lab = r#"name = "kinds"
[exercise]
title = "t"
goal = "g"
files = [
  { path = "fw.nft", kind = "nft", node = "a" },
  { path = "routes.toml", kind = "routes", node = "a" },
  { path = "setup.sh", kind = "exec", node = "b" },
  { path = "change.patch.toml", kind = "patch" },
]
[nodes.a]
nft = "table inet old {}"
routes = [{ to = "10.9.0.0/16", via = "10.0.0.2" }]
[nodes.b]
exec = ["true"]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[checks]]
from = "a"
ping = "10.0.0.2"
"#;
    let file = SourceFile::new(tmp.0.join("ex.toml"), lab);
    let loaded = topolab::front::validate::load_source(file.clone());
    let exercise = loaded
        .lab
        .and_then(|l| l.exercise)
        .expect("a valid exercise");
    let sub = |name: &str, files: &[(&str, &str)]| {
        let dir = tmp.0.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (f, text) in files {
            std::fs::write(dir.join(f), text).expect("write");
        }
        Submission {
            student: name.into(),
            dir,
        }
    };
    let full = sub(
        "full",
        &[
            ("fw.nft", "table inet new {}\n"),
            (
                "routes.toml",
                "routes = [{ to = \"10.8.0.0/16\", via = \"10.0.0.2\" }]\n",
            ),
            ("setup.sh", "# comment\necho one\n\necho two\n"),
            ("change.patch.toml", "[nodes.b]\nforward = true\n"),
        ],
    );
    let mut notes = Vec::new();
    let Prepared::Lab(lab, nft) = grade::prepare(&file, &exercise, &full, &mut notes) else {
        panic!("the full submission applies");
    };
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(nft.len(), 1);
    assert_eq!(lab.nodes[0].nft.as_deref(), Some("table inet new {}\n"));
    assert_eq!(lab.nodes[0].routes.len(), 2);
    assert_eq!(lab.nodes[1].exec, ["true", "echo one", "echo two"]);
    assert_eq!(lab.nodes[1].forward, Some(true));
    assert_eq!(lab.checks.len(), 1);

    let cheat = sub(
        "cheat",
        &[(
            "change.patch.toml",
            "[[checks]]\nfrom = \"a\"\nping = \"127.0.0.1\"\n",
        )],
    );
    let mut notes = Vec::new();
    let Prepared::Broken(error) = grade::prepare(&file, &exercise, &cheat, &mut notes) else {
        panic!("a patch that rewrites the checks is refused");
    };
    assert!(
        error.contains("cheat/change.patch.toml:1:3: error: this file may not change `checks`"),
        "{error}"
    );
    assert_eq!(notes.len(), 3, "{notes:?}");

    let empty = sub("empty", &[]);
    assert!(matches!(
        grade::prepare(&file, &exercise, &empty, &mut Vec::new()),
        Prepared::Empty
    ));
}
