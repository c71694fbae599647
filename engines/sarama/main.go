// Command kbench-engine-sarama is kbench's sarama engine: it sends what kbench schedules with
// github.com/IBM/sarama and answers with what happened to each message. The protocol, the
// ledger of outstanding messages and the answer lines are kbench's engine kit (engines/kit);
// this program brings sarama: its configuration from the scenario's settings (config.go), one
// send per message and its answers (engine.go), and sarama's SCRAM client (scram.go).
package main

import "kbench/engines/kit"

// The client this engine drives (kept equal to go.mod's version).
const clientVersion = "v1.61.1"

func main() {
	kit.Main(kit.Spec[*saramaConfigured]{
		Client:  "sarama",
		Version: clientVersion,
		Resolve: saramaConfig,
		Start:   start,
	})
}
