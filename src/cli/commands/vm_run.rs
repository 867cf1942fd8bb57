//! `topolab vm-run`: run a topolab command inside a full kernel under qemu.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Exit, Result};
use crate::vm;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kernel image to boot (default: $TOPOLAB_TEST_KERNEL, else the newest
    /// /boot/vmlinuz-* with its modules installed).
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// Another host directory the guest may write (the current one always is).
    #[arg(long = "rw", value_name = "DIR")]
    pub writable: Vec<PathBuf>,
    /// Guest memory, e.g. 1G.
    #[arg(long, default_value = "1G")]
    pub memory: String,
    /// Give up on the VM after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// The topolab command to run in the VM, after `--`.
    #[arg(last = true, required = true, value_name = "ARGS")]
    pub args: Vec<OsString>,
}

/// Run topolab in a VM and exit with its status.
pub fn run(args: Args) -> Result<Exit> {
    let kernel = args.kernel.or_else(vm::image::default_kernel).ok_or_else(|| {
        Error::env(
            "no kernel image: pass --kernel PATH or install one (Debian: apt-get install linux-image-amd64)",
        )
    })?;
    let mut machine = vm::Vm::new(&kernel);
    machine.writable.extend(args.writable);
    machine.memory = args.memory;
    machine.timeout = args.timeout.map(Duration::from_secs);
    let status = vm::run(&machine, &args.args)?;
    let code = status.code().unwrap_or(1);
    match Exit::from_code(code) {
        Some(exit) => Ok(exit),
        // Not one of ours (a panic is 101): pass it on unchanged.
        None => std::process::exit(code),
    }
}
