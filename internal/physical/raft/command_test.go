package raft

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
)

func TestCommandRoundTrip(t *testing.T) {
	txn, err := encodeTxn([]*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: "a/b", Value: []byte("value")}},
		{Op: physical.DeleteOp, Entry: &physical.Entry{Key: "gone"}},
		{Op: physical.PutOp, Entry: &physical.Entry{Key: "empty"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0, 0xff}, 70000)
	cmd := newCommand(appendPut(nil, "first", big), txn, appendDelete(nil, "last"))
	ops, err := decodeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	want := []op{
		{key: []byte("first"), value: big},
		{key: []byte("a/b"), value: []byte("value")},
		{del: true, key: []byte("gone")},
		{key: []byte("empty"), value: []byte{}},
		{del: true, key: []byte("last")},
	}
	if len(ops) != len(want) {
		t.Fatalf("decoded %d ops, want %d", len(ops), len(want))
	}
	for i := range want {
		if ops[i].del != want[i].del || !bytes.Equal(ops[i].key, want[i].key) || !bytes.Equal(ops[i].value, want[i].value) {
			t.Errorf("op %d = {%v %q %d bytes}, want {%v %q %d bytes}", i, ops[i].del, ops[i].key, len(ops[i].value), want[i].del, want[i].key, len(want[i].value))
		}
	}
}

func TestDecodeCommandRejects(t *testing.T) {
	tests := map[string][]byte{
		"empty":           nil,
		"unknown version": {9},
		"unknown op":      {commandVersion, 7},
		"no key length":   {commandVersion, kindPut},
		"truncated key":   {commandVersion, kindPut, 5, 'a'},
		"empty key":       {commandVersion, kindDelete, 0},
		"no value":        {commandVersion, kindPut, 1, 'a'},
		"truncated value": {commandVersion, kindPut, 1, 'a', 3, 'x'},
		"huge length":     {commandVersion, kindPut, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, data := range tests {
		if _, err := decodeCommand(data); !errors.Is(err, errBadCommand) {
			t.Errorf("%s: err = %v, want errBadCommand", name, err)
		}
	}
	if _, err := decodeCommand([]byte{commandVersion}); err != nil {
		t.Errorf("a command with no ops is valid (an empty entry): %v", err)
	}
}

func TestEncodeTxnRejects(t *testing.T) {
	long := strings.Repeat("k", 40000)
	for name, ops := range map[string][]*physical.TxnOp{
		"nil op":     {nil},
		"nil entry":  {{Op: physical.PutOp}},
		"empty key":  {{Op: physical.DeleteOp, Entry: &physical.Entry{}}},
		"long key":   {{Op: physical.PutOp, Entry: &physical.Entry{Key: long}}},
		"unknown op": {{Op: 0, Entry: &physical.Entry{Key: "k"}}},
	} {
		if _, err := encodeTxn(ops); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecodeCommand: any log entry data either decodes into valid ops that
// re-encode to the same bytes, or is rejected; it never panics.
func FuzzDecodeCommand(f *testing.F) {
	f.Add(newCommand(appendPut(nil, "k", []byte("v"))))
	f.Add(newCommand(appendDelete(appendPut(nil, "a/b", nil), "c")))
	f.Add([]byte{commandVersion, kindPut, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ops, err := decodeCommand(data)
		if err != nil {
			return
		}
		re := []byte{commandVersion}
		for _, o := range ops {
			if len(o.key) == 0 {
				t.Fatal("decoded an empty key")
			}
			if o.del {
				re = appendDelete(re, string(o.key))
			} else {
				re = appendPut(re, string(o.key), o.value)
			}
		}
		if !bytes.Equal(re, data) {
			// Non-minimal varints decode too; what matters is that the
			// re-encoding decodes to the same ops.
			again, err := decodeCommand(re)
			if err != nil || len(again) != len(ops) {
				t.Fatalf("re-encoded command does not decode the same: %v", err)
			}
		}
	})
}
