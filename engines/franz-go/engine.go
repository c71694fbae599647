package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"kbench/engines/kit"
)

// msg is one message: kgo's Record and the kit's record of it, in one allocation. The Record is
// the first field, so the promise, which kgo hands the *Record, finds its msg without a lookup.
type msg struct {
	rec kgo.Record
	kit.Msg
}

func ofRecord(r *kgo.Record) *msg {
	return (*msg)(unsafe.Pointer(r))
}

// client drives one kgo.Client: Produce with a promise (async, fire-and-forget) or
// ProduceSync (sync).
type client struct {
	e       *kit.Engine
	cl      *kgo.Client
	headers []kgo.RecordHeader
	stats   *stats
	// One promise for every record (kgo hands it the record).
	promise func(*kgo.Record, error)
}

func start(cfg *kit.Config, opts []kgoOpt, e *kit.Engine) (kit.Client, error) {
	c := &client{e: e, stats: newStats()}
	opts = append(opts, kgo.SeedBrokers(cfg.Bootstrap...), kgo.WithHooks(c.stats))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	// kgo connects on first use: reach the cluster now, so an unreachable or refusing cluster is
	// the engine's start failing (exit 3), not every message failing.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	c.cl = cl
	for _, h := range e.Headers {
		c.headers = append(c.headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
	}
	c.promise = func(r *kgo.Record, err error) {
		m := ofRecord(r)
		if err != nil {
			c.e.Failed(&m.Msg, err, kit.NowNs())
		} else {
			c.e.Acked(&m.Msg, r.Partition, kit.NowNs())
		}
	}
	return c, nil
}

func (c *client) New(f *kit.Fields) *kit.Msg {
	m := &msg{}
	m.Own = m
	m.rec = kgo.Record{Topic: f.Topic, Key: f.Key, Value: f.Value, Headers: c.headers}
	if f.Partition >= 0 {
		m.rec.Partition = f.Partition
	}
	return &m.Msg
}

// Send: Produce returns once kgo buffered the record (it blocks while MaxBufferedRecords are
// buffered: kgo's back-pressure, before the enqueue instant).
func (c *client) Send(m *kit.Msg) {
	c.cl.Produce(context.Background(), &m.Own.(*msg).rec, c.promise)
}

// SendSync: ProduceSync of the worker's batch.
func (c *client) SendSync(batch []*kit.Msg) []error {
	recs := make([]*kgo.Record, len(batch))
	for i, m := range batch {
		recs[i] = &m.Own.(*msg).rec
	}
	results := c.cl.ProduceSync(context.Background(), recs...)
	errs := make([]error, len(batch))
	at := make(map[*kgo.Record]int, len(recs))
	for i, r := range recs {
		at[r] = i
	}
	for _, res := range results {
		i, ok := at[res.Record]
		if !ok {
			continue
		}
		errs[i] = res.Err
		batch[i].Partition = res.Record.Partition
	}
	return errs
}

func (c *client) Close() {
	// Flush what kgo buffers (acks=0 records may be answered before they are written).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.cl.Flush(ctx)
	c.cl.Close()
}

// ErrorName: Kafka's error code (kbench names it; kgo's record timeout wraps the last one), or
// librdkafka's name for the same local condition, or "_FAIL" with the text.
func (c *client) ErrorName(err error) (string, string) {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return "k" + strconv.Itoa(int(ke.Code)), ""
	}
	var ne net.Error
	switch {
	case errors.Is(err, kgo.ErrRecordTimeout):
		return "_MSG_TIMED_OUT", ""
	case errors.Is(err, kgo.ErrClientClosed), errors.Is(err, kgo.ErrAborting):
		return "_DESTROY", ""
	case errors.Is(err, kgo.ErrMaxBuffered):
		return "_QUEUE_FULL", ""
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "_TRANSPORT", ""
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "_TIMED_OUT", ""
	}
	return "_FAIL", kit.OneLine(err.Error())
}

func (c *client) Metrics() map[string]any {
	return c.stats.report()
}

// stats gathers kgo's own view through its hooks: records and bytes per batch written, and the
// produce requests' round trips (write to response read).
type stats struct {
	mu      sync.Mutex
	records sample
	bytes   sample
	latency sample
}

func newStats() *stats {
	return &stats{}
}

// OnProduceBatchWritten: kgo.HookProduceBatchWritten.
func (s *stats) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	s.mu.Lock()
	s.records.add(float64(m.NumRecords))
	s.bytes.add(float64(m.CompressedBytes))
	s.mu.Unlock()
}

// OnBrokerE2E: kgo.HookBrokerE2E, for produce requests (key 0) that got a response.
func (s *stats) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != 0 || e2e.Err() != nil {
		return
	}
	s.mu.Lock()
	s.latency.add(float64(e2e.DurationE2E().Microseconds()) / 1000)
	s.mu.Unlock()
}

func (s *stats) report() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for name, x := range map[string]*sample{
		"records-per-batch":      &s.records,
		"batch-compressed-bytes": &s.bytes,
		"produce-e2e-ms":         &s.latency,
	} {
		if x.count > 0 {
			out[name] = x.summary()
		}
	}
	return out
}
