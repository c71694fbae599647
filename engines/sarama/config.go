package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"kbench/engines/kit"
)

// saramaConfigured is the client's configuration, built before it connects.
type saramaConfigured struct {
	c *sarama.Config
}

// saramaConfig builds the client's configuration; it returns every field that differs from
// sarama's defaults (and those kbench set), as sarama will run with them, secrets hidden.
func saramaConfig(cfg *kit.Config) (*saramaConfigured, map[string]string, error) {
	c := sarama.NewConfig()
	c.ClientID = cfg.ClientID
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	touched := map[string]bool{"ClientID": true}
	for _, kv := range cfg.Settings {
		full, err := set(c, kv[0], kv[1])
		if err != nil {
			return nil, nil, err
		}
		touched[full] = true
	}
	p, err := partitioner(cfg.Partitioner)
	if err != nil {
		return nil, nil, err
	}
	c.Producer.Partitioner = p
	if err := applySecurity(c, cfg.Security); err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	resolved := resolve(c, sarama.NewConfig(), touched)
	resolved["Producer.Partitioner"] = cfg.Partitioner
	return &saramaConfigured{c}, resolved, nil
}

func partitioner(name string) (sarama.PartitionerConstructor, error) {
	switch name {
	case "", "hash":
		return sarama.NewHashPartitioner, nil
	case "murmur2":
		return sarama.NewMurmur2Partitioner, nil
	case "crc32":
		return sarama.NewConsistentCRCHashPartitioner, nil
	case "random":
		return sarama.NewRandomPartitioner, nil
	case "manual":
		return sarama.NewManualPartitioner, nil
	}
	return nil, fmt.Errorf("partitioner %q: expected hash, murmur2, crc32, random or manual", name)
}

// set assigns one field of the configuration by its Go path: "Net.MaxOpenRequests", or, for the
// producer's own fields, "Flush.Frequency" as well as "Producer.Flush.Frequency". It returns
// the full path.
func set(c *sarama.Config, path, value string) (string, error) {
	v, ok := field(reflect.ValueOf(c).Elem(), path)
	full := path
	if !ok {
		full = "Producer." + path
		v, ok = field(reflect.ValueOf(c).Elem(), full)
	}
	if !ok {
		return path, fmt.Errorf("[producer.sarama] %q: not a sarama.Config field (sarama %s)", path, clientVersion)
	}
	if err := assign(v, value); err != nil {
		return full, fmt.Errorf("[producer.sarama] %q: %w", path, err)
	}
	return full, nil
}

// field walks a dotted path of exported struct fields.
func field(v reflect.Value, path string) (reflect.Value, bool) {
	for _, name := range strings.Split(path, ".") {
		if v.Kind() != reflect.Struct {
			return v, false
		}
		f, ok := v.Type().FieldByName(name)
		if !ok || !f.IsExported() {
			return v, false
		}
		v = v.FieldByIndex(f.Index)
	}
	return v, v.Kind() != reflect.Struct || v.Type() == reflect.TypeOf(sarama.KafkaVersion{})
}

func assign(v reflect.Value, value string) error {
	switch v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("expected a duration like \"10ms\", found %q", value)
		}
		v.SetInt(int64(d))
		return nil
	case sarama.KafkaVersion:
		kv, err := sarama.ParseKafkaVersion(value)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(kv))
		return nil
	case sarama.CompressionCodec:
		var cc sarama.CompressionCodec
		if err := cc.UnmarshalText([]byte(value)); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(cc))
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("expected true or false, found %q", value)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(value, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("expected an integer, found %q", value)
		}
		v.SetInt(n)
	case reflect.String:
		v.SetString(value)
	default:
		return fmt.Errorf("a %s cannot be set from a scenario", v.Type())
	}
	return nil
}

// resolve lists every settable field whose value differs from sarama's defaults, or that kbench
// set, as text; secrets are "***".
func resolve(c, defaults *sarama.Config, touched map[string]bool) map[string]string {
	out := map[string]string{}
	var walk func(v, d reflect.Value, prefix string)
	walk = func(v, d reflect.Value, prefix string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			path := prefix + f.Name
			fv, dv := v.Field(i), d.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(sarama.KafkaVersion{}) {
				walk(fv, dv, path+".")
				continue
			}
			text, ok := show(fv)
			if !ok {
				continue
			}
			def, _ := show(dv)
			if text != def || touched[path] {
				if strings.Contains(strings.ToLower(path), "password") && text != "" {
					text = "***"
				}
				out[path] = text
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), reflect.ValueOf(defaults).Elem(), "")
	return out
}

func show(v reflect.Value) (string, bool) {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String(), true
	case sarama.KafkaVersion:
		return x.String(), true
	case sarama.CompressionCodec:
		return x.String(), true
	case sarama.RequiredAcks:
		return strconv.Itoa(int(x)), true
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.String:
		return v.String(), true
	}
	return "", false
}

// applySecurity turns kbench's [cluster.security] into Net.TLS and Net.SASL.
func applySecurity(c *sarama.Config, s *kit.Security) error {
	if s.UsesTLS() {
		t, err := s.TLSConfig()
		if err != nil {
			return err
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = t
	}
	if !s.UsesSASL() {
		return nil
	}
	c.Net.SASL.Enable = true
	c.Net.SASL.User = s.Username
	c.Net.SASL.Password = s.Password
	switch s.Mechanism {
	case "PLAIN":
		c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case "SCRAM-SHA-256":
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		c.Net.SASL.SCRAMClientGeneratorFunc = scramSHA256
	case "SCRAM-SHA-512":
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.SCRAMClientGeneratorFunc = scramSHA512
	default:
		return s.MechanismError()
	}
	return nil
}
