//! No input may panic the parser or the validator: thousands of deterministic mutations
//! of the corpus labs (bytes and lines deleted, duplicated, swapped, truncated, replaced
//! by TOML punctuation) go through `load_source` and the rendering of its diagnostics,
//! and through `plan::build` when they still validate.
//!
//! The generator is seeded, so a failure names a case that reproduces on every run:
//! `MUTATION_CASE=<lab>:<n> cargo test --test offline mutations -- --nocapture` prints its input.
//! `MUTATIONS_PER_LAB=N` runs N cases per lab instead of the default.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use topolab::front::source::SourceFile;
use topolab::front::validate::load_source;

/// Cases per corpus lab; MUTATIONS_PER_LAB=N runs more when hunting.
const CASES_PER_LAB: u64 = 100;

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces of TOML syntax and values that tend to reach unusual paths.
const TOKENS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "#",
    "\n",
    " ",
    "\"\"\"",
    "0",
    "-1",
    "99999999999",
    "1.5",
    "true",
    "inf",
    "nan",
    "1979-05-27",
    "é",
    "\u{feff}",
    "\\",
    "\\u0000",
    ":",
    "/",
    "%",
    "ms",
    "lo",
    "::",
    "255.255.255.255/32",
    "a:eth0",
    "x = 1\n",
    "\r\n",
    "\t",
    "[nodes.a]\n",
    "[[links]]\n",
    "[[checks]]\n",
    "\"x\".\"y\" = 2\n",
];

fn lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn mutate(text: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut t = text.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = t.len().max(1);
        match rng.below(9) {
            // Delete a byte range.
            0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(16);
                t.drain(at.min(t.len())..(at + n).min(t.len()));
            }
            // Duplicate a byte range in place.
            1 => {
                let at = rng.below(len).min(t.len());
                let end = (at + 1 + rng.below(32)).min(t.len());
                let piece = t[at..end].to_vec();
                t.splice(at..at, piece);
            }
            // Truncate.
            2 => t.truncate(rng.below(len)),
            // Replace one byte with any byte.
            3 if !t.is_empty() => {
                let at = rng.below(t.len());
                t[at] = rng.next() as u8;
            }
            // Insert a token.
            4 => {
                let at = rng.below(len).min(t.len());
                let tok = TOKENS[rng.below(TOKENS.len())].as_bytes();
                t.splice(at..at, tok.iter().copied());
            }
            // Delete a line.
            5 => {
                let mut ls = lines(&t);
                if !ls.is_empty() {
                    ls.remove(rng.below(ls.len()));
                }
                t = ls.concat();
            }
            // Duplicate a line somewhere else.
            6 => {
                let mut ls = lines(&t);
                if !ls.is_empty() {
                    let line = ls[rng.below(ls.len())].clone();
                    let to = rng.below(ls.len() + 1);
                    ls.insert(to, line);
                }
                t = ls.concat();
            }
            // Swap two lines.
            7 => {
                let mut ls = lines(&t);
                if ls.len() > 1 {
                    let (a, b) = (rng.below(ls.len()), rng.below(ls.len()));
                    ls.swap(a, b);
                }
                t = ls.concat();
            }
            // Swap two bytes.
            _ if t.len() > 1 => {
                let (a, b) = (rng.below(t.len()), rng.below(t.len()));
                t.swap(a, b);
            }
            _ => {}
        }
    }
    t
}

fn seeds() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut labs = Vec::new();
    for dir in ["broken", "valid"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("corpus directory") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|x| x == "toml") {
                labs.push(path);
            }
        }
    }
    labs.sort();
    labs
}

/// The text of case `n` of a lab: the same for a given lab and `n` on every run.
fn case(lab: &Path, original: &[u8], n: u64) -> String {
    let name = lab.file_stem().map(|s| s.to_string_lossy().into_owned());
    let salt = name
        .unwrap_or_default()
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = Rng(salt ^ n.wrapping_mul(0x2545_f491_4f6c_dd1d));
    String::from_utf8_lossy(&mutate(original, &mut rng)).into_owned()
}

/// How far a case got: 0 rejected with errors, 1 valid (and planned).
fn run(text: String) -> usize {
    let loaded = load_source(SourceFile::new("m.toml", text));
    let _ = loaded.render(false);
    match &loaded.lab {
        Some(lab) => {
            let plan = topolab::plan::build(lab);
            let _ = topolab::plan::render(&plan);
            1
        }
        None => 0,
    }
}

#[test]
fn mutated_labs_never_panic() {
    let only = std::env::var("MUTATION_CASE").ok();
    let per_lab = std::env::var("MUTATIONS_PER_LAB")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES_PER_LAB);
    // The panic hook is the process's, and the other tests of this binary run as threads
    // of it (under `cargo test`): silence only this thread's caught panics.
    let default_hook = std::sync::Arc::new(std::panic::take_hook());
    let others = default_hook.clone();
    let this = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != this {
            others(info);
        }
    }));
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut valid = 0;
    for lab in seeds() {
        let original = std::fs::read(&lab).expect("read lab");
        let stem = lab
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for n in 0..per_lab {
            let id = format!("{stem}:{n}");
            if only.as_ref().is_some_and(|o| *o != id) {
                continue;
            }
            let text = case(&lab, &original, n);
            if only.is_some() {
                println!("{text}");
            }
            cases += 1;
            let result = catch_unwind(AssertUnwindSafe(|| run(text.clone())));
            if let Ok(v) = result {
                valid += v;
            }
            if let Err(payload) = result {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("case {id}: {msg}\n--- input\n{text}\n---"));
            }
        }
    }
    drop(std::panic::take_hook());
    if let Ok(hook) = std::sync::Arc::try_unwrap(default_hook) {
        std::panic::set_hook(hook);
    }
    println!("{cases} mutated labs, {valid} of them valid");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases panicked:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    if only.is_none() {
        assert!(cases >= 2000, "only {cases} cases");
    }
}
