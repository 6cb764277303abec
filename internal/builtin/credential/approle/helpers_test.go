package approle

import (
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/logicaltest"
)

// env is the method on its own in-memory storage with a clock the test
// moves.
type env struct {
	*logicaltest.Env
	t *testing.T

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	e.Env = logicaltest.New(t, newBackend(e.clock).framework())
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// role makes a role and returns its role ID.
func (e *env) role(name string, data map[string]any) string {
	e.t.Helper()
	e.OK(logical.UpdateOperation, "role/"+name, data)
	return e.OK(logical.ReadOperation, "role/"+name+"/role-id", nil).Data["role_id"].(string)
}

// secretID generates a secret ID for a role: the secret ID and its accessor.
func (e *env) secretID(name string, data map[string]any) (string, string) {
	e.t.Helper()
	resp := e.OK(logical.UpdateOperation, "role/"+name+"/secret-id", data)
	return resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
}

func (e *env) login(roleID, secretID string) (*logical.Response, error) {
	e.t.Helper()
	return e.Do(logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": secretID})
}
