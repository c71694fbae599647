// Package kit is what every Go engine of kbench shares: kbench.engine/v1 on standard input and
// output (docs/engines.md in the kbench repository), the ledger of outstanding messages, the
// answer lines and the end line. An engine brings only its client: how to build it from the
// configuration line, how to hand it one message, how to send a sync worker's batch, and how
// its failures are named.
//
// kbench keeps the pacing, the payloads, the keys and the measurement; an engine turns each
// message line into a send and each outcome into a line, with the instants read on
// CLOCK_MONOTONIC (the clock kbench reads), so kbench computes every latency itself.
package kit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Protocol is the protocol every engine built on the kit speaks.
const Protocol = "kbench.engine/v1"

// Exit codes: bad configuration (kbench exits 2), the cluster refused or was unreachable (3),
// broken protocol input (kbench's bug: 1).
const (
	exitConfig   = 2
	exitCluster  = 3
	exitProtocol = 1
)

// Fields is one message line, decoded: the client builds its own message from it.
type Fields struct {
	Slot  int
	Topic string
	// -1 when the client's partitioner chooses.
	Partition int32
	// nil for none.
	Key   []byte
	Value []byte
}

// Client is one engine's client.
type Client interface {
	// New builds the client's message for a line; the *Msg it returns is part of that message
	// (Msg.Own points back to it), one allocation per message.
	New(f *Fields) *Msg
	// Send hands a message to the client (async and fire-and-forget), returning once the
	// client took it; the answer comes through Engine.Acked or Engine.Failed.
	Send(m *Msg)
	// SendSync sends a sync worker's batch and returns when the client answered all of it:
	// each message's error, or nil when acked (its Partition set).
	SendSync(batch []*Msg) []error
	// ErrorName names a failure: "k<Kafka code>", a librdkafka local name for the same
	// condition, or "_FAIL" with the client's text (sent as a client-error event).
	ErrorName(err error) (name, detail string)
	// Metrics: the client's own figures, under its names, read before Close.
	Metrics() map[string]any
	// Close flushes what the client buffers and closes it.
	Close()
}

// Spec is one engine: its client's name and version, and how to build it.
type Spec[C any] struct {
	Client  string
	Version string
	// Resolve builds the client's configuration from the configuration line, and the
	// resolved settings as text (secrets "***"), without connecting.
	Resolve func(cfg *Config) (C, map[string]string, error)
	// Start connects the client; answers go to e.
	Start func(cfg *Config, c C, e *Engine) (Client, error)
}

// Main runs an engine: the configuration line, the ready line, then the messages.
func Main[C any](spec Spec[C]) {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := newWriter(os.Stdout)
	cfg, err := readConfig(in, spec.Client)
	if err != nil {
		fatal(out, "protocol", exitProtocol, err)
	}
	c, resolved, err := spec.Resolve(cfg)
	if err != nil {
		fatal(out, "config", exitConfig, err)
	}
	resolved["runtime.GOGC"] = setGC()
	ready := map[string]any{
		"client":         spec.Client,
		"client_version": spec.Version,
		"go":             runtime.Version(),
		"config":         resolved,
	}
	if cfg.CheckOnly {
		out.line("R " + mustJSON(ready))
		out.close()
		return
	}
	e := newEngine(cfg, out)
	client, err := spec.Start(cfg, c, e)
	if err != nil {
		fatal(out, "cluster", exitCluster, err)
	}
	e.start(client)
	out.line("R " + mustJSON(ready))
	if err := e.serve(in); err != nil {
		fatal(out, "protocol", exitProtocol, err)
	}
	out.close()
}

// Config is the first line kbench writes: where, what and how to send.
type Config struct {
	Protocol  string   `json:"protocol"`
	Bootstrap []string `json:"bootstrap"`
	ClientID  string   `json:"client_id"`
	Topics    []string `json:"topics"`
	// "async", "sync" or "fire-and-forget".
	Mode string `json:"mode"`
	// Sync workers (each its own slot), and the messages each sends at once.
	Slots     int `json:"slots"`
	SyncBatch int `json:"sync_batch"`
	// "hash", "murmur2", "crc32", "random" or "manual" (kbench chose the partition).
	Partitioner string `json:"partitioner"`
	// The client's settings by its own names, applied in order: kbench's typed keys first,
	// then the scenario's raw settings for the engine.
	Settings [][2]string `json:"settings"`
	Security *Security   `json:"security"`
	// The headers every message carries: [name, base64 value] pairs.
	Headers [][2]string `json:"headers"`
	// Resolve the configuration, print it, and exit without connecting.
	CheckOnly bool `json:"check_only"`
}

func readConfig(in *bufio.Reader, client string) (*Config, error) {
	line, err := in.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("no configuration line: %w", err)
	}
	var cfg Config
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("configuration line: %w", err)
	}
	if cfg.Protocol != Protocol {
		return nil, fmt.Errorf("kbench speaks %q, this engine %q: rebuild it (kbench engines build %s)", cfg.Protocol, Protocol, client)
	}
	if len(cfg.Topics) == 0 || len(cfg.Bootstrap) == 0 && !cfg.CheckOnly {
		return nil, fmt.Errorf("configuration line: no topics or no bootstrap servers")
	}
	cfg.Slots = max(cfg.Slots, 1)
	cfg.SyncBatch = max(cfg.SyncBatch, 1)
	return &cfg, nil
}

// fatal reports an error kbench shows with the engine's name, and exits.
func fatal(out *writer, kind string, code int, err error) {
	out.line(fmt.Sprintf("X %s %s", kind, OneLine(err.Error())))
	out.close()
	os.Exit(code)
}

// OneLine folds a text onto one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
