package ldap

import (
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// Logins run concurrently with each other and with mapping and config
// writes (run with -race): every one succeeds for its own user.
func TestConcurrentLogins(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.OK(logical.UpdateOperation, "groups/devs", map[string]any{"policies": "dev"})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := []string{"alice", "bob", "carol"}[i%3]
			switch i % 4 {
			case 0:
				_, err := e.Do(logical.UpdateOperation, "config", map[string]any{"request_timeout": 30 + i})
				errs <- err
			case 1:
				_, err := e.Do(logical.UpdateOperation, "groups/ops", map[string]any{"policies": "ops"})
				errs <- err
			default:
				resp, err := e.Do(logical.UpdateOperation, "login/"+user, map[string]any{"password": user + "-pw"})
				if err == nil && resp.Auth.Metadata["username"] != user {
					t.Errorf("login %s answered for %v", user, resp.Auth.Metadata)
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
