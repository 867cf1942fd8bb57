//! Probes and responders: the part of a check that talks to the kernel from inside a node.
//!
//! Every socket is created inside the node's network namespace by one dedicated thread
//! (`netns`) and checked by the host guard (`guard`) before anything is sent.

#![allow(dead_code)]

mod classify;
mod errqueue;
mod error;
pub mod guard;
mod icmp;
mod netns;
mod observation;
mod sys;
mod wait;

pub use error::ProbeError;
pub use guard::guard;
pub use observation::{Observation, RouteInfo};
