//! JUnit XML: one testsuite per lab, one testcase per check (step checks are classed
//! under their step, a matrix is one testcase); failures carry expected and observed.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::results::{CheckResult, LabResult, LabStatus, SnapshotStatus};

fn case(c: &CheckResult, class: &str) -> TestCase {
    let status = if c.passed {
        TestCaseStatus::success()
    } else {
        let mut s = TestCaseStatus::non_success(if c.error.is_some() {
            NonSuccessKind::Error
        } else {
            NonSuccessKind::Failure
        });
        s.set_message(format!(
            "expected {}, observed {}",
            c.expected,
            c.evidence()
        ));
        s.set_type(if c.error.is_some() {
            "error"
        } else {
            "unexpected-outcome"
        });
        s
    };
    let mut t = TestCase::new(c.name.clone(), status);
    t.set_classname(class.to_string());
    if let Some(o) = &c.observed
        && o.path.is_some()
    {
        let mut out = format!("{} {}: {}\n", c.from, c.probe, o.head());
        for l in o.hop_lines() {
            out.push_str(&l);
            out.push('\n');
        }
        t.set_system_out(out);
    }
    t.set_time(c.duration);
    t
}

/// The lab's capture file, on the suite and on every test case of the lab, in the
/// `[[ATTACHMENT|path]]` form that GitLab and Jenkins (attachments plugin) turn into links;
/// GitLab only looks at test cases.
fn attach(suite: &mut TestSuite, file: &std::path::Path) {
    let line = format!("[[ATTACHMENT|{}]]", file.display());
    suite.set_system_out(line.clone());
    for t in suite.test_cases.iter_mut() {
        t.set_system_out(line.clone());
    }
}

pub fn render(results: &[LabResult]) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("topolab");
    for r in results {
        let mut suite = TestSuite::new(r.lab.clone());
        suite.set_time(r.duration);
        match &r.status {
            LabStatus::Skipped { reasons } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(reasons.join("; "));
                let mut t = TestCase::new("lab", s);
                t.set_classname(r.lab.clone());
                suite.add_test_case(t);
            }
            LabStatus::Error { message, .. } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(message.lines().next().unwrap_or("error").to_string());
                s.set_description(message.clone());
                let mut t = TestCase::new("lab", s);
                t.set_classname(r.lab.clone());
                suite.add_test_case(t);
            }
            _ => {}
        }
        for c in &r.checks {
            suite.add_test_case(case(c, &r.lab));
        }
        for m in &r.matrices {
            let status = if m.passed {
                TestCaseStatus::success()
            } else {
                let bad: Vec<String> = m
                    .cells
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| {
                        format!(
                            "{} -> {}: expected {}, observed {}",
                            c.from,
                            c.addr,
                            c.expected,
                            c.observed
                                .as_ref()
                                .map(|o| o.summary())
                                .unwrap_or_else(|| c.error.clone().unwrap_or_default())
                        )
                    })
                    .collect();
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{} of {} pairs differ", bad.len(), m.cells.len()));
                s.set_description(bad.join("\n"));
                s
            };
            let mut t = TestCase::new(format!("matrix {}", m.name), status);
            t.set_classname(r.lab.clone());
            t.set_time(m.duration);
            suite.add_test_case(t);
        }
        for s in &r.steps {
            let class = format!("{}.{}", r.lab, s.name);
            for a in s.actions.iter().filter(|a| !a.ok) {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(a.error.clone().unwrap_or_default());
                let mut t = TestCase::new(a.action.clone(), st);
                t.set_classname(class.clone());
                suite.add_test_case(t);
            }
            for c in &s.checks {
                suite.add_test_case(case(c, &class));
            }
        }
        let snapshot_failure = match &r.snapshot {
            SnapshotStatus::Changed { diff, .. } => {
                Some(("results differ from the reviewed snapshot", diff.clone()))
            }
            SnapshotStatus::New { .. } => Some(("no reviewed snapshot", String::new())),
            _ => None,
        };
        if let Some((message, diff)) = snapshot_failure {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(message);
            if !diff.is_empty() {
                st.set_description(diff);
            }
            let mut t = TestCase::new("snapshot", st);
            t.set_classname(r.lab.clone());
            suite.add_test_case(t);
        }
        if let Some(file) = r.capture.as_ref().and_then(|c| c.file.as_ref()) {
            attach(&mut suite, file);
        }
        report.add_test_suite(suite);
    }
    report.to_string()
}
