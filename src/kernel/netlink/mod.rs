//! The netlink layer: every request topolab sends to the kernel goes through here, with
//! one error type. An async rtnetlink connection per namespace for building labs
//! (`conn`), a blocking socket for one-off requests (`sync`), the wire format both the
//! blocking socket and the route probe's non-blocking one read (`wire`), and the link
//! dump every reader names interfaces with (`links`).

mod conn;
mod error;
mod links;
mod sync;
pub(crate) mod wire;

pub use conn::{Netlink, RawSocket};
pub use error::{NlError, ext_ack_message};
pub use links::{LinkInfo, Links};
pub use sync::SyncSocket;
