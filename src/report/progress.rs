//! The live progress line on a terminal: elapsed time, messages per second, p99 of the last
//! interval, failures. Drawn on stderr only when it is a TTY.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::run::Live;
use crate::units::{human_us, Rate};

/// A running progress line; dropped or [`Progress::finish`]ed when the run ends.
pub struct Progress {
    task: tokio::task::JoinHandle<()>,
    bar: ProgressBar,
}

impl Progress {
    /// Starts the line when stderr is a terminal and `enabled`.
    pub fn start(live: Live, enabled: bool) -> Option<Progress> {
        if !enabled || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let b = bar.clone();
        let task = tokio::spawn(async move {
            let mut last = (0u64, std::time::Instant::now());
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let acked = live.acked();
                let now = std::time::Instant::now();
                let rate = (acked - last.0) as f64 / now.duration_since(last.1).as_secs_f64();
                last = (acked, now);
                let p99 = live
                    .recent_p99_us()
                    .map_or("-".into(), |v| human_us(v as f64));
                b.set_message(format!(
                    "sent {}  acked {}  {} msg/s  p99 {}  failed {}",
                    live.sent(),
                    acked,
                    Rate::human(rate),
                    p99,
                    live.failed()
                ));
                b.tick();
            }
        });
        Some(Progress { task, bar })
    }

    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
