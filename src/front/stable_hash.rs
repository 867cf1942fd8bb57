//! A stable hash for identifiers derived from names (table ids, shards, instance ids):
//! std's hasher is randomised per process, and these must be the same in every run.

/// FNV-1a, 64 bits.
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
