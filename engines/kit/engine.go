package kit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Header is one header every message carries.
type Header struct {
	Key, Value []byte
}

// Engine runs one client for kbench: it reads the message lines, keeps the ledger and writes
// the answers.
type Engine struct {
	cfg    *Config
	out    *writer
	client Client
	pool   []byte
	ledger ledger
	// The headers every message carries (shared: clients only read them).
	Headers []Header

	// Sync mode: each slot's messages waiting for its W line, and each slot's sender.
	batches [][]*Msg
	slots   []chan []*Msg
	// Client-error texts already reported, and whether the finish has begun (no more).
	mu     sync.Mutex
	events map[string]bool
	closed bool
}

func newEngine(cfg *Config, out *writer) *Engine {
	e := &Engine{cfg: cfg, out: out, events: map[string]bool{}, ledger: ledger{sweepAt: 1 << 16}}
	for _, h := range cfg.Headers {
		v, err := base64.StdEncoding.DecodeString(h[1])
		if err != nil {
			fatal(out, "protocol", exitProtocol, fmt.Errorf("header %q: %w", h[0], err))
		}
		e.Headers = append(e.Headers, Header{Key: []byte(h[0]), Value: v})
	}
	return e
}

func (e *Engine) start(c Client) {
	e.client = c
	if e.cfg.Mode != "sync" {
		return
	}
	e.batches = make([][]*Msg, e.cfg.Slots)
	for i := 0; i < e.cfg.Slots; i++ {
		ch := make(chan []*Msg, 1)
		e.slots = append(e.slots, ch)
		go e.syncSlot(ch)
	}
}

// Acked answers a message the client acked, on partition part, at doneNs.
func (e *Engine) Acked(m *Msg, part int32, doneNs int64) {
	e.answer(m, 'A', doneNs, func(b []byte) []byte { return strconv.AppendInt(b, int64(part), 10) })
}

// Failed answers a message the client failed, at doneNs.
func (e *Engine) Failed(m *Msg, err error, doneNs int64) {
	name, detail := e.client.ErrorName(err)
	if detail != "" {
		e.event(detail)
	}
	e.answer(m, 'N', doneNs, func(b []byte) []byte { return append(b, name...) })
}

// answer writes a message's outcome: tag, "id due enq done topic bytes", and the last field;
// nothing when the finish already reported it unresolved. It settles the message while it
// holds the output, so once the ledger shows none open every answer line is written.
func (e *Engine) answer(m *Msg, tag byte, doneNs int64, last func([]byte) []byte) {
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
	b = strconv.AppendUint(b, m.ID, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, m.Due, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, enq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, doneNs, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.Topic), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(m.Bytes), 10)
	e.out.end(last(append(b, ' ')), true)
}

// event reports an error text kbench keeps as a client-error event (each text once).
func (e *Engine) event(text string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.events[text] || len(e.events) >= 100 {
		return
	}
	e.events[text] = true
	e.out.line("V client-error " + text)
}

// add enters a message in the ledger and hands it on: to the client (async), or to its slot's
// batch (sync).
func (e *Engine) add(m *Msg, slot int) {
	e.ledger.add(m)
	if e.batches != nil {
		e.batches[slot] = append(e.batches[slot], m)
		return
	}
	e.client.Send(m)
	m.enqNs.Store(NowNs())
}

// flushSlot: "W slot": the slot's worker waits; its batch goes out now.
func (e *Engine) flushSlot(f [][]byte) error {
	if e.batches == nil || len(f) != 2 {
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

// syncSlot sends one worker's batches and answers each message.
func (e *Engine) syncSlot(ch chan []*Msg) {
	for batch := range ch {
		enq := NowNs()
		for _, m := range batch {
			m.enqNs.Store(enq)
		}
		errs := e.client.SendSync(batch)
		done := NowNs()
		for i, m := range batch {
			if errs != nil && errs[i] != nil {
				e.Failed(m, errs[i], done)
			} else {
				e.Acked(m, m.Partition, done)
			}
		}
	}
}

// close shuts the client down, waiting at most limit for it to flush.
func (e *Engine) close(limit time.Duration) {
	done := make(chan struct{})
	go func() {
		e.client.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
	}
}

// finish: "F grace_ms": waits for the outstanding messages at most the grace, reports the rest
// as unresolved (queued: never handed to the client; in_flight: handed, no answer), then the end
// line.
func (e *Engine) finish(f [][]byte) error {
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
		e.out.line(fmt.Sprintf("U %d %d %d 0 %d %d %s", m.ID, m.Due, enq, m.Topic, m.Bytes, where))
	}
	e.ledger.items = nil
	// The client's metrics are read before Close (sarama's Close unregisters them). What the
	// client still buffers (with acks=0 an answered message may not be written yet) goes out
	// before the process ends, as a service's producer does on Close.
	m := e.client.Metrics()
	e.close(5 * time.Second)
	end := usage()
	end["metrics"] = m
	e.out.line("E " + mustJSON(end))
	return nil
}
