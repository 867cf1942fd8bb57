//! Blocking netlink requests from a thread that is inside a namespace: for one-off work
//! (generic netlink for WireGuard, the feature probe, `import --live`) where an async
//! connection per namespace would cost more than it saves.

use std::fmt::Debug;
use std::io;

use netlink_packet_core::{NetlinkDeserializable, NetlinkSerializable};
use netlink_sys::Socket;

use super::error::NlError;
use super::wire;

/// A netlink socket of one protocol, bound to the namespace of the thread that opened it.
pub struct SyncSocket {
    socket: Socket,
    seq: u32,
}

impl SyncSocket {
    pub fn open(protocol: isize) -> io::Result<SyncSocket> {
        let mut socket = Socket::new(protocol)?;
        socket.bind_auto()?;
        let _ = socket.set_cap_ack(true);
        let _ = socket.set_ext_ack(true);
        Ok(SyncSocket { socket, seq: 0 })
    }

    /// Send one request and collect the replies up to its ack (or the end of a dump).
    pub fn request<T>(&mut self, msg: T, flags: u16) -> Result<Vec<T>, NlError>
    where
        T: NetlinkSerializable + NetlinkDeserializable + Debug,
    {
        let io_err = |e: io::Error| NlError {
            errno: e.raw_os_error().unwrap_or(libc::EIO),
            message: None,
        };
        self.seq = self.seq.wrapping_add(1);
        let buf = wire::encode(msg, flags, self.seq);
        self.socket.send(&buf, 0).map_err(io_err)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full().map_err(io_err)?;
            if wire::parse(&data, self.seq, flags, &mut out)? {
                return Ok(out);
            }
        }
    }
}
