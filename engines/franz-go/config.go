package main

import (
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"kbench/engines/kit"
)

// kgoOpt is one option as the client gets it.
type kgoOpt = kgo.Opt

// option is one kgo option a scenario may set by its kgo name: how its value parses, and the
// option function itself (the key kgo's OptValue reads it back by).
type option struct {
	parse func(v string) (kgo.Opt, error)
	fn    any
}

func duration[O kgo.Opt](set func(time.Duration) O) func(string) (kgo.Opt, error) {
	return func(v string) (kgo.Opt, error) {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("expected a duration like \"10ms\", found %q", v)
		}
		return set(d), nil
	}
}

func integer[T int | int32](set func(T) kgo.Opt) func(string) (kgo.Opt, error) {
	return func(v string) (kgo.Opt, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("expected an integer, found %q", v)
		}
		return set(T(n)), nil
	}
}

func flag(set func() kgo.Opt) func(string) (kgo.Opt, error) {
	return func(v string) (kgo.Opt, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("expected true or false, found %q", v)
		}
		if !b {
			return nil, nil
		}
		return set(), nil
	}
}

// options: the kgo options a scenario may set, by their kgo names (ProducerOpt or Opt).
var options = map[string]option{
	"ProducerLinger":        {duration(kgo.ProducerLinger), kgo.ProducerLinger},
	"RecordDeliveryTimeout": {duration(kgo.RecordDeliveryTimeout), kgo.RecordDeliveryTimeout},
	"ProduceRequestTimeout": {duration(kgo.ProduceRequestTimeout), kgo.ProduceRequestTimeout},
	"ProducerBatchMaxBytes": {integer(func(n int32) kgo.Opt { return kgo.ProducerBatchMaxBytes(n) }), nil},
	"MaxBufferedRecords":    {integer(func(n int) kgo.Opt { return kgo.MaxBufferedRecords(n) }), kgo.MaxBufferedRecords},
	"MaxBufferedBytes":      {integer(func(n int) kgo.Opt { return kgo.MaxBufferedBytes(n) }), kgo.MaxBufferedBytes},
	"RecordRetries":         {integer(func(n int) kgo.Opt { return kgo.RecordRetries(n) }), kgo.RecordRetries},
	"UnknownTopicRetries":   {integer(func(n int) kgo.Opt { return kgo.UnknownTopicRetries(n) }), kgo.UnknownTopicRetries},
	"MaxProduceRequestsInflightPerBroker": {integer(func(n int) kgo.Opt { return kgo.MaxProduceRequestsInflightPerBroker(n) }),
		kgo.MaxProduceRequestsInflightPerBroker},
	"BrokerMaxWriteBytes":                {integer(func(n int32) kgo.Opt { return kgo.BrokerMaxWriteBytes(n) }), kgo.BrokerMaxWriteBytes},
	"DisableIdempotentWrite":             {flag(func() kgo.Opt { return kgo.DisableIdempotentWrite() }), kgo.DisableIdempotentWrite},
	"StreamingCompression":               {flag(func() kgo.Opt { return kgo.StreamingCompression() }), kgo.StreamingCompression},
	"StopProducerOnDataLossDetected":     {flag(func() kgo.Opt { return kgo.StopProducerOnDataLossDetected() }), kgo.StopProducerOnDataLossDetected},
	"AllowIdempotentProduceCancellation": {flag(func() kgo.Opt { return kgo.AllowIdempotentProduceCancellation() }), kgo.AllowIdempotentProduceCancellation},
	"RequestTimeoutOverhead":             {duration(kgo.RequestTimeoutOverhead), kgo.RequestTimeoutOverhead},
	"ConnIdleTimeout":                    {duration(kgo.ConnIdleTimeout), kgo.ConnIdleTimeout},
	"DialTimeout":                        {duration(kgo.DialTimeout), kgo.DialTimeout},
	"MetadataMaxAge":                     {duration(kgo.MetadataMaxAge), kgo.MetadataMaxAge},
	"MetadataMinAge":                     {duration(kgo.MetadataMinAge), kgo.MetadataMinAge},
	"RetryBackoff":                       {retryBackoff, nil},
	"RequiredAcks":                       {requiredAcks, nil},
	"ProducerBatchCompression":           {compression, nil},
	"MaxVersions":                        {maxVersions, nil},
}

// retryBackoff is a fixed backoff between tries (kgo's RetryBackoffFn), as librdkafka's
// retry.backoff.ms and sarama's Retry.Backoff.
func retryBackoff(v string) (kgo.Opt, error) {
	return duration(func(d time.Duration) kgo.Opt {
		return kgo.RetryBackoffFn(func(int) time.Duration { return d })
	})(v)
}

func requiredAcks(v string) (kgo.Opt, error) {
	switch v {
	case "0":
		return kgo.RequiredAcks(kgo.NoAck()), nil
	case "1":
		return kgo.RequiredAcks(kgo.LeaderAck()), nil
	case "-1", "all":
		return kgo.RequiredAcks(kgo.AllISRAcks()), nil
	}
	return nil, fmt.Errorf("expected 0, 1 or all, found %q", v)
}

func compression(v string) (kgo.Opt, error) {
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	c, ok := codecs[v]
	if !ok {
		return nil, fmt.Errorf("expected none, gzip, snappy, lz4 or zstd, found %q", v)
	}
	return kgo.ProducerBatchCompression(c), nil
}

func maxVersions(v string) (kgo.Opt, error) {
	vs := kversion.FromString(v)
	if vs == nil {
		return nil, fmt.Errorf("not a Kafka version kgo knows: %q", v)
	}
	return kgo.MaxVersions(vs), nil
}

// kgoConfig turns the settings into kgo options, in order (kbench's typed keys, then
// [producer.franz-go]); it returns every option kbench knows by name with the value kgo resolved
// (kgo's OptValue), the ones it cannot read back as they were set, secrets hidden.
func kgoConfig(cfg *kit.Config) ([]kgoOpt, map[string]string, error) {
	opts := []kgo.Opt{kgo.ClientID(cfg.ClientID)}
	given := map[string]string{}
	for _, kv := range cfg.Settings {
		o, ok := options[kv[0]]
		if !ok {
			return nil, nil, fmt.Errorf("[producer.franz-go] %q: not a kgo option kbench sets (franz-go %s; it sets %s)", kv[0], clientVersion, names())
		}
		opt, err := o.parse(kv[1])
		if err != nil {
			return nil, nil, fmt.Errorf("[producer.franz-go] %q: %w", kv[0], err)
		}
		if opt != nil {
			opts = append(opts, opt)
		}
		given[kv[0]] = kv[1]
	}
	p, err := partitioner(cfg.Partitioner)
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, kgo.RecordPartitioner(p))
	sec, err := security(cfg.Security)
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, sec...)
	resolved, err := resolve(opts, given)
	if err != nil {
		return nil, nil, err
	}
	resolved["RecordPartitioner"] = cfg.Partitioner
	if cfg.Security.UsesSASL() {
		resolved["SASL"] = cfg.Security.Mechanism + " user " + cfg.Security.Username + " password ***"
	}
	return opts, resolved, nil
}

func names() string {
	out := make([]string, 0, len(options))
	for n := range options {
		out = append(out, n)
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// resolve builds a client that never connects (kgo dials on first use) and reads back every
// option's value as kgo resolved it; kgo's own validation refuses what does not go together.
func resolve(opts []kgo.Opt, given map[string]string) (map[string]string, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[string]string{"ClientID": fmt.Sprint(cl.OptValue(kgo.ClientID))}
	for name, o := range options {
		if o.fn == nil {
			continue
		}
		out[name] = fmt.Sprint(cl.OptValue(o.fn))
	}
	out["ProducerBatchMaxBytes"] = fmt.Sprint(cl.OptValue(kgo.ProducerBatchMaxBytes))
	acks := map[kgo.Acks]string{kgo.NoAck(): "0", kgo.LeaderAck(): "1", kgo.AllISRAcks(): "all"}
	out["RequiredAcks"] = acks[cl.OptValue(kgo.RequiredAcks).(kgo.Acks)]
	out["RetryBackoff"] = "kgo's default (jittered exponential, 250ms to 2.5s)"
	out["ProducerBatchCompression"] = "snappy, none (kgo's default preference)"
	out["MaxVersions"] = "kgo's newest"
	for _, name := range []string{"RetryBackoff", "ProducerBatchCompression", "MaxVersions"} {
		if v, ok := given[name]; ok {
			out[name] = v
		}
	}
	return out, nil
}

// partitioner is kgo's partitioner for kbench's choice. hash, murmur2 and crc32 hash the key
// (fnv-1a as sarama's default, murmur2 as the Java client's, crc32 as librdkafka's consistent)
// and, for a message without a key, stick to one partition per batch as kgo does; random is a
// partition drawn per message; manual keeps the partition kbench chose.
func partitioner(name string) (kgo.Partitioner, error) {
	switch name {
	case "", "hash":
		return kgo.StickyKeyPartitioner(kgo.SaramaHasher(fnv32a)), nil
	case "murmur2":
		return kgo.StickyKeyPartitioner(nil), nil
	case "crc32":
		return kgo.StickyKeyPartitioner(func(key []byte, n int) int {
			return int(crc32.ChecksumIEEE(key) % uint32(n))
		}), nil
	case "random":
		return kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(_ *kgo.Record, n int) int { return rand.IntN(n) }
		}), nil
	case "manual":
		return kgo.ManualPartitioner(), nil
	}
	return nil, fmt.Errorf("partitioner %q: expected hash, murmur2, crc32, random or manual", name)
}

func fnv32a(b []byte) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(b)
	return h.Sum32()
}

// security turns kbench's [cluster.security] into DialTLSConfig and SASL (kgo's own PLAIN and
// SCRAM mechanisms).
func security(s *kit.Security) ([]kgo.Opt, error) {
	var out []kgo.Opt
	if s.UsesTLS() {
		t, err := s.TLSConfig()
		if err != nil {
			return nil, err
		}
		out = append(out, kgo.DialTLSConfig(t.Clone()))
	}
	if !s.UsesSASL() {
		return out, nil
	}
	auth := scram.Auth{User: s.Username, Pass: s.Password}
	switch s.Mechanism {
	case "PLAIN":
		out = append(out, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		out = append(out, kgo.SASL(auth.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		out = append(out, kgo.SASL(auth.AsSha512Mechanism()))
	default:
		return nil, s.MechanismError()
	}
	return out, nil
}
