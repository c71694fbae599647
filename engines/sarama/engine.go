package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"

	"kbench/engines/kit"
)

// msg is one message: sarama's ProducerMessage and the kit's record of it, in one allocation
// (the ProducerMessage's Metadata points back here).
type msg struct {
	kit.Msg
	pm sarama.ProducerMessage
}

// client drives a sarama AsyncProducer (async, fire-and-forget) or SyncProducer (sync).
type client struct {
	e     *kit.Engine
	async sarama.AsyncProducer
	sync  sarama.SyncProducer
	// sarama's metrics (request latency, batch sizes), for the end line.
	registry metrics.Registry
	// The headers every message carries (shared: sarama only reads them).
	headers []sarama.RecordHeader
	wg      sync.WaitGroup
}

func start(cfg *kit.Config, sc *saramaConfigured, e *kit.Engine) (kit.Client, error) {
	c := &client{e: e, registry: sc.c.MetricRegistry}
	for _, h := range e.Headers {
		c.headers = append(c.headers, sarama.RecordHeader{Key: h.Key, Value: h.Value})
	}
	var err error
	if cfg.Mode == "sync" {
		c.sync, err = sarama.NewSyncProducer(cfg.Bootstrap, sc.c)
		return c, err
	}
	c.async, err = sarama.NewAsyncProducer(cfg.Bootstrap, sc.c)
	if err != nil {
		return nil, err
	}
	c.wg.Add(2)
	go c.successes()
	go c.failures()
	return c, nil
}

func (c *client) New(f *kit.Fields) *kit.Msg {
	m := &msg{}
	m.Own = m
	m.pm = sarama.ProducerMessage{
		Topic:    f.Topic,
		Value:    sarama.ByteEncoder(f.Value),
		Headers:  c.headers,
		Metadata: m,
	}
	if f.Key != nil {
		m.pm.Key = sarama.ByteEncoder(f.Key)
	}
	if f.Partition >= 0 {
		m.pm.Partition = f.Partition
	}
	return &m.Msg
}

func (c *client) Send(m *kit.Msg) {
	c.async.Input() <- &m.Own.(*msg).pm
}

// SendSync: SendMessage for one, SendMessages for more.
func (c *client) SendSync(batch []*kit.Msg) []error {
	if len(batch) == 1 {
		m := batch[0].Own.(*msg)
		part, _, err := c.sync.SendMessage(&m.pm)
		m.Partition = part
		return []error{err}
	}
	pms := make([]*sarama.ProducerMessage, len(batch))
	for i, m := range batch {
		pms[i] = &m.Own.(*msg).pm
	}
	err := c.sync.SendMessages(pms)
	errs := make([]error, len(batch))
	failed := map[*sarama.ProducerMessage]error{}
	var perrs sarama.ProducerErrors
	if errors.As(err, &perrs) {
		for _, pe := range perrs {
			failed[pe.Msg] = pe.Err
		}
	}
	for i, pm := range pms {
		switch ferr, ok := failed[pm]; {
		case ok:
			errs[i] = ferr
		case err != nil && perrs == nil:
			errs[i] = err
		default:
			batch[i].Partition = pm.Partition
		}
	}
	return errs
}

func (c *client) successes() {
	defer c.wg.Done()
	for pm := range c.async.Successes() {
		if m, ok := pm.Metadata.(*msg); ok {
			c.e.Acked(&m.Msg, pm.Partition, kit.NowNs())
		}
	}
}

func (c *client) failures() {
	defer c.wg.Done()
	for pe := range c.async.Errors() {
		if m, ok := pe.Msg.Metadata.(*msg); ok {
			c.e.Failed(&m.Msg, pe.Err, kit.NowNs())
		}
	}
}

func (c *client) Close() {
	if c.async != nil {
		c.async.Close()
		c.wg.Wait()
	} else if c.sync != nil {
		c.sync.Close()
	}
}

// ErrorName: Kafka's error code (kbench names it), or librdkafka's name for the same local
// condition, or "_FAIL" with the text.
func (c *client) ErrorName(err error) (string, string) {
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		return "k" + strconv.Itoa(int(kerr)), ""
	}
	switch {
	case errors.Is(err, sarama.ErrOutOfBrokers):
		return "_ALL_BROKERS_DOWN", ""
	case errors.Is(err, sarama.ErrNotConnected):
		return "_TRANSPORT", ""
	case errors.Is(err, sarama.ErrShuttingDown), errors.Is(err, sarama.ErrClosedClient):
		return "_DESTROY", ""
	case errors.Is(err, os.ErrDeadlineExceeded), strings.Contains(err.Error(), "i/o timeout"):
		return "_TIMED_OUT", ""
	}
	var cerr sarama.ConfigurationError
	if errors.As(err, &cerr) && strings.Contains(err.Error(), "MaxMessageBytes") {
		return "_MSG_SIZE_TOO_LARGE", ""
	}
	return "_FAIL", kit.OneLine(err.Error())
}

// Metrics: what sarama's own registry says of the run (request latency, batch size, records per
// request), under sarama's names. sarama's Close unregisters them: the kit reads them first.
func (c *client) Metrics() map[string]any {
	out := map[string]any{}
	if c.registry == nil {
		return out
	}
	for _, name := range []string{"request-latency-in-ms", "batch-size", "records-per-request"} {
		if h, ok := c.registry.Get(name).(metrics.Histogram); ok && h.Count() > 0 {
			s := h.Snapshot()
			out[name] = map[string]any{
				"count": s.Count(),
				"mean":  s.Mean(),
				"p50":   s.Percentile(0.5),
				"p99":   s.Percentile(0.99),
			}
		}
	}
	return out
}
