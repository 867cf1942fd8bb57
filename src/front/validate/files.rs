//! `[nodes.X.files]`: files only one node sees. Paths inside the node are absolute and
//! normal; sources are files inside the lab's directory (a lab from a pull request or a
//! student must not be able to copy the host's files into a node, a report or a log).

use std::path::{Component, Path, PathBuf};

use super::ctx::{Ctx, Help};
use super::values::{Bad, bad};
use crate::front::lab::{Node, NodeFile};
use crate::front::source::TomlPath;
use crate::front::spec;

/// Larger files are refused: node files are configuration, and they are held in memory.
const MAX_FILE: u64 = 4 << 20;

pub fn resolve(
    ctx: &mut Ctx,
    path: &TomlPath,
    files: &indexmap::IndexMap<String, spec::NodeFile>,
    lab_file: &Path,
    node: &mut Node,
) {
    for (target, f) in files {
        let p = path.key("files").key(target);
        let Some(target_path) = node_path(ctx, &p, target) else {
            continue;
        };
        let mode = match &f.mode {
            None => 0o644,
            Some(m) => match u32::from_str_radix(m.trim_start_matches("0o"), 8) {
                Ok(v) if v <= 0o7777 => v,
                _ => {
                    ctx.error(&p.key("mode"), format!("`{m}` is not a file mode"))
                        .help("write the permission bits in octal, e.g. mode = \"0755\"");
                    continue;
                }
            },
        };
        let content = match (&f.source, &f.content) {
            (Some(_), Some(_)) | (None, None) => {
                ctx.error(&p, "give exactly one of `source` or `content`")
                    .help("source = \"r1/frr.conf\" (a file next to the lab) or content = \"...\"");
                continue;
            }
            (None, Some(c)) => c.clone().into_bytes(),
            (Some(src), None) => match read_source(lab_file, src) {
                Ok(c) => c,
                Err(Bad { message, help }) => {
                    let e = ctx.error(&p.key("source"), message);
                    if let Some(help) = help {
                        e.help(help);
                    }
                    continue;
                }
            },
        };
        node.files.push(NodeFile {
            path: target_path,
            content,
            mode,
        });
    }
}

fn node_path(ctx: &mut Ctx, p: &TomlPath, target: &str) -> Option<PathBuf> {
    let path = Path::new(target);
    let normal = path.is_absolute()
        && !target.ends_with('/')
        && path
            .components()
            .skip(1)
            .all(|c| matches!(c, Component::Normal(_)))
        && path.components().count() >= 3;
    if !normal {
        ctx.name_error(
            p,
            format!("`{target}` is not an absolute path to a file below a top-level directory"),
        )
        .help("write the path as the node sees it, e.g. \"/etc/frr/frr.conf\" (no `.`, `..` or trailing `/`)");
        return None;
    }
    if target.contains([',', ':', '\\', '\0']) {
        ctx.name_error(p, format!("`{target}` contains `,`, `:` or `\\`"))
            .help("these characters cannot appear in a directory the node's files are layered on");
        return None;
    }
    Some(path.to_path_buf())
}

fn read_source(lab_file: &Path, src: &str) -> Result<Vec<u8>, Bad> {
    let rel = Path::new(src);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(bad(
            format!("`{src}` is not inside the lab's directory"),
            "give a path relative to the lab file, without `..`, e.g. \"r1/frr.conf\"",
        ));
    }
    let dir = lab_file.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let full = dir.join(rel);
    let not_found = || {
        bad(
            format!("`{src}` does not exist (looked for {})", full.display()),
            "create the file next to the lab, or give its content inline with content = \"...\"",
        )
    };
    let (Ok(real), Ok(real_dir)) = (full.canonicalize(), dir.canonicalize()) else {
        return Err(not_found());
    };
    // A symlink inside the lab's directory could point anywhere on the host.
    if !real.starts_with(&real_dir) {
        return Err(bad(
            format!(
                "`{src}` leads outside the lab's directory (to {})",
                real.display()
            ),
            "copy the file next to the lab instead of linking to it",
        ));
    }
    let meta = std::fs::metadata(&real).map_err(|_| not_found())?;
    if !meta.is_file() {
        return Err(bad(
            format!("`{src}` is not a regular file"),
            "point `source` at a file",
        ));
    }
    if meta.len() > MAX_FILE {
        return Err(bad(
            format!(
                "`{src}` is {} bytes, more than node files may be",
                meta.len()
            ),
            format!("node files are configuration; keep them under {MAX_FILE} bytes"),
        ));
    }
    std::fs::read(&real).map_err(|e| {
        bad(
            format!("cannot read `{src}`: {e}"),
            "check the file's permissions",
        )
    })
}
