//! The live metrics endpoint (`--metrics-addr`): `/metrics` in the OpenMetrics text format
//! (prometheus-client, the Prometheus project's Rust client), served from its own thread
//! (tiny_http) while the command runs. A task copies the run's live counters into the registry
//! once per `load.interval`, off the hot path: the workers and delivery threads only bump the
//! atomic counters they always keep.
//!
//! Metrics, each labelled `scenario`, `run_id` and `shard`: `kbench_messages_sent_total`,
//! `kbench_messages_acked_total`, `kbench_messages_failed_total`, `kbench_queue_full_total`,
//! `kbench_target_rate`, `kbench_in_flight`, with `[consume]` `kbench_messages_consumed_total`,
//! and `kbench_latency_seconds{stream, percentile}` (p50, p99 and max of the last finished
//! interval of `corrected`, `service` and `send_lag`, and with `[consume]` of `e2e` and
//! `e2e_service`, from the latest interval the consumers finished).
//!
//! A scraper that accepts `application/openmetrics-text` (Prometheus does) gets OpenMetrics as
//! prometheus-client writes it; anything else gets the Prometheus text format 0.0.4 (the counter
//! families' HELP and TYPE named with their `_total` samples, no `# EOF`), which `promtool check
//! metrics` lints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::run::Live;

/// The labels of every kbench metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub scenario: String,
    pub run_id: String,
    pub shard: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    scenario: String,
    run_id: String,
    shard: String,
    stream: String,
    /// 50, 99 or 100 (the maximum). Not `quantile`: that label belongs to summaries.
    percentile: String,
}

type F64Gauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// The registry and its metric families.
struct Families {
    sent: Family<RunLabels, Counter>,
    acked: Family<RunLabels, Counter>,
    failed: Family<RunLabels, Counter>,
    queue_full: Family<RunLabels, Counter>,
    target_rate: Family<RunLabels, F64Gauge>,
    in_flight: Family<RunLabels, Gauge>,
    consumed: Family<RunLabels, Counter>,
    latency: Family<LatencyLabels, F64Gauge>,
}

/// The metrics endpoint cannot be served (the address does not bind).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MetricsError(pub String);

impl From<String> for MetricsError {
    fn from(message: String) -> MetricsError {
        MetricsError(message)
    }
}

/// A bound metrics endpoint.
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    families: Families,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The address it listens on (the port resolved when 0 was asked for).
    pub addr: String,
}

impl Metrics {
    /// Binds `addr` and starts serving; an address that cannot be bound is an error naming it.
    pub fn bind(addr: &str) -> Result<Metrics, MetricsError> {
        let server = tiny_http::Server::http(addr)
            .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        let bound = server
            .server_addr()
            .to_ip()
            .map_or(addr.to_string(), |a| a.to_string());
        let server = Arc::new(server);
        let mut registry = Registry::default();
        let families = Families {
            sent: Family::default(),
            acked: Family::default(),
            failed: Family::default(),
            queue_full: Family::default(),
            target_rate: Family::default(),
            in_flight: Family::default(),
            consumed: Family::default(),
            latency: Family::default(),
        };
        let f = &families;
        registry.register(
            "kbench_messages_sent",
            "Messages handed to librdkafka",
            f.sent.clone(),
        );
        registry.register(
            "kbench_messages_acked",
            "Messages with a successful delivery report",
            f.acked.clone(),
        );
        registry.register(
            "kbench_messages_failed",
            "Messages with a failed delivery report",
            f.failed.clone(),
        );
        registry.register(
            "kbench_queue_full",
            "QueueFull answers to sends (back-pressure)",
            f.queue_full.clone(),
        );
        registry.register(
            "kbench_target_rate",
            "Target rate in messages per second (0 at rate = max)",
            f.target_rate.clone(),
        );
        registry.register(
            "kbench_in_flight",
            "Messages enqueued without a delivery report yet",
            f.in_flight.clone(),
        );
        registry.register(
            "kbench_messages_consumed",
            "Distinct messages of the run read back by its [consume] consumers",
            f.consumed.clone(),
        );
        registry.register(
            "kbench_latency_seconds",
            "Latency of the last finished interval by stream (corrected, service, send_lag, e2e, e2e_service) and percentile (100 = max)",
            f.latency.clone(),
        );
        let registry = Arc::new(Mutex::new(registry));
        let (srv, reg) = (server.clone(), registry.clone());
        let thread = std::thread::Builder::new()
            .name("kbench-metrics".into())
            .spawn(move || serve(&srv, &reg))
            .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
        Ok(Metrics {
            registry,
            families,
            server,
            thread: Some(thread),
            addr: bound,
        })
    }

    /// Copies the live counters into the registry: the counters to their current totals, the
    /// gauges and the last interval's latency.
    pub fn publish(&self, live: &Live, labels: &RunLabels) {
        let f = &self.families;
        let set = |family: &Family<RunLabels, Counter>, total: u64| {
            let c = family.get_or_create(labels);
            let now = c.get();
            if total > now {
                c.inc_by(total - now);
            }
        };
        set(&f.sent, live.sent());
        set(&f.acked, live.acked());
        set(&f.failed, live.failed());
        set(&f.queue_full, live.queue_full());
        f.target_rate
            .get_or_create(labels)
            .set(live.target_rate.unwrap_or(0.0));
        f.in_flight
            .get_or_create(labels)
            .set(live.in_flight() as i64);
        if let Some(consumed) = live.consumed() {
            set(&f.consumed, consumed);
        }
        let streams = ["corrected", "service", "send_lag", "e2e", "e2e_service"];
        let [e2e, e2e_service] = live.last_e2e();
        let [corrected, service, send_lag] = live.last_interval();
        let hists = [corrected, service, send_lag, e2e, e2e_service];
        for (stream, h) in streams.iter().zip(hists) {
            let Some(h) = h.filter(|h| !h.is_empty()) else {
                continue;
            };
            for (q, v) in [
                ("50", h.value_at_quantile(0.5)),
                ("99", h.value_at_quantile(0.99)),
                ("100", h.max()),
            ] {
                let l = LatencyLabels {
                    scenario: labels.scenario.clone(),
                    run_id: labels.run_id.clone(),
                    shard: labels.shard.clone(),
                    stream: stream.to_string(),
                    percentile: q.into(),
                };
                f.latency.get_or_create(&l).set(v as f64 / 1e6);
            }
        }
    }

    /// Publishes `live` every `interval` until the returned task is aborted.
    pub fn watch(
        self: &Arc<Self>,
        live: Live,
        labels: RunLabels,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.publish(&live, &labels);
                tokio::time::sleep(interval).await;
            }
        })
    }

    /// The OpenMetrics exposition, as a scrape by Prometheus gets it.
    pub fn text(&self) -> String {
        exposition(&self.registry)
    }
}

impl Drop for Metrics {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn exposition(registry: &Mutex<Registry>) -> String {
    let mut text = String::new();
    let registry = registry.lock().unwrap_or_else(|p| p.into_inner());
    let _ = encode(&mut text, &registry);
    text
}

/// The Prometheus text format 0.0.4 of an OpenMetrics exposition: a counter family `x` has
/// samples `x_total`, which that format wants its HELP and TYPE lines named after; no `# EOF`.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Answers `/metrics` (anything else: 404) until the server is unblocked.
fn serve(server: &tiny_http::Server, registry: &Mutex<Registry>) {
    for request in server.incoming_requests() {
        let response = if request.url().split('?').next() == Some("/metrics") {
            let openmetrics = request.headers().iter().any(|h| {
                h.field.equiv("Accept") && h.value.as_str().contains("application/openmetrics-text")
            });
            let (body, kind) = if openmetrics {
                (
                    exposition(registry),
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )
            } else {
                (
                    prometheus_text(&exposition(registry)),
                    "text/plain; version=0.0.4; charset=utf-8",
                )
            };
            let header = tiny_http::Header::from_bytes("Content-Type", kind)
                .expect("a constant header is valid");
            tiny_http::Response::from_string(body).with_header(header)
        } else {
            tiny_http::Response::from_string("kbench serves /metrics\n").with_status_code(404)
        };
        let _ = request.respond(response);
    }
}
