package main

import (
	"bufio"
	"bytes"
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

// meta travels with a message through sarama and back (ProducerMessage.Metadata).
type meta struct {
	id    uint64 // kbench's message id, echoed
	due   uint64 // kbench's due instant (µs on its clock), echoed
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
	outstanding map[uint64]*meta
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
		outstanding: map[uint64]*meta{},
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
	m := &sarama.ProducerMessage{Topic: e.cfg.Topics[topic], Value: sarama.ByteEncoder(value)}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	if part >= 0 {
		m.Partition = int32(part)
	}
	md := &meta{id: id, due: due, topic: int(topic), bytes: len(value) + len(key)}
	m.Metadata = md
	e.track(md)
	if e.sync != nil {
		e.batches[slot] = append(e.batches[slot], m)
		return nil
	}
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
func (e *engine) answer(md *meta, line []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if _, ok := e.outstanding[md.id]; !ok {
		return
	}
	delete(e.outstanding, md.id)
	e.out.bytes(line)
}

// outcome: "T id due enq done topic bytes" and the last field.
func (md *meta) outcome(tag byte, doneNs int64) []byte {
	b := make([]byte, 0, 112)
	b = append(b, tag, ' ')
	b = strconv.AppendUint(b, md.id, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, md.due, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, md.enqueued(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, doneNs, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(md.topic), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(md.bytes), 10)
	return append(b, ' ')
}

func (e *engine) acked(m *sarama.ProducerMessage, doneNs int64) {
	md := m.Metadata.(*meta)
	e.answer(md, strconv.AppendInt(md.outcome('A', doneNs), int64(m.Partition), 10))
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
	e.answer(md, append(md.outcome('N', doneNs), name...))
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
func (e *engine) finish(f [][]byte) error {
	if len(f) != 2 {
		return errors.New("F takes the grace in ms")
	}
	graceMs, err := strconv.Atoi(string(f[1]))
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
		e.out.line(fmt.Sprintf("U %d %d %d 0 %d %d %s", id, md.due, enq, md.topic, md.bytes, where))
	}
	e.outstanding = map[uint64]*meta{}
	e.mu.Unlock()
	// What sarama still buffers (with acks=0 an answered message may not be written yet) goes
	// out before the process ends, as a service's producer does on Close.
	e.close(5 * time.Second)
	end := usage()
	end["metrics"] = saramaMetrics(e.registry)
	e.out.line("E " + mustJSON(end))
	return nil
}
