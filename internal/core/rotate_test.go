package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/logical"
)

// rotationNode is a Shamir node whose seal upkeep runs only when the test
// calls runSealWork, so every check is deterministic.
func rotationNode(t *testing.T) *sealNode {
	t.Helper()
	n := newSealNode(t, nil)
	n.reopenManual(t)
	return n
}

// reopenManual restarts the node with the background loop slowed to an
// hour (its first round still runs at unseal) and unseals it.
func (n *sealNode) reopenManual(t *testing.T) {
	t.Helper()
	c := n.open(t, nil, nil)
	c.keyops.SetPace(time.Hour, 0)
	n.unseal(t, UnsealOptions{}, n.keys[:3])
	// The active term's setup, whichever of this call and the loop's
	// first round runs it.
	c.keyops.RunWork(context.Background())
}

func (n *sealNode) term(t *testing.T) uint32 {
	t.Helper()
	ks, err := n.c.barrier.KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	return ks.Term
}

func (n *sealNode) writes(t *testing.T, count int) {
	t.Helper()
	for i := range count {
		n.request(t, logical.UpdateOperation, fmt.Sprintf("kv/w%d", i), map[string]any{"v": i})
	}
}

// rotationCount is the stored encryption count of a term, as keyops
// writes it at rotationCountKey (through the barrier).
type rotationCount struct {
	Term        uint32 `json:"term"`
	Encryptions int64  `json:"encryptions"`
}

const rotationCountKey = "core/rotation/encryptions"

func (n *sealNode) storedCount(t *testing.T) rotationCount {
	t.Helper()
	e, err := n.c.barrier.Get(context.Background(), rotationCountKey)
	if err != nil || e == nil {
		t.Fatalf("stored rotation count: %v %v", e, err)
	}
	var rc rotationCount
	if err := json.Unmarshal(e.Value, &rc); err != nil {
		t.Fatal(err)
	}
	return rc
}

func TestRotateConfigAPI(t *testing.T) {
	n := rotationNode(t)
	read := func() map[string]any {
		return n.request(t, logical.ReadOperation, "sys/rotate/config", nil).Data
	}
	if d := read(); d["max_operations"] != int64(3865470566) || d["enabled"] != true || d["interval"] != 0 {
		t.Fatalf("defaults: %v", d)
	}
	bad := []struct {
		data map[string]any
		msg  string
	}{
		{map[string]any{"interval": "1h"}, "interval must be greater or equal to 24h0m0s"},
		{map[string]any{"max_operations": 999999}, "max_operations must be in the range [1000000,3865470566]"},
		{map[string]any{"max_operations": int64(3865470567)}, "max_operations must be in the range"},
		{map[string]any{"max_operations": "many"}, "max_operations"},
		{map[string]any{"interval": "soon"}, "interval"},
	}
	for _, b := range bad {
		_, err := n.c.HandleRequest(context.Background(), &logical.Request{
			Operation: logical.UpdateOperation, Path: "sys/rotate/config", Data: b.data, ClientToken: n.root})
		wantStatus(t, err, 400, b.msg)
	}
	if d := read(); d["max_operations"] != int64(3865470566) || d["interval"] != 0 {
		t.Fatalf("a refused write changed the config: %v", d)
	}
	n.request(t, logical.UpdateOperation, "sys/rotate/config", map[string]any{
		"max_operations": 2000000000, "interval": "4320h", "enabled": false})
	want := map[string]any{"max_operations": int64(2000000000), "interval": "4320h0m0s", "enabled": false}
	check := func(when string) {
		d := read()
		for k, v := range want {
			if d[k] != v {
				t.Fatalf("%s: %s = %v, want %v", when, k, d[k], v)
			}
		}
	}
	check("after the write")
	n.reopenManual(t)
	check("after a restart")
	// Fields not sent keep their values; interval 0 turns it off.
	n.request(t, logical.UpdateOperation, "sys/rotate/config", map[string]any{"interval": 0, "enabled": true})
	want = map[string]any{"max_operations": int64(2000000000), "interval": 0, "enabled": true}
	check("after a partial write")
}

func TestAutoRotation(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		conf   keyops.RotationConfig
		writes int
		rotate bool
	}{
		{"max operations exceeded", keyops.RotationConfig{MaxOperations: 5}, 10, true},
		{"below max operations", keyops.RotationConfig{MaxOperations: 1000}, 10, false},
		{"interval passed", keyops.RotationConfig{MaxOperations: 3865470566, Interval: time.Nanosecond}, 0, true},
		{"disabled", keyops.RotationConfig{MaxOperations: 1, Interval: time.Nanosecond, Disabled: true}, 10, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := rotationNode(t)
			before := n.term(t)
			// Below Vault's minimum, which only the API enforces.
			if err := n.c.keyops.StoreRotationConfig(ctx, tc.conf); err != nil {
				t.Fatal(err)
			}
			n.writes(t, tc.writes)
			n.c.keyops.RunWork(ctx)
			if rotated := n.term(t) > before; rotated != tc.rotate {
				t.Fatalf("term %d → %d: rotated %v, want %v", before, n.term(t), rotated, tc.rotate)
			}
			if tc.rotate && !strings.Contains(n.log.String(), "rotated the barrier key automatically") {
				t.Fatal("the rotation was not logged")
			}
			n.secretReadable(t)
		})
	}
}

// The count under a term survives a restart (and so a leader change,
// which runs the same activation): a node does not start again from zero.
func TestAutoRotationCountSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	n := rotationNode(t)
	const maxOps = 60
	if err := n.c.keyops.StoreRotationConfig(ctx, keyops.RotationConfig{MaxOperations: maxOps}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		n.writes(t, 1)
		n.c.keyops.RunWork(ctx)
		if n.storedCount(t).Encryptions >= 45 {
			break
		}
		if i > 60 {
			t.Fatalf("the stored count never reached 45: %+v", n.storedCount(t))
		}
	}
	if n.term(t) != 1 {
		t.Fatalf("rotated early: term %d", n.term(t))
	}
	n.reopenManual(t)
	// Fewer writes than max_operations: only the stored count can make
	// the total exceed it.
	for i := 0; n.term(t) == 1; i++ {
		if i >= 30 {
			t.Fatalf("no rotation after 30 more writes: the count restarted from %+v", n.storedCount(t))
		}
		n.writes(t, 1)
		n.c.keyops.RunWork(ctx)
	}
	if rc := n.storedCount(t); rc.Term != n.term(t) || rc.Encryptions > 5 {
		t.Fatalf("stored count after the rotation: %+v (term %d)", rc, n.term(t))
	}
}
