//! The kernel side: everything that reads or changes kernel state. Building and tearing
//! down labs (`engine`), probing them (`probe`), reading their state back (`state`), the
//! drop tracer and packet capture, the feature probe, the sandbox and host guard, and the
//! host-wide resources a lab consumes (open files, the neighbour table).

pub mod capture;
pub(crate) mod drops;
pub mod engine;
pub(crate) mod fd_limit;
pub mod features;
pub mod host_guard;
pub(crate) mod neigh;
pub mod netlink;
pub mod probe;
pub(crate) mod sandbox;
pub mod state;
