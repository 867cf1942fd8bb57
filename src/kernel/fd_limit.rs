//! The open-file limit. Every namespace of a built lab holds one descriptor for the lab's
//! whole life, and its netlink socket while descriptors allow (engine::connections), so
//! the common default soft limit of 1024 would end a build at about 505 nodes with EMFILE
//! half-way. The soft limit is raised to the hard one at start-up, before anything is
//! open, and a lab that would not fit even then is refused before anything is built.
//! Descriptors are shared out between a lab's namespaces, its netlink connections and
//! the probes (`kernel::probe::budget`, `PROBE_SHARE`).

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::error::{Error, Result};

/// Descriptors each namespace keeps open while its lab is up.
const PER_NAMESPACE: u64 = 1;
/// Netlink connections a lab keeps open at least, however large it is.
const MIN_CONNECTIONS: u64 = 64;
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

/// The share of the limit probes may hold at once (one socket each).
pub fn probe_share(limit: u64) -> u64 {
    (limit.saturating_sub(2 * MARGIN) / 4).max(16)
}

fn needed_with(namespaces: usize, limit: u64) -> u64 {
    u64::try_from(namespaces)
        .unwrap_or(u64::MAX)
        .saturating_mul(PER_NAMESPACE)
        .saturating_add(MARGIN)
        .saturating_add(MIN_CONNECTIONS.min(namespaces as u64))
        .saturating_add(probe_share(limit))
}

/// How many netlink connections a lab of `namespaces` namespaces keeps open: all of them
/// when the limit allows (no reopening), else what is left after the namespaces, the
/// probes and the margin.
pub fn netlink_capacity(namespaces: usize) -> usize {
    capacity_with(namespaces, soft())
}

fn capacity_with(namespaces: usize, limit: u64) -> usize {
    let n = namespaces as u64;
    let left = limit
        .saturating_sub(n.saturating_mul(PER_NAMESPACE))
        .saturating_sub(MARGIN)
        .saturating_sub(probe_share(limit));
    usize::try_from(left.clamp(MIN_CONNECTIONS.min(n), n.max(1))).unwrap_or(namespaces)
}

/// An environment error (exit 3) when a lab of `namespaces` namespaces cannot be built
/// within the open-file limit.
pub fn ensure(namespaces: usize) -> Result<()> {
    check(namespaces, soft())
}

fn check(namespaces: usize, limit: u64) -> Result<()> {
    let need = needed_with(namespaces, limit);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_fits_when_a_descriptor_per_namespace_the_probes_and_a_margin_do() {
        // 1024: probes get (1024 - 256) / 4 = 192; 640 + 128 + 64 + 192 = 1024.
        assert!(check(640, 1024).is_ok());
        let e = check(700, 1024).expect_err("700 namespaces need 1084 descriptors");
        assert_eq!(e.exit(), crate::error::Exit::Environment);
        assert!(e.to_string().contains("needs about 1084 open files"), "{e}");
        assert!(e.to_string().contains("ulimit -Hn 1084"), "{e}");
    }

    #[test]
    fn a_10000_node_lab_fits_a_20000_limit_with_part_of_its_connections_open() {
        // This machine's hard limit, which root without CAP_SYS_RESOURCE cannot raise.
        assert!(check(10_111, 20_000).is_ok());
        let keep = capacity_with(10_111, 20_000);
        assert_eq!(keep, 20_000 - 10_111 - 128 - (20_000 - 256) / 4);
        // Small labs keep every connection, as before.
        assert_eq!(capacity_with(500, 20_000), 500);
        assert_eq!(capacity_with(3, 1024), 3);
    }
}
