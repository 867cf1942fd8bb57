//! Blocking netlink requests from a thread that is inside a namespace: for one-off work
//! (generic netlink for WireGuard, the feature probe) where an async connection per
//! namespace would cost more than it saves.

use std::fmt::Debug;
use std::io;

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};
use netlink_sys::Socket;

use super::netlink::{NlError, ext_ack_message};

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
        let mut req = NetlinkMessage::new(
            netlink_packet_core::NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(msg),
        );
        req.header.flags = flags;
        req.header.sequence_number = self.seq;
        req.finalize();
        let mut buf = vec![0u8; req.buffer_len()];
        req.serialize(&mut buf);
        self.socket.send(&buf, 0).map_err(io_err)?;

        let mut out = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full().map_err(io_err)?;
            let mut rest = &data[..];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if len < 16 || len > rest.len() {
                    return Err(NlError {
                        errno: libc::EBADMSG,
                        message: Some("truncated netlink reply".into()),
                    });
                }
                let msg = NetlinkMessage::<T>::deserialize(&rest[..len]).map_err(|e| NlError {
                    errno: libc::EBADMSG,
                    message: Some(format!("cannot parse the kernel's reply: {e}")),
                })?;
                rest = &rest[len.next_multiple_of(4).min(rest.len())..];
                if msg.header.sequence_number != self.seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            Some(code) => Err(NlError {
                                errno: -code.get(),
                                message: ext_ack_message(&e.header),
                            }),
                            None => Ok(out),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::InnerMessage(inner) => {
                        out.push(inner);
                        // A reply to a plain get (no dump, no ack) is a single message.
                        if flags & netlink_packet_core::NLM_F_ACK == 0
                            && flags & netlink_packet_core::NLM_F_DUMP == 0
                        {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
