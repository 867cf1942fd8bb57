//! The front end: from the text of a lab file to a validated lab. Nothing here touches
//! the kernel; every error points at the file, line and column it comes from.

pub(crate) mod diag;
pub mod lab;
pub(crate) mod nft_location;
pub(crate) mod parse;
pub(crate) mod patch;
pub mod schema;
pub mod source;
pub mod spec;
pub(crate) mod stable_hash;
pub mod validate;
