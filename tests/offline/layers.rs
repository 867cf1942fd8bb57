//! The source tree reads as the pipeline: `src/lib.rs` declares the top-level modules in
//! layer order, and a module only uses the layers declared before it (no cycles, no
//! upward dependency). Read from the source text, so it needs no privileges.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a text names through `crate::` paths, groups included.
fn used(text: &str, layers: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![rest]
        };
        for n in names {
            let head: String = n
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if layers.contains(&head) {
                out.insert(head);
            }
        }
    }
    out
}

#[test]
fn a_layer_uses_only_the_layers_declared_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let layers: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    assert!(
        layers.len() <= 12,
        "at most ~12 entries at the root: {layers:?}"
    );
    let mut violations = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let mut files = Vec::new();
        let dir = src.join(layer);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{layer}.rs")));
        }
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read source");
            for u in used(&text, &layers) {
                let j = layers.iter().position(|l| *l == u).expect("a layer");
                if j > i {
                    violations.push(format!(
                        "{} uses {u}, declared after {layer}",
                        f.strip_prefix(&src).unwrap_or(&f).display()
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_layer_check_sees_groups_and_paths() {
    let layers: Vec<String> = ["front", "kernel"].map(String::from).to_vec();
    let u = used(
        "use crate::{front::lab, kernel::probe};\nlet x = crate::kernel::netlink::Links;",
        &layers,
    );
    assert_eq!(
        u,
        BTreeSet::from(["front".to_string(), "kernel".to_string()])
    );
    assert!(used("use crate::error::Result;", &layers).is_empty());
}
