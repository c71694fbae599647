package kit

import (
	"io"
	"sync"
)

// writer gathers outcome lines from every goroutine into one buffer and writes it to stdout from
// a goroutine of its own: each line wakes it, and what arrives while it writes goes out in the
// next write, so a busy engine writes many lines per system call and an idle one each at once.
type writer struct {
	mu     sync.Mutex
	buf    []byte
	closed bool
	// Signalled when the buffer was handed to the writing goroutine, or the writer closed.
	drained *sync.Cond
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// maxPending bounds what waits to be written: beyond it a line waits for the writing goroutine,
// so a reader of the answers that falls behind slows the client's answers (and so its input), as a
// full pipe would, instead of growing the engine's memory.
const maxPending = 16 << 20

func newWriter(w io.Writer) *writer {
	wr := &writer{
		buf:  make([]byte, 0, 1<<16),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	wr.drained = sync.NewCond(&wr.mu)
	go wr.run(w)
	return wr
}

// run writes what gathered whenever woken, and what is left once stopped.
func (wr *writer) run(w io.Writer) {
	defer close(wr.done)
	spare := make([]byte, 0, 1<<16)
	for {
		stopping := false
		select {
		case <-wr.wake:
		case <-wr.stop:
			stopping = true
		}
		wr.mu.Lock()
		out := wr.buf
		wr.buf = spare[:0]
		wr.drained.Broadcast()
		wr.mu.Unlock()
		if len(out) > 0 {
			_, _ = w.Write(out)
		}
		spare = out
		if stopping {
			return
		}
	}
}

// begin locks the buffer for one line and returns it; false once the writer is closed (the
// line is dropped). end keeps the line (with its line end) or not, unlocks, and wakes the
// writing goroutine.
func (wr *writer) begin() ([]byte, bool) {
	wr.mu.Lock()
	for len(wr.buf) > maxPending && !wr.closed {
		wr.drained.Wait()
	}
	if wr.closed {
		wr.mu.Unlock()
		return nil, false
	}
	return wr.buf, true
}

func (wr *writer) end(b []byte, keep bool) {
	if keep {
		wr.buf = append(b, '\n')
	}
	wr.mu.Unlock()
	select {
	case wr.wake <- struct{}{}:
	default:
	}
}

func (wr *writer) line(s string) {
	if b, ok := wr.begin(); ok {
		wr.end(append(b, s...), true)
	}
}

// close writes what is left and drops any later line.
func (wr *writer) close() {
	wr.mu.Lock()
	already := wr.closed
	wr.closed = true
	wr.drained.Broadcast()
	wr.mu.Unlock()
	if !already {
		close(wr.stop)
	}
	<-wr.done
}

