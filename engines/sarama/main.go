// Command kbench-engine-sarama is kbench's sarama engine: it sends what kbench schedules with
// github.com/IBM/sarama and answers with what happened to each message. It speaks
// kbench.engine/v1 on its standard input and output (docs/engines.md in the kbench repository).
//
// kbench keeps the pacing, the payloads, the keys and the measurement; this program only turns
// each message line into a sarama send and each sarama outcome into a line, with the instants
// read on CLOCK_MONOTONIC (the clock kbench reads), so kbench computes every latency itself.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
	"golang.org/x/sys/unix"
)

// The protocol this engine speaks, and the client it drives (kept equal to go.mod's version).
const (
	protocol      = "kbench.engine/v1"
	clientVersion = "v1.61.1"
)

// Exit codes: bad configuration (kbench exits 2), the cluster refused or was unreachable (3),
// broken protocol input (kbench's bug: 1).
const (
	exitConfig   = 2
	exitCluster  = 3
	exitProtocol = 1
)

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := newWriter(os.Stdout)
	cfg, err := readConfig(in)
	if err != nil {
		fatal(out, "protocol", exitProtocol, err)
	}
	sc, resolved, err := saramaConfig(cfg)
	if err != nil {
		fatal(out, "config", exitConfig, err)
	}
	resolved["runtime.GOGC"] = setGC()
	ready := map[string]any{
		"client":         "sarama",
		"client_version": clientVersion,
		"go":             runtime.Version(),
		"config":         resolved,
	}
	if cfg.CheckOnly {
		out.line("R " + mustJSON(ready))
		out.close()
		return
	}
	e, err := start(cfg, sc, out)
	if err != nil {
		fatal(out, "cluster", exitCluster, err)
	}
	out.line("R " + mustJSON(ready))
	if err := e.serve(in); err != nil {
		fatal(out, "protocol", exitProtocol, err)
	}
	out.close()
}

// gcPercent is the engine's GOGC unless the environment sets one. The engine holds little
// besides sarama's buffers, so Go's default (100) collects many times a second at a high rate,
// where a service's larger heap, or sarama's own tool holding every message, collects seldom;
// 400 keeps the collector's share of the CPU near what those see.
const gcPercent = 400

// setGC applies gcPercent unless GOGC is set, and returns the value in force.
func setGC() string {
	if v, ok := os.LookupEnv("GOGC"); ok {
		return v
	}
	debug.SetGCPercent(gcPercent)
	return strconv.Itoa(gcPercent)
}

// fatal reports an error kbench shows with the engine's name, and exits.
func fatal(out *writer, kind string, code int, err error) {
	out.line(fmt.Sprintf("X %s %s", kind, oneLine(err.Error())))
	out.close()
	os.Exit(code)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// monotonic reads CLOCK_MONOTONIC once; nowNs adds Go's monotonic time since then (the runtime
// reads the same clock), so each reading costs no system call.
var (
	monoBase  = monotonicNs()
	monoStart = time.Now()
)

func monotonicNs() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

func nowNs() int64 {
	return monoBase + int64(time.Since(monoStart))
}

// usage is the process's CPU seconds and peak RSS (KiB), for the end line.
func usage() map[string]any {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return map[string]any{}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return map[string]any{"cpu_s": cpu, "max_rss_kib": ru.Maxrss}
}

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
// so a reader of the answers that falls behind slows sarama's answers (and so its input), as a
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

// errorName is how an outcome line names a failure: Kafka's error code (kbench names it), or
// librdkafka's name for the same local condition, or "_FAIL" with the text sent as an event.
func errorName(err error) (string, string) {
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
	return "_FAIL", oneLine(err.Error())
}

// decodeKey reads a key field: "-" for none, else hex.
func decodeKey(f []byte) ([]byte, error) {
	if len(f) == 1 && f[0] == '-' {
		return nil, nil
	}
	out := make([]byte, hex.DecodedLen(len(f)))
	_, err := hex.Decode(out, f)
	return out, err
}

func decodeInline(f []byte) ([]byte, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(f)))
	n, err := base64.StdEncoding.Decode(out, f)
	return out[:n], err
}

// saramaMetrics: what sarama's own registry says of the run (request latency, batch size,
// records per request), under sarama's names.
func saramaMetrics(r metrics.Registry) map[string]any {
	out := map[string]any{}
	if r == nil {
		return out
	}
	for _, name := range []string{"request-latency-in-ms", "batch-size", "records-per-request"} {
		if h, ok := r.Get(name).(metrics.Histogram); ok && h.Count() > 0 {
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
