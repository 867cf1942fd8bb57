//! The host's neighbour table, one for every namespace: the budget that shares it between
//! labs and processes, and the detector that says when it overflowed.

pub(crate) mod budget;
pub(crate) mod table;
