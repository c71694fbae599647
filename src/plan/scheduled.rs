//! How many messages the plan makes due in the warm-up and in the measured window: the plan's
//! side of the accounting identity `scheduled == sent + unsent`, whose other side the workers
//! count themselves while they send.
//!
//! Worker `w` of `W` on uniform arrivals takes message numbers `u = w, w + W, w + 2W, ...` of the
//! curve, so the number of its messages due before instant `t` is about `ceil((u(t) - w) / W)`;
//! the due instants next to that estimate, rounded as the worker rounds them, make it exact.
//! Poisson arrivals have no closed form: the plan replays each worker's own seeded gaps (the same
//! draws the worker makes), which costs one random draw per message.

use crate::pacing::{Pacing, WorkerStop};

use super::RunPlan;

/// Messages the schedule makes due, for this shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scheduled {
    /// Due before the warm-up ends; `None` when nothing is due (unpaced).
    pub warmup: Option<u64>,
    /// Due in the measured window (or the count of a run by count); `None` at `rate = "max"` by
    /// duration.
    pub measured: Option<u64>,
}

impl RunPlan {
    /// The messages this plan makes due (see the module docs).
    pub fn scheduled(&self) -> Scheduled {
        if self.curve.is_none() {
            return Scheduled {
                warmup: None,
                measured: self.measured_count(),
            };
        }
        let (mut warmup, mut measured) = (0, 0);
        for w in &self.workers {
            let t = &w.timing;
            let (wu, m) = match t.stop {
                WorkerStop::Until { end_ns } => {
                    due_in_windows(&t.pacing, t.warmup_end_ns, Some(end_ns))
                }
                WorkerStop::Count(n) => (due_in_windows(&t.pacing, t.warmup_end_ns, None).0, n),
            };
            warmup += wu;
            measured += m;
        }
        Scheduled {
            warmup: Some(warmup),
            measured: Some(measured),
        }
    }
}

/// One worker's messages due before `warmup_end_ns`, and from then until `end_ns` (0 without
/// an end).
fn due_in_windows(pacing: &Pacing, warmup_end_ns: u64, end_ns: Option<u64>) -> (u64, u64) {
    match pacing {
        Pacing::Unlimited => (0, 0),
        Pacing::Scheduled {
            curve,
            offset,
            step,
            poisson: None,
            ..
        } => {
            // The estimate from the curve, then corrected with the workers' own rounding of
            // due instants, so a message due exactly at an edge falls on the side it is sent.
            let due = |i: u64| curve.time_of(offset + i as f64 * step, &mut 0).round() as u64;
            let before = |t_ns: u64| {
                let u = curve.count_at(t_ns as f64);
                let mut n = if u > *offset {
                    ((u - offset) / step).ceil() as u64
                } else {
                    0
                };
                while n > 0 && due(n - 1) >= t_ns {
                    n -= 1;
                }
                while due(n) < t_ns {
                    n += 1;
                }
                n
            };
            let warmup = before(warmup_end_ns);
            (
                warmup,
                end_ns.map_or(0, |e| before(e).saturating_sub(warmup)),
            )
        }
        Pacing::Scheduled { .. } => {
            let mut replay = pacing.clone();
            let last = end_ns.unwrap_or(warmup_end_ns).max(warmup_end_ns);
            let (mut warmup, mut measured) = (0, 0);
            while let Some(due) = replay.next_due_ns().filter(|&d| d < last) {
                if due < warmup_end_ns {
                    warmup += 1;
                } else {
                    measured += 1;
                }
            }
            (warmup, measured)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::RunPlan;
    use crate::scenario::Format;
    use std::path::Path;

    fn plan(text: &str) -> RunPlan {
        let path = Path::new("t.toml");
        let format = Format::Toml;
        let s = crate::plan::load(crate::plan::Origin::Text { path, text, format }, &[], None)
            .unwrap()
            .scenario();
        RunPlan::build(&s, None)
    }

    /// What the workers' own schedules make due, counted one message at a time.
    fn replayed(p: &RunPlan) -> (u64, u64) {
        let (mut warmup, mut measured) = (0, 0);
        for w in &p.workers {
            let mut pacing = w.timing.pacing.clone();
            let crate::pacing::WorkerStop::Until { end_ns } = w.timing.stop else {
                panic!("a run by duration")
            };
            while let Some(due) = pacing.next_due_ns().filter(|&d| d < end_ns) {
                if due < w.timing.warmup_end_ns {
                    warmup += 1;
                } else {
                    measured += 1;
                }
            }
        }
        (warmup, measured)
    }

    #[test]
    fn uniform_counts_match_the_workers_schedules() {
        for load in [
            "[load]\nrate = \"1000/s\"\nduration = \"2s\"\nwarmup = \"500ms\"\n[producer]\nworkers = 3",
            "[load]\nrate = \"333/s\"\nduration = \"1.5s\"\n[producer]\nworkers = 7",
            "[load]\nrate = \"5k/s\"\nduration = \"10s\"\nwarmup = \"2s\"\n[producer]\nworkers = 4",
            "[load]\nwarmup = \"1s\"\nprofile = [{ ramp = [\"100/s\", \"900/s\"], duration = \"2s\" }]\n[producer]\nworkers = 2",
        ] {
            let p = plan(load);
            let s = p.scheduled();
            assert_eq!(
                (s.warmup.unwrap(), s.measured.unwrap()),
                replayed(&p),
                "{load}"
            );
        }
    }

    #[test]
    fn poisson_counts_replay_the_seeded_gaps_exactly() {
        let p = plan("[load]\nrate = \"2000/s\"\nduration = \"1s\"\nwarmup = \"300ms\"\narrivals = \"poisson\"\n[producer]\nworkers = 4");
        let s = p.scheduled();
        assert_eq!((s.warmup.unwrap(), s.measured.unwrap()), replayed(&p));
        // A Poisson count is not the mean: it is the realised draw.
        assert!(s.measured.unwrap().abs_diff(2000) < 200, "{s:?}");
    }

    #[test]
    fn unpaced_runs_schedule_only_a_count() {
        let s = plan("[load]\nrate = \"max\"\nmessages = 1000\n").scheduled();
        assert_eq!((s.warmup, s.measured), (None, Some(1000)));
        let s = plan("[load]\nrate = \"max\"\nduration = \"1s\"\n").scheduled();
        assert_eq!((s.warmup, s.measured), (None, None));
    }
}
