//! The open-file limit. Every namespace of a built lab holds two descriptors (the
//! namespace and its netlink socket) for the lab's whole life, so the common default soft
//! limit of 1024 ends a build at about 505 nodes with EMFILE half-way. The soft limit is
//! raised to the hard one at start-up, before anything is open, and a lab that would not
//! fit even then is refused before anything is built.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::error::{Error, Result};

/// Descriptors each namespace keeps open while its lab is up.
const PER_NAMESPACE: u64 = 2;
/// Everything else a build has open at once: the runtime, stdio, log files, responders
/// and setup commands being started, namespace-creation threads.
const MARGIN: u64 = 128;

/// Raise the soft limit to the hard limit. Called first thing in `main`; a failure only
/// leaves the limit where it was (the check before building then says what is missing).
pub fn raise() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// The current soft limit (after `raise`, the hard one).
pub fn soft() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
}

/// How many descriptors a lab of `namespaces` namespaces needs while it is up.
pub fn needed(namespaces: usize) -> u64 {
    u64::try_from(namespaces)
        .unwrap_or(u64::MAX)
        .saturating_mul(PER_NAMESPACE)
        .saturating_add(MARGIN)
}

/// An environment error (exit 3) when a lab of `namespaces` namespaces cannot be built
/// within the open-file limit.
pub fn ensure(namespaces: usize) -> Result<()> {
    check(namespaces, soft())
}

fn check(namespaces: usize, limit: u64) -> Result<()> {
    let need = needed(namespaces);
    if need <= limit {
        return Ok(());
    }
    Err(Error::env(format!(
        "this lab has {namespaces} namespaces and needs about {need} open files, but the \
         open-file limit is {limit} (its hard limit, topolab already raised the soft one)\n  \
         = help: raise the hard limit, e.g. `ulimit -Hn {need}` as root, or LimitNOFILE= \
         in a systemd unit, or split the lab"
    )))
}

/// Whether an errno says the process or the host ran out of descriptors: the
/// environment's limit (exit 3), not the kernel refusing the lab (exit 4).
pub fn is_exhausted(errno: i32) -> bool {
    errno == libc::EMFILE || errno == libc::ENFILE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_fits_when_two_descriptors_per_namespace_and_a_margin_do() {
        assert!(check(448, 1024).is_ok());
        let e = check(600, 1024).expect_err("600 namespaces need 1328 descriptors");
        assert_eq!(e.exit(), crate::error::Exit::Environment);
        assert!(e.to_string().contains("needs about 1328 open files"), "{e}");
        assert!(e.to_string().contains("ulimit -Hn 1328"), "{e}");
    }
}
