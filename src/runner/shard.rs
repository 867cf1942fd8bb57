//! Splitting a lab suite across CI jobs (`topolab test --shard K/N`).
//!
//! A lab belongs to shard `1 + fnv1a64(key) mod N`, where the key is the lab's path
//! relative to the directory named on the command line (`labs/net/a.toml` found under
//! `labs` has the key `net/a.toml`), or, for a lab named directly, its path as given
//! (relative to the working directory when it is under it). Hashing rather than dealing
//! out the sorted list round-robin keeps every lab on its shard when labs are added or
//! removed, so a shard's history in the CI system stays comparable; and keys relative to
//! the command line keep the split the same whatever directory each CI job checked the
//! repository out to. The price: shards are balanced only statistically, and with few
//! labs a shard can be empty (it passes, with an empty report).

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Shard `index` of `total`, 1-based like GitLab's CI_NODE_INDEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

/// A `--shard` value that is not K/N with 1 <= K <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a shard: write K/N with 1 <= K <= N, e.g. --shard 2/4")]
pub struct NotAShard(String);

impl FromStr for Shard {
    type Err = NotAShard;

    fn from_str(s: &str) -> Result<Shard, NotAShard> {
        let not = || NotAShard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(not)?;
        let parse = |x: &str| x.trim().parse::<u32>().map_err(|_| not());
        let (index, total) = (parse(k)?, parse(n)?);
        if index == 0 || total == 0 || index > total {
            return Err(not());
        }
        Ok(Shard { index, total })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// `a/./b/../c` as "a/c"-style text with `/` separators, for hashing.
fn normal(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    parts.push("..".into());
                }
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::RootDir | Component::Prefix(_) => parts.clear(),
        }
    }
    parts.join("/")
}

/// The key a lab is hashed by: relative to the directory argument it was found under.
pub fn key(file: &Path, args: &[PathBuf]) -> String {
    for arg in args.iter().filter(|a| a.is_dir()) {
        if let Ok(rel) = file.strip_prefix(arg) {
            return normal(rel);
        }
    }
    if file.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = file.strip_prefix(cwd)
    {
        return normal(rel);
    }
    normal(file)
}

impl Shard {
    /// The shard a lab with this key belongs to.
    pub fn of(key: &str, total: u32) -> u32 {
        let h = crate::front::stable_hash::fnv1a(key);
        u32::try_from(h % u64::from(total.max(1))).unwrap_or(0) + 1
    }

    /// The labs of this shard, in their original order.
    pub fn select(&self, files: Vec<PathBuf>, args: &[PathBuf]) -> Vec<PathBuf> {
        files
            .into_iter()
            .filter(|f| Shard::of(&key(f, args), self.total) == self.index)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, total: 4 }));
        for bad in ["0/4", "5/4", "1/0", "4", "a/b", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_lab_is_in_exactly_one_shard_and_stays_there() {
        let keys: Vec<String> = (0..200).map(|i| format!("suite/lab-{i}.toml")).collect();
        for n in [1, 2, 3, 7] {
            for k in &keys {
                let s = Shard::of(k, n);
                assert!((1..=n).contains(&s));
            }
        }
        // Adding labs does not move the others.
        let before: Vec<u32> = keys.iter().map(|k| Shard::of(k, 4)).collect();
        let mut more = keys.clone();
        more.push("suite/new.toml".into());
        let after: Vec<u32> = more.iter().take(200).map(|k| Shard::of(k, 4)).collect();
        assert_eq!(before, after);
        // And the split is not lopsided.
        for s in 1..=4 {
            let count = before.iter().filter(|x| **x == s).count();
            assert!((30..=70).contains(&count), "shard {s} has {count} of 200");
        }
    }

    #[test]
    fn keys_do_not_depend_on_where_the_suite_is() {
        let root = std::env::temp_dir().join(format!("topolab-shard-{}", std::process::id()));
        let labs = root.join("labs");
        std::fs::create_dir_all(labs.join("net")).unwrap();
        let k = key(&labs.join("net/a.toml"), std::slice::from_ref(&labs));
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(k, "net/a.toml");
        assert_eq!(normal(Path::new("./labs/./net/../a.toml")), "labs/a.toml");
    }
}
