package kit

import (
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// gcPercent is the engine's GOGC unless the environment sets one. An engine holds little besides
// its client's buffers, so Go's default (100) collects many times a second at a high rate, where
// a service's larger heap, or a client's own benchmark tool holding every message, collects
// seldom; 400 keeps the collector's share of the CPU near what those see.
const gcPercent = 400

// setGC applies gcPercent unless GOGC is set, and returns the value in force.
func setGC() string {
	if v, ok := os.LookupEnv("GOGC"); ok {
		return v
	}
	debug.SetGCPercent(gcPercent)
	return strconv.Itoa(gcPercent)
}

// monoBase is CLOCK_MONOTONIC read once; NowNs adds Go's monotonic time since then (the runtime
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

// NowNs is the instant on CLOCK_MONOTONIC, in nanoseconds.
func NowNs() int64 {
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
