package approle

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// slowReads widens the window between a login's read of a secret ID and
// its write, as a disk or raft round trip does, so that logins without the
// per-secret-ID lock would overlap there (and spend one use twice).
type slowReads struct{ *logical.InmemStorage }

func (s slowReads) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	e, err := s.InmemStorage.Get(ctx, key)
	if strings.HasPrefix(key, secretIDPrefix) {
		time.Sleep(200 * time.Microsecond)
	}
	return e, err
}

// Logins racing for a secret ID's uses: exactly as many win as it has
// uses (one for a one-use secret ID), every other one is refused.
func TestConcurrentLoginsSpendEachUseOnce(t *testing.T) {
	for _, uses := range []int{1, 3} {
		t.Run(fmt.Sprint(uses), func(t *testing.T) {
			e := newEnv(t)
			rid := e.role("r", map[string]any{"secret_id_num_uses": uses})
			for round := 0; round < 20; round++ {
				sec, _ := e.secretID("r", nil)
				var wins, refused atomic.Int32
				var wg sync.WaitGroup
				for i := 0; i < 16; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := e.Backend.HandleRequest(t.Context(), &logical.Request{Operation: logical.UpdateOperation, Path: "login",
							Data: map[string]any{"role_id": rid, "secret_id": sec}, Storage: slowReads{e.Storage},
							Connection: &logical.Connection{RemoteAddr: "127.0.0.1:1"}})
						if err == nil {
							wins.Add(1)
						} else if st, msg := logical.StatusOf(err); st == 400 && msg == "invalid role or secret ID" {
							refused.Add(1)
						} else {
							t.Errorf("login: %v", err)
						}
					}()
				}
				wg.Wait()
				if wins.Load() != int32(uses) || refused.Load() != int32(16-uses) {
					t.Fatalf("round %d: %d logins won, %d refused; want %d and %d", round, wins.Load(), refused.Load(), uses, 16-uses)
				}
			}
		})
	}
}
