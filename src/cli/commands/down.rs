//! `topolab down`: stop a lab started by `up` (or all of them) and wait until it is gone.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::error::{Error, Exit, Result};
use crate::supervisor::instance;
use crate::supervisor::protocol::{self, Request, Response};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance id or lab name (see `topolab ls`).
    #[arg(required_unless_present = "all")]
    pub lab: Option<String>,
    /// Take every running lab down.
    #[arg(long, conflicts_with = "lab")]
    pub all: bool,
}

pub fn run(args: Args) -> Result<Exit> {
    let dir = instance::runtime_dir();
    let targets: Vec<instance::State> = if args.all {
        instance::list(&dir)?
            .into_iter()
            .filter(|(_, alive)| *alive)
            .map(|(s, _)| s)
            .collect()
    } else {
        vec![instance::find(
            &dir,
            args.lab.as_deref().unwrap_or_default(),
        )?]
    };
    for state in targets {
        down(&dir, &state)?;
        println!("lab `{}` is down", state.id);
    }
    Ok(Exit::Pass)
}

/// Ask the supervisor to go down and wait until it has (its socket stops answering).
pub fn down(dir: &std::path::Path, state: &instance::State) -> Result<()> {
    let path = instance::socket_path(dir, &state.id);
    let conn = UnixStream::connect(&path).map_err(|e| {
        Error::env(format!(
            "cannot reach the supervisor of `{}`: {e}",
            state.id
        ))
    })?;
    protocol::send(&conn, &Request::Down, &[])
        .map_err(|e| Error::env(format!("supervisor: {e}")))?;
    let _: (Response, _) =
        protocol::recv(&conn).map_err(|e| Error::env(format!("supervisor: {e}")))?;
    // The supervisor removes its files and exits; wait for that so a following `up` or
    // `ls` sees a consistent picture.
    let deadline = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(&path).is_ok() || instance::state_path(dir, &state.id).exists() {
        if Instant::now() > deadline {
            return Err(Error::env(format!(
                "the supervisor of `{}` did not exit; `topolab clean` removes it",
                state.id
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
