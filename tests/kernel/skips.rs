//! A lab the kernel cannot run is skipped with the reason, in every report format;
//! `--strict` makes the skip a failure; `--vm-fallback` runs it on a full kernel.

use crate::host::HostGuard;
use crate::scratch::{TempDir, token};
use crate::support::text;

/// No kernel is 99.0: this lab is skipped on every machine.
const FUTURE: &str = "name = \"from-the-future\"\n[requires]\nkernel = \"99.0\"\n[nodes.a]\n";

fn run(dir: &TempDir, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::support::bin())
        .args(args)
        .env("CI", "true")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("TOPOLAB_TEST_TOKEN", token())
        .env("NO_COLOR", "1")
        .output()
        .expect("run topolab")
}

#[test]
fn a_skip_names_its_reason_in_every_format() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("skips");
    let lab = dir.write("future.toml", FUTURE);
    let lab = lab.to_str().expect("utf-8");
    let junit = dir.0.join("junit.xml");

    let human = run(&dir, &["test", "--allow-skip", lab]);
    assert_eq!(
        human.status.code(),
        Some(0),
        "under CI a skip passes with --allow-skip:\n{}",
        text(&human)
    );
    assert!(
        text(&human).contains("needs kernel 99.0 or newer (kernel)"),
        "{}",
        text(&human)
    );
    assert!(
        text(&human).contains("SKIP from-the-future"),
        "{}",
        text(&human)
    );

    let json = run(
        &dir,
        &[
            "test",
            "--allow-skip",
            "--format",
            "json",
            "--junit",
            junit.to_str().expect("utf-8"),
            lab,
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["labs"][0]["status"]["kind"], "skipped");
    assert!(
        report["labs"][0]["status"]["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("needs kernel 99.0 or newer"))
    );
    assert_eq!(report["summary"]["skipped"], 1);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("junit parses");
    assert!(
        matches!(
            parsed.test_suites[0].test_cases[0].status,
            quick_junit::TestCaseStatus::Skipped { .. }
        ),
        "{xml}"
    );
    assert!(xml.contains("needs kernel 99.0"), "{xml}");

    let strict = run(&dir, &["test", "--strict", lab]);
    assert_eq!(strict.status.code(), Some(3), "{}", text(&strict));
    drop(host);
}

/// A skipped incident regression guards nothing: under CI it fails the run unless the
/// skip is explicitly allowed; outside CI it passes and says how to run the lab anyway.
#[test]
fn under_ci_a_skip_fails_the_run_and_outside_it_says_what_to_do() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("skips-ci");
    let lab = dir.write("future.toml", FUTURE);
    let lab = lab.to_str().expect("utf-8");

    let ci = run(&dir, &["test", lab]);
    assert_eq!(ci.status.code(), Some(3), "{}", text(&ci));
    assert!(
        text(&ci).contains("1 lab skipped, which fails the run under CI (exit 3)")
            && text(&ci).contains("--allow-skip"),
        "{}",
        text(&ci)
    );

    let local = std::process::Command::new(crate::support::bin())
        .args(["test", lab])
        .env_remove("CI")
        .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run topolab");
    assert_eq!(local.status.code(), Some(0), "{}", text(&local));
    assert!(
        text(&local).contains(&format!(
            "= help: `topolab test --vm-fallback {lab}` runs it in a VM"
        )),
        "{}",
        text(&local)
    );

    // `up` cannot keep a lab in a throwaway VM: its help must not send the user there.
    let up = run(&dir, &["up", lab]);
    assert_eq!(up.status.code(), Some(3), "{}", text(&up));
    assert!(!text(&up).contains("vm-run"), "{}", text(&up));
    assert!(text(&up).contains("--vm-fallback"), "{}", text(&up));
    drop(host);
}

const DUMMY: &str = r#"
name = "needs-dummy"
[nodes.a]
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["10.9.9.1/24"]
[nodes.b]
routes = [ { to = "10.9.9.0/24", via = "10.0.0.1" } ]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[checks]]
from = "b"
ping = "10.9.9.1"
[[checks]]
from = "a"
route = "10.9.9.5"
expect = { dev = "d0" }
"#;

#[test]
fn vm_fallback_runs_what_this_kernel_cannot() {
    require_root!();
    let host = HostGuard::new();
    let here = topolab::kernel::features::support(&["dummy"]).expect("probe");
    if here.get("dummy").is_some_and(Result::is_ok) {
        eprintln!(
            "SKIPPED: this kernel has dummy interfaces, so the lab runs here and no VM is needed"
        );
        return;
    }
    let Some(kernel) =
        topolab::vm::image::default_kernel().filter(|k| topolab::vm::preflight(k).is_ok())
    else {
        let why = "no VM can be started (qemu-system-x86, virtme-ng and linux-image-amd64 are needed: ci/vm-setup.sh)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED: {why}");
        return;
    };
    let dir = TempDir::new("vm-fallback");
    let lab = dir.write("dummy.toml", DUMMY);
    // The reviewed snapshot, as a first local run would accept it.
    std::fs::write(dir.0.join("dummy.snap"), "# topolab snapshot of lab `needs-dummy`: what it observed, reviewed with `topolab review`.\n\n[checks]\na route 10.9.9.5: dev d0 src 10.9.9.1 type unicast table main\nb ping 10.9.9.1: ok\n").expect("snap");
    let out = std::process::Command::new(crate::support::bin())
        .current_dir(&dir.0)
        .args(["test", "--vm-fallback", "--vm-kernel"])
        .arg(&kernel)
        .arg(&lab)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        // Redirected to a file, as `topolab test ... > report.txt` does: what was printed
        // before the VM started used to become NUL bytes there.
        .stdout(std::fs::File::create(dir.0.join("stdout.txt")).expect("stdout file"))
        .output()
        .expect("run");
    let t = std::fs::read_to_string(dir.0.join("stdout.txt")).expect("stdout file");
    assert_eq!(out.status.code(), Some(0), "{t}{}", text(&out));
    assert!(
        !t.contains('\0'),
        "NUL bytes in the redirected report:\n{t:?}"
    );
    let order = [
        "needs CONFIG_DUMMY",
        "running 1 lab this kernel cannot run in a VM",
        "PASS needs-dummy: 2/2 checks passed",
    ];
    let at: Vec<Option<usize>> = order.iter().map(|w| t.find(w)).collect();
    assert!(
        at.iter().all(Option::is_some) && at.windows(2).all(|w| w[0] < w[1]),
        "the report is incomplete or out of order ({at:?}):\n{t}"
    );
    drop(host);
}
