//! A node's nft ruleset, listed and normalised (counters zeroed) for snapshots.

use std::time::Duration;

use super::StateError;
use crate::kernel::engine::command;
use crate::kernel::engine::netns::Netns;

/// `nft list ruleset` with counters zeroed: packet counts depend on timing.
pub async fn read(ns: &Netns) -> Result<Vec<String>, StateError> {
    let out = command::run_program(
        ns,
        "nft",
        &["list", "ruleset"],
        None,
        Duration::from_secs(10),
    )
    .await
    .map_err(StateError::NftStart)?;
    if !out.success() {
        return Err(StateError::Nft(out.text()));
    }
    Ok(out
        .stdout
        .lines()
        .map(|l| normalise_counters(l.trim_end()))
        .filter(|l| !l.trim().is_empty())
        .collect())
}

fn normalise_counters(line: &str) -> String {
    let mut words: Vec<&str> = line.split(' ').collect();
    let mut i = 0;
    while i + 1 < words.len() {
        if (words[i] == "packets" || words[i] == "bytes")
            && words[i + 1].chars().all(|c| c.is_ascii_digit())
        {
            words[i + 1] = "N";
        }
        i += 1;
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_are_normalised() {
        assert_eq!(
            super::normalise_counters("  counter packets 12 bytes 1008 drop"),
            "  counter packets N bytes N drop"
        );
    }
}
