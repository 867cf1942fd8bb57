//! One rtnetlink connection per namespace, and requests that return the kernel's errno.
//!
//! The socket is created by the thread that made (or entered) the namespace, because a
//! netlink socket stays bound to the namespace it was created in; it is then driven from
//! the main tokio runtime like any other socket.

use std::io;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::sync::Arc;

use futures::StreamExt;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, TokioSocket, protocols::NETLINK_ROUTE};

use super::error::{NlError, ext_ack_message};

/// A plain netlink socket, created inside a namespace, not yet attached to a runtime.
pub struct RawSocket(Socket);

impl RawSocket {
    /// Must be called on a thread that is inside the target namespace.
    pub fn open() -> io::Result<RawSocket> {
        let mut s = Socket::new(NETLINK_ROUTE)?;
        s.bind_auto()?;
        // Ask the kernel for extended acks so that errors carry its explanation.
        // With the request payload capped, the error's tail is just the extended-ack TLVs.
        let _ = s.set_cap_ack(true);
        let _ = s.set_ext_ack(true);
        Ok(RawSocket(s))
    }
}

/// A handle to a namespace's rtnetlink connection. The connection (its socket, and with
/// it a reference that keeps the namespace alive) ends when the last clone is dropped:
/// netlink-proto's task would otherwise run until the runtime stops, since it only ends
/// once its unsolicited-message channel has failed a send, which never happens without
/// multicast groups.
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
    _task: Arc<Task>,
}

struct Task {
    abort: tokio::task::AbortHandle,
    /// A share of the open-file budget, returned when the socket closes.
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for Task {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

impl Netlink {
    /// Attach a socket to the current tokio runtime (call from within it).
    pub fn attach(socket: RawSocket) -> io::Result<Netlink> {
        Self::attach_holding(socket, None)
    }

    /// Attach a socket that holds `permit` until the connection closes.
    pub fn attach_holding(
        socket: RawSocket,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> io::Result<Netlink> {
        let fd = socket.0.into_raw_fd();
        // SAFETY: `fd` is a netlink socket we own; TokioSocket takes over its ownership.
        let tokio_socket = unsafe { TokioSocket::from_raw_fd(fd) };
        let (conn, handle, _) = rtnetlink::from_socket(tokio_socket);
        let abort = tokio::spawn(conn).abort_handle();
        Ok(Netlink {
            handle,
            _task: Arc::new(Task {
                abort,
                _permit: permit,
            }),
        })
    }

    pub fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Send a create request (NLM_F_CREATE | NLM_F_EXCL) and wait for its ack.
    pub async fn create(&self, msg: RouteNetlinkMessage) -> Result<(), NlError> {
        self.request(msg, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map(|_| ())
    }

    /// Send a change request (no create flags) and wait for its ack.
    pub async fn change(&self, msg: RouteNetlinkMessage) -> Result<(), NlError> {
        self.request(msg, NLM_F_REQUEST | NLM_F_ACK)
            .await
            .map(|_| ())
    }

    /// Send any request; returns the non-error messages received (dumps, gets).
    pub async fn request(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, NlError> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut responses = handle.request(req).map_err(|_| NlError {
            errno: libc::EPIPE,
            message: Some("netlink connection closed".into()),
        })?;
        let mut out = Vec::new();
        while let Some(m) = responses.next().await {
            match m.payload {
                NetlinkPayload::Error(e) => {
                    if let Some(code) = e.code {
                        return Err(NlError {
                            errno: -code.get(),
                            message: ext_ack_message(&e.header),
                        });
                    }
                }
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                _ => {}
            }
        }
        Ok(out)
    }
}
