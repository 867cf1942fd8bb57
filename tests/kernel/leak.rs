//! SIGKILL of topolab at random points, during the build and while a lab runs, leaves no
//! process, namespace, mount or runtime file behind (after `clean` for the latter).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::host::{HostGuard, assert_no_processes, nsfs_mounts, processes_with};
use crate::scratch::{TempDir, token, topolab};
use crate::support::bin;

fn lab() -> String {
    let mut s = String::from("name = \"leak\"\n[switches.lan]\n");
    for i in 0..40 {
        // A background process per node (it must die with the lab) and a little setup
        // work, so that the build takes long enough to be interrupted at many points.
        s.push_str(&format!(
            "[nodes.n{i}]\nexec = [\"sleep 300 >/dev/null 2>&1 &\", \"sleep 0.01\"]\n"
        ));
        s.push_str(&format!(
            "[[links]]\nendpoints = [\"n{i}:eth0\", \"lan\"]\naddresses = [\"10.0.{}.{}/16\"]\n",
            i / 200,
            i % 200 + 1
        ));
    }
    s
}

/// xorshift: reproducible "random" delays without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn supervisor_pids(tok: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = processes_with(tok)
        .iter()
        .filter(|l| l.contains("__supervise"))
        .filter_map(|l| l.split(':').next().and_then(|p| p.parse().ok()))
        // Node inits are forks of the supervisor (same command line and environment);
        // their name is their node's ("topolab-node-X").
        .filter(|pid: &i32| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "topolab")
        })
        .collect();
    pids.sort();
    pids
}

#[test]
fn sigkill_during_build_and_run_leaves_nothing() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("leak");
    let file = dir.write("lab.toml", &lab());
    let runtime = dir.0.join("run");
    let mounts = nsfs_mounts("leak");
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut killed_during_build = 0;
    let mut killed_while_running = 0;
    for round in 0..24 {
        let tok = token();
        let mut up = Command::new(bin())
            .args(["up", file.to_str().expect("utf-8")])
            .env("TOPOLAB_RUNTIME_DIR", &runtime)
            .env("TOPOLAB_TEST_TOKEN", &tok)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn up");
        let during_build = round % 2 == 0;
        if during_build {
            // Wait for the supervisor to exist, then a random part of the build.
            let deadline = Instant::now() + Duration::from_secs(10);
            while supervisor_pids(&tok).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(rng.next(150)));
        } else {
            let out = up.stdout.take().expect("stdout");
            let ready = BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.contains("is up"));
            assert!(ready, "round {round}: the lab did not come up");
            std::thread::sleep(Duration::from_millis(rng.next(100)));
        }
        let pids = supervisor_pids(&tok);
        assert!(!pids.is_empty(), "round {round}: no supervisor to kill");
        // Alternate between the outer process (what a user sees) and the inner init.
        let victim = if round % 4 < 2 {
            pids[0]
        } else {
            pids[pids.len() - 1]
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(victim),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = up.wait();
        assert_no_processes(&tok);
        assert_eq!(
            nsfs_mounts("leak"),
            mounts,
            "round {round}: namespace mounts left behind"
        );
        if during_build {
            killed_during_build += 1;
        } else {
            killed_while_running += 1;
        }
    }
    // A killed supervisor cannot remove its socket and state file: `clean` does.
    let out = topolab(&["clean"], &runtime, "clean");
    assert!(out.status.success());
    let left: Vec<_> = std::fs::read_dir(&runtime)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "runtime files left after clean: {left:?}");
    assert_eq!((killed_during_build, killed_while_running), (12, 12));
    drop(host);
}

/// A lab whose run lasts a few seconds, with services and background processes.
fn running_lab() -> String {
    let mut s = lab().replace("name = \"leak\"", "name = \"leak-run\"");
    s.push_str(
        "[[nodes.n0.services]]\nname = \"daemon\"\ncmd = \"sleep 300\"\n\
         [[nodes.n1.listen]]\ntcp = 80\n\
         [[checks]]\nfrom = \"n0\"\ntcp = \"10.0.0.2:80\"\n\
         [[checks]]\nfrom = \"n0\"\ntcp = \"10.0.0.2:81\"\nexpect = \"timeout\"\ntimeout = \"3s\"\n\
         [[checks]]\nfrom = \"n0\"\nping = \"10.0.0.250\"\nexpect = \"host-unreachable\"\n",
    );
    s
}

fn test_pids(tok: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = processes_with(tok)
        .iter()
        .filter(|l| l.contains(" test "))
        .filter_map(|l| l.split(':').next().and_then(|p| p.parse().ok()))
        .collect();
    pids.sort();
    pids
}

#[test]
fn sigkill_during_a_test_run_leaves_nothing() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("leak-run");
    let file = dir.write("lab.toml", &running_lab());
    let mounts = nsfs_mounts("leak-run");
    let mut rng = Rng(0x2545f4914f6cdd1d);
    for round in 0..12 {
        let tok = token();
        let mut child = Command::new(bin())
            .args(["test", file.to_str().expect("utf-8")])
            .env("CI", "true")
            .env("TOPOLAB_RUNTIME_DIR", dir.0.join("run"))
            .env("TOPOLAB_TEST_TOKEN", &tok)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn test");
        // Anywhere from the middle of the build to the end of the checks.
        std::thread::sleep(Duration::from_millis(rng.next(3500)));
        let pids = test_pids(&tok);
        if let Some(victim) = if round % 2 == 0 {
            pids.first()
        } else {
            pids.last()
        } {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*victim),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.wait();
        assert_no_processes(&tok);
        assert_eq!(
            nsfs_mounts("leak-run"),
            mounts,
            "round {round}: namespace mounts left behind"
        );
    }
    drop(host);
}
