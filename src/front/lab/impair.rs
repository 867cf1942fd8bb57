//! A validated impairment (rate, delay, loss) of an interface or of both ends of a link.

use std::time::Duration;

/// Impairment of one egress: netem parameters, and/or a tbf rate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Impairment {
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    /// Percentages, 0..=100.
    pub loss: Option<f64>,
    pub duplicate: Option<f64>,
    pub reorder: Option<f64>,
    pub corrupt: Option<f64>,
    /// Bits per second.
    pub rate: Option<u64>,
}

impl Impairment {
    /// Whether netem is needed (anything but a bare rate, which tbf does).
    pub fn needs_netem(&self) -> bool {
        self.delay.is_some()
            || self.jitter.is_some()
            || self.loss.is_some()
            || self.duplicate.is_some()
            || self.reorder.is_some()
            || self.corrupt.is_some()
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.delay {
            parts.push(format!("delay {}", super::step::fmt_duration(d)));
        }
        if let Some(j) = self.jitter {
            parts.push(format!("jitter {}", super::step::fmt_duration(j)));
        }
        for (name, v) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name} {v}%"));
            }
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate {r}bit"));
        }
        parts.join(" ")
    }
}

/// An impairment on a link: both egresses, or only the egress of end `side`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkImpairment {
    pub side: Option<usize>,
    pub impairment: Impairment,
}
