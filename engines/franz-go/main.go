// Command kbench-engine-franz-go is kbench's franz-go engine: it sends what kbench schedules with
// github.com/twmb/franz-go (kgo) and answers with what happened to each message. The protocol,
// the ledger of outstanding messages and the answer lines are kbench's engine kit (engines/kit);
// this program brings kgo: its options from the scenario's settings (config.go), and one
// Produce per message with its promise, or ProduceSync per sync worker (engine.go).
package main

import "kbench/engines/kit"

// The client this engine drives (kept equal to go.mod's version).
const clientVersion = "v1.22.3"

func main() {
	kit.Main(kit.Spec[[]kgoOpt]{
		Client:  "franz-go",
		Version: clientVersion,
		Resolve: kgoConfig,
		Start:   start,
	})
}
