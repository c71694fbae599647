//! The per-message cost of kbench's own work, next to librdkafka's (about 500 ns per message at
//! 2M msg/s on 2 cores): what a worker does before `send` (payload window, key, due time, opaque)
//! and what the delivery thread does after (recording one outcome), plus the end-of-run merge of
//! interval histograms.
//!
//!   cargo bench --bench hot_path

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

use std::sync::Arc;

use kbench::pacing::{Curve, Pacing};
use kbench::payload::{KeyGen, PayloadPool, Payloads};
use kbench::producer::opaque;
use kbench::recorder::{hist, series, InstanceRecorder, Recorded, Sample, SendStats};
use kbench::rng::Rng;
use kbench::scenario::{Arrivals, KeySpec, Keys, Message, SizeDist};
use kbench::units::Bytes;

fn worker_side(c: &mut Criterion) {
    let pool = PayloadPool::new(100, 0.5, 42);
    let msg = Message {
        keys: KeySpec::from(Keys::Random),
        key_cardinality: 100_000,
        ..Message::default()
    };
    let mut keys = KeyGen::new(&msg);
    let mut rng = Rng::new(1);
    let mut i = 0u64;
    c.bench_function("payload window + random key", |b| {
        b.iter(|| {
            i += 1;
            let p = pool.payload(rng.next_u64());
            let k = keys.key(i, &mut rng);
            black_box((p.len(), k.map(|k| k.1.len())))
        })
    });
    let realistic = Message {
        size: SizeDist::Lognormal {
            median: Bytes(800),
            p99: Bytes(16384),
        },
        keys: KeySpec {
            distribution: Keys::Zipf,
            cardinality: None,
            exponent: Some(1.1),
        },
        key_cardinality: 100_000,
        ..Message::default()
    };
    let payloads = Payloads::new(&realistic, 1_000_000).expect("valid message");
    let scrambled = payloads.clone().scrambled(true);
    let mut zipf = KeyGen::new(&realistic);
    let mut scratch = Vec::new();
    c.bench_function("lognormal-sized payload + zipf key", |b| {
        b.iter(|| {
            i += 1;
            let p = payloads.payload(rng.next_u64(), &mut scratch);
            let k = zipf.key(i, &mut rng);
            black_box((p.len(), k.map(|k| k.1.len())))
        })
    });
    c.bench_function(
        "lognormal-sized payload, scrambled (compressed runs)",
        |b| {
            b.iter(|| {
                i += 1;
                let p = scrambled.payload(rng.next_u64(), &mut scratch);
                let k = zipf.key(i, &mut rng);
                black_box((p.len(), k.map(|k| k.1.len())))
            })
        },
    );
    let curve = Some(Arc::new(Curve::constant(100_000.0)));
    for (name, arrivals) in [
        ("pacing: next due instant", Arrivals::Uniform),
        ("pacing: next due instant, poisson", Arrivals::Poisson),
    ] {
        let mut pacing = Pacing::for_worker(curve.clone(), arrivals, 4, 1, 7);
        c.bench_function(name, |b| b.iter(|| black_box(pacing.next_due_ns())));
    }
    c.bench_function("opaque pack + unpack", |b| {
        b.iter(|| {
            black_box(opaque::unpack(opaque::pack(
                black_box(123_456_789),
                black_box(1_234),
            )))
        })
    });
    let mut send = SendStats::default();
    c.bench_function("count one send", |b| {
        b.iter(|| {
            i += 1;
            send.count_sent(true, i * 10, 5, 100, 1_000_000)
        })
    });
}

fn delivery_side(c: &mut Criterion) {
    let mut shard = InstanceRecorder::new(1_000_000, 0);
    let mut t = 0u64;
    c.bench_function("record one delivery report", |b| {
        b.iter(|| {
            t += 10; // 100k msg/s: intervals roll over as they would
            shard.record(black_box(&Sample {
                due_us: t,
                enqueue_us: t + 3,
                done_us: t + 2_000 + (t % 997),
                bytes: 100,
                error: None,
                partition: (t % 6) as i32,
                topic: 0,
            }))
        })
    });
}

fn merging(c: &mut Criterion) {
    // Two instances' shards of a 60 s run, merged as at the end of a run.
    let make = |seed: u64| {
        let mut s = InstanceRecorder::new(1_000_000, 0);
        let mut rng = Rng::new(seed);
        for n in 0..600_000u64 {
            let t = n * 100;
            s.record(&Sample {
                due_us: t,
                enqueue_us: t,
                done_us: t + 1_000 + rng.below(20_000),
                bytes: 100,
                error: None,
                partition: 0,
                topic: 0,
            });
        }
        s
    };
    let (a, b) = (make(1), make(2));
    c.bench_function("merge 2 shards x 60 intervals", |bench| {
        bench.iter_batched(
            || vec![clone_shard(&a), clone_shard(&b)],
            |shards| black_box(Recorded::merge(1_000_000, 0, shards, SendStats::default())),
            BatchSize::LargeInput,
        )
    });
    let mut h = hist::new_hist();
    for v in 1..50_000u64 {
        hist::record(&mut h, v);
    }
    let encoded = hist::encode(&h);
    c.bench_function("decode + add one interval histogram", |bench| {
        bench.iter(|| {
            black_box(series::merged_at(
                &[vec![Some(encoded.clone())], vec![Some(encoded.clone())]],
                0,
            ))
        })
    });
}

/// Shards are not Clone (they are moved into the merge); rebuild one from its parts.
fn clone_shard(s: &InstanceRecorder) -> InstanceRecorder {
    let mut out = InstanceRecorder::new(1_000_000, 0);
    out.measured = s.measured.clone();
    out.corrected = s.corrected.clone();
    out.service = s.service.clone();
    out.intervals = s.intervals.clone();
    out.corrected_series = s.corrected_series.clone();
    out.service_series = s.service_series.clone();
    out.lag_series = s.lag_series.clone();
    out
}

/// One real statistics JSON of a producer on the 3-broker mock cluster (6 partitions), captured
/// through librdkafka's statistics callback.
fn real_statistics() -> Vec<u8> {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
    use rdkafka::ClientContext;
    use std::sync::Mutex;
    struct Capture(Arc<Mutex<Option<Vec<u8>>>>);
    impl ClientContext for Capture {
        fn stats_raw(&self, json: &[u8]) {
            *self.0.lock().unwrap() = Some(json.to_vec());
        }
    }
    impl ProducerContext for Capture {
        type DeliveryOpaque = ();
        fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: ()) {}
    }
    let cluster = rdkafka::mocking::MockCluster::new(3).expect("mock cluster");
    cluster.create_topic("stats", 6, 3).expect("topic");
    let slot = Arc::new(Mutex::new(None));
    let producer: BaseProducer<Capture> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("statistics.interval.ms", "200")
        .create_with_context(Capture(slot.clone()))
        .expect("producer");
    for i in 0..600u32 {
        let key = i.to_string();
        let _ = producer.send(
            BaseRecord::to("stats")
                .key(&key)
                .payload("x".repeat(100).as_str()),
        );
        producer.poll(std::time::Duration::ZERO);
    }
    let _ = producer.flush(std::time::Duration::from_secs(5));
    for _ in 0..50 {
        producer.poll(std::time::Duration::from_millis(100));
        if let Some(json) = slot.lock().unwrap().take() {
            if json.windows(11).any(|w| w == b"int_latency") {
                return json;
            }
        }
    }
    panic!("no statistics report arrived");
}

/// What a statistics report costs kbench: parsing the fields the breakdown uses (once per
/// interval per instance, on the delivery thread).
fn statistics(c: &mut Criterion) {
    let json = real_statistics();
    eprintln!(
        "statistics JSON of 3 brokers, 6 partitions: {} bytes",
        json.len()
    );
    let parsed = kbench::recorder::stats::parse(&json, 1).expect("kbench reads librdkafka's JSON");
    assert_eq!(parsed.brokers.len(), 3, "every broker of the report");
    c.bench_function("parse one statistics report (3 brokers)", |b| {
        b.iter(|| black_box(kbench::recorder::stats::parse(black_box(&json), 1)))
    });
    c.bench_function("the same through rdkafka's full Statistics parse", |b| {
        b.iter(|| black_box(serde_json::from_slice::<rdkafka::Statistics>(black_box(&json)).ok()))
    });
}

criterion_group!(benches, worker_side, delivery_side, merging, statistics);
criterion_main!(benches);
