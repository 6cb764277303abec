package userpass

import (
	"fmt"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// Concurrent updates of different fields of one user never lose each
// other (each is a read-modify-write under the user's lock), and logins
// running meanwhile always see a whole user.
func TestConcurrentUpdatesKeepEveryField(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "users/alice", map[string]any{"password": "pw", "token_bound_cidrs": "10.0.0.0"})
	for round := 1; round <= 20; round++ {
		writes := map[string]any{
			"token_ttl": round * 60, "token_max_ttl": round * 120, "token_period": round,
			"token_explicit_max_ttl": round * 300, "token_num_uses": round,
			"token_bound_cidrs": fmt.Sprintf("10.0.0.%d", round), "token_no_default_policy": round%2 == 0,
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(writes)+2)
		for k, v := range writes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.Do(logical.UpdateOperation, "users/alice", map[string]any{k: v})
				errs <- err
			}()
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.Do(logical.UpdateOperation, "users/alice/policies", map[string]any{"token_policies": fmt.Sprintf("p%d", round)})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			// The user's CIDRs are not 127.0.0.1's: a whole user refuses
			// the login with 403, a torn one would answer otherwise.
			_, err := e.Do(logical.UpdateOperation, "login/alice", map[string]any{"password": "pw"})
			if status, _ := logical.StatusOf(err); err == nil || status != 403 {
				err = fmt.Errorf("login during updates: %v", err)
			} else {
				err = nil
			}
			errs <- err
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := e.OK(logical.ReadOperation, "users/alice", nil).Data
		want := map[string]any{
			"token_ttl": int64(round * 60), "token_max_ttl": int64(round * 120), "token_period": int64(round),
			"token_explicit_max_ttl": int64(round * 300), "token_num_uses": round,
			"token_no_default_policy": round%2 == 0,
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("round %d: %s = %v, want %v (an update was lost)", round, k, got[k], v)
			}
		}
		if c := got["token_bound_cidrs"].([]string); len(c) != 1 || c[0] != fmt.Sprintf("10.0.0.%d", round) {
			t.Fatalf("round %d: token_bound_cidrs = %v", round, c)
		}
		if p := got["token_policies"].([]string); len(p) != 1 || p[0] != fmt.Sprintf("p%d", round) {
			t.Fatalf("round %d: token_policies = %v", round, p)
		}
	}
}
