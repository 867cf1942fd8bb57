//! Compiles the drop tracer's eBPF program (src/kernel/drops/bpf/drops.bpf.c) with clang.
//!
//! Without clang (or the libbpf headers) topolab still builds: the object is left empty
//! and the tracer reports at run time that eBPF is unavailable, so drops are explained
//! from counters instead. `ci/setup.sh` installs both.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "src/kernel/drops/bpf/drops.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let obj = out.join("drops.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let arch_include = format!(
        "/usr/include/{}-linux-gnu",
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into())
    );
    let status = Command::new(&clang)
        .args(["-target", "bpf", "-O2", "-g", "-Wall", "-I"])
        .arg(&arch_include)
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&obj)
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            println!(
                "cargo:warning=the eBPF drop tracer was not compiled ({clang}: {other:?}); \
                 drops will be explained from counters only. Run ci/setup.sh to install clang and libbpf-dev."
            );
            std::fs::write(&obj, []).expect("writing an empty eBPF object");
        }
    }
}
