package kit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// serve reads the pool and the message lines until the finish line.
func (e *Engine) serve(in *bufio.Reader) error {
	var f [10][]byte
	for {
		line, err := readLine(in)
		if err == io.EOF && len(line) == 0 {
			return errors.New("standard input closed before the finish line")
		}
		if err != nil && err != io.EOF {
			return err
		}
		n := split(bytes.TrimSuffix(line, []byte{'\n'}), f[:])
		if n == 0 || n > len(f) {
			return fmt.Errorf("a line of no or too many fields: %q", line)
		}
		fs := f[:n]
		switch string(fs[0]) {
		case "M", "B":
			if err := e.message(fs); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		case "W":
			if err := e.flushSlot(fs); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		case "P":
			if err := e.readPool(in, fs); err != nil {
				return err
			}
		case "F":
			return e.finish(fs)
		default:
			return fmt.Errorf("unknown line %q", line)
		}
	}
}

// readLine reads one line without copying it when it fits the reader's buffer (valid until the
// next read).
func readLine(in *bufio.Reader) ([]byte, error) {
	line, err := in.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		rest, err := in.ReadBytes('\n')
		return append(append([]byte(nil), line...), rest...), err
	}
	return line, err
}

// split cuts a line at single spaces into out (no allocation); returns how many fields, or
// len(out)+1 when there are more.
func split(line []byte, out [][]byte) int {
	n := 0
	for len(line) > 0 {
		if n == len(out) {
			return n + 1
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			out[n] = line
			return n + 1
		}
		out[n] = line[:i]
		n++
		line = line[i+1:]
	}
	return n
}

func atoi(b []byte) (int64, error) {
	return strconv.ParseInt(string(b), 10, 64)
}

func atou(b []byte) (uint64, error) {
	return strconv.ParseUint(string(b), 10, 64)
}

func (e *Engine) readPool(in *bufio.Reader, f [][]byte) error {
	if len(f) != 2 {
		return errors.New("P takes a length")
	}
	n, err := strconv.Atoi(string(f[1]))
	if err != nil || n < 0 || n > 1<<31 {
		return fmt.Errorf("pool length %q", f[1])
	}
	e.pool = make([]byte, n)
	if _, err := io.ReadFull(in, e.pool); err != nil {
		return fmt.Errorf("pool of %d bytes: %w", n, err)
	}
	if b, err := in.ReadByte(); err != nil || b != '\n' {
		return errors.New("the pool is not followed by a line end")
	}
	return nil
}

// message: "M id due slot topic partition key offset length" (a slice of the pool) or
// "B id due slot topic partition key base64" (the bytes themselves).
func (e *Engine) message(f [][]byte) error {
	inline := f[0][0] == 'B'
	if (!inline && len(f) != 9) || (inline && len(f) != 8) {
		return errors.New("wrong number of fields")
	}
	id, err1 := atou(f[1])
	due, err2 := atou(f[2])
	slot, err3 := atoi(f[3])
	topic, err4 := atoi(f[4])
	part, err5 := atoi(f[5])
	key, err6 := decodeKey(f[6])
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return err
	}
	if topic < 0 || topic >= int64(len(e.cfg.Topics)) || slot < 0 || slot >= int64(e.cfg.Slots) {
		return errors.New("topic or slot out of range")
	}
	value, err := e.value(inline, f)
	if err != nil {
		return err
	}
	fields := Fields{Slot: int(slot), Topic: e.cfg.Topics[topic], Partition: -1, Key: key, Value: value}
	if part >= 0 {
		fields.Partition = int32(part)
	}
	m := e.client.New(&fields)
	m.ID, m.Due, m.Topic, m.Bytes = id, due, int(topic), len(value)+len(key)
	e.add(m, int(slot))
	return nil
}

// value is a message's payload: a slice of the pool, or its own bytes.
func (e *Engine) value(inline bool, f [][]byte) ([]byte, error) {
	if inline {
		return decodeInline(f[7])
	}
	off, err1 := atoi(f[7])
	n, err2 := atoi(f[8])
	if err := errors.Join(err1, err2); err != nil || off < 0 || n < 0 || off+n > int64(len(e.pool)) {
		return nil, errors.New("payload slice outside the pool")
	}
	return e.pool[off : off+n], nil
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
