//! One run, decided before anything starts: which producer instances there are, which worker
//! drives which share of the schedule with which seed and partition choice, when the run stops,
//! how many messages the schedule makes due in each window, and when each fault starts and ends.
//!
//! Pure: the same scenario and shard always give the same [`RunPlan`]. The run stage only carries
//! it out (`crate::run::execute`), and the result stage reads the planned counts and the target
//! rate from it instead of recomputing the schedule. `kbench run --dry-run` prints it.
//!
//! **Shards.** A shard `I/N` drives workers `I*W .. (I+1)*W` of `N*W` (W = `producer.workers`):
//! its workers take the global indexes of that range, so the N shards' schedules interleave into
//! the one schedule of the whole run. Planned counts and target rates here are the shard's share.
//!
//! **Seeds.** Worker `g` (global index) draws its keys, sizes and payload offsets from the seed
//! `message.seed + g * WORKER_SEED_STRIDE`: reproducible, and far apart for every worker.

use std::sync::Arc;
use std::time::Duration;

use super::ShardSpec;
use crate::pacing::{share, Curve, PhaseBounds, WorkerPlan, WorkerStop};
use crate::scenario::fault::{Action, Fault};
use crate::scenario::{Mode, Partitioner, Scenario, StopCondition};

/// Distance between two workers' seeds (the 64-bit FNV prime: odd, with spread-out bits).
pub const WORKER_SEED_STRIDE: u64 = 0x0000_0100_0000_01B3;

/// How long past its end a duration run waits for stuck workers before stopping them.
pub const STOP_SLACK: Duration = Duration::from_millis(250);

/// Everything one run will do.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The scenario this plan carries out.
    pub scenario: Scenario,
    /// Set when this run is one shard of a larger run.
    pub shard: Option<ShardSpec>,
    pub instances: Vec<InstancePlan>,
    pub workers: Vec<WorkerSpec>,
    /// The schedule of the whole run (all shards); `None` at `rate = "max"`.
    pub curve: Option<Arc<Curve>>,
    /// The measured phases of a rate profile, in µs since t0 (empty without a profile).
    pub phases: Arc<PhaseBounds>,
    pub interval_us: u64,
    pub warmup_end_us: u64,
    /// When the run stops sending, since t0 (warm-up included).
    pub stop: StopPlan,
    /// The fault schedule, on the run's clock.
    pub faults: Vec<FaultStep>,
    /// This shard's messages made due by the schedule, when the schedule fixes them.
    pub planned: Planned,
    /// This shard's mean target rate over the measured window (msg/s); `None` at `rate = "max"`.
    pub target_rate: Option<f64>,
}

/// One producer instance (its own librdkafka client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancePlan {
    /// Delivery slots for sync workers waiting on this instance (0 in the other modes).
    pub sync_slots: usize,
}

/// One worker: its share of the schedule and its sources of randomness.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSpec {
    /// The worker's index in the whole run (all shards).
    pub global: u32,
    /// The producer instance it sends through, and its slot there (sync delivery slots).
    pub instance: usize,
    pub slot: usize,
    /// Seed of its key, size and payload draws.
    pub seed: u64,
    pub partition: PartitionPlan,
    /// When its messages are due, when it stops, and where the warm-up ends.
    pub timing: WorkerPlan,
}

/// Who picks a message's partition; the run resolves round-robin with the topic's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionPlan {
    /// librdkafka's partitioner (`producer.partitioner`).
    Client,
    /// Message number modulo the topic's partition count.
    RoundRobin,
    /// Always this partition.
    Fixed(i32),
}

/// When the stopper ends sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPlan {
    /// Since t0.
    pub at: Duration,
    /// True when reaching `at` means `load.timeout` passed (a run by count that did not finish).
    pub is_timeout: bool,
}

/// Messages the schedule makes due, for this shard (fractional: the expected count under Poisson
/// arrivals).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Planned {
    pub warmup: Option<f64>,
    pub measured: Option<f64>,
    /// One per measured phase of a profile.
    pub phases: Vec<f64>,
}

/// One step of the fault schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultStep {
    /// Since t0.
    pub at: Duration,
    /// The fault starts (true) or its effect is undone (false).
    pub start: bool,
    pub fault: Fault,
}

impl RunPlan {
    /// The plan of a validated scenario, whole or as one shard.
    pub fn build(s: &Scenario, shard: Option<ShardSpec>) -> RunPlan {
        let p = &s.producer;
        let whole = shard.unwrap_or(ShardSpec { index: 0, count: 1 });
        let (workers, instances) = (p.workers(), p.instances());
        let total_workers = workers * whole.count;
        let curve = Curve::of_load(&s.load).map(Arc::new);
        let instance_plans = (0..instances)
            .map(|i| InstancePlan {
                sync_slots: if p.mode == Mode::Sync {
                    share(workers as u64, instances, i) as usize
                } else {
                    0
                },
            })
            .collect();
        let partition = match p.partitioner {
            Partitioner::Librdkafka(_) => PartitionPlan::Client,
            Partitioner::RoundRobin => PartitionPlan::RoundRobin,
            Partitioner::Manual(n) => PartitionPlan::Fixed(n as i32),
        };
        let worker_specs = (0..workers)
            .map(|w| {
                let global = whole.index * workers + w;
                WorkerSpec {
                    global,
                    instance: (w % instances) as usize,
                    slot: (w / instances) as usize,
                    seed: s
                        .message
                        .seed
                        .wrapping_add(global as u64 * WORKER_SEED_STRIDE),
                    partition,
                    timing: WorkerPlan::new(
                        &s.load,
                        curve.clone(),
                        total_workers,
                        global,
                        s.message.seed,
                    ),
                }
            })
            .collect();
        let phases = phase_bounds(s);
        let planned = planned(s, curve.as_deref(), &phases, whole.count as f64);
        RunPlan {
            target_rate: target_rate(s, curve.as_deref()).map(|r| r / whole.count as f64),
            scenario: s.clone(),
            shard,
            instances: instance_plans,
            workers: worker_specs,
            curve,
            phases: Arc::new(phases),
            interval_us: s.load.interval.0.as_micros() as u64,
            warmup_end_us: s.load.warmup.0.as_micros() as u64,
            stop: match s.load.stop() {
                StopCondition::Duration(d) => StopPlan {
                    at: s.load.warmup.0 + d + STOP_SLACK,
                    is_timeout: false,
                },
                StopCondition::Count(_) => StopPlan {
                    at: s.load.warmup.0 + s.load.timeout.0,
                    is_timeout: true,
                },
            },
            faults: fault_steps(&s.faults),
            planned,
        }
    }

    /// End of the measured window of a run by duration, in µs since t0 (`None` for a run by
    /// count, whose window ends with its last measured ack).
    pub fn window_end_us(&self) -> Option<u64> {
        match self.scenario.load.stop() {
            StopCondition::Duration(d) => Some(self.warmup_end_us + d.as_micros() as u64),
            StopCondition::Count(_) => None,
        }
    }

    /// This shard's measured messages for a run by count (the sum of its workers' shares).
    pub fn measured_count(&self) -> Option<u64> {
        let mut total = 0;
        for w in &self.workers {
            match w.timing.stop {
                WorkerStop::Count(n) => total += n,
                WorkerStop::Until { .. } => return None,
            }
        }
        Some(total)
    }

    /// Workers in the whole run (all shards).
    pub fn total_workers(&self) -> u32 {
        self.scenario.producer.workers() * self.shard.map_or(1, |s| s.count)
    }
}

/// The windows (µs since t0) of a rate profile's phases; empty without a profile.
fn phase_bounds(s: &Scenario) -> PhaseBounds {
    let mut t = s.load.warmup.0.as_micros() as u64;
    PhaseBounds {
        windows: s
            .load
            .profile
            .iter()
            .map(|p| {
                let start = t;
                t += p.duration.0.as_micros() as u64;
                (start, t)
            })
            .collect(),
    }
}

/// Messages due in the warm-up, the measured window and each phase, for one of `shards`.
fn planned(s: &Scenario, curve: Option<&Curve>, phases: &PhaseBounds, shards: f64) -> Planned {
    let warmup_ns = s.load.warmup.0.as_nanos() as f64;
    let Some(c) = curve else {
        // Unpaced: only a count is known in advance.
        let measured = match s.load.stop() {
            StopCondition::Count(n) => Some(n as f64 / shards),
            StopCondition::Duration(_) => None,
        };
        return Planned {
            warmup: None,
            measured,
            phases: Vec::new(),
        };
    };
    let between = |a_ns: f64, b_ns: f64| (c.count_at(b_ns) - c.count_at(a_ns)) / shards;
    let measured = match s.load.stop() {
        StopCondition::Count(n) => n as f64 / shards,
        StopCondition::Duration(d) => between(warmup_ns, warmup_ns + d.as_nanos() as f64),
    };
    Planned {
        warmup: Some(c.count_at(warmup_ns) / shards),
        measured: Some(measured),
        phases: phases
            .windows
            .iter()
            .map(|&(a, b)| between(a as f64 * 1e3, b as f64 * 1e3))
            .collect(),
    }
}

/// The whole run's target rate over the measured window: the rate, or a profile's planned
/// messages over its duration.
fn target_rate(s: &Scenario, curve: Option<&Curve>) -> Option<f64> {
    let curve = curve?;
    if s.load.profile.is_empty() {
        return s.load.rate.per_sec();
    }
    let start = s.load.warmup.0.as_nanos() as f64;
    let span: f64 = s
        .load
        .profile
        .iter()
        .map(|p| p.duration.0.as_nanos() as f64)
        .sum();
    Some((curve.count_at(start + span) - curve.count_at(start)) / (span / 1e9))
}

/// The faults' starts and ends in time order (error injection is a one-off push, and an `exec`
/// fault ends only with an `undo` command).
pub fn fault_steps(faults: &[Fault]) -> Vec<FaultStep> {
    let mut out = Vec::new();
    for f in faults {
        out.push(FaultStep {
            at: f.at.0,
            start: true,
            fault: f.clone(),
        });
        let has_end = match f.action {
            Action::Errors => false,
            Action::Exec => f.undo.is_some(),
            _ => true,
        };
        if let (Some(d), true) = (f.duration, has_end) {
            out.push(FaultStep {
                at: f.at.0 + d.0,
                start: false,
                fault: f.clone(),
            });
        }
    }
    out.sort_by_key(|s| s.at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::fault::sample as fault;
    use crate::scenario::Format;
    use std::path::Path;

    fn scenario(text: &str) -> Scenario {
        let path = Path::new("t.toml");
        let format = Format::Toml;
        crate::plan::load(crate::plan::Origin::Text { path, text, format }, &[], None)
            .unwrap()
            .scenario()
    }

    #[test]
    fn fault_schedule_orders_starts_and_ends() {
        let s = fault_steps(&[
            fault(10, Action::BrokerDown, Some(3)),
            fault(0, Action::Delay, None),
            fault(11, Action::Errors, Some(100)),
        ]);
        let at: Vec<(u64, bool)> = s.iter().map(|s| (s.at.as_secs(), s.start)).collect();
        assert_eq!(at, vec![(0, true), (10, true), (11, true), (13, false)]);
    }

    #[test]
    fn a_fixed_rate_plans_its_counts_workers_and_seeds() {
        let s = scenario(
            "[producer]\nworkers = 4\ninstances = 2\npartitioner = \"round-robin\"\n\
             [load]\nrate = \"1k/s\"\nduration = \"3s\"\nwarmup = \"500ms\"\n",
        );
        let p = RunPlan::build(&s, None);
        assert_eq!(p.planned.warmup, Some(500.0));
        assert_eq!(p.planned.measured, Some(3000.0));
        assert_eq!(p.target_rate, Some(1000.0));
        assert_eq!(p.instances.len(), 2);
        let inst: Vec<usize> = p.workers.iter().map(|w| w.instance).collect();
        assert_eq!(inst, [0, 1, 0, 1]);
        let seeds: std::collections::BTreeSet<u64> = p.workers.iter().map(|w| w.seed).collect();
        assert_eq!(seeds.len(), 4, "every worker has its own seed");
        assert!(p
            .workers
            .iter()
            .all(|w| w.partition == PartitionPlan::RoundRobin));
        assert_eq!(p.stop.at, Duration::from_millis(3500) + STOP_SLACK);
        assert!(!p.stop.is_timeout);
        assert!(crate::report::plan::run_plan(&p).contains("measured 3000 messages"));
    }

    #[test]
    fn a_shard_plans_its_share_on_the_global_schedule() {
        let s = scenario("[producer]\nworkers = 2\n[load]\nrate = \"900/s\"\nduration = \"2s\"\n");
        let p = RunPlan::build(&s, Some(ShardSpec { index: 1, count: 3 }));
        let globals: Vec<u32> = p.workers.iter().map(|w| w.global).collect();
        assert_eq!(globals, [2, 3]);
        assert_eq!(p.total_workers(), 6);
        assert_eq!(p.target_rate, Some(300.0));
        assert_eq!(p.planned.measured, Some(600.0));
    }

    #[test]
    fn a_profile_plans_each_phase() {
        let s = scenario(
            "[load]\nwarmup = \"1s\"\nprofile = [{ rate = \"100/s\", duration = \"2s\" }, \
             { ramp = [\"100/s\", \"300/s\"], duration = \"2s\" }]\n",
        );
        let p = RunPlan::build(&s, None);
        assert_eq!(
            p.phases.windows,
            [(1_000_000, 3_000_000), (3_000_000, 5_000_000)]
        );
        let phases: Vec<f64> = p.planned.phases.iter().map(|v| v.round()).collect();
        assert_eq!(phases, [200.0, 400.0]);
        assert_eq!(p.planned.measured.map(f64::round), Some(600.0));
        assert_eq!(p.target_rate.map(f64::round), Some(150.0));
    }

    #[test]
    fn unpaced_runs_know_only_a_count() {
        let s = scenario("[load]\nmessages = 1000\n");
        let p = RunPlan::build(&s, None);
        assert!(p.curve.is_none() && p.target_rate.is_none());
        assert_eq!(p.planned.measured, Some(1000.0));
        assert!(p.stop.is_timeout);
    }
}
