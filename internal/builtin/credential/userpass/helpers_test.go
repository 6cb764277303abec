package userpass

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongbox/strongbox/internal/logical"
)

// env is the method on its own in-memory storage, with bcrypt's minimum
// cost so the tests stay quick (the cost is not what they check).
type env struct {
	t       *testing.T
	b       logical.Backend
	storage *logical.InmemStorage
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, b: newBackend(bcrypt.MinCost).framework(), storage: logical.NewInmemStorage()}
}

// do runs a request the way the core does: an update whose target does not
// exist becomes a create.
func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	ctx := context.Background()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: e.storage,
		Connection: &logical.Connection{RemoteAddr: "127.0.0.1:40000"}}
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

// snapshot is every stored key and value, to check a refused write
// changed nothing.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := e.storage.List(ctx, userPrefix)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range keys {
		se, err := e.storage.Get(ctx, userPrefix+k)
		if err != nil {
			e.t.Fatal(err)
		}
		out[k] = string(se.Value)
	}
	return out
}
