//! Kernel images: which release an image is (from its boot header, so any file name
//! works), where its modules must be, and which image to use by default.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The release string of an x86 bzImage ("6.1.0-56-amd64"), read from the setup header:
/// "HdrS" at 0x202, and at 0x20e the offset (minus 0x200) of the version string.
pub fn release(image: &Path) -> std::io::Result<Option<String>> {
    let mut f = std::fs::File::open(image)?;
    let mut head = [0u8; 0x210];
    if f.read_exact(&mut head).is_err() || &head[0x202..0x206] != b"HdrS" {
        return Ok(None);
    }
    let offset = u64::from(u16::from_le_bytes([head[0x20e], head[0x20f]])) + 0x200;
    let mut text = [0u8; 128];
    f.seek(SeekFrom::Start(offset))?;
    let n = f.read(&mut text)?;
    let version = text[..n]
        .split(|b| *b == 0 || *b == b' ')
        .next()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| !v.is_empty() && v.chars().next().is_some_and(|c| c.is_ascii_digit()));
    Ok(version)
}

/// Where the guest will look for the image's modules: the host's root filesystem is the
/// guest's, so they must be installed on the host (Debian: the linux-image package).
pub fn modules_dir(release: &str) -> PathBuf {
    Path::new("/lib/modules").join(release)
}

/// The kernel image to use when none is given: `TOPOLAB_TEST_KERNEL`, else the newest
/// /boot/vmlinuz-* whose modules are installed.
pub fn default_kernel() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("TOPOLAB_TEST_KERNEL").filter(|k| !k.is_empty()) {
        return Some(PathBuf::from(k));
    }
    // (version, release, image): sorted, the last is the newest.
    type Candidate = (Option<(u32, u32)>, String, PathBuf);
    let mut found: Vec<Candidate> = std::fs::read_dir("/boot")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = name.strip_prefix("vmlinuz-")?.to_string();
            modules_dir(&rel)
                .join("modules.dep")
                .exists()
                .then(|| (crate::kernel::features::parse_version(&rel), rel, e.path()))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, _, p)| p)
}
