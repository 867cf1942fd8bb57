//! The kernel half: apply a plan in namespaces, keep the lab alive, tear it down.
//! Only this module and the probes touch the kernel; nothing here ever creates or
//! changes anything in the host's namespace.

pub mod actions;
pub mod addresses;
pub mod apply;
pub mod command;
pub mod impair;
pub mod ipsec;
pub mod links;
pub mod live;
pub mod neighbours;
pub mod netlink;
pub mod netns;
pub mod nlsync;
pub mod nodeenv;
pub mod routes;
pub mod rules;
pub mod services;
pub mod settle;
pub mod sysctl;
pub mod wireguard;

pub use apply::{ApplyStats, apply};
pub use live::LiveLab;
