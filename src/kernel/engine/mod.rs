//! Building labs: apply a plan in namespaces, keep the lab alive, tear it down. Nothing
//! here ever creates or changes anything in the host's namespace. Requests go through
//! the netlink layer (`kernel::netlink`).

pub mod actions;
pub mod addresses;
pub mod apply;
pub mod command;
pub mod impair;
pub mod ipsec;
pub mod links;
pub mod live;
pub mod neighbours;
pub mod netns;
pub mod nodeenv;
pub mod output_tail;
pub mod routes;
pub mod rules;
pub mod services;
pub mod settle;
pub mod sysctl;
pub mod wireguard;

pub use apply::{ApplyStats, apply};
pub use live::LiveLab;
