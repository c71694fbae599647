//! Gate metrics evaluated on a result: what a metric named in `[gate]` or `[capacity] slo`
//! (parsed by `crate::scenario::gate`) is worth in one run.

use crate::result::RunResult;
use crate::scenario::gate::{ClientPart, ClientStat, Kind, Metric, Stat, Stream};

/// A metric's value in a result (latencies in µs), or `None` when the result has none.
pub fn value(m: &Metric, r: &RunResult) -> Option<f64> {
    match m.kind {
        Kind::Throughput => Some(r.throughput.msgs_per_sec),
        Kind::ErrorRate => Some(if r.counts.sent == 0 {
            0.0
        } else {
            r.counts.failed as f64 / r.counts.sent as f64
        }),
        Kind::LossRate => Some(r.loss_rate),
        Kind::TopicP99Max => r.topics.iter().map(|t| t.p99_us as f64).reduce(f64::max),
        Kind::MissingRate => {
            let missing = r.counts.missing? as f64;
            Some(missing / (r.counts.acked.max(1)) as f64)
        }
        Kind::Throttle => Some(r.client.as_ref()?.breakdown?.throttle_ms as f64),
        Kind::Client(part, stat) => {
            let b = r.client.as_ref()?.breakdown?;
            let p = match part {
                ClientPart::Queue => b.int_latency_us,
                ClientPart::OutputBuffer => b.outbuf_latency_us,
                ClientPart::RoundTrip => b.rtt_us,
            };
            Some(match stat {
                ClientStat::P50 => p.p50,
                ClientStat::P99 => p.p99,
            } as f64)
        }
        Kind::AchievedRateRatio => r.achieved_rate_ratio,
        Kind::Latency(stream, stat) => {
            let l = match stream {
                Stream::Corrected => &r.latency_us.corrected,
                Stream::Service => &r.latency_us.service,
                Stream::SendLag => &r.latency_us.send_lag,
                Stream::Failed => &r.latency_us.failed,
                Stream::Unsent => &r.latency_us.unsent,
                Stream::Commit => &r.latency_us.commit,
                Stream::E2e => &r.latency_us.e2e,
                Stream::E2eService => &r.latency_us.e2e_service,
            };
            if l.count == 0 {
                return None;
            }
            Some(match stat {
                Stat::P50 => l.p50 as f64,
                Stat::P90 => l.p90 as f64,
                Stat::P99 => l.p99 as f64,
                Stat::P999 => l.p999 as f64,
                Stat::Max => l.max as f64,
                Stat::Mean => l.mean,
            })
        }
    }
}
