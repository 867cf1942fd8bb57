//! Sizes on the command line (`--capture-limit 64MiB`): a number of bytes with an optional
//! binary unit. K, M and G mean KiB, MiB and GiB, as in tcpdump's `-C` and most tools that
//! size files; a decimal unit would surprise more than it helps.

/// Smallest limit accepted: a file must hold its headers and a few packets.
pub const MIN: u64 = 4096;

/// Why a size is not accepted (clap prints it after the option's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("`{0}` is not a size; write bytes or a number with a unit, e.g. 64MiB")]
    NotASize(String),
    #[error("unknown unit `{unit}` in `{size}`; use B, KiB, MiB or GiB (e.g. 64MiB)")]
    Unit { unit: String, size: String },
    #[error("`{0}` is too large")]
    TooLarge(String),
    #[error("`{0}` is too small for a capture file; the smallest limit is {MIN} bytes (4KiB)")]
    TooSmall(String),
}

pub fn parse(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| SizeError::NotASize(s.to_string()))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => {
            return Err(SizeError::Unit {
                unit: other.to_string(),
                size: s.to_string(),
            });
        }
    };
    let bytes = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| SizeError::TooLarge(s.to_string()))?;
    if bytes < MIN {
        return Err(SizeError::TooSmall(s.to_string()));
    }
    Ok(bytes)
}

/// "64 MiB", "1.5 KiB", "900 B": for messages.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (name, size) in UNITS {
        if bytes >= size {
            let v = bytes as f64 / size as f64;
            return if bytes % size == 0 {
                format!("{} {name}", bytes / size)
            } else {
                format!("{v:.1} {name}")
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse("64MiB"), Ok(64 << 20));
        assert_eq!(parse("64M"), Ok(64 << 20));
        assert_eq!(parse("10 k"), Ok(10 << 10));
        assert_eq!(parse("1g"), Ok(1 << 30));
        assert_eq!(parse("8192"), Ok(8192));
        let err = |s| parse(s).unwrap_err().to_string();
        assert_eq!(
            err("100"),
            "`100` is too small for a capture file; the smallest limit is 4096 bytes (4KiB)"
        );
        assert_eq!(
            err("64TB"),
            "unknown unit `tb` in `64TB`; use B, KiB, MiB or GiB (e.g. 64MiB)"
        );
        assert_eq!(
            err("MiB"),
            "`MiB` is not a size; write bytes or a number with a unit, e.g. 64MiB"
        );
        assert_eq!(err("99999999999999G"), "`99999999999999G` is too large");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(64 << 20), "64 MiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(900), "900 B");
    }
}
