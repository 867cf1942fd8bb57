//! The sandbox of untrusted labs (`--untrusted`; `grade` always), on the real kernel:
//! what a lab brings cannot read root-only host files, see or signal host processes, or
//! enter namespaces of the host, and an nft `include` of a host file is refused without
//! leaking it into any report. The same lab, trusted, runs with root's powers.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host::HostGuard;
use crate::support::bin;

/// A root-only file outside the node's private /tmp (the host tree is visible read-only
/// in nodes), holding a unique secret.
fn secret_file(tag: &str) -> (PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sandbox-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let secret = format!("topolab-secret-{}-{tag}", std::process::id());
    let path = dir.join("secret");
    std::fs::write(&path, format!("{secret}\n")).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (path, secret)
}

fn host_netns() -> String {
    std::fs::read_link("/proc/self/ns/net")
        .expect("netns")
        .to_string_lossy()
        .into_owned()
}

fn run(args: &[&str], lab: &Path) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .arg(lab)
        .output()
        .expect("topolab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn checks(json: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["labs"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no checks: {json}"))
}

fn passed(checks: &[serde_json::Value], name: &str) -> bool {
    let c = checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"));
    c["passed"].as_bool().unwrap_or(false)
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_untrusted_lab_cannot_reach_the_host() {
    require_root!();
    let _host = HostGuard::new();
    let (secret_path, secret) = secret_file("reach");
    let host_proc = KillOnDrop(Command::new("sleep").arg("120").spawn().expect("sleep"));
    let host_pid = host_proc.0.id();
    let host_ns = host_netns();
    let dir = crate::scratch::TempDir::new("sandbox");
    let lab = format!(
        r#"name = "sandbox-reach"
[nodes.a]
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.66.0.1/24", "10.66.0.2/24"]

[[checks]]
name = "root-only host file"
from = "a"
command = "cat {secret}"
expect = {{ exit = "nonzero", stderr = "Permission denied" }}

[[checks]]
name = "host process"
from = "a"
command = "kill -9 {host_pid} || kill -0 {host_pid} || ps -e -o pid= | grep -qx ' *{host_pid}' || echo unreachable"
expect = {{ stdout = "(?m)^unreachable$" }}

[[checks]]
name = "host namespaces"
from = "a"
command = "! nsenter --net=/proc/1/ns/net true && ! nsenter --mount=/proc/1/ns/mnt true && ! mount -t proc proc /mnt && test \"$(readlink /proc/self/ns/net)\" != '{host_ns}' && echo contained"
expect = {{ stdout = "contained" }}

[[checks]]
name = "own network"
from = "a"
command = "ip route add 10.77.0.0/24 dev eth0 && ip route show 10.77.0.0/24"
expect = {{ stdout = "dev eth0" }}

[[checks]]
from = "a"
ping = "10.66.0.2"
"#,
        secret = secret_path.display()
    );
    let path = dir.write("reach.toml", &lab);

    let (code, out, err) = run(&["test", "--untrusted", "--format", "json"], &path);
    let cs = checks(&out);
    for name in [
        "root-only host file",
        "host process",
        "host namespaces",
        "own network",
        "a ping 10.66.0.2",
    ] {
        assert!(passed(&cs, name), "untrusted: {name} failed:\n{out}\n{err}");
    }
    assert!(
        !out.contains(&secret) && !err.contains(&secret),
        "the secret leaked:\n{out}\n{err}"
    );
    // Checks passed; only the missing snapshot keeps it from passing as a lab.
    assert_eq!(code, 1, "{err}");
    assert!(
        std::fs::read_to_string(format!("/proc/{host_pid}/stat")).is_ok_and(|s| !s.contains(") Z")),
        "the host process was killed"
    );

    // The same lab trusted: the node's processes are root of the host.
    let (_, out, err) = run(&["test", "--format", "json"], &path);
    let cs = checks(&out);
    assert!(
        !passed(&cs, "root-only host file"),
        "trusted should read it:\n{out}\n{err}"
    );
    assert!(
        out.contains(&secret),
        "trusted run did not read the file:\n{out}"
    );

    drop(host_proc);
    let _ = std::fs::remove_dir_all(secret_path.parent().expect("dir"));
}

#[test]
fn an_untrusted_nft_include_is_refused_and_leaks_nothing() {
    require_root!();
    let _host = HostGuard::new();
    let (secret_path, secret) = secret_file("nft");
    let dir = crate::scratch::TempDir::new("sandbox-nft");
    let lab = format!(
        r#"name = "sandbox-nft"
[nodes.a]
nft = 'include "{secret}"'
[nodes.b]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.67.0.1/24", "10.67.0.2/24"]
[[checks]]
from = "a"
ping = "10.67.0.2"
"#,
        secret = secret_path.display()
    );
    let path = dir.write("nft.toml", &lab);
    let junit = dir.0.join("junit.xml");
    for format in ["human", "json"] {
        let (code, out, err) = run(
            &[
                "test",
                "--untrusted",
                "--format",
                format,
                "--junit",
                &junit.to_string_lossy(),
            ],
            &path,
        );
        assert_ne!(code, 0, "{out}{err}");
        let all = format!(
            "{out}{err}{}",
            std::fs::read_to_string(&junit).unwrap_or_default()
        );
        assert!(all.contains("cannot `include` files"), "{all}");
        assert!(
            !all.contains(&secret),
            "the secret leaked ({format}):\n{all}"
        );
    }
    let _ = std::fs::remove_dir_all(secret_path.parent().expect("dir"));
}
