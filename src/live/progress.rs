//! The live progress line on a terminal: elapsed time, messages per second, p99 of the last
//! interval, failures. Drawn on stderr when it is a TTY; logged once a second at info level
//! otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::run::Live;
use crate::units::{human_us, Rate};

/// A running progress line (or log); dropped or [`Progress::finish`]ed when the run ends.
pub struct Progress {
    task: tokio::task::JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts the line when stderr is a terminal and `enabled`. Otherwise, with `KBENCH_LOG` at
    /// info for kbench, it logs a progress line a second instead (CI logs, and what a test waits
    /// for before it interrupts a run).
    pub fn start(live: Live, enabled: bool) -> Option<Progress> {
        if !(enabled && std::io::stderr().is_terminal()) {
            if !tracing::enabled!(target: "kbench", tracing::Level::INFO) {
                return None;
            }
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    tracing::info!(target: "kbench", "progress: {}", line(&live, None));
                }
            });
            return Some(Progress { task, bar: None });
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
                b.set_message(line(&live, Some(rate)));
                b.tick();
            }
        });
        Some(Progress {
            task,
            bar: Some(bar),
        })
    }

    pub fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// "sent N  acked N  R msg/s  p99 T  failed N" (the rate when known).
fn line(live: &Live, rate: Option<f64>) -> String {
    let p99 = live
        .recent_p99_us()
        .map_or("-".into(), |v| human_us(v as f64));
    let rate = rate.map_or(String::new(), |r| format!("  {} msg/s", Rate::human(r)));
    format!(
        "sent {}  acked {}{rate}  p99 {}  failed {}",
        live.sent(),
        live.acked(),
        p99,
        live.failed()
    )
}
