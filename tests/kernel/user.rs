//! Running topolab as the unprivileged user (`topolab-test`, or TOPOLAB_TEST_USER): the
//! rootless tests build labs as that user, from a scratch directory it can use.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::scratch::TempDir;
use crate::support::bin;

/// A scratch directory the user can read, with a copy of the binary (the build directory
/// may sit where the user cannot read, under /root, say) and a runtime directory the user
/// owns. Dropping it removes everything.
pub struct UserDir {
    pub user: String,
    pub dir: TempDir,
    pub exe: PathBuf,
    pub runtime: PathBuf,
}

impl UserDir {
    /// Panics when the user does not exist: the rootless tests must run (CI creates it).
    pub fn new(tag: &str) -> UserDir {
        let name = std::env::var("TOPOLAB_TEST_USER").unwrap_or_else(|_| "topolab-test".into());
        if nix::unistd::User::from_name(&name).ok().flatten().is_none() {
            panic!(
                "rootless tests need an unprivileged user: create it with `useradd --create-home {name}` (or set TOPOLAB_TEST_USER)"
            );
        }
        let dir = TempDir::new(tag);
        chmod(&dir.0, 0o755);
        let exe = dir.0.join("topolab");
        std::fs::copy(bin(), &exe).expect("copy the binary");
        chmod(&exe, 0o755);
        let mut d = UserDir {
            user: name,
            dir,
            exe,
            runtime: PathBuf::new(),
        };
        // A runtime directory must be private to its owner (topolab refuses others).
        d.runtime = d.owned_dir("run");
        d
    }

    /// A directory inside owned by the user, private to it.
    pub fn owned_dir(&self, name: &str) -> PathBuf {
        let p = self.dir.0.join(name);
        std::fs::create_dir(&p).expect("mkdir");
        let u = nix::unistd::User::from_name(&self.user)
            .ok()
            .flatten()
            .expect("user");
        nix::unistd::chown(&p, Some(u.uid), Some(u.gid)).expect("chown");
        chmod(&p, 0o700);
        p
    }

    /// Writes a file the user can read.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.write(name, text);
        chmod(&p, 0o644);
        p
    }

    /// Copies a file of the repository in, readable by the user.
    pub fn copy_in(&self, from: &Path) -> PathBuf {
        let to = self.dir.0.join(from.file_name().expect("a file"));
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        chmod(&to, 0o644);
        to
    }

    /// `topolab` run as the user with its runtime dir, the leak token `tok`, no colour and
    /// `env`; the caller adds the arguments.
    pub fn command(&self, tok: &str, env: &[(&str, &str)]) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", &self.user, "--", "env", "NO_COLOR=1"])
            .arg(format!("TOPOLAB_RUNTIME_DIR={}", self.runtime.display()))
            .arg(format!("TOPOLAB_TEST_TOKEN={tok}"))
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .arg(&self.exe);
        c
    }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
