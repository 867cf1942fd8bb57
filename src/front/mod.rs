//! The front end: from the text of a lab file to a validated lab. Nothing here touches
//! the kernel; every error points at the file, line and column it comes from.

pub mod diag;
pub mod lab;
pub mod nft_location;
pub mod parse;
pub mod patch;
pub mod schema;
pub mod source;
pub mod spec;
pub mod stable_hash;
pub mod validate;
