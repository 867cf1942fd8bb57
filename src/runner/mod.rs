//! Running labs: finding them (`discover`), splitting a suite into shards, driving one lab
//! from build to teardown (`driver`), its checks, their results and the snapshot they are
//! compared with.

pub(crate) mod checks;
pub mod discover;
pub mod driver;
pub mod results;
pub mod shard;
pub mod snapshot;
