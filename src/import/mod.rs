//! `topolab import`: a real host's network state as lab nodes.
//!
//! Sources (one file per format) fill a [`model::Host`]; [`to_lab`] turns hosts into a
//! lab and [`render`] prints it with a comment for everything that could not be carried
//! over. Every source is read-only: files on disk, or netlink dumps ([`live`]).

pub(crate) mod collect;
pub(crate) mod files;
pub mod json;
pub(crate) mod live;
pub(crate) mod model;
pub(crate) mod nft_json;
pub(crate) mod render;
pub(crate) mod text_addr;
pub(crate) mod text_misc;
pub(crate) mod text_route;
pub mod to_lab;
pub(crate) mod wg_dump;

/// A problem at a line of an input (the caller adds the file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

pub(crate) fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

pub(crate) fn check_cidr(s: &str, line: usize) -> Result<(), ParseError> {
    s.parse::<ipnet::IpNet>().map(|_| ()).map_err(|_| {
        ParseError::new(
            line,
            format!("`{s}` is not an address with a prefix length (truncated?)"),
        )
    })
}

pub(crate) fn check_addr(s: &str, line: usize) -> Result<(), ParseError> {
    s.parse::<std::net::IpAddr>()
        .map(|_| ())
        .map_err(|_| ParseError::new(line, format!("`{s}` is not an IP address (truncated?)")))
}

/// A routing table as iproute2 prints it: a number, or one of the three names every
/// system has. Other names come from the host's rt_tables, which the import cannot see.
pub(crate) fn table_number(s: &str) -> Option<u32> {
    match s {
        "main" => Some(model::MAIN),
        "local" => Some(model::LOCAL),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

#[cfg(test)]
mod tests;
