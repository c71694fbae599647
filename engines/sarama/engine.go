package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"runtime"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

// msg is one message: sarama's ProducerMessage and what travels with it through sarama and
// back (its Metadata points here), in one allocation.
type msg struct {
	pm    sarama.ProducerMessage
	id    uint64 // kbench's message id, echoed
	due   uint64 // kbench's due instant (µs on its clock), echoed
	topic int
	bytes int
	// When sarama accepted it (ns, CLOCK_MONOTONIC); 0 while not yet handed over.
	enqNs atomic.Int64
	// open, answered, or reported unresolved by the finish: whichever settles it first writes
	// its line.
	state atomic.Uint32
}

const (
	open uint32 = iota
	answered
	unresolved
)

// enqueued waits out the instant between sarama taking a message and its sender noting when.
func (m *msg) enqueued() int64 {
	for {
		if t := m.enqNs.Load(); t != 0 {
			return t
		}
		runtime.Gosched()
	}
}

// ledger holds every message handed to sarama in order, so the finish can report the ones never
// answered. Only the goroutine reading kbench's input adds to it and sweeps it; answers only
// settle a message's state, so no lock is taken per message.
type ledger struct {
	items []*msg
	// Sweep the answered out when items grows to this.
	sweepAt int
	// How many are open (added and not settled).
	open atomic.Int64
}

func (l *ledger) add(m *msg) {
	l.open.Add(1)
	l.items = append(l.items, m)
	if len(l.items) >= l.sweepAt {
		kept := l.items[:0]
		for _, m := range l.items {
			if m.state.Load() == open {
				kept = append(kept, m)
			}
		}
		clear(l.items[len(kept):])
		l.items = kept
		l.sweepAt = max(2*len(kept), 1<<16)
	}
}

// settle marks a message answered or unresolved; false when it already was.
func (l *ledger) settle(m *msg, to uint32) bool {
	if !m.state.CompareAndSwap(open, to) {
		return false
	}
	l.open.Add(-1)
	return true
}

// engine holds the producer and the ledger of what is outstanding.
type engine struct {
	cfg   *config
	out   *writer
	async sarama.AsyncProducer
	sync  sarama.SyncProducer
	pool  []byte
	// sarama's metrics (request latency, batch sizes), for the end line.
	registry metrics.Registry
	ledger   ledger
	// The headers every message carries (shared: sarama only reads them).
	headers []sarama.RecordHeader

	// Sync mode: each slot's messages waiting for its W line.
	batches [][]*sarama.ProducerMessage
	slots   []chan []*sarama.ProducerMessage
	wg      sync.WaitGroup
	// Client-error texts already reported, and whether the finish has begun (no more).
	mu     sync.Mutex
	events map[string]bool
	closed bool
}

func start(cfg *config, sc *sarama.Config, out *writer) (*engine, error) {
	e := &engine{
		cfg:      cfg,
		out:      out,
		events:   map[string]bool{},
		registry: sc.MetricRegistry,
		ledger:   ledger{sweepAt: 1 << 16},
	}
	for _, h := range cfg.Headers {
		v, err := base64.StdEncoding.DecodeString(h[1])
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", h[0], err)
		}
		e.headers = append(e.headers, sarama.RecordHeader{Key: []byte(h[0]), Value: v})
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
	var f [10][]byte
	for {
		line, err := readLine(in)
		if err == io.EOF && len(line) == 0 {
			return errors.New("standard input closed before the finish line")
		}
		if err != nil && err != io.EOF {
			return err
		}
		n := split(bytes.TrimSuffix(line, []byte{'\n'}), f[:])
		if n == 0 || n > len(f) {
			return fmt.Errorf("a line of no or too many fields: %q", line)
		}
		fs := f[:n]
		switch string(fs[0]) {
		case "M", "B":
			if err := e.message(fs); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		case "W":
			if err := e.flushSlot(fs); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		case "P":
			if err := e.readPool(in, fs); err != nil {
				return err
			}
		case "F":
			return e.finish(fs)
		default:
			return fmt.Errorf("unknown line %q", line)
		}
	}
}

// readLine reads one line without copying it when it fits the reader's buffer (valid until the
// next read).
func readLine(in *bufio.Reader) ([]byte, error) {
	line, err := in.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		rest, err := in.ReadBytes('\n')
		return append(append([]byte(nil), line...), rest...), err
	}
	return line, err
}

// split cuts a line at single spaces into out (no allocation); returns how many fields, or
// len(out)+1 when there are more.
func split(line []byte, out [][]byte) int {
	n := 0
	for len(line) > 0 {
		if n == len(out) {
			return n + 1
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			out[n] = line
			return n + 1
		}
		out[n] = line[:i]
		n++
		line = line[i+1:]
	}
	return n
}

func atoi(b []byte) (int64, error) {
	return strconv.ParseInt(string(b), 10, 64)
}

func atou(b []byte) (uint64, error) {
	return strconv.ParseUint(string(b), 10, 64)
}

func (e *engine) readPool(in *bufio.Reader, f [][]byte) error {
	if len(f) != 2 {
		return errors.New("P takes a length")
	}
	n, err := strconv.Atoi(string(f[1]))
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
func (e *engine) message(f [][]byte) error {
	inline := f[0][0] == 'B'
	if (!inline && len(f) != 9) || (inline && len(f) != 8) {
		return errors.New("wrong number of fields")
	}
	id, err1 := atou(f[1])
	due, err2 := atou(f[2])
	slot, err3 := atoi(f[3])
	topic, err4 := atoi(f[4])
	part, err5 := atoi(f[5])
	key, err6 := decodeKey(f[6])
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return err
	}
	if topic < 0 || topic >= int64(len(e.cfg.Topics)) || slot < 0 || slot >= int64(e.cfg.Slots) {
		return errors.New("topic or slot out of range")
	}
	var value []byte
	if !inline {
		off, err1 := atoi(f[7])
		n, err2 := atoi(f[8])
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
	m := &msg{id: id, due: due, topic: int(topic), bytes: len(value) + len(key)}
	m.pm = sarama.ProducerMessage{
		Topic:    e.cfg.Topics[topic],
		Value:    sarama.ByteEncoder(value),
		Headers:  e.headers,
		Metadata: m,
	}
	if key != nil {
		m.pm.Key = sarama.ByteEncoder(key)
	}
	if part >= 0 {
		m.pm.Partition = int32(part)
	}
	e.ledger.add(m)
	if e.sync != nil {
		e.batches[slot] = append(e.batches[slot], &m.pm)
		return nil
	}
	e.async.Input() <- &m.pm
	m.enqNs.Store(nowNs())
	return nil
}

// answer writes a message's outcome: tag, "id due enq done topic bytes", and the last field;
// nothing when the finish already reported it unresolved. It settles the message while it
// holds the output, so once the ledger shows none open every answer line is written.
func (e *engine) answer(m *msg, tag byte, doneNs int64, last func([]byte) []byte) {
	enq := m.enqueued()
	b, ok := e.out.begin()
	if !ok {
		return
	}
	if !e.ledger.settle(m, answered) {
		e.out.end(b, false)
		return
	}
	b = append(b, tag, ' ')
	b = strconv.AppendUint(b, m.id, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, m.due, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, enq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, doneNs, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.topic), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.bytes), 10)
	e.out.end(last(append(b, ' ')), true)
}

func (e *engine) acked(pm *sarama.ProducerMessage, doneNs int64) {
	if m, ok := pm.Metadata.(*msg); ok {
		part := int64(pm.Partition)
		e.answer(m, 'A', doneNs, func(b []byte) []byte { return strconv.AppendInt(b, part, 10) })
	}
}

func (e *engine) failed(pm *sarama.ProducerMessage, err error, doneNs int64) {
	m, ok := pm.Metadata.(*msg)
	if !ok {
		return
	}
	name, detail := errorName(err)
	if detail != "" {
		e.event(detail)
	}
	e.answer(m, 'N', doneNs, func(b []byte) []byte { return append(b, name...) })
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
func (e *engine) flushSlot(f [][]byte) error {
	if e.sync == nil || len(f) != 2 {
		return errors.New("W takes a slot, in sync mode")
	}
	slot, err := strconv.Atoi(string(f[1]))
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
		for _, pm := range batch {
			pm.Metadata.(*msg).enqNs.Store(enq)
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
func (e *engine) finish(f [][]byte) error {
	if len(f) != 2 {
		return errors.New("F takes the grace in ms")
	}
	graceMs, err := strconv.Atoi(string(f[1]))
	if err != nil || graceMs < 0 {
		return fmt.Errorf("grace %q", f[1])
	}
	deadline := time.Now().Add(time.Duration(graceMs) * time.Millisecond)
	for e.ledger.open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	for _, m := range e.ledger.items {
		if !e.ledger.settle(m, unresolved) {
			continue
		}
		where, enq := "in_flight", m.enqNs.Load()
		if enq == 0 {
			where = "queued"
		}
		e.out.line(fmt.Sprintf("U %d %d %d 0 %d %d %s", m.id, m.due, enq, m.topic, m.bytes, where))
	}
	e.ledger.items = nil
	// sarama's metrics are read before Close, which unregisters them. What sarama still buffers
	// (with acks=0 an answered message may not be written yet) goes out before the process
	// ends, as a service's producer does on Close.
	m := saramaMetrics(e.registry)
	e.close(5 * time.Second)
	end := usage()
	end["metrics"] = m
	e.out.line("E " + mustJSON(end))
	return nil
}
