package kv

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// Concurrent writers to one key must produce consecutive versions, each
// holding exactly one writer's data: no version lost or written twice.
func TestConcurrentWritersOneKey(t *testing.T) {
	const writers, each = 8, 25
	e := newV2(t)
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "config", map[string]any{"max_versions": writers * each})

	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := e.do(logical.UpdateOperation, "data/shared", map[string]any{"data": map[string]any{"who": fmt.Sprintf("%d-%d", w, i)}})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	// Readers run alongside and must only ever see complete versions.
	stop := make(chan struct{})
	var rg sync.WaitGroup
	rg.Add(1)
	go func() {
		defer rg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := e.do(logical.ReadOperation, "data/shared", nil)
			if err != nil {
				errs <- err
				return
			}
			if resp != nil && resp.Data["data"] == nil {
				errs <- fmt.Errorf("read a version without data: %s", dump(resp))
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	md := e.metadata("shared")
	if md["current_version"] != uint64(writers*each) {
		t.Fatalf("current_version %v, want %d", md["current_version"], writers*each)
	}
	seen := map[string]bool{}
	for v := 1; v <= writers*each; v++ {
		data, _ := e.get("shared", map[string]any{"version": strconv.Itoa(v)})
		who := data["who"].(string)
		if seen[who] {
			t.Fatalf("write %s stored twice", who)
		}
		seen[who] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct writes stored, want %d", len(seen), writers*each)
	}
}

// With check-and-set, racing writers that retry on mismatch all succeed
// exactly once each, and every success got a distinct version.
func TestConcurrentCheckAndSet(t *testing.T) {
	const writers = 10
	e := newV2(t)
	var wg sync.WaitGroup
	versions := make(chan uint64, writers)
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 1000; attempt++ {
				var cur uint64
				if resp, err := e.do(logical.ReadOperation, "metadata/c", nil); err != nil {
					errs <- err
					return
				} else if resp != nil {
					cur = resp.Data["current_version"].(uint64)
				}
				resp, err := e.do(logical.UpdateOperation, "data/c", map[string]any{
					"data": map[string]any{"w": w}, "options": map[string]any{"cas": cur},
				})
				if err == nil {
					versions <- resp.Data["version"].(uint64)
					return
				}
				if errMsg(err) != "check-and-set parameter did not match the current version" {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("writer %d never succeeded", w)
		}()
	}
	wg.Wait()
	close(versions)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := map[uint64]bool{}
	for v := range versions {
		if got[v] {
			t.Fatalf("version %d handed out twice", v)
		}
		got[v] = true
	}
	if len(got) != writers {
		t.Fatalf("%d successful writes, want %d", len(got), writers)
	}
	for v := uint64(1); v <= writers; v++ {
		if !got[v] {
			t.Fatalf("version %d missing", v)
		}
	}
}
