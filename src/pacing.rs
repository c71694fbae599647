//! When each message is due, and when a worker stops.
//!
//! At a fixed rate R over W workers, worker `w` sends its message `i` at
//! `t0 + w/R + i*W/R` (the workers interleave into one even schedule). This is open-loop pacing:
//! the schedule never waits for the broker. A worker that falls behind sends at once and keeps the
//! schedule: it never skips a message and never resets its clock, so a stall shows up as send lag
//! and corrected latency instead of silently lowering the offered rate.
//!
//! Timers: workers sleep on tokio's timer, which wakes at millisecond granularity; messages that
//! fall due within the same millisecond go out together. That lateness is measured (send lag) and
//! is part of corrected latency, never of service latency.

use std::time::{Duration, Instant};

use crate::scenario::StopCondition;
use crate::units::Rate;

/// The run's monotonic clock; all instants are offsets from `t0`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    t0: Instant,
}

impl Clock {
    pub fn start() -> Self {
        Clock { t0: Instant::now() }
    }
    pub fn starting_at(t0: Instant) -> Self {
        Clock { t0 }
    }
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64
    }
    #[inline]
    pub fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }
    pub fn instant_at_ns(&self, ns: u64) -> Instant {
        self.t0 + Duration::from_nanos(ns)
    }
}

/// The send schedule of one worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Send as fast as the client accepts: a message is due when it is sent.
    Unlimited,
    /// Message `i` is due at `offset_ns + i * interval_ns`.
    Fixed { offset_ns: f64, interval_ns: f64 },
}

impl Pacing {
    pub fn for_worker(rate: Rate, workers: u32, worker: u32) -> Self {
        match rate.per_sec() {
            None => Pacing::Unlimited,
            Some(r) => Pacing::Fixed {
                offset_ns: worker as f64 * 1e9 / r,
                interval_ns: workers as f64 * 1e9 / r,
            },
        }
    }

    /// The due instant of the worker's message `i`, or `None` when unpaced.
    #[inline]
    pub fn due_ns(&self, i: u64) -> Option<u64> {
        match *self {
            Pacing::Unlimited => None,
            Pacing::Fixed {
                offset_ns,
                interval_ns,
            } => Some((offset_ns + i as f64 * interval_ns) as u64),
        }
    }
}

/// When one worker stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerStop {
    /// After this many measured messages.
    Count(u64),
    /// When the next message would be due (or, unpaced, the clock reads) at or after this instant.
    Until { end_ns: u64 },
}

/// Everything a worker needs to know about time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerPlan {
    pub pacing: Pacing,
    pub stop: WorkerStop,
    /// Messages due before this instant are warm-up traffic.
    pub warmup_end_ns: u64,
}

impl WorkerPlan {
    pub fn new(
        rate: Rate,
        stop: StopCondition,
        warmup: Duration,
        workers: u32,
        worker: u32,
    ) -> Self {
        let warmup_end_ns = warmup.as_nanos() as u64;
        let stop = match stop {
            StopCondition::Count(n) => WorkerStop::Count(share(n, workers, worker)),
            StopCondition::Duration(d) => WorkerStop::Until {
                end_ns: warmup_end_ns + d.as_nanos() as u64,
            },
        };
        WorkerPlan {
            pacing: Pacing::for_worker(rate, workers, worker),
            stop,
            warmup_end_ns,
        }
    }
}

/// Worker `w`'s share of `n` messages split over `workers`: the shares differ by at most one.
pub fn share(n: u64, workers: u32, worker: u32) -> u64 {
    let w = workers as u64;
    n / w + u64::from((worker as u64) < n % w)
}

/// Messages a run sends in total, warm-up included, when that is known in advance.
pub fn planned_messages(rate: Rate, stop: StopCondition, warmup: Duration) -> Option<u64> {
    let warm = rate
        .per_sec()
        .map(|r| (r * warmup.as_secs_f64()).ceil() as u64);
    match (stop, rate.per_sec()) {
        (StopCondition::Count(n), _) => Some(n + warm.unwrap_or(0)),
        (StopCondition::Duration(d), Some(r)) => {
            Some((r * (d + warmup).as_secs_f64()).ceil() as u64)
        }
        (StopCondition::Duration(_), None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_interleave_into_one_even_schedule() {
        let rate = Rate::PerSec(1000.0);
        let mut dues: Vec<u64> = (0..4)
            .flat_map(|w| {
                let p = Pacing::for_worker(rate, 4, w);
                (0..250).map(move |i| p.due_ns(i).unwrap())
            })
            .collect();
        dues.sort_unstable();
        for (i, d) in dues.iter().enumerate() {
            assert_eq!(*d, i as u64 * 1_000_000, "message {i}");
        }
    }

    #[test]
    fn schedule_does_not_drift() {
        let p = Pacing::for_worker(Rate::PerSec(3.0), 1, 0);
        // 3/s for an hour: message 10800 is due at exactly 3600 s (float error < 1 µs).
        let due = p.due_ns(10_800).unwrap();
        assert!(due.abs_diff(3_600_000_000_000) < 1_000, "{due}");
        assert_eq!(Pacing::for_worker(Rate::Max, 2, 1).due_ns(5), None);
    }

    #[test]
    fn shares_add_up() {
        for n in [0u64, 1, 7, 100, 1_000_003] {
            for w in 1..=7u32 {
                let total: u64 = (0..w).map(|i| share(n, w, i)).sum();
                assert_eq!(total, n, "n={n} w={w}");
            }
        }
    }

    #[test]
    fn plans_stop_and_warmup() {
        let d = Duration::from_secs(10);
        let w = Duration::from_secs(2);
        let plan = WorkerPlan::new(Rate::PerSec(100.0), StopCondition::Duration(d), w, 2, 0);
        assert_eq!(
            plan.stop,
            WorkerStop::Until {
                end_ns: 12_000_000_000
            }
        );
        assert_eq!(plan.warmup_end_ns, 2_000_000_000);
        let plan = WorkerPlan::new(Rate::Max, StopCondition::Count(11), w, 2, 0);
        assert_eq!(plan.stop, WorkerStop::Count(6));
        assert_eq!(
            planned_messages(Rate::PerSec(100.0), StopCondition::Duration(d), w),
            Some(1200)
        );
        assert_eq!(
            planned_messages(Rate::Max, StopCondition::Duration(d), w),
            None
        );
    }
}
