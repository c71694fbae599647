//! librdkafka's statistics across shards: the interval rows (`intervals[].client`) and the run's
//! summary (`client`). Counters add up; a p99 is the largest shard's, as `result::client` combines
//! instances; a p50 is the shards' p50s weighted by their messages (requests for a broker's round
//! trip). The reports' own sample counts are not in a result, so a merged p50 is an estimate
//! between the shards' p50s, where a single-machine run's is exact over its instances.

use std::collections::BTreeMap;

use crate::result::client::{self, BrokerTotals, ClientInterval};
use crate::result::{round, ClientSummary, Interval, RunResult};

/// A weighted mean, rounded to whole µs; the plain mean when no weight is positive.
fn weighted(values: impl Iterator<Item = (u64, u64)> + Clone) -> u64 {
    let total: u64 = values.clone().map(|(_, w)| w).sum();
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), (v, w)| {
        let w = if total > 0 { w } else { 1 };
        (s + v as f64 * w as f64, n + w)
    });
    if n == 0 {
        0
    } else {
        (sum / n as f64).round() as u64
    }
}

/// One interval's rows from the shards, each with the shard's acked messages in it.
pub fn merge_rows(rows: &[(&ClientInterval, u64)]) -> Option<ClientInterval> {
    if rows.is_empty() {
        return None;
    }
    let p50 = |f: fn(&ClientInterval) -> u64| weighted(rows.iter().map(move |(r, w)| (f(r), *w)));
    let max = |f: fn(&ClientInterval) -> u64| rows.iter().map(|(r, _)| f(r)).max().unwrap_or(0);
    let sum = |f: fn(&ClientInterval) -> u64| rows.iter().map(|(r, _)| f(r)).sum::<u64>();
    let acked: u64 = rows.iter().map(|(_, w)| w).sum();
    let batch = weighted(
        rows.iter()
            .map(|(r, w)| (r.batch_size_avg.round() as u64, *w)),
    );
    // Requests per shard: its messages over its messages per request.
    let requests: f64 = rows
        .iter()
        .filter_map(|(r, w)| {
            r.msgs_per_request
                .filter(|m| *m > 0.0)
                .map(|m| *w as f64 / m)
        })
        .sum();
    Some(ClientInterval {
        int_latency_p50_us: p50(|r| r.int_latency_p50_us),
        int_latency_p99_us: max(|r| r.int_latency_p99_us),
        outbuf_latency_p50_us: p50(|r| r.outbuf_latency_p50_us),
        outbuf_latency_p99_us: max(|r| r.outbuf_latency_p99_us),
        rtt_p50_us: p50(|r| r.rtt_p50_us),
        rtt_p99_us: max(|r| r.rtt_p99_us),
        throttle_ms: max(|r| r.throttle_ms),
        batch_size_avg: batch as f64,
        msgs_per_request: (requests > 0.0).then(|| round(acked as f64 / requests, 2)),
        queue_depth: sum(|r| r.queue_depth),
        retries: sum(|r| r.retries),
        request_timeouts: sum(|r| r.request_timeouts),
    })
}

/// The merged run's summary: the shards' counters summed, the breakdown over the merged rows from
/// `first_measured` on, the brokers by id. `None` when no shard had one.
pub fn summary(
    rs: &[&RunResult],
    rows: &[Interval],
    first_measured: usize,
) -> Option<ClientSummary> {
    let shards: Vec<&ClientSummary> = rs.iter().filter_map(|r| r.client.as_ref()).collect();
    if shards.is_empty() {
        return None;
    }
    let total = |f: fn(&ClientSummary) -> i64| shards.iter().map(|c| f(c)).sum::<i64>();
    let (txmsgs, txmsg_bytes) = (total(|c| c.txmsgs), total(|c| c.txmsg_bytes));
    let (tx_bytes, requests) = (total(|c| c.tx_bytes), total(|c| c.requests));
    let client_rows: Vec<Option<ClientInterval>> = rows.iter().map(|i| i.client.clone()).collect();
    Some(ClientSummary {
        txmsgs,
        txmsg_bytes,
        tx_bytes,
        requests,
        compression_ratio: (tx_bytes > 0 && txmsg_bytes > 0)
            .then(|| round(txmsg_bytes as f64 / tx_bytes as f64, 3)),
        msgs_per_request: (requests > 0).then(|| round(txmsgs as f64 / requests as f64, 2)),
        breakdown: client::breakdown(&client_rows, first_measured),
        brokers: brokers(&shards),
    })
}

/// Brokers by id over the shards.
fn brokers(shards: &[&ClientSummary]) -> Vec<BrokerTotals> {
    let mut by_id: BTreeMap<i32, Vec<&BrokerTotals>> = BTreeMap::new();
    for b in shards.iter().flat_map(|c| &c.brokers) {
        by_id.entry(b.id).or_default().push(b);
    }
    by_id
        .into_iter()
        .map(|(id, bs)| BrokerTotals {
            id,
            rtt_p50_us: weighted(bs.iter().map(|b| (b.rtt_p50_us, b.requests))),
            rtt_p99_us: bs.iter().map(|b| b.rtt_p99_us).max().unwrap_or(0),
            requests: bs.iter().map(|b| b.requests).sum(),
            retries: bs.iter().map(|b| b.retries).sum(),
            request_timeouts: bs.iter().map(|b| b.request_timeouts).sum(),
            throttle_ms: bs.iter().map(|b| b.throttle_ms).max().unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(p50: u64, p99: u64, mpr: f64) -> ClientInterval {
        ClientInterval {
            rtt_p50_us: p50,
            rtt_p99_us: p99,
            msgs_per_request: Some(mpr),
            queue_depth: 10,
            retries: 1,
            ..ClientInterval::default()
        }
    }

    #[test]
    fn rows_add_counters_keep_the_worst_p99_and_weigh_p50s() {
        let (a, b) = (row(1000, 5000, 10.0), row(4000, 9000, 40.0));
        let m = merge_rows(&[(&a, 300), (&b, 100)]).unwrap();
        // (1000 * 300 + 4000 * 100) / 400
        assert_eq!(m.rtt_p50_us, 1750);
        assert_eq!(m.rtt_p99_us, 9000);
        assert_eq!((m.queue_depth, m.retries), (20, 2));
        // 30 + 2.5 requests carried 400 messages.
        assert_eq!(m.msgs_per_request, Some(12.31));
        assert!(merge_rows(&[]).is_none());
    }

    #[test]
    fn weights_of_zero_fall_back_to_the_plain_mean() {
        assert_eq!(weighted([(100, 0), (300, 0)].into_iter()), 200);
        assert_eq!(weighted(std::iter::empty()), 0);
    }
}
