//! Network sysctls. `/proc/sys/net` shows the namespace of the thread that opens it, so
//! these functions must run on a thread inside the target namespace (see `netns::Workers`).

use std::io;
use std::path::PathBuf;

fn path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

pub fn write(key: &str, value: &str) -> io::Result<()> {
    std::fs::write(path(key), value.as_bytes()).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no sysctl `{key}` in this kernel"),
            )
        } else {
            e
        }
    })
}

pub fn read(key: &str) -> io::Result<String> {
    Ok(std::fs::read_to_string(path(key))?.trim().to_string())
}
