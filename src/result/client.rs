//! The latency breakdown from librdkafka's statistics reports (`recorder::stats`): one row per
//! interval, the run's breakdown, per-broker totals, and throttle/retry events. Windows combine
//! as the recorder's docs say: p50 weighted by samples, p99 the maximum.

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind};
use crate::recorder::stats::{StatsReport, Window};

/// Where the time went in one interval, over every instance and broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClientInterval {
    /// In the client's queue before a request (linger, batching), µs.
    pub int_latency_p50_us: u64,
    pub int_latency_p99_us: u64,
    /// A request waiting for an in-flight slot before the socket (`max_in_flight`), µs.
    pub outbuf_latency_p50_us: u64,
    pub outbuf_latency_p99_us: u64,
    /// The brokers' round trip, µs.
    pub rtt_p50_us: u64,
    pub rtt_p99_us: u64,
    /// Largest throttle time a broker asked for (quotas), ms.
    pub throttle_ms: u64,
    /// Mean bytes per batch.
    pub batch_size_avg: f64,
    /// Messages per produce request in the interval.
    pub msgs_per_request: Option<f64>,
    /// Messages in the clients' queues at the interval's last report.
    pub queue_depth: u64,
    /// Request retries and request timeouts in the interval.
    pub retries: u64,
    pub request_timeouts: u64,
}

/// p50 and p99 of one part of the breakdown, µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Part {
    pub p50: u64,
    pub p99: u64,
}

/// The run's breakdown: the median of the interval p50s and the maximum of the interval p99s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Breakdown {
    pub int_latency_us: Part,
    pub outbuf_latency_us: Part,
    pub rtt_us: Part,
    /// Largest throttle time any broker asked for, ms.
    pub throttle_ms: u64,
}

/// One broker over the run (all instances).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerTotals {
    pub id: i32,
    pub rtt_p50_us: u64,
    pub rtt_p99_us: u64,
    pub requests: u64,
    pub retries: u64,
    pub request_timeouts: u64,
    pub throttle_ms: u64,
}

/// Sums of one interval, before they become a row.
#[derive(Default)]
struct Acc {
    int: Window,
    outbuf: Window,
    rtt: Window,
    throttle_ms: u64,
    batch_bytes: f64,
    batches: i64,
    requests: i64,
    txmsgs: i64,
    retries: u64,
    timeouts: u64,
    queue: Vec<(usize, u64)>,
    reports: usize,
}

/// The interval a report describes: the one holding the middle of its window (a report at `t`
/// covers the interval length before `t`; librdkafka's timer is not aligned with t0).
fn interval_of(t_us: u64, interval_us: u64) -> usize {
    (t_us.saturating_sub(interval_us / 2) / interval_us.max(1)) as usize
}

/// One row per interval (`n` of them); `None` where no report fell.
pub fn intervals(
    reports: &[Vec<StatsReport>],
    interval_us: u64,
    n: usize,
) -> Vec<Option<ClientInterval>> {
    let mut acc: Vec<Acc> = (0..n).map(|_| Acc::default()).collect();
    for (instance, rs) in reports.iter().enumerate() {
        let mut prev: Option<&StatsReport> = None;
        for r in rs {
            let Some(a) = acc.get_mut(interval_of(r.t_us, interval_us)) else {
                prev = Some(r);
                continue;
            };
            let delta = |now: i64, before: i64| (now - before).max(0);
            let (p_req, p_msgs, p_retries, p_timeouts) = prev.map_or((0, 0, 0, 0), |p| {
                (p.requests, p.txmsgs, p.retries, p.request_timeouts)
            });
            a.int.add(&r.int_latency);
            a.outbuf.add(&r.outbuf_latency);
            a.rtt.add(&r.rtt);
            a.throttle_ms = a.throttle_ms.max(r.throttle_ms);
            a.batch_bytes += r.batch_size_avg * r.batches as f64;
            a.batches += r.batches;
            a.requests += delta(r.requests, p_req);
            a.txmsgs += delta(r.txmsgs, p_msgs);
            a.retries += r.retries.saturating_sub(p_retries);
            a.timeouts += r.request_timeouts.saturating_sub(p_timeouts);
            a.queue.retain(|(i, _)| *i != instance);
            a.queue.push((instance, r.queue_depth));
            a.reports += 1;
            prev = Some(r);
        }
    }
    acc.into_iter()
        .map(|a| {
            (a.reports > 0).then(|| ClientInterval {
                int_latency_p50_us: a.int.p50.round() as u64,
                int_latency_p99_us: a.int.p99,
                outbuf_latency_p50_us: a.outbuf.p50.round() as u64,
                outbuf_latency_p99_us: a.outbuf.p99,
                rtt_p50_us: a.rtt.p50.round() as u64,
                rtt_p99_us: a.rtt.p99,
                throttle_ms: a.throttle_ms,
                batch_size_avg: if a.batches > 0 {
                    (a.batch_bytes / a.batches as f64).round()
                } else {
                    0.0
                },
                msgs_per_request: (a.requests > 0)
                    .then(|| (a.txmsgs as f64 / a.requests as f64 * 100.0).round() / 100.0),
                queue_depth: a.queue.iter().map(|(_, q)| q).sum(),
                retries: a.retries,
                request_timeouts: a.timeouts,
            })
        })
        .collect()
}

/// The run's breakdown over the rows from `first` on (the measured intervals).
pub fn breakdown(rows: &[Option<ClientInterval>], first: usize) -> Option<Breakdown> {
    let rows: Vec<&ClientInterval> = rows.iter().skip(first).flatten().collect();
    if rows.is_empty() {
        return None;
    }
    let part = |p50: fn(&ClientInterval) -> u64, p99: fn(&ClientInterval) -> u64| {
        let mut p50s: Vec<u64> = rows.iter().map(|r| p50(r)).filter(|&v| v > 0).collect();
        p50s.sort_unstable();
        Part {
            p50: p50s.get(p50s.len() / 2).copied().unwrap_or(0),
            p99: rows.iter().map(|r| p99(r)).max().unwrap_or(0),
        }
    };
    Some(Breakdown {
        int_latency_us: part(|r| r.int_latency_p50_us, |r| r.int_latency_p99_us),
        outbuf_latency_us: part(|r| r.outbuf_latency_p50_us, |r| r.outbuf_latency_p99_us),
        rtt_us: part(|r| r.rtt_p50_us, |r| r.rtt_p99_us),
        throttle_ms: rows.iter().map(|r| r.throttle_ms).max().unwrap_or(0),
    })
}

/// Per broker: round trip over every report, and the last cumulative counters of each instance.
pub fn brokers(reports: &[Vec<StatsReport>]) -> Vec<BrokerTotals> {
    let mut out: Vec<(BrokerTotals, Window)> = Vec::new();
    for rs in reports {
        for r in rs {
            for b in &r.brokers {
                let i = match out.iter().position(|(t, _)| t.id == b.id) {
                    Some(i) => i,
                    None => {
                        out.push((
                            BrokerTotals {
                                id: b.id,
                                rtt_p50_us: 0,
                                rtt_p99_us: 0,
                                requests: 0,
                                retries: 0,
                                request_timeouts: 0,
                                throttle_ms: 0,
                            },
                            Window::default(),
                        ));
                        out.len() - 1
                    }
                };
                out[i].1.add(&b.rtt);
                out[i].0.throttle_ms = out[i].0.throttle_ms.max(b.throttle_ms);
            }
        }
        // Cumulative counters: the instance's last report.
        for b in rs.last().map(|r| r.brokers.as_slice()).unwrap_or_default() {
            if let Some((t, _)) = out.iter_mut().find(|(t, _)| t.id == b.id) {
                t.requests += b.requests;
                t.retries += b.retries;
                t.request_timeouts += b.request_timeouts;
            }
        }
    }
    out.sort_by_key(|(t, _)| t.id);
    out.into_iter()
        .map(|(mut t, w)| {
            t.rtt_p50_us = w.p50.round() as u64;
            t.rtt_p99_us = w.p99;
            t
        })
        .collect()
}

/// `throttle` and `retries` events where either starts (an interval with some after one
/// without) and stops.
pub fn events(rows: &[Option<ClientInterval>], interval_s: f64) -> Vec<Event> {
    let mut out = Vec::new();
    for (kind, pick) in [
        (
            EventKind::Throttle,
            (|r: &ClientInterval| r.throttle_ms) as fn(&ClientInterval) -> u64,
        ),
        (EventKind::Retries, |r| r.retries),
    ] {
        let mut on = false;
        for (i, row) in rows.iter().enumerate() {
            let v = row.as_ref().map_or(0, pick);
            if (v > 0) != on {
                on = v > 0;
                out.push(Event {
                    t_s: (i as f64 * interval_s * 1e3).round() / 1e3,
                    kind: kind.clone(),
                    detail: match (&kind, on) {
                        (EventKind::Throttle, true) => {
                            format!("brokers throttle the producer ({v} ms)")
                        }
                        (EventKind::Throttle, false) => "throttling stopped".into(),
                        (_, true) => format!("requests retried ({v} in the interval)"),
                        _ => "retries stopped".into(),
                    },
                    repeats: 0,
                    recovery_s: None,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(t_us: u64, rtt: (f64, u64, u64), requests: i64, retries: u64) -> StatsReport {
        StatsReport {
            t_us,
            rtt: Window {
                p50: rtt.0,
                p99: rtt.1,
                cnt: rtt.2,
            },
            requests,
            txmsgs: requests * 10,
            retries,
            ..StatsReport::default()
        }
    }

    #[test]
    fn reports_become_rows_a_breakdown_and_events() {
        // Two instances, 1 s intervals; reports arrive 0.3 s into the next interval.
        let a = vec![
            report(1_300_000, (20_000.0, 25_000, 10), 10, 0),
            report(2_300_000, (30_000.0, 60_000, 10), 20, 4),
        ];
        let b = vec![report(1_300_000, (22_000.0, 24_000, 30), 30, 0)];
        let rows = intervals(&[a, b], 1_000_000, 3);
        let r0 = rows[0].as_ref().expect("interval 0 has reports");
        assert_eq!(r0.rtt_p50_us, 21_500); // weighted: (20k x 10 + 22k x 30) / 40
        assert_eq!(r0.rtt_p99_us, 25_000);
        assert_eq!(r0.msgs_per_request, Some(10.0));
        let r1 = rows[1].as_ref().unwrap();
        assert_eq!((r1.retries, r1.rtt_p99_us), (4, 60_000));
        assert!(rows[2].is_none());
        let b = breakdown(&rows, 0).unwrap();
        assert_eq!(b.rtt_us.p99, 60_000);
        assert_eq!(b.rtt_us.p50, 30_000);
        let ev = events(&rows, 1.0);
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].kind.as_str(), ev[0].t_s), ("retries", 1.0));
        assert_eq!(ev[1].detail, "retries stopped");
    }
}
