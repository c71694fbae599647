//! When each message is due, and when a worker stops.
//!
//! The run's schedule is a [`Curve`]: `u(t)`, how many messages the whole run should have sent by
//! instant `t`. At a fixed rate R it is the line `u = R t`; a rate profile is one piece per phase
//! (a ramp is a parabola: its rate grows linearly). Message number `u` of the run is due at the
//! inverse, `t(u)`. With W workers, worker `w` takes messages `w, w+W, w+2W, ...`, so the workers
//! interleave into one even schedule; with Poisson arrivals each worker instead draws exponential
//! gaps (mean W) in `u`, and the W independent streams add up to one Poisson process of the
//! target rate, time-varying with the profile.
//!
//! This is open-loop pacing: the schedule never waits for the broker. A worker that falls behind
//! sends at once and keeps the schedule: it never skips a message and never resets its clock, so a
//! stall shows up as send lag and corrected latency instead of silently lowering the offered rate.
//!
//! Timers: workers sleep on tokio's timer, then a precise sleep for the last stretch (see
//! `producer::worker`). Remaining lateness is measured (send lag) and is part of corrected latency,
//! never of service latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rng::Rng;
use crate::scenario::{Arrivals, Load, StopCondition};

/// The run's monotonic clock; all instants are offsets from `t0`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    t0: Instant,
}

impl Clock {
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
    /// t0 on CLOCK_MONOTONIC (ns), the clock an external engine reads its instants on (Rust's
    /// `Instant` reads the same clock on Linux).
    pub fn t0_monotonic_ns(&self) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec; CLOCK_MONOTONIC always exists on Linux.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let now = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        now.saturating_sub(self.now_ns())
    }

    pub fn instant_at_ns(&self, ns: u64) -> Instant {
        self.t0 + Duration::from_nanos(ns)
    }
}

/// The run's target schedule (see the module docs). A profile's warm-up runs first, at the first
/// phase's starting rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    /// Messages due before the segment starts.
    u0: f64,
    t0_ns: f64,
    /// Length; infinite for an open-ended constant rate.
    dur_ns: f64,
    /// Rate at the start, messages per ns.
    r0: f64,
    /// Change of rate per ns (0 for a constant rate).
    slope: f64,
    /// Rate at the start in messages per second, so a constant rate computes `m * 1e9 / rate`,
    /// which is exact whenever the true instant is a whole number of ns.
    rate_s: f64,
}

impl Segment {
    fn new(u0: f64, t0_ns: f64, dur_ns: f64, r0_s: f64, r1_s: f64) -> Self {
        let slope = if dur_ns.is_finite() && dur_ns > 0.0 {
            (r1_s - r0_s) / 1e9 / dur_ns
        } else {
            0.0
        };
        Segment {
            u0,
            t0_ns,
            dur_ns,
            r0: r0_s / 1e9,
            slope,
            rate_s: r0_s,
        }
    }
    /// Messages due within the segment's first `dt` ns.
    fn count(&self, dt: f64) -> f64 {
        self.r0 * dt + 0.5 * self.slope * dt * dt
    }
    /// Offset (ns) into the segment at which `m` messages are due.
    fn time_of(&self, m: f64) -> f64 {
        if self.slope == 0.0 {
            return m * 1e9 / self.rate_s;
        }
        // r0 t + slope t^2 / 2 = m: the growing root, in a form without cancellation.
        let disc = (self.r0 * self.r0 + 2.0 * self.slope * m).max(0.0);
        2.0 * m / (self.r0 + disc.sqrt())
    }
}

impl Curve {
    /// The curve of a load section, or `None` for `rate = "max"` (no schedule).
    pub fn of_load(load: &Load) -> Option<Curve> {
        if load.profile.is_empty() {
            return load.rate.per_sec().map(Curve::constant);
        }
        let mut segments = Vec::new();
        let (mut u, mut t) = (0.0, 0.0);
        let mut push = |dur: f64, r0: f64, r1: f64| {
            let seg = Segment::new(u, t, dur, r0, r1);
            u += seg.count(dur);
            t += dur;
            segments.push(seg);
        };
        let warmup_ns = load.warmup.0.as_nanos() as f64;
        if warmup_ns > 0.0 {
            let first = load.profile[0].rates().ok()?.0;
            push(warmup_ns, first, first);
        }
        for phase in &load.profile {
            let (r0, r1) = phase.rates().ok()?;
            push(phase.duration.0.as_nanos() as f64, r0, r1);
        }
        Some(Curve { segments })
    }

    /// A constant rate (msgs/s) from t0 on.
    pub fn constant(rate: f64) -> Curve {
        Curve {
            segments: vec![Segment::new(0.0, 0.0, f64::INFINITY, rate, rate)],
        }
    }

    /// The instant (ns) at which message `u` is due; `hint` caches the segment of the last call
    /// (calls come in increasing `u`). Past the end, the last segment's end rate continues.
    #[inline]
    pub fn time_of(&self, u: f64, hint: &mut usize) -> f64 {
        let last = self.segments.len() - 1;
        let mut i = (*hint).min(last);
        while i > 0 && u < self.segments[i].u0 {
            i -= 1;
        }
        while i < last && u >= self.segments[i + 1].u0 {
            i += 1;
        }
        *hint = i;
        let seg = &self.segments[i];
        let m = u - seg.u0;
        if seg.dur_ns.is_finite() {
            let full = seg.count(seg.dur_ns);
            if m > full {
                let end_rate = seg.r0 + seg.slope * seg.dur_ns;
                return seg.t0_ns + seg.dur_ns + (m - full) / end_rate;
            }
        }
        seg.t0_ns + seg.time_of(m)
    }

    /// Messages due between t0 and `t_ns`.
    pub fn count_at(&self, t_ns: f64) -> f64 {
        let mut total = 0.0;
        for seg in &self.segments {
            if t_ns <= seg.t0_ns {
                break;
            }
            total = seg.u0 + seg.count((t_ns - seg.t0_ns).min(seg.dur_ns));
        }
        total
    }
}

/// The send schedule of one worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Pacing {
    /// Send as fast as the client accepts: a message is due when it is sent.
    Unlimited,
    /// The worker's messages on the run's curve.
    Scheduled {
        curve: Arc<Curve>,
        /// Uniform arrivals: the worker's `i`-th message is number `offset + i * step`.
        offset: f64,
        step: f64,
        /// Poisson arrivals: gaps in `u` are exponential with mean `step`.
        poisson: Option<Rng>,
        /// Messages given out so far.
        index: u64,
        /// Position of the last Poisson arrival.
        u: f64,
        hint: usize,
    },
}

impl Pacing {
    /// Worker `worker` of `workers` on `curve` (`None`: unpaced).
    pub fn for_worker(
        curve: Option<Arc<Curve>>,
        arrivals: Arrivals,
        workers: u32,
        worker: u32,
        seed: u64,
    ) -> Self {
        match curve {
            None => Pacing::Unlimited,
            Some(curve) => Pacing::Scheduled {
                curve,
                offset: worker as f64,
                step: workers as f64,
                poisson: (arrivals == Arrivals::Poisson)
                    .then(|| Rng::new(seed ^ 0xA5A5_5A5A_0000_0001 ^ ((worker as u64) << 32))),
                index: 0,
                u: 0.0,
                hint: 0,
            },
        }
    }

    /// The due instant of the worker's next message, or `None` when unpaced.
    #[inline]
    pub fn next_due_ns(&mut self) -> Option<u64> {
        match self {
            Pacing::Unlimited => None,
            Pacing::Scheduled {
                curve,
                offset,
                step,
                poisson,
                index,
                u,
                hint,
            } => {
                let at = match poisson {
                    None => *offset + *index as f64 * *step,
                    Some(rng) => {
                        *u += *step * -(1.0 - rng.unit()).ln();
                        *u
                    }
                };
                *index += 1;
                Some(curve.time_of(at, hint).round() as u64)
            }
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
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerPlan {
    pub pacing: Pacing,
    pub stop: WorkerStop,
    /// Messages due before this instant are warm-up traffic.
    pub warmup_end_ns: u64,
}

impl WorkerPlan {
    /// The plan of worker `worker` of `workers` for a load section and its curve.
    pub fn new(
        load: &Load,
        curve: Option<Arc<Curve>>,
        workers: u32,
        worker: u32,
        seed: u64,
    ) -> Self {
        let warmup_end_ns = load.warmup.0.as_nanos() as u64;
        let stop = match load.stop() {
            StopCondition::Count(n) => WorkerStop::Count(share(n, workers, worker)),
            StopCondition::Duration(d) => WorkerStop::Until {
                end_ns: warmup_end_ns + d.as_nanos() as u64,
            },
        };
        WorkerPlan {
            pacing: Pacing::for_worker(curve, load.arrivals, workers, worker, seed),
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

/// The measured phases' windows, in µs since t0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhaseBounds {
    /// (start, end) of each phase, in order and adjacent.
    pub windows: Vec<(u64, u64)>,
}

impl PhaseBounds {
    /// The phase an instant falls in, if any.
    #[inline]
    pub fn of(&self, t_us: u64) -> Option<usize> {
        let i = self.windows.partition_point(|w| w.1 <= t_us);
        (i < self.windows.len() && t_us >= self.windows[i].0).then_some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Phase;
    use crate::units::{Dur, Rate};

    fn load(rate: Rate) -> Load {
        Load {
            rate,
            ..Load::default()
        }
    }

    fn dues(load: &Load, workers: u32, n: usize) -> Vec<u64> {
        let curve = Curve::of_load(load).map(Arc::new);
        let mut all: Vec<u64> = (0..workers)
            .flat_map(|w| {
                let mut p = Pacing::for_worker(curve.clone(), load.arrivals, workers, w, 7);
                (0..n).map(move |_| p.next_due_ns().unwrap())
            })
            .collect();
        all.sort_unstable();
        all
    }

    #[test]
    fn workers_interleave_into_one_even_schedule() {
        let d = dues(&load(Rate::PerSec(1000.0)), 4, 250);
        for (i, d) in d.iter().enumerate() {
            assert_eq!(*d, i as u64 * 1_000_000, "message {i}");
        }
    }

    #[test]
    fn schedule_does_not_drift() {
        let mut p = Pacing::for_worker(
            Some(Arc::new(Curve::constant(3.0))),
            Arrivals::Uniform,
            1,
            0,
            1,
        );
        // 3/s for an hour: message 10800 is due at exactly 3600 s (float error < 1 µs).
        let due = (0..=10_800)
            .map(|_| p.next_due_ns().unwrap())
            .last()
            .unwrap();
        assert!(due.abs_diff(3_600_000_000_000) < 1_000, "{due}");
        let mut max = Pacing::for_worker(None, Arrivals::Uniform, 2, 1, 1);
        assert_eq!(max.next_due_ns(), None);
    }

    fn phase(rate: Option<f64>, ramp: Option<(f64, f64)>, secs: u64) -> Phase {
        Phase {
            rate: rate.map(Rate::PerSec),
            ramp: ramp.map(|(a, b)| [Rate::PerSec(a), Rate::PerSec(b)]),
            burst: None,
            duration: Dur::from_secs(secs),
            name: None,
        }
    }

    #[test]
    fn profile_phases_get_their_counts_and_ramps_grow_linearly() {
        let l = Load {
            warmup: Dur::from_secs(1),
            profile: vec![
                phase(Some(100.0), None, 2),
                phase(None, Some((100.0, 300.0)), 2),
                phase(Some(50.0), None, 1),
            ],
            ..Load::default()
        };
        let c = Curve::of_load(&l).unwrap();
        // warm-up 100 + 200 + ramp (100+300)/2*2 = 400 + 50.
        assert!((c.count_at(1e9) - 100.0).abs() < 1e-6);
        assert!((c.count_at(3e9) - 300.0).abs() < 1e-6);
        assert!((c.count_at(5e9) - 700.0).abs() < 1e-6);
        assert!((c.count_at(6e9) - 750.0).abs() < 1e-6);
        // Halfway through the ramp the rate is 200/s: (100 + 200)/2 * 1 s = 150 messages.
        let mut hint = 0;
        let t = c.time_of(300.0 + 150.0, &mut hint);
        assert!((t - 4e9).abs() < 1e3, "{t}");
        // Every message maps back to its count.
        let d = dues(&l, 3, 250);
        for (i, t) in d.iter().enumerate().take(745) {
            let u = c.count_at(*t as f64);
            assert!((u - i as f64).abs() < 0.01, "message {i}: {u}");
        }
    }

    #[test]
    fn poisson_arrivals_keep_the_mean_rate_and_vary_the_gaps() {
        let l = Load {
            arrivals: Arrivals::Poisson,
            ..load(Rate::PerSec(10_000.0))
        };
        let d = dues(&l, 4, 5_000);
        let span_s = (*d.last().unwrap() - d[0]) as f64 / 1e9;
        let rate = d.len() as f64 / span_s;
        assert!((rate / 10_000.0 - 1.0).abs() < 0.05, "{rate}");
        // Exponential gaps: the coefficient of variation is about 1 (uniform would be 0).
        let gaps: Vec<f64> = d.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        let cv = var.sqrt() / mean;
        assert!((cv - 1.0).abs() < 0.1, "cv {cv}");
        assert_eq!(dues(&l, 4, 100), dues(&l, 4, 100), "seeded");
    }

    #[test]
    fn every_worker_schedule_only_moves_forward() {
        let mut l = Load {
            warmup: Dur::from_secs(2),
            profile: vec![
                phase(Some(2000.0), None, 5),
                phase(None, Some((2000.0, 20000.0)), 10),
                phase(Some(20000.0), None, 5),
                phase(Some(60000.0), None, 2),
                phase(Some(5000.0), None, 5),
            ],
            ..Load::default()
        };
        for arrivals in [Arrivals::Uniform, Arrivals::Poisson] {
            l.arrivals = arrivals;
            let curve = Curve::of_load(&l).map(Arc::new);
            for w in 0..2 {
                let mut p = Pacing::for_worker(curve.clone(), arrivals, 2, w, 42);
                let mut last = 0;
                for i in 0..300_000 {
                    let d = p.next_due_ns().unwrap();
                    assert!(d >= last, "{arrivals} worker {w} message {i}: {d} < {last}");
                    if d > 29_000_000_000 {
                        break;
                    }
                    last = d;
                }
            }
        }
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
        let l = Load {
            duration: Some(Dur::from_secs(10)),
            warmup: Dur::from_secs(2),
            ..load(Rate::PerSec(100.0))
        };
        let plan = WorkerPlan::new(&l, None, 2, 0, 1);
        assert_eq!(
            plan.stop,
            WorkerStop::Until {
                end_ns: 12_000_000_000
            }
        );
        assert_eq!(plan.warmup_end_ns, 2_000_000_000);
        // Warm-up and measured window together: 12 s at 100/s.
        let c = Curve::of_load(&l).unwrap();
        assert!((c.count_at(12e9) - 1200.0).abs() < 1e-6);
        let counted = Load {
            messages: Some(11),
            ..l.clone()
        };
        let plan = WorkerPlan::new(&counted, None, 2, 0, 1);
        assert_eq!(plan.stop, WorkerStop::Count(6));
        // A counted run sends its 11 after the warm-up's 200; an unpaced one has no curve.
        assert!((c.count_at(2e9) - 200.0).abs() < 1e-6);
        assert!(Curve::of_load(&load(Rate::Max)).is_none());
    }
}
