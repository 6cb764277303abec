package ha

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// TestActiveAdvertisementOnStandby: a standby reads the leader's
// advertisement through the barrier and hands out the same value until it
// changes.
func TestActiveAdvertisementOnStandby(t *testing.T) {
	ctx := context.Background()
	st := newFakeStorage("node1", "")
	h := &fakeHost{standby: true}
	n := New(h, Config{Storage: st, Barrier: inmem.New()})

	if adv, err := n.ActiveAdvertisement(ctx); adv != nil || err != nil {
		t.Fatalf("no leader: %+v, %v", adv, err)
	}
	st.setLeader("node0")
	if adv, err := n.ActiveAdvertisement(ctx); adv != nil || err != nil {
		t.Fatalf("leader without an advertisement: %+v, %v", adv, err)
	}
	put := func(addr string) {
		raw, err := json.Marshal(&Advertisement{NodeID: "node0", APIAddr: addr})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.b.Put(ctx, &physical.Entry{Key: leaderPrefix + "node0", Value: raw}); err != nil {
			t.Fatal(err)
		}
	}
	put("https://a:8200")
	first, err := n.ActiveAdvertisement(ctx)
	if err != nil || first == nil || first.APIAddr != "https://a:8200" {
		t.Fatalf("advertisement %+v, %v", first, err)
	}
	again, err := n.ActiveAdvertisement(ctx)
	if err != nil || again != first {
		t.Fatalf("an unchanged advertisement was decoded again: %p, %p, %v", again, first, err)
	}
	put("https://b:8200")
	changed, err := n.ActiveAdvertisement(ctx)
	if err != nil || changed == first || changed.APIAddr != "https://b:8200" {
		t.Fatalf("changed advertisement %+v, %v", changed, err)
	}

	st.setLeader("node1")
	if adv, err := n.ActiveAdvertisement(ctx); adv != nil || err != nil {
		t.Fatalf("this node leads but is not active yet: %+v, %v", adv, err)
	}

	h.sealed = true
	if _, err := n.ActiveAdvertisement(ctx); !errors.Is(err, logical.ErrSealed) {
		t.Fatalf("sealed: %v", err)
	}
	if adv, err := New(h, Config{}).ActiveAdvertisement(ctx); adv != nil || err != nil {
		t.Fatalf("without HA storage: %+v, %v", adv, err)
	}
}
