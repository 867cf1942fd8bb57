//! Netlink messages on the wire for the sockets read by hand (the blocking one-off socket
//! and the route probe's non-blocking one): one encoder and one reply parser, so every
//! request loop agrees on sequence numbers, errors, acks and the end of a dump.

use std::fmt::Debug;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable,
};

use super::error::{NlError, ext_ack_message};

/// One request, ready to send.
pub fn encode<T>(msg: T, flags: u16, seq: u32) -> Vec<u8>
where
    T: NetlinkSerializable + Debug,
{
    let mut req = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
    req.header.flags = flags;
    req.header.sequence_number = seq;
    req.finalize();
    let mut buf = vec![0u8; req.buffer_len()];
    req.serialize(&mut buf);
    buf
}

/// Adds to `out` the replies to request `seq` found in one datagram. `Ok(true)` once the
/// request is complete: its ack, the end of its dump, or the single answer of a plain
/// get (no ack, no dump). Messages of other requests are skipped.
pub fn parse<T>(data: &[u8], seq: u32, flags: u16, out: &mut Vec<T>) -> Result<bool, NlError>
where
    T: NetlinkDeserializable + Debug,
{
    let mut rest = data;
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
        if msg.header.sequence_number != seq {
            continue;
        }
        match msg.payload {
            NetlinkPayload::Error(e) => {
                return match e.code {
                    Some(code) => Err(NlError {
                        errno: -code.get(),
                        message: ext_ack_message(&e.header),
                    }),
                    None => Ok(true),
                };
            }
            NetlinkPayload::Done(_) => return Ok(true),
            NetlinkPayload::InnerMessage(inner) => {
                out.push(inner);
                if flags & NLM_F_ACK == 0 && flags & NLM_F_DUMP == 0 {
                    return Ok(true);
                }
            }
            _ => {}
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{ErrorMessage, NLM_F_REQUEST};
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_packet_route::link::LinkMessage;

    use super::*;

    fn reply(payload: NetlinkPayload<RouteNetlinkMessage>, seq: u32) -> Vec<u8> {
        let mut m = NetlinkMessage::new(NetlinkHeader::default(), payload);
        m.header.sequence_number = seq;
        m.finalize();
        let mut buf = vec![0u8; m.buffer_len()];
        m.serialize(&mut buf);
        buf
    }

    #[test]
    fn a_plain_get_is_complete_with_its_one_answer_and_other_requests_are_skipped() {
        let link = RouteNetlinkMessage::NewLink(LinkMessage::default());
        let mut data = reply(NetlinkPayload::InnerMessage(link.clone()), 6);
        data.extend(reply(NetlinkPayload::InnerMessage(link), 7));
        let mut out: Vec<RouteNetlinkMessage> = Vec::new();
        assert!(parse(&data, 7, NLM_F_REQUEST, &mut out).unwrap());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn an_error_carries_the_errno() {
        let mut e = ErrorMessage::default();
        e.code = std::num::NonZeroI32::new(-libc::ENETUNREACH);
        let data = reply(NetlinkPayload::Error(e), 3);
        let mut out: Vec<RouteNetlinkMessage> = Vec::new();
        let err = parse(&data, 3, NLM_F_REQUEST, &mut out).unwrap_err();
        assert_eq!(err.errno, libc::ENETUNREACH);
    }

    #[test]
    fn a_dump_runs_until_done() {
        let link = RouteNetlinkMessage::NewLink(LinkMessage::default());
        let data = reply(NetlinkPayload::InnerMessage(link), 9);
        let mut out: Vec<RouteNetlinkMessage> = Vec::new();
        assert!(!parse(&data, 9, NLM_F_REQUEST | NLM_F_DUMP, &mut out).unwrap());
        let done = reply(NetlinkPayload::Done(Default::default()), 9);
        assert!(parse(&done, 9, NLM_F_REQUEST | NLM_F_DUMP, &mut out).unwrap());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_request_round_trips() {
        let buf = encode(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_REQUEST,
            5,
        );
        let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf).unwrap();
        assert_eq!(m.header.sequence_number, 5);
        assert_eq!(m.header.flags, NLM_F_REQUEST);
    }
}
