//! All-pairs reachability: every cell probed once, concurrently; one table per matrix.

use std::net::SocketAddr;
use std::time::Instant;

use crate::engine::LiveLab;
use crate::lab::{Matrix, MatrixProbe, Probe};
use crate::results::{MatrixCell, MatrixResult, Observed};

pub async fn run(live: &LiveLab, m: &Matrix) -> MatrixResult {
    let start = Instant::now();
    let cells = futures::future::join_all(m.pairs.iter().map(|p| async move {
        let probe = match m.probe {
            MatrixProbe::Ping => Probe::Ping {
                dst: p.addr,
                count: 1,
                size: 56,
                dont_fragment: false,
                ttl: None,
                source: None,
            },
            MatrixProbe::Tcp(port) => Probe::Tcp {
                dst: SocketAddr::new(p.addr, port),
                ttl: None,
                source: None,
                send: None,
            },
        };
        let r = crate::probe::run(live.node_ns(p.from).fd(), &probe, m.timeout).await;
        let (observed, error) = match r {
            Ok(o) => (Some(Observed::from(&o)), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let passed = observed.as_ref().is_some_and(|o| o.outcome == p.expect);
        MatrixCell {
            from: live.lab.node(p.from).name.clone(),
            to: p.to.clone(),
            addr: p.addr,
            expected: p.expect,
            observed,
            error,
            passed,
        }
    }))
    .await;
    let probe = match m.probe {
        MatrixProbe::Ping => "ping".to_string(),
        MatrixProbe::Tcp(p) => format!("tcp:{p}"),
    };
    MatrixResult {
        name: m.name.clone(),
        probe,
        passed: cells.iter().all(|c| c.passed),
        cells,
        duration: start.elapsed(),
    }
}
