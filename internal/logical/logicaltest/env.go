// Package logicaltest drives one backend the way the core does, over
// in-memory storage, for the unit tests of engines and auth methods.
package logicaltest

import (
	"context"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// Env is a backend on its own storage.
type Env struct {
	T       testing.TB
	Backend logical.Backend
	Storage *logical.InmemStorage
	// RemoteAddr is the client address requests come from.
	RemoteAddr string
}

// New returns an Env for b on empty storage, requests coming from
// 127.0.0.1.
func New(t testing.TB, b logical.Backend) *Env {
	return &Env{T: t, Backend: b, Storage: logical.NewInmemStorage(), RemoteAddr: "127.0.0.1:40000"}
}

// Do runs a request as the core does: an update whose target does not
// exist becomes a create.
func (e *Env) Do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.T.Helper()
	ctx := context.Background()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: e.Storage,
		Connection: &logical.Connection{RemoteAddr: e.RemoteAddr}}
	if op == logical.UpdateOperation {
		supported, exists, err := e.Backend.ExistenceCheck(ctx, req)
		if err != nil {
			return nil, err
		}
		if supported && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return e.Backend.HandleRequest(ctx, req)
}

// OK runs a request that must succeed.
func (e *Env) OK(op logical.Operation, path string, data map[string]any) *logical.Response {
	e.T.Helper()
	resp, err := e.Do(op, path, data)
	if err != nil {
		e.T.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// Fails checks the request answers status with msg (any message when msg
// is empty).
func (e *Env) Fails(op logical.Operation, path string, data map[string]any, status int, msg string) {
	e.T.Helper()
	_, err := e.Do(op, path, data)
	if err == nil {
		e.T.Fatalf("%s %s %v: no error, want %d %q", op, path, data, status, msg)
	}
	gotStatus, gotMsg := logical.StatusOf(err)
	if gotStatus != status || (msg != "" && gotMsg != msg) {
		e.T.Fatalf("%s %s %v: got %d %q, want %d %q", op, path, data, gotStatus, gotMsg, status, msg)
	}
}

// Snapshot is every stored key and value, to check that a refused request
// changed nothing.
func (e *Env) Snapshot() map[string]string {
	e.T.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := e.Storage.List(ctx, prefix)
		if err != nil {
			e.T.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			se, err := e.Storage.Get(ctx, prefix+k)
			if err != nil {
				e.T.Fatal(err)
			}
			if se != nil {
				out[prefix+k] = string(se.Value)
			}
		}
	}
	walk("")
	return out
}
