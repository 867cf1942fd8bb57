//! Building labs: apply a plan in namespaces, keep the lab alive, tear it down. Nothing
//! here ever creates or changes anything in the host's namespace. Requests go through
//! the netlink layer (`kernel::netlink`).

pub(crate) mod actions;
pub(crate) mod addresses;
pub(crate) mod apply;
pub mod command;
pub(crate) mod connections;
pub mod impair;
pub(crate) mod ipsec;
pub(crate) mod links;
pub(crate) mod live;
pub(crate) mod neighbours;
pub(crate) mod netns;
pub(crate) mod nodeenv;
pub(crate) mod output_tail;
pub(crate) mod routes;
pub(crate) mod rules;
pub(crate) mod services;
pub(crate) mod settle;
pub mod sysctl;
pub mod wireguard;

pub use apply::{ApplyStats, apply};
pub use live::LiveLab;
