//! The set-up scripts on any Debian or Ubuntu machine (issue 13, item 17): the kernel
//! image package each distribution has, and `cargo` found under sudo.

use std::path::Path;
use std::process::Command;

use crate::support::text;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn kernel_package(os_release: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("topolab-os-release-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join(format!("os-release-{}", os_release.len()));
    std::fs::write(&file, os_release).expect("write");
    let out = Command::new("bash")
        .arg(repo().join("ci/vm-setup.sh"))
        .arg("--kernel-package")
        .env("TOPOLAB_OS_RELEASE", &file)
        .output()
        .expect("bash");
    let _ = std::fs::remove_file(&file);
    (out.status.code(), text(&out))
}

#[test]
fn each_distribution_gets_the_kernel_image_it_has() {
    let (code, out) = kernel_package("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n");
    assert_eq!((code, out.trim()), (Some(0), "linux-image-generic"));
    let (code, out) = kernel_package("ID=debian\nVERSION_ID=\"12\"\n");
    let arch = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .expect("dpkg");
    assert_eq!(
        (code, out.trim()),
        (Some(0), format!("linux-image-{arch}").as_str())
    );
    let (code, out) = kernel_package("ID=fedora\n");
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("unknown distribution 'fedora'"), "{out}");
}

/// What `cargo` a script sourcing ci/find-cargo.sh runs, under a PATH without cargo.
fn found_cargo(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(". ci/find-cargo.sh && command -v cargo")
        .current_dir(repo())
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash");
    (out.status.code(), text(&out))
}

#[test]
fn cargo_is_found_when_sudo_reset_the_path() {
    // The cargo running this test, placed in a home's ~/.cargo/bin.
    let cargo = std::env::var("CARGO").expect("cargo sets CARGO");
    let home = std::env::temp_dir().join(format!("topolab-home-{}", std::process::id()));
    std::fs::create_dir_all(home.join(".cargo/bin")).expect("mkdir");
    let link = home.join(".cargo/bin/cargo");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&cargo, &link).expect("symlink");
    let (code, out) = found_cargo(&[("HOME", home.to_str().expect("utf-8"))]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.trim(), link.to_str().expect("utf-8"));

    // SUDO_USER's home, as `sudo bash ci/labs.sh` leaves it.
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .expect("current user");
    if user.dir.join(".cargo/bin/cargo").exists() {
        let (code, out) = found_cargo(&[("SUDO_USER", &user.name), ("HOME", "/nonexistent")]);
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(
            Path::new(out.trim()),
            user.dir.join(".cargo/bin/cargo").as_path()
        );
    }

    let (code, out) = found_cargo(&[("HOME", "/nonexistent")]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("cargo not found"), "{out}");
    let _ = std::fs::remove_dir_all(&home);
}
