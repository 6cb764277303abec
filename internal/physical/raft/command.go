package raft

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/strongbox/strongbox/internal/physical"
)

// A raft log command is a version byte followed by write operations, each
//
//	kind(1: put, 2: delete) | uvarint len(key) | key | [uvarint len(value) | value]
//
// with no count, so the dispatcher builds one command from several writers'
// operations by concatenating their encodings. The FSM applies a command in
// one bbolt transaction: all of its operations or none.
const commandVersion byte = 1

const (
	kindPut    byte = 1
	kindDelete byte = 2
)

// errBadCommand marks a log entry the FSM cannot decode. Decoding is
// deterministic, so every node rejects the same entry and stays identical.
var errBadCommand = errors.New("malformed raft command")

// op is one decoded write; key and value alias the log entry's data.
type op struct {
	del        bool
	key, value []byte
}

// checkKey rejects keys bbolt cannot store.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("raft storage: empty key")
	case len(key) > bolt.MaxKeySize:
		return fmt.Errorf("raft storage: key of %d bytes exceeds the %d-byte limit", len(key), bolt.MaxKeySize)
	}
	return nil
}

// appendPut appends the encoding of a put to dst.
func appendPut(dst []byte, key string, value []byte) []byte {
	dst = append(dst, kindPut)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// appendDelete appends the encoding of a delete to dst.
func appendDelete(dst []byte, key string) []byte {
	dst = append(dst, kindDelete)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	return append(dst, key...)
}

// encodeTxn validates ops and returns their encoding (without the version
// byte). Values are copied, so the caller may reuse its buffers.
func encodeTxn(ops []*physical.TxnOp) ([]byte, error) {
	size := 0
	for i, o := range ops {
		if o == nil || o.Entry == nil {
			return nil, fmt.Errorf("raft storage: transaction: op %d has no entry", i)
		}
		if err := checkKey(o.Entry.Key); err != nil {
			return nil, fmt.Errorf("raft storage: transaction: op %d: %w", i, err)
		}
		switch o.Op {
		case physical.PutOp, physical.DeleteOp:
		default:
			return nil, fmt.Errorf("raft storage: transaction: op %d: unknown operation %d", i, o.Op)
		}
		size += 1 + 2*binary.MaxVarintLen64 + len(o.Entry.Key) + len(o.Entry.Value)
	}
	body := make([]byte, 0, size)
	for _, o := range ops {
		if o.Op == physical.PutOp {
			body = appendPut(body, o.Entry.Key, o.Entry.Value)
		} else {
			body = appendDelete(body, o.Entry.Key)
		}
	}
	return body, nil
}

// newCommand joins the encoded bodies of several writes into one command.
func newCommand(bodies ...[]byte) []byte {
	n := 1
	for _, b := range bodies {
		n += len(b)
	}
	cmd := make([]byte, 1, n)
	cmd[0] = commandVersion
	for _, b := range bodies {
		cmd = append(cmd, b...)
	}
	return cmd
}

// decodeCommand parses and validates a whole command before anything is
// applied, so a bad entry changes nothing.
func decodeCommand(data []byte) ([]op, error) {
	if len(data) == 0 || data[0] != commandVersion {
		return nil, fmt.Errorf("%w: unknown version", errBadCommand)
	}
	rest := data[1:]
	var ops []op
	for len(rest) > 0 {
		kind := rest[0]
		rest = rest[1:]
		if kind != kindPut && kind != kindDelete {
			return nil, fmt.Errorf("%w: unknown operation %d", errBadCommand, kind)
		}
		key, r, err := readBytes(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: key: %v", errBadCommand, err)
		}
		if len(key) == 0 || len(key) > bolt.MaxKeySize {
			return nil, fmt.Errorf("%w: key of %d bytes", errBadCommand, len(key))
		}
		rest = r
		o := op{del: kind == kindDelete, key: key}
		if !o.del {
			if o.value, rest, err = readBytes(rest); err != nil {
				return nil, fmt.Errorf("%w: value: %v", errBadCommand, err)
			}
			if len(o.value) > bolt.MaxValueSize {
				return nil, fmt.Errorf("%w: value of %d bytes", errBadCommand, len(o.value))
			}
		}
		ops = append(ops, o)
	}
	return ops, nil
}

func readBytes(b []byte) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, nil, errors.New("bad length")
	}
	b = b[k:]
	if n > uint64(len(b)) {
		return nil, nil, errors.New("truncated")
	}
	return b[:n], b[n:], nil
}
