package approle

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// env is the method on its own in-memory storage with a clock the test
// moves.
type env struct {
	t       *testing.T
	b       logical.Backend
	storage *logical.InmemStorage
	// remote is the client address requests come from.
	remote string

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, storage: logical.NewInmemStorage(), remote: "127.0.0.1:40000",
		now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	e.b = newBackend(e.clock).framework()
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

// do runs a request the way the core does: an update whose target does not
// exist becomes a create.
func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	ctx := context.Background()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: e.storage,
		Connection: &logical.Connection{RemoteAddr: e.remote}}
	if op == logical.UpdateOperation {
		supported, exists, err := e.b.ExistenceCheck(ctx, req)
		if err != nil {
			return nil, err
		}
		if supported && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return e.b.HandleRequest(ctx, req)
}

func (e *env) ok(op logical.Operation, path string, data map[string]any) *logical.Response {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	if err != nil {
		e.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// fails checks the request answers status with msg.
func (e *env) fails(op logical.Operation, path string, data map[string]any, status int, msg string) {
	e.t.Helper()
	_, err := e.do(op, path, data)
	if err == nil {
		e.t.Fatalf("%s %s %v: no error, want %d %q", op, path, data, status, msg)
	}
	gotStatus, gotMsg := logical.StatusOf(err)
	if gotStatus != status || (msg != "" && gotMsg != msg) {
		e.t.Fatalf("%s %s %v: got %d %q, want %d %q", op, path, data, gotStatus, gotMsg, status, msg)
	}
}

// snapshot is every stored key and value, to check a refused request
// changed nothing.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := e.storage.List(ctx, prefix)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			se, err := e.storage.Get(ctx, prefix+k)
			if err != nil {
				e.t.Fatal(err)
			}
			out[prefix+k] = string(se.Value)
		}
	}
	walk("")
	return out
}

// role makes a role and returns its role ID.
func (e *env) role(name string, data map[string]any) string {
	e.t.Helper()
	e.ok(logical.UpdateOperation, "role/"+name, data)
	return e.ok(logical.ReadOperation, "role/"+name+"/role-id", nil).Data["role_id"].(string)
}

// secretID generates a secret ID for a role: the secret ID and its accessor.
func (e *env) secretID(name string, data map[string]any) (string, string) {
	e.t.Helper()
	resp := e.ok(logical.UpdateOperation, "role/"+name+"/secret-id", data)
	return resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
}

func (e *env) login(roleID, secretID string) (*logical.Response, error) {
	e.t.Helper()
	return e.do(logical.UpdateOperation, "login", map[string]any{"role_id": roleID, "secret_id": secretID})
}
