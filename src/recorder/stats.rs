//! librdkafka's statistics, as the latency breakdown needs them: where a message's time went
//! between `send` and its ack. Every `statistics.interval.ms` (= `load.interval`) each producer
//! instance reports, per broker, rolling windows of
//! - `int_latency`: time in the client's queue before it is put into a request (linger, batch
//!   size, back-pressure),
//! - `outbuf_latency`: time a request waited for an in-flight slot before it was written to the
//!   socket (`max.in.flight`),
//! - `rtt`: the broker's round trip, request written to response read,
//! - `throttle`: the throttle time brokers asked for (quotas), in ms,
//!
//! with the topics' batch sizes and cumulative retry and timeout counters. The delivery thread
//! hands the JSON over, [`parse`] reads only these fields (no per-message work), and the result
//! stage combines them per interval.
//!
//! **Combining windows.** librdkafka reports percentiles per broker and per reporting window, not
//! histograms, so they cannot be added exactly. Over brokers, instances and the reports within
//! one interval kbench takes **p50 as the mean of the p50s weighted by each window's sample
//! count** and **p99 as the maximum of the p99s** (a bound: the true p99 of the union is never
//! above the largest one). For the whole run, the breakdown's p50 is the median of the interval
//! p50s and its p99 the maximum of the interval p99s.

use std::collections::HashMap;

use serde::Deserialize;

/// One statistics report of one producer instance, as kbench keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsReport {
    /// When it arrived, µs since t0.
    pub t_us: u64,
    pub int_latency: Window,
    pub outbuf_latency: Window,
    pub rtt: Window,
    /// Largest throttle time a broker asked for in the window (ms).
    pub throttle_ms: u64,
    /// Cumulative counters of the instance (summed over brokers).
    pub retries: u64,
    pub request_timeouts: u64,
    pub requests: i64,
    pub txmsgs: i64,
    /// Message bytes before compression (with framing) and bytes written, cumulative.
    pub txmsg_bytes: i64,
    pub tx_bytes: i64,
    /// Messages in the client's queues when reported.
    pub queue_depth: u64,
    /// Mean bytes per batch (topics' `batchsize` window), with its batch count as the weight.
    pub batch_size_avg: f64,
    pub batches: i64,
    /// Per broker id: (rtt p50, rtt p99, requests, retries, timeouts), cumulative where counted.
    pub brokers: Vec<BrokerReport>,
}

/// One broker's window totals in a report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokerReport {
    pub id: i32,
    pub rtt: Window,
    pub requests: u64,
    pub retries: u64,
    pub request_timeouts: u64,
    pub throttle_ms: u64,
}

/// A latency window reduced to what combines (µs): see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    pub p50: f64,
    pub p99: u64,
    /// Samples behind it (the weight of its p50).
    pub cnt: u64,
}

impl Window {
    /// Adds another window: p50 weighted by samples, p99 the larger.
    pub fn add(&mut self, o: &Window) {
        if o.cnt == 0 {
            return;
        }
        let n = self.cnt + o.cnt;
        self.p50 = (self.p50 * self.cnt as f64 + o.p50 * o.cnt as f64) / n as f64;
        self.p99 = self.p99.max(o.p99);
        self.cnt = n;
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    tx: i64,
    #[serde(default)]
    tx_bytes: i64,
    #[serde(default)]
    txmsg_bytes: i64,
    #[serde(default)]
    txmsgs: i64,
    #[serde(default)]
    msg_cnt: u64,
    #[serde(default)]
    brokers: HashMap<String, RawBroker>,
    #[serde(default)]
    topics: HashMap<String, RawTopic>,
}

#[derive(Deserialize)]
struct RawBroker {
    #[serde(default)]
    nodeid: i32,
    #[serde(default)]
    tx: u64,
    #[serde(default)]
    txretries: u64,
    #[serde(default)]
    req_timeouts: u64,
    int_latency: Option<RawWindow>,
    outbuf_latency: Option<RawWindow>,
    rtt: Option<RawWindow>,
    throttle: Option<RawWindow>,
}

#[derive(Deserialize)]
struct RawTopic {
    batchsize: Option<RawWindow>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct RawWindow {
    #[serde(default)]
    cnt: i64,
    #[serde(default)]
    avg: i64,
    #[serde(default)]
    max: i64,
    #[serde(default)]
    p50: i64,
    #[serde(default)]
    p99: i64,
}

impl RawWindow {
    fn window(&self) -> Window {
        Window {
            p50: self.p50.max(0) as f64,
            p99: self.p99.max(0) as u64,
            cnt: self.cnt.max(0) as u64,
        }
    }
}

/// Reads the fields the breakdown uses from one statistics JSON; `None` when it does not parse.
pub fn parse(json: &[u8], t_us: u64) -> Option<StatsReport> {
    let raw: Raw = serde_json::from_slice(json).ok()?;
    let mut r = StatsReport {
        t_us,
        requests: raw.tx,
        txmsgs: raw.txmsgs,
        tx_bytes: raw.tx_bytes,
        txmsg_bytes: raw.txmsg_bytes,
        queue_depth: raw.msg_cnt,
        ..StatsReport::default()
    };
    for b in raw.brokers.values().filter(|b| b.nodeid >= 0) {
        let w = |x: &Option<RawWindow>| x.unwrap_or_default().window();
        r.int_latency.add(&w(&b.int_latency));
        r.outbuf_latency.add(&w(&b.outbuf_latency));
        r.rtt.add(&w(&b.rtt));
        let throttle = b.throttle.map_or(0, |t| t.max.max(0) as u64);
        r.throttle_ms = r.throttle_ms.max(throttle);
        r.retries += b.txretries;
        r.request_timeouts += b.req_timeouts;
        r.brokers.push(BrokerReport {
            id: b.nodeid,
            rtt: w(&b.rtt),
            requests: b.tx,
            retries: b.txretries,
            request_timeouts: b.req_timeouts,
            throttle_ms: throttle,
        });
    }
    r.brokers.sort_by_key(|b| b.id);
    let (mut bytes, mut batches) = (0f64, 0i64);
    for t in raw.topics.values() {
        if let Some(w) = t.batchsize.filter(|w| w.cnt > 0) {
            bytes += w.avg as f64 * w.cnt as f64;
            batches += w.cnt;
        }
    }
    r.batches = batches;
    r.batch_size_avg = if batches > 0 {
        bytes / batches as f64
    } else {
        0.0
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(cnt: i64, p50: i64, p99: i64) -> String {
        format!(
            r#"{{"min":1,"max":{p99},"avg":{p50},"sum":0,"cnt":{cnt},"stddev":0,"hdrsize":0,"p50":{p50},"p75":0,"p90":0,"p95":0,"p99":{p99},"p99_99":{p99},"outofrange":0}}"#
        )
    }

    #[test]
    fn windows_combine_by_weight_and_maximum() {
        let json = format!(
            r#"{{"tx":10,"txmsgs":100,"msg_cnt":7,"brokers":{{
              "a:1/1":{{"nodeid":1,"tx":6,"txretries":2,"req_timeouts":0,"int_latency":{},"outbuf_latency":{},"rtt":{},"throttle":{}}},
              "a:2/2":{{"nodeid":2,"tx":4,"txretries":1,"req_timeouts":3,"int_latency":{},"outbuf_latency":{},"rtt":{},"throttle":{}}},
              "boot:1/bootstrap":{{"nodeid":-1,"tx":1,"txretries":9,"req_timeouts":9}}}},
              "topics":{{"t":{{"batchsize":{}}}}}}}"#,
            window(30, 1000, 5000),
            window(30, 10, 20),
            window(6, 20000, 21000),
            window(6, 0, 0),
            window(10, 3000, 9000),
            window(10, 10, 20),
            window(4, 22000, 30000),
            window(4, 5, 8),
            window(10, 2048, 4096),
        );
        let r = parse(json.as_bytes(), 42).unwrap();
        assert_eq!(r.t_us, 42);
        assert_eq!(r.int_latency.cnt, 40);
        assert_eq!(r.int_latency.p50, 1500.0);
        assert_eq!(r.int_latency.p99, 9000);
        assert_eq!(r.rtt.p50, 20800.0);
        assert_eq!(r.rtt.p99, 30000);
        assert_eq!(r.throttle_ms, 8);
        // The bootstrap pseudo-broker is not a broker.
        assert_eq!((r.retries, r.request_timeouts), (3, 3));
        assert_eq!(r.brokers.len(), 2);
        assert_eq!((r.requests, r.txmsgs, r.queue_depth), (10, 100, 7));
        assert_eq!((r.batches, r.batch_size_avg), (10, 2048.0));
        assert!(parse(b"not json", 0).is_none());
    }
}
