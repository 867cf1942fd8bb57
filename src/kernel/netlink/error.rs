//! The one error of the netlink layer: a refused or failed request, as the errno the
//! kernel answered and its extended-ack explanation.

/// A refused request: the errno and the kernel's extended-ack message, if any.
#[derive(Debug, Clone)]
pub struct NlError {
    pub errno: i32,
    pub message: Option<String>,
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::error::errno_words(self.errno))?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for NlError {}

/// The kernel's explanation (NLMSGERR_ATTR_MSG) from the tail of an error message: the
/// original 16-byte header, then netlink attributes.
pub fn ext_ack_message(tail: &[u8]) -> Option<String> {
    const NLMSGERR_ATTR_MSG: u16 = 1;
    let mut rest = tail.get(16..)?;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let text = &rest[4..len];
            let text = text.split(|b| *b == 0).next().unwrap_or(text);
            return Some(String::from_utf8_lossy(text).into_owned()).filter(|s| !s.is_empty());
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    None
}

/// A refused request is the kernel refusing the lab, unless descriptors ran out.
impl crate::error::Classified for NlError {
    fn exit(&self) -> crate::error::Exit {
        crate::error::errno_class(Some(self.errno))
    }

    fn errno(&self) -> Option<i32> {
        Some(self.errno)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_ack_message_is_read_from_the_error_tail() {
        let mut tail = vec![0u8; 16];
        let msg = b"Nexthop has invalid gateway\0";
        let len = (4 + msg.len()) as u16;
        tail.extend_from_slice(&len.to_ne_bytes());
        tail.extend_from_slice(&1u16.to_ne_bytes());
        tail.extend_from_slice(msg);
        assert_eq!(
            ext_ack_message(&tail).as_deref(),
            Some("Nexthop has invalid gateway")
        );
        assert_eq!(ext_ack_message(&[0u8; 16]), None);
        assert_eq!(ext_ack_message(&[]), None);
    }

    #[test]
    fn a_refused_request_is_the_kernels_unless_descriptors_ran_out() {
        use crate::error::{Error, Exit};
        let nl = |errno| NlError {
            errno,
            message: Some("why".into()),
        };
        let e = Error::refused("add route", nl(libc::EEXIST), None);
        assert_eq!(e.exit(), Exit::Kernel);
        assert_eq!(
            e.to_string(),
            "add route: the kernel refused: File exists (EEXIST): why"
        );
        assert_eq!(
            Error::refused("add route", nl(libc::EMFILE), None).exit(),
            Exit::Environment
        );
    }
}
