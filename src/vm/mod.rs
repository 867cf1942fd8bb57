//! Run topolab inside a throwaway VM booted from a chosen kernel image: to reproduce an
//! incident on the production kernel, or to run labs this host's kernel cannot.
//!
//! virtme-ng boots the image under qemu with the host's root filesystem shared read-only
//! (9p), so the guest runs this very topolab binary with the host's tools. Directories
//! given as writable (by default the current one, where labs and their snapshots live)
//! are shared read-write, so results come back to the host. TCG only: KVM is not assumed.
//!
//! The guest command writes its exit status to a private writable directory; a VM that
//! ends without it (qemu or boot failure) is an environment error, never a test result.

pub mod image;

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Environment variables handed to the guest command (the guest starts with a bare
/// environment): topolab's own settings, CI detection, colour and Rust diagnostics.
const PASSED_ENV_PREFIXES: [&str; 2] = ["TOPOLAB_", "RUST_"];
const PASSED_ENV: [&str; 3] = ["CI", "NO_COLOR", "TERM"];

/// How to run a VM.
#[derive(Debug, Clone)]
pub struct Vm {
    pub kernel: PathBuf,
    /// Host directories the guest may write (shared read-write, same path).
    pub writable: Vec<PathBuf>,
    /// Guest memory, as qemu's -m takes it.
    pub memory: String,
    /// Directory the command runs in (default: the current one).
    pub cwd: Option<PathBuf>,
    /// Kill the VM after this long.
    pub timeout: Option<Duration>,
    /// Environment of the guest command, besides what is passed on from ours.
    pub env: Vec<(String, String)>,
}

impl Vm {
    /// A VM from `kernel` that may write the current directory.
    pub fn new(kernel: &Path) -> Vm {
        Vm {
            kernel: kernel.to_path_buf(),
            writable: std::env::current_dir().into_iter().collect(),
            memory: "1G".into(),
            cwd: None,
            timeout: None,
            env: Vec::new(),
        }
    }
}

/// Run `topolab ARGS` in a VM booted from `kernel`, the current directory writable;
/// the status is the guest topolab's.
pub fn run_in_vm(kernel: &Path, topolab_args: &[OsString]) -> Result<ExitStatus> {
    run(&Vm::new(kernel), topolab_args)
}

/// Check that a VM can be started from `kernel`, without starting it: virtme-ng and
/// qemu are installed, and the image's modules are where the guest will look.
pub fn preflight(kernel: &Path) -> Result<()> {
    let meta = std::fs::metadata(kernel)
        .map_err(|e| Error::env(format!("kernel image {}: {e}", kernel.display())))?;
    if !meta.is_file() {
        return Err(Error::env(format!(
            "kernel image {} is not a file",
            kernel.display()
        )));
    }
    for (tool, package) in [
        ("vng", "virtme-ng (pip install virtme-ng)"),
        ("qemu-system-x86_64", "qemu-system-x86"),
    ] {
        if which(tool).is_none() {
            return Err(Error::env(format!(
                "`{tool}` is not installed: install {package} to run labs on another kernel"
            )));
        }
    }
    let release = image::release(kernel)
        .map_err(|e| Error::env(format!("kernel image {}: {e}", kernel.display())))?;
    if let Some(rel) = release {
        let dir = image::modules_dir(&rel);
        if !dir.join("modules.dep").exists() {
            return Err(Error::env(format!(
                "the modules of kernel {rel} are not installed in {}: the guest loads them from the host's root filesystem (Debian: apt-get install linux-image-{rel})",
                dir.display()
            )));
        }
    }
    Ok(())
}

pub(crate) fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

/// Quote for sh: every argument reaches the guest topolab exactly as given.
fn sh_quote(s: &OsStr) -> String {
    let text = String::from_utf8_lossy(s.as_bytes());
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return text.into_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The guest's shell command: environment, program, arguments, status file.
fn guest_command(
    exe: &Path,
    args: &[OsString],
    extra_env: &[(String, String)],
    status_file: &Path,
) -> String {
    let mut env: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let key = k.to_str()?;
            let pass =
                PASSED_ENV.contains(&key) || PASSED_ENV_PREFIXES.iter().any(|p| key.starts_with(p));
            pass.then(|| format!("{key}={}", sh_quote(&v)))
        })
        .collect();
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| format!("{k}={}", sh_quote(OsStr::new(v)))),
    );
    let mut cmd = String::from("env");
    for e in env {
        cmd.push(' ');
        cmd.push_str(&e);
    }
    cmd.push(' ');
    cmd.push_str(&sh_quote(exe.as_os_str()));
    for a in args {
        cmd.push(' ');
        cmd.push_str(&sh_quote(a));
    }
    format!("{cmd}; echo $? > {}", sh_quote(status_file.as_os_str()))
}

/// A private host directory for the status file, removed on drop.
struct StatusDir(PathBuf);

impl Drop for StatusDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `topolab ARGS` in the VM described by `vm`; output streams through.
pub fn run(vm: &Vm, topolab_args: &[OsString]) -> Result<ExitStatus> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::env(format!("cannot find the topolab binary: {e}")))?;
    run_program(vm, &exe, topolab_args)
}

/// A fresh private directory under the temp dir. mkdtemp rather than a pid: topolab runs as
/// pid 1 of its own pid namespace, so pids collide between concurrent runs.
pub fn temp_dir(prefix: &str) -> Result<std::path::PathBuf> {
    let template = std::env::temp_dir().join(format!("{prefix}-XXXXXX"));
    let dir = nix::unistd::mkdtemp(&template)
        .map_err(|e| Error::env(format!("{}: {}", template.display(), e.desc())))?;
    // The guest writes here through the shared root, as whatever uid the share maps it to.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::env(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

/// Run any host program in the VM (e.g. a test binary, to run the same tests on another
/// kernel); it must be on a path the guest sees, which is any path of the host's root.
pub fn run_program(vm: &Vm, exe: &Path, args: &[OsString]) -> Result<ExitStatus> {
    preflight(&vm.kernel)?;
    let status_dir = StatusDir(temp_dir("topolab-vm")?);
    let status_file = status_dir.0.join("status");

    let mut cmd = Command::new("vng");
    cmd.arg("--run")
        .arg(&vm.kernel)
        .args(["--disable-kvm", "--force-9p", "--memory", &vm.memory]);
    for dir in vm.writable.iter().chain([&status_dir.0]) {
        let mut arg = OsString::from("--rwdir=");
        arg.push(dir);
        cmd.arg(arg);
    }
    let cwd = match &vm.cwd {
        Some(c) => c.clone(),
        None => {
            std::env::current_dir().map_err(|e| Error::env(format!("current directory: {e}")))?
        }
    };
    cmd.arg("--cwd").arg(&cwd);
    // The command goes in a script on the shared status directory rather than on vng's
    // command line: that travels on the guest kernel's command line, which is cut at
    // 2 KiB, and a suite of labs easily needs more.
    let script = status_dir.0.join("run.sh");
    std::fs::write(&script, guest_command(exe, args, &vm.env, &status_file))
        .map_err(|e| Error::env(format!("{}: {e}", script.display())))?;
    let mut exec = OsString::from("sh ");
    exec.push(sh_quote(script.as_os_str()));
    cmd.arg("--exec").arg(exec);
    cmd.stdin(Stdio::null());
    // vng and qemu reopen /dev/stdout (O_TRUNC when it is a file) or write at offset 0 of
    // their own descriptor: with our stdout redirected to a file, whatever we printed
    // before the VM started became NUL bytes. So they write to pipes, and we copy that to
    // our own stdout and stderr, after what we printed, in order.
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let _ = std::io::stdout().flush();
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::env(format!("cannot start vng: {e}")))?;
    let relays = [
        child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut out, &mut std::io::stdout());
                let _ = std::io::stdout().flush();
            })
        }),
        child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut err, &mut std::io::stderr());
            })
        }),
    ];
    let started = Instant::now();
    let vng_status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(Error::env(format!("waiting for the VM: {e}"))),
        }
        if vm.timeout.is_some_and(|t| started.elapsed() > t) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::env(format!(
                "the VM ({}) did not finish within {}s",
                vm.kernel.display(),
                vm.timeout.map(|t| t.as_secs()).unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Everything the VM printed is out before we print more.
    for relay in relays.into_iter().flatten() {
        let _ = relay.join();
    }
    match std::fs::read_to_string(&status_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        // The raw wait status of a normal exit is the code shifted left by 8.
        Some(code) => Ok(ExitStatus::from_raw((code & 0xff) << 8)),
        None => Err(Error::env(format!(
            "the VM from {} ended ({vng_status}) before topolab did: see the vng output above",
            vm.kernel.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_arguments_survive_the_shell() {
        assert_eq!(sh_quote(OsStr::new("labs/x.toml")), "labs/x.toml");
        assert_eq!(sh_quote(OsStr::new("a b")), "'a b'");
        assert_eq!(sh_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(sh_quote(OsStr::new("")), "''");
        let cmd = guest_command(
            Path::new("/bin/topolab"),
            &["check".into(), "my lab.toml".into()],
            &[("TOPOLAB_IN_VM".into(), "1".into())],
            Path::new("/tmp/s/status"),
        );
        assert!(cmd.contains("TOPOLAB_IN_VM=1 /bin/topolab check"), "{cmd}");
        assert!(
            cmd.ends_with("/bin/topolab check 'my lab.toml'; echo $? > /tmp/s/status"),
            "{cmd}"
        );
    }
}
