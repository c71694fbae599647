package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"runtime"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

// meta travels with a message through sarama and back (ProducerMessage.Metadata).
type meta struct {
	id    string // kbench's message id, echoed
	due   string // kbench's due instant (µs on its clock), echoed
	topic int
	bytes int
	// When sarama accepted it (ns, CLOCK_MONOTONIC); 0 while not yet handed over.
	enqNs atomic.Int64
}

// enqueued waits out the instant between sarama taking a message and its sender noting when.
func (m *meta) enqueued() int64 {
	for {
		if t := m.enqNs.Load(); t != 0 {
			return t
		}
		runtime.Gosched()
	}
}

// engine holds the producer and what is outstanding: every message handed to sarama and not yet
// answered, so the finish can report the rest as unresolved.
type engine struct {
	cfg   *config
	out   *writer
	async sarama.AsyncProducer
	sync  sarama.SyncProducer
	pool  []byte
	// sarama's metrics (request latency, batch sizes), for the end line.
	registry metrics.Registry

	mu          sync.Mutex
	outstanding map[string]*meta
	closed      bool
	// Sync mode: each slot's messages waiting for its W line.
	batches [][]*sarama.ProducerMessage
	slots   []chan []*sarama.ProducerMessage
	wg      sync.WaitGroup
	events  map[string]bool
}

func start(cfg *config, sc *sarama.Config, out *writer) (*engine, error) {
	e := &engine{
		cfg:         cfg,
		out:         out,
		outstanding: map[string]*meta{},
		events:      map[string]bool{},
		registry:    sc.MetricRegistry,
	}
	var err error
	if cfg.Mode == "sync" {
		e.sync, err = sarama.NewSyncProducer(cfg.Bootstrap, sc)
		if err != nil {
			return nil, err
		}
		e.batches = make([][]*sarama.ProducerMessage, cfg.Slots)
		for i := 0; i < cfg.Slots; i++ {
			ch := make(chan []*sarama.ProducerMessage, 1)
			e.slots = append(e.slots, ch)
			go e.syncSlot(ch)
		}
		return e, nil
	}
	e.async, err = sarama.NewAsyncProducer(cfg.Bootstrap, sc)
	if err != nil {
		return nil, err
	}
	e.wg.Add(2)
	go e.successes()
	go e.failures()
	return e, nil
}

// serve reads the pool and the message lines until the finish line.
func (e *engine) serve(in *bufio.Reader) error {
	for {
		line, err := in.ReadString('\n')
		if err == io.EOF && line == "" {
			return errors.New("standard input closed before the finish line")
		}
		if err != nil && err != io.EOF {
			return err
		}
		line = strings.TrimRight(line, "\n")
		f := strings.Fields(line)
		if len(f) == 0 {
			return fmt.Errorf("an empty line")
		}
		switch f[0] {
		case "P":
			if err := e.readPool(in, f); err != nil {
				return err
			}
		case "M", "B":
			if err := e.message(f); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		case "W":
			if err := e.flushSlot(f); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		case "F":
			return e.finish(f)
		default:
			return fmt.Errorf("unknown line %q", line)
		}
	}
}

func (e *engine) readPool(in *bufio.Reader, f []string) error {
	if len(f) != 2 {
		return errors.New("P takes a length")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 || n > 1<<31 {
		return fmt.Errorf("pool length %q", f[1])
	}
	e.pool = make([]byte, n)
	if _, err := io.ReadFull(in, e.pool); err != nil {
		return fmt.Errorf("pool of %d bytes: %w", n, err)
	}
	if b, err := in.ReadByte(); err != nil || b != '\n' {
		return errors.New("the pool is not followed by a line end")
	}
	return nil
}

// message: "M id due slot topic partition key offset length" (a slice of the pool) or
// "B id due slot topic partition key base64" (the bytes themselves).
func (e *engine) message(f []string) error {
	if (f[0] == "M" && len(f) != 9) || (f[0] == "B" && len(f) != 8) {
		return errors.New("wrong number of fields")
	}
	slot, err1 := strconv.Atoi(f[3])
	topic, err2 := strconv.Atoi(f[4])
	part, err3 := parseInt(f[5])
	key, err4 := decodeKey(f[6])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	if topic < 0 || topic >= len(e.cfg.Topics) || slot < 0 || slot >= e.cfg.Slots {
		return errors.New("topic or slot out of range")
	}
	var value []byte
	if f[0] == "M" {
		off, err1 := parseInt(f[7])
		n, err2 := parseInt(f[8])
		if err := errors.Join(err1, err2); err != nil || off < 0 || n < 0 || off+n > int64(len(e.pool)) {
			return errors.New("payload slice outside the pool")
		}
		value = e.pool[off : off+n]
	} else {
		v, err := decodeInline(f[7])
		if err != nil {
			return err
		}
		value = v
	}
	m := &sarama.ProducerMessage{Topic: e.cfg.Topics[topic], Value: sarama.ByteEncoder(value)}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	if part >= 0 {
		m.Partition = int32(part)
	}
	md := &meta{id: f[1], due: f[2], topic: topic, bytes: len(value) + len(key)}
	m.Metadata = md
	if e.sync != nil {
		e.batches[slot] = append(e.batches[slot], m)
		e.track(md)
		return nil
	}
	e.track(md)
	e.async.Input() <- m
	md.enqNs.Store(nowNs())
	return nil
}

func (e *engine) track(md *meta) {
	e.mu.Lock()
	e.outstanding[md.id] = md
	e.mu.Unlock()
}

// answer writes a message's outcome, unless the finish already reported it unresolved.
func (e *engine) answer(md *meta, line string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if _, ok := e.outstanding[md.id]; !ok {
		return
	}
	delete(e.outstanding, md.id)
	e.out.line(line)
}

func (e *engine) acked(m *sarama.ProducerMessage, doneNs int64) {
	md := m.Metadata.(*meta)
	e.answer(md, fmt.Sprintf("A %s %s %d %d %d %d %d", md.id, md.due, md.enqueued(), doneNs, md.topic, md.bytes, m.Partition))
}

func (e *engine) failed(m *sarama.ProducerMessage, err error, doneNs int64) {
	md, ok := m.Metadata.(*meta)
	if !ok {
		return
	}
	name, detail := errorName(err)
	if detail != "" {
		e.event(detail)
	}
	e.answer(md, fmt.Sprintf("N %s %s %d %d %d %d %s", md.id, md.due, md.enqueued(), doneNs, md.topic, md.bytes, name))
}

// event reports an error text kbench keeps as a client-error event (each text once).
func (e *engine) event(text string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.events[text] || len(e.events) >= 100 {
		return
	}
	e.events[text] = true
	e.out.line("V client-error " + text)
}

func (e *engine) successes() {
	defer e.wg.Done()
	for m := range e.async.Successes() {
		e.acked(m, nowNs())
	}
}

func (e *engine) failures() {
	defer e.wg.Done()
	for pe := range e.async.Errors() {
		e.failed(pe.Msg, pe.Err, nowNs())
	}
}

// flushSlot: "W slot": the slot's worker waits; its batch goes out now.
func (e *engine) flushSlot(f []string) error {
	if e.sync == nil || len(f) != 2 {
		return errors.New("W takes a slot, in sync mode")
	}
	slot, err := strconv.Atoi(f[1])
	if err != nil || slot < 0 || slot >= e.cfg.Slots {
		return errors.New("slot out of range")
	}
	batch := e.batches[slot]
	e.batches[slot] = nil
	if len(batch) > 0 {
		e.slots[slot] <- batch
	}
	return nil
}

// syncSlot sends one worker's batches: SendMessage for one, SendMessages for more.
func (e *engine) syncSlot(ch chan []*sarama.ProducerMessage) {
	for batch := range ch {
		enq := nowNs()
		for _, m := range batch {
			m.Metadata.(*meta).enqNs.Store(enq)
		}
		var err error
		if len(batch) == 1 {
			var part int32
			part, _, err = e.sync.SendMessage(batch[0])
			batch[0].Partition = part
		} else {
			err = e.sync.SendMessages(batch)
		}
		done := nowNs()
		failed := map[*sarama.ProducerMessage]error{}
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) {
			for _, pe := range perrs {
				failed[pe.Msg] = pe.Err
			}
		} else if err != nil {
			for _, m := range batch {
				failed[m] = err
			}
		}
		for _, m := range batch {
			if ferr, ok := failed[m]; ok {
				e.failed(m, ferr, done)
			} else {
				e.acked(m, done)
			}
		}
	}
}

// close shuts the producer down, waiting at most limit for it to flush.
func (e *engine) close(limit time.Duration) {
	done := make(chan struct{})
	go func() {
		if e.async != nil {
			e.async.Close()
			e.wg.Wait()
		} else if e.sync != nil {
			e.sync.Close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
	}
}

// finish: "F grace_ms": waits for the outstanding messages at most the grace, reports the rest
// as unresolved (queued: never handed to sarama; in_flight: handed, no answer), then the end line.
func (e *engine) finish(f []string) error {
	if len(f) != 2 {
		return errors.New("F takes the grace in ms")
	}
	graceMs, err := strconv.Atoi(f[1])
	if err != nil || graceMs < 0 {
		return fmt.Errorf("grace %q", f[1])
	}
	deadline := time.Now().Add(time.Duration(graceMs) * time.Millisecond)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		n := len(e.outstanding)
		e.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	e.mu.Lock()
	e.closed = true
	for id, md := range e.outstanding {
		where, enq := "in_flight", md.enqNs.Load()
		if enq == 0 {
			where = "queued"
		}
		e.out.line(fmt.Sprintf("U %s %s %d 0 %d %d %s", id, md.due, enq, md.topic, md.bytes, where))
	}
	e.outstanding = map[string]*meta{}
	e.mu.Unlock()
	// What sarama still buffers (with acks=0 an answered message may not be written yet) goes
	// out before the process ends, as a service's producer does on Close.
	e.close(5 * time.Second)
	end := usage()
	end["metrics"] = saramaMetrics(e.registry)
	e.out.line("E " + mustJSON(end))
	return nil
}
