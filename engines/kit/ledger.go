package kit

import (
	"runtime"
	"sync/atomic"
)

// Msg is what the kit tracks of one message; it lives inside the client's own message (one
// allocation), and Own points back to that.
type Msg struct {
	ID  uint64 // kbench's message id, echoed
	Due uint64 // kbench's due instant (µs on its clock), echoed
	// The client's message this one is part of.
	Own   any
	Topic int
	Bytes int
	// Set by the client when it acks (sync mode).
	Partition int32
	// When the client accepted it (ns, CLOCK_MONOTONIC); 0 while not yet handed over.
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

// enqueued waits out the instant between the client taking a message and its sender noting when.
func (m *Msg) enqueued() int64 {
	for {
		if t := m.enqNs.Load(); t != 0 {
			return t
		}
		runtime.Gosched()
	}
}

// ledger holds every message handed to the client in order, so the finish can report the ones
// never answered. Only the goroutine reading kbench's input adds to it and sweeps it; answers only
// settle a message's state, so no lock is taken per message.
type ledger struct {
	items []*Msg
	// Sweep the answered out when items grows to this.
	sweepAt int
	// How many are open (added and not settled).
	open atomic.Int64
}

func (l *ledger) add(m *Msg) {
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
func (l *ledger) settle(m *Msg, to uint32) bool {
	if !m.state.CompareAndSwap(open, to) {
		return false
	}
	l.open.Add(-1)
	return true
}
