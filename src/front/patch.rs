//! Lab patches, and the other files that change a lab before it is validated: a
//! `*.patch.toml` for `diff`, the files of an exercise submission for `grade`.
//!
//! Everything is merged at the TOML level, before validation, so that the merged document
//! is validated exactly like a lab file. Each file keeps its own spans (offset into a
//! joined `SourceFile`), so a diagnostic about a value that came from the patch points at
//! the patch, at the line and column where the value is written.
//!
//! Patch semantics: tables are merged recursively; arrays and scalars are replaced. So
//! `[nodes.gw] forward = false` changes one key of one node, and `nodes.gw.routes = [...]`
//! replaces that node's whole route list (which is also how a route is removed).

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::front::diag::Diagnostic;
use crate::front::source::SourceFile;
use crate::front::validate::Loaded;

/// How a file changes the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// A lab patch: merged into the lab. Top-level keys in `locked` may not be set (a
    /// submission may not rewrite the checks it is graded against).
    Merge { locked: &'static [&'static str] },
    /// The whole file becomes the string at `keys` (an nft ruleset for `nodes.X.nft`).
    Text(Vec<String>),
    /// The whole file becomes the node file at `keys` (`nodes.X.files.PATH`), replacing
    /// whatever the lab had there: `{ content = FILE }` (an FRR configuration).
    NodeFile(Vec<String>),
    /// The file holds only `item_key = [...]`; the items are appended to the array at `to`
    /// (a route list appended to `nodes.X.routes`).
    AppendItems {
        item_key: &'static str,
        to: Vec<String>,
    },
    /// Every line that is neither blank nor a `#` comment is appended, as a string, to the
    /// array at `keys` (shell commands appended to `nodes.X.exec`).
    AppendLines(Vec<String>),
}

/// A file and the change it makes.
#[derive(Debug, Clone)]
pub struct Addition {
    pub file: SourceFile,
    pub edit: Edit,
}

impl Addition {
    pub fn read(path: &Path, edit: Edit) -> std::io::Result<Addition> {
        Ok(Addition {
            file: SourceFile::read(path)?,
            edit,
        })
    }
}

/// Whether a file is a lab patch rather than a lab, by its name.
pub fn is_patch_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".patch.toml"))
}

/// Read a lab and a patch, merge, validate.
pub fn load(lab: &Path, patch: &Path) -> std::io::Result<Loaded> {
    let base = SourceFile::read(lab)?;
    let patch = Addition::read(patch, Edit::Merge { locked: &[] })?;
    Ok(compose(base, vec![patch]))
}

/// The lab `base` with `additions` applied in order, validated. Diagnostics point into the
/// file each offending key or value was written in.
pub fn compose(base: SourceFile, additions: Vec<Addition>) -> Loaded {
    let files: Vec<SourceFile> = std::iter::once(base.clone())
        .chain(additions.iter().map(|a| a.file.clone()))
        .collect();
    let joined = SourceFile::concat(base.path.clone(), files);
    let offset = |i: usize| joined.part_offset(i).unwrap_or(0);

    let mut diags = Vec::new();
    let mut root = match crate::front::parse::parse_syntax(&base) {
        Ok(doc) => Some(doc),
        Err(d) => {
            diags.extend(d);
            None
        }
    };
    for (i, add) in additions.iter().enumerate() {
        let at = offset(i + 1);
        let edit = match parse_addition(add, at) {
            Ok(edit) => edit,
            Err(d) => {
                diags.extend(d.into_iter().map(|d| shift_diag(d, at)));
                continue;
            }
        };
        if let Some(root) = root.as_mut() {
            apply(root.get_mut(), edit);
        }
    }
    let root = match root {
        Some(r) if diags.is_empty() => r,
        _ => {
            return Loaded {
                file: joined,
                lab: None,
                diags,
            };
        }
    };
    let changed = offset(1);
    match crate::front::parse::parse_document(root) {
        Err(diags) => Loaded {
            file: joined,
            lab: None,
            diags: changes_first(diags, changed),
        },
        Ok(parsed) => {
            let (lab, diags) = crate::front::validate::validate(&joined, &parsed);
            Loaded {
                file: joined,
                lab,
                diags: changes_first(diags, changed),
            }
        }
    }
}

/// Diagnostics about what the additions wrote before those about the lab, each group in
/// file order. The lab was whole before it was changed, so an error in it is most likely a
/// consequence of the change (a patch that breaks one link's addresses makes every route
/// through it an error, all written earlier in the joined text): the cause goes first.
fn changes_first(mut diags: Vec<Diagnostic>, changed: usize) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| d.span.as_ref().is_none_or(|s| s.start < changed));
    diags
}

/// An addition, parsed, its spans moved to where its text sits in the joined document.
enum Parsed<'a> {
    Merge(DeTable<'a>),
    Set(Vec<String>, Spanned<DeValue<'a>>),
    Append(Vec<String>, Vec<Spanned<DeValue<'a>>>),
}

fn parse_addition(add: &Addition, at: usize) -> Result<Parsed<'_>, Vec<Diagnostic>> {
    let text = add.file.text.as_str();
    match &add.edit {
        Edit::Merge { locked } => {
            let doc = crate::front::parse::parse_syntax(&add.file)?;
            let errors: Vec<Diagnostic> = doc
                .get_ref()
                .iter()
                .filter(|(k, _)| locked.contains(&k.get_ref().as_ref()))
                .map(|(k, _)| {
                    Diagnostic::error(
                        Some(k.span()),
                        format!("this file may not change `{}`", k.get_ref()),
                    )
                    .with_help(
                        "checks, matrices and steps are the goal a submission is graded against",
                    )
                })
                .collect();
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(Parsed::Merge(shift_table(doc.into_inner(), at)))
        }
        Edit::Text(keys) => {
            let value = Spanned::new(at..at + text.len(), DeValue::String(Cow::Borrowed(text)));
            Ok(Parsed::Set(keys.clone(), value))
        }
        Edit::NodeFile(keys) => {
            let span = at..at + text.len();
            let mut table = DeTable::new();
            table.insert(
                Spanned::new(span.clone(), Cow::Borrowed("content")),
                Spanned::new(span.clone(), DeValue::String(Cow::Borrowed(text))),
            );
            Ok(Parsed::Set(
                keys.clone(),
                Spanned::new(span, DeValue::Table(table)),
            ))
        }
        Edit::AppendLines(keys) => {
            let mut items = Vec::new();
            let mut start = 0;
            for line in text.split_inclusive('\n') {
                let content = line.trim_end_matches(['\n', '\r']);
                let trimmed = content.trim();
                if !trimmed.is_empty() && !trimmed.starts_with('#') {
                    let span = at + start..at + start + content.len();
                    items.push(Spanned::new(span, DeValue::String(Cow::Borrowed(content))));
                }
                start += line.len();
            }
            Ok(Parsed::Append(keys.clone(), items))
        }
        Edit::AppendItems { item_key, to } => {
            let doc = crate::front::parse::parse_syntax(&add.file)?;
            let doc_span = doc.span();
            let mut table = doc.into_inner();
            let mut errors = Vec::new();
            for (k, _) in table.iter() {
                if k.get_ref() != item_key {
                    errors.push(
                        Diagnostic::error(
                            Some(k.span()),
                            format!("unknown key `{}` in this file", k.get_ref()),
                        )
                        .with_help(format!("this file holds only `{item_key} = [ ... ]`")),
                    );
                }
            }
            let items = match table.remove(*item_key) {
                None => {
                    errors.push(
                        Diagnostic::error(
                            Some(doc_span.start..doc_span.start),
                            format!("missing `{item_key}`"),
                        )
                        .with_help(format!(
                            "write `{item_key} = [ ... ]`, e.g. {item_key} = [ {{ to = \"10.0.0.0/8\", via = \"192.168.1.1\" }} ]"
                        )),
                    );
                    Vec::new()
                }
                Some(v) => {
                    let span = v.span();
                    match v.into_inner() {
                        DeValue::Array(items) => items.into_iter().collect(),
                        other => {
                            errors.push(
                                Diagnostic::error(
                                    Some(span),
                                    format!(
                                        "`{item_key}` must be an array, not {}",
                                        other.type_str()
                                    ),
                                )
                                .with_help(format!("write `{item_key} = [ ... ]`")),
                            );
                            Vec::new()
                        }
                    }
                }
            };
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(Parsed::Append(
                to.clone(),
                items.into_iter().map(|v| shift(v, at)).collect(),
            ))
        }
    }
}

fn apply<'a>(root: &mut DeTable<'a>, edit: Parsed<'a>) {
    match edit {
        Parsed::Merge(patch) => merge(root, patch),
        Parsed::Set(keys, value) => {
            if let Some(slot) = slot(root, &keys, value.span()) {
                *slot = value;
            }
        }
        Parsed::Append(keys, items) => {
            let Some(span) = items.first().map(Spanned::span) else {
                return;
            };
            let Some(slot) = slot(root, &keys, span.clone()) else {
                return;
            };
            if !matches!(slot.get_ref(), DeValue::Array(_)) {
                *slot = Spanned::new(span, DeValue::Array(DeArray::new()));
            }
            if let DeValue::Array(array) = slot.get_mut() {
                for item in items {
                    array.push(item);
                }
            }
        }
    }
}

/// Tables merge key by key; anything else in the patch replaces what the lab had. Keys keep
/// their place in the lab's order (node and interface order are meaningful), new keys
/// come after them.
fn merge<'a>(base: &mut DeTable<'a>, mut patch: DeTable<'a>) {
    let old = std::mem::take(base);
    for (key, value) in old {
        let Some((pkey, pvalue)) = patch.remove_entry(key.get_ref().as_ref()) else {
            base.insert(key, value);
            continue;
        };
        match (into_table(value), into_table(pvalue)) {
            (Ok((span, mut table)), Ok((_, p))) => {
                merge(&mut table, p);
                base.insert(key, Spanned::new(span, DeValue::Table(table)));
            }
            (_, Ok((pspan, p))) => {
                base.insert(pkey, Spanned::new(pspan, DeValue::Table(p)));
            }
            (_, Err(pvalue)) => {
                base.insert(pkey, pvalue);
            }
        }
    }
    for (key, value) in patch {
        base.insert(key, value);
    }
}

type SpannedTable<'a> = (Range<usize>, DeTable<'a>);

fn into_table(v: Spanned<DeValue<'_>>) -> Result<SpannedTable<'_>, Spanned<DeValue<'_>>> {
    let span = v.span();
    match v.into_inner() {
        DeValue::Table(t) => Ok((span, t)),
        other => Err(Spanned::new(span, other)),
    }
}

/// The value at `keys`, created (as empty tables on the way) when missing. A value in the
/// way that is not a table is replaced: the caller is about to set what is below it.
fn slot<'s, 'a>(
    table: &'s mut DeTable<'a>,
    keys: &[String],
    span: Range<usize>,
) -> Option<&'s mut Spanned<DeValue<'a>>> {
    let (first, rest) = keys.split_first()?;
    let key = Spanned::new(span.clone(), Cow::Owned(first.clone()));
    let entry = table
        .entry(key)
        .or_insert_with(|| Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
    if rest.is_empty() {
        return Some(entry);
    }
    if !matches!(entry.get_ref(), DeValue::Table(_)) {
        *entry = Spanned::new(span.clone(), DeValue::Table(DeTable::new()));
    }
    match entry.get_mut() {
        DeValue::Table(t) => slot(t, rest, span),
        _ => None,
    }
}

fn shift(v: Spanned<DeValue<'_>>, by: usize) -> Spanned<DeValue<'_>> {
    let span = v.span();
    let value = match v.into_inner() {
        DeValue::Table(t) => DeValue::Table(shift_table(t, by)),
        DeValue::Array(items) => {
            let mut out = DeArray::new();
            for item in items {
                out.push(shift(item, by));
            }
            DeValue::Array(out)
        }
        other => other,
    };
    Spanned::new(span.start + by..span.end + by, value)
}

fn shift_table(t: DeTable<'_>, by: usize) -> DeTable<'_> {
    let mut out = DeTable::new();
    for (k, v) in t {
        let span = k.span();
        out.insert(
            Spanned::new(span.start + by..span.end + by, k.into_inner()),
            shift(v, by),
        );
    }
    out
}

fn shift_diag(mut d: Diagnostic, by: usize) -> Diagnostic {
    d.span = d.span.map(|s| s.start + by..s.end + by);
    d
}

/// The joined path shown for a lab with additions: "lab.toml + fix.patch.toml".
pub fn label(base: &Path, additions: &[PathBuf]) -> String {
    let mut s = base.display().to_string();
    for a in additions {
        s.push_str(" + ");
        s.push_str(&a.display().to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = r#"name = "p"

[nodes.a]
routes = [{ to = "default", via = "10.0.0.2" }]
exec = ["true"]

[nodes.b]
forward = true

[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
"#;

    fn compose_text(additions: &[(&str, &str, Edit)]) -> Loaded {
        compose(
            SourceFile::new("lab.toml", LAB),
            additions
                .iter()
                .map(|(path, text, edit)| Addition {
                    file: SourceFile::new(*path, *text),
                    edit: edit.clone(),
                })
                .collect(),
        )
    }

    fn lab_of(l: Loaded) -> crate::front::lab::Lab {
        let errors = l.render(false);
        l.lab.unwrap_or_else(|| panic!("{errors}"))
    }

    fn node_keys(node: &str, key: &str) -> Vec<String> {
        vec!["nodes".into(), node.into(), key.into()]
    }

    #[test]
    fn tables_merge_and_arrays_are_replaced() {
        let l = compose_text(&[(
            "x.patch.toml",
            "[nodes.b]\nforward = false\n[nodes.a]\nroutes = []\n[nodes.c]\n",
            Edit::Merge { locked: &[] },
        )]);
        let lab = lab_of(l);
        let names: Vec<_> = lab.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b", "c"],
            "node order is the lab's, new ones last"
        );
        assert!(lab.nodes[0].routes.is_empty());
        assert_eq!(lab.nodes[0].exec, ["true"]);
        assert_eq!(lab.nodes[1].forward, Some(false));
    }

    #[test]
    fn errors_point_into_the_patch() {
        let l = compose_text(&[(
            "x.patch.toml",
            "# comment\n[nodes.a]\nroutes = [{ to = \"default\", via = \"10.0.0.300\" }]\nfrward = true\n",
            Edit::Merge { locked: &[] },
        )]);
        assert!(l.lab.is_none());
        let out = l.render(false);
        assert!(out.contains("x.patch.toml:3:"), "{out}");
        assert!(
            out.contains("x.patch.toml:4:1: error: unknown key `frward`"),
            "{out}"
        );
        assert!(out.contains("did you mean `forward`?"), "{out}");
        assert!(!out.contains("lab.toml:"), "{out}");
    }

    #[test]
    fn syntax_errors_point_into_the_patch() {
        let l = compose_text(&[("x.patch.toml", "\n[nodes.a\n", Edit::Merge { locked: &[] })]);
        let out = l.render(false);
        assert!(out.starts_with("x.patch.toml:2:"), "{out}");
    }

    /// A patch that moves a's link to a node that does not exist: each of a's ten routes
    /// through eth0 is an error in the lab, written before the patch; the patch's own
    /// error, their cause, comes first.
    #[test]
    fn a_broken_patchs_cause_comes_before_what_follows_from_it() {
        let mut lab = String::from("name = \"p\"\n[nodes.a]\nroutes = [\n");
        for i in 0..10 {
            lab.push_str(&format!(
                "  {{ to = \"10.9.{i}.0/24\", dev = \"eth0\" }},\n"
            ));
        }
        lab.push_str("]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\n");
        let l = compose(
            SourceFile::new("lab.toml", lab),
            vec![Addition {
                file: SourceFile::new(
                    "x.patch.toml",
                    "links = [{ endpoints = [\"a:eth1\", \"c:eth0\"] }]\n",
                ),
                edit: Edit::Merge { locked: &[] },
            }],
        );
        let out = l.render(false);
        assert!(out.starts_with("x.patch.toml:1:"), "{out}");
        assert!(out.matches("lab.toml:").count() >= 10, "{out}");
    }

    #[test]
    fn errors_in_the_lab_still_point_into_the_lab() {
        let l = compose_text(&[(
            "x.patch.toml",
            "[nodes.a.interfaces.eth0]\nmtu = 50\n",
            Edit::Merge { locked: &[] },
        )]);
        let out = l.render(false);
        assert!(out.contains("x.patch.toml:2:7"), "{out}");
        let l = compose(
            SourceFile::new("lab.toml", LAB.replace("10.0.0.2\" }", "10.0.0.999\" }")),
            vec![Addition {
                file: SourceFile::new("y.patch.toml", "[nodes.b]\n"),
                edit: Edit::Merge { locked: &[] },
            }],
        );
        let out = l.render(false);
        assert!(out.starts_with("lab.toml:4:"), "{out}");
    }

    #[test]
    fn routes_files_append_and_report_stray_keys() {
        let l = compose_text(&[(
            "routes.toml",
            "routes = [{ to = \"192.168.0.0/16\", via = \"10.0.0.2\" }]\n",
            Edit::AppendItems {
                item_key: "routes",
                to: node_keys("a", "routes"),
            },
        )]);
        let lab = lab_of(l);
        assert_eq!(lab.nodes[0].routes.len(), 2);

        let l = compose_text(&[(
            "routes.toml",
            "routs = []\n",
            Edit::AppendItems {
                item_key: "routes",
                to: node_keys("a", "routes"),
            },
        )]);
        let out = l.render(false);
        assert!(
            out.contains("routes.toml:1:1: error: unknown key `routs`"),
            "{out}"
        );
        assert!(
            out.contains("routes.toml:1:1: error: missing `routes`"),
            "{out}"
        );

        let l = compose_text(&[(
            "routes.toml",
            "routes = [\n  { to = \"192.168.0.0/16\", vai = \"10.0.0.2\" },\n]\n",
            Edit::AppendItems {
                item_key: "routes",
                to: node_keys("b", "routes"),
            },
        )]);
        let out = l.render(false);
        assert!(out.contains("routes.toml:2:"), "{out}");
        assert!(out.contains("unknown key `vai`"), "{out}");
    }

    #[test]
    fn exec_lines_and_nft_text() {
        let l = compose_text(&[
            (
                "setup.sh",
                "# fix it\nip link set eth0 mtu 1400\n\n  sysctl -w net.ipv4.ip_forward=1\n",
                Edit::AppendLines(node_keys("b", "exec")),
            ),
            (
                "fw.nft",
                "table inet f {}\n",
                Edit::Text(node_keys("a", "nft")),
            ),
        ]);
        let lab = lab_of(l);
        assert_eq!(
            lab.nodes[1].exec,
            [
                "ip link set eth0 mtu 1400",
                "  sysctl -w net.ipv4.ip_forward=1"
            ]
        );
        assert_eq!(lab.nodes[0].nft.as_deref(), Some("table inet f {}\n"));
    }

    #[test]
    fn locked_keys_cannot_be_patched() {
        let l = compose_text(&[(
            "sub.patch.toml",
            "[nodes.b]\nforward = true\n\n[[checks]]\nfrom = \"a\"\nping = \"10.0.0.2\"\n",
            Edit::Merge {
                locked: &["checks", "steps"],
            },
        )]);
        let out = l.render(false);
        assert!(
            out.starts_with("sub.patch.toml:4:3: error: this file may not change `checks`"),
            "{out}"
        );
    }

    #[test]
    fn patch_files_are_named_so() {
        assert!(is_patch_file(Path::new("x/fix.patch.toml")));
        assert!(!is_patch_file(Path::new("x/fix.toml")));
    }
}
