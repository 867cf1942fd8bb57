//! Lab file text and the map from TOML paths to byte spans, so that every later stage can
//! point at the exact key or value it complains about.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// One segment of a path into the TOML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into the document, e.g. `links[2].addresses[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TomlPath(pub Vec<Seg>);

impl TomlPath {
    pub fn root() -> Self {
        TomlPath(Vec::new())
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        TomlPath(segs)
    }

    pub fn idx(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        TomlPath(segs)
    }

    pub fn parent(&self) -> Option<TomlPath> {
        if self.0.is_empty() {
            None
        } else {
            Some(TomlPath(self.0[..self.0.len() - 1].to_vec()))
        }
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

/// Renders the path the way a lab author would find it in the file.
impl fmt::Display for TomlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the top level");
        }
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    if k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                        && !k.is_empty()
                    {
                        f.write_str(k)?;
                    } else {
                        write!(f, "\"{k}\"")?;
                    }
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Spans {
    key: Option<Range<usize>>,
    value: Range<usize>,
}

/// Where every key and value of a document sits in its text.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    spans: HashMap<TomlPath, Spans>,
}

impl SpanMap {
    pub fn build(root: &DeTable<'_>) -> SpanMap {
        let mut map = SpanMap::default();
        map.walk_table(&TomlPath::root(), root);
        map
    }

    fn walk_table(&mut self, at: &TomlPath, table: &DeTable<'_>) {
        for (k, v) in table.iter() {
            let path = at.key(k.get_ref().as_ref());
            self.spans.insert(
                path.clone(),
                Spans {
                    key: Some(k.span()),
                    value: v.span(),
                },
            );
            self.walk_value(&path, v.get_ref());
        }
    }

    fn walk_value(&mut self, at: &TomlPath, value: &DeValue<'_>) {
        match value {
            DeValue::Table(t) => self.walk_table(at, t),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = at.idx(i);
                    self.spans.insert(
                        path.clone(),
                        Spans {
                            key: None,
                            value: item.span(),
                        },
                    );
                    self.walk_value(&path, item.get_ref());
                }
            }
            _ => {}
        }
    }

    /// Span of the value at `path`, or of its nearest ancestor that is written in the file
    /// (a missing key is best shown at the table that lacks it).
    pub fn value(&self, path: &TomlPath) -> Option<Range<usize>> {
        let mut p = Some(path.clone());
        while let Some(cur) = p {
            if let Some(s) = self.spans.get(&cur) {
                return Some(s.value.clone());
            }
            p = cur.parent();
        }
        None
    }

    /// Span of the key at `path` (falls back to the value span, e.g. for array items).
    pub fn key(&self, path: &TomlPath) -> Option<Range<usize>> {
        match self.spans.get(path) {
            Some(Spans { key: Some(k), .. }) => Some(k.clone()),
            _ => self.value(path),
        }
    }

    /// The deepest path whose value is written exactly at `span` (a `[[table]]` header is
    /// the span of both the array and its first item).
    pub fn path_at(&self, span: &Range<usize>) -> Option<TomlPath> {
        self.spans
            .iter()
            .filter(|(_, s)| s.value == *span)
            .map(|(p, _)| p)
            .max_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| b.cmp(a)))
            .cloned()
    }

    pub fn contains(&self, path: &TomlPath) -> bool {
        self.spans.contains_key(path)
    }
}

/// The text of one lab file, with line lookup for diagnostics.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// For a document assembled from several files (a lab and the patches merged into
    /// it): each file and where its text starts in `text`.
    parts: Vec<(usize, SourceFile)>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path: path.into(),
            text,
            line_starts,
            parts: Vec::new(),
        }
    }

    /// One document made of several files, one after the other (separated by a newline).
    /// Spans index the joined text, so that a merged document can be validated like a
    /// single file; `locate` finds the file a span was written in, for diagnostics.
    pub fn concat(path: impl Into<PathBuf>, files: Vec<SourceFile>) -> SourceFile {
        let mut text = String::new();
        let mut parts = Vec::new();
        for f in files {
            if !text.is_empty() {
                text.push('\n');
            }
            parts.push((text.len(), f.clone()));
            text.push_str(&f.text);
        }
        let mut joined = SourceFile::new(path, text);
        joined.parts = parts;
        joined
    }

    /// Where the text at `span` of a joined document was written: the file and the span in
    /// it. None for a plain file.
    pub fn locate(&self, span: &Range<usize>) -> Option<(&SourceFile, Range<usize>)> {
        let (offset, file) = self
            .parts
            .iter()
            .rev()
            .find(|(offset, _)| *offset <= span.start)?;
        let start = span.start - offset;
        let end = (span.end - offset).min(file.text.len()).max(start);
        Some((file, start..end))
    }

    /// Where the part `index` of a joined document starts in its text.
    pub fn part_offset(&self, index: usize) -> Option<usize> {
        self.parts.get(index).map(|(o, _)| *o)
    }

    /// The file, or an error that names the line and column of its first byte that is
    /// not UTF-8.
    pub fn read(path: &Path) -> std::io::Result<SourceFile> {
        let (file, bad) = SourceFile::read_lossy(path)?;
        match bad {
            None => Ok(file),
            Some((at, byte)) => {
                let (line, col) = file.line_col(at);
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{line}:{col}: {}", invalid_utf8_message(byte)),
                ))
            }
        }
    }

    /// The file with any invalid UTF-8 replaced by U+FFFD, and the byte offset and value of
    /// the first invalid byte (the same offset in the replaced text: everything before it
    /// is intact).
    pub fn read_lossy(path: &Path) -> std::io::Result<(SourceFile, Option<(usize, u8)>)> {
        let bytes = std::fs::read(path)?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok((SourceFile::new(path, text), None)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let byte = e.as_bytes()[at];
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                Ok((SourceFile::new(path, text), Some((at, byte))))
            }
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, col + 1)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self
            .line_starts
            .get(line - 1)
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    pub fn display_path(&self) -> String {
        self.path.display().to_string()
    }
}

/// What is wrong at the first invalid byte of a file read with `read_lossy`.
pub fn invalid_utf8_message(byte: u8) -> String {
    format!("invalid UTF-8 (byte 0x{byte:02x}): a lab file is UTF-8 text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located_at_its_first_bad_byte() {
        let path = std::env::temp_dir().join(format!("topolab-utf8-{}.toml", std::process::id()));
        std::fs::write(&path, b"name = \"x\"\n[nodes.h\xe9]\n").expect("write");
        let e = SourceFile::read(&path).expect_err("not UTF-8");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            e.to_string().starts_with("2:9: invalid UTF-8 (byte 0xe9)"),
            "{e}"
        );
        let (file, at) = SourceFile::read_lossy(&path).expect("read");
        assert_eq!(at, Some((19, 0xe9)));
        assert_eq!(file.line_col(19), (2, 9));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn line_and_column_are_one_based() {
        let f = SourceFile::new("x.toml", "a = 1\nbb = 2\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        assert_eq!(f.line_col(9), (2, 4));
        assert_eq!(f.line_text(2), "bb = 2");
    }

    #[test]
    fn joined_documents_locate_spans_in_their_files() {
        let a = SourceFile::new("a.toml", "name = \"x\"\n");
        let b = SourceFile::new("b.patch.toml", "x = 1\ny = 2\n");
        let j = SourceFile::concat("b.patch.toml", vec![a, b]);
        let at = j.part_offset(1).unwrap();
        assert_eq!(&j.text[at..at + 5], "x = 1");
        let (f, span) = j.locate(&(at + 6..at + 11)).unwrap();
        assert_eq!(f.display_path(), "b.patch.toml");
        assert_eq!(f.line_col(span.start), (2, 1));
        let (f, span) = j.locate(&(0..4)).unwrap();
        assert_eq!((f.display_path(), span), ("a.toml".to_string(), 0..4));
        assert!(SourceFile::new("c", "").locate(&(0..1)).is_none());
    }

    #[test]
    fn spans_follow_nested_paths() {
        let text = "name = \"x\"\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\n";
        let doc = DeTable::parse(text).unwrap();
        let map = SpanMap::build(doc.get_ref());
        let p = TomlPath::root().key("links").idx(0).key("endpoints").idx(1);
        let span = map.value(&p).unwrap();
        assert_eq!(&text[span], "\"b:e\"");
        assert_eq!(p.to_string(), "links[0].endpoints[1]");
    }
}
