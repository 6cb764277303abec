package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one mounted engine on its own in-memory storage.
type env struct {
	t       *testing.T
	b       logical.Backend
	storage *logical.InmemStorage
	clock   *fakeClock
	// plain hides the storage's transactions, so the step-by-step write
	// path runs.
	plain bool
}

// plainStorage is a Storage without Transaction.
type plainStorage struct{ logical.Storage }

func newV2(t *testing.T) *env {
	t.Helper()
	v, fb := newVersionedBackend(slog.New(slog.DiscardHandler))
	clock := &fakeClock{t: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)}
	v.now = clock.Now
	return &env{t: t, b: fb, storage: logical.NewInmemStorage(), clock: clock}
}

func newV1(t *testing.T, sys logical.SystemView) *env {
	t.Helper()
	b, err := Factory(context.Background(), &logical.BackendConfig{System: sys, Config: map[string]string{"version": "1"}})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	return &env{t: t, b: b, storage: logical.NewInmemStorage()}
}

// do runs one request the way the core would, including the existence
// check that turns a write into create or update.
func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	ctx := context.Background()
	var storage logical.Storage = e.storage
	if e.plain {
		storage = plainStorage{e.storage}
	}
	req := &logical.Request{ID: "req-1", Operation: op, Path: path, Data: data, Storage: storage, MountType: "kv", MountPoint: "secret/"}
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

// statusOf is the HTTP status the client would see.
func statusOf(op logical.Operation, resp *logical.Response, err error) int {
	switch {
	case err != nil:
		s, _ := logical.StatusOf(err)
		return s
	case resp == nil && (op == logical.ReadOperation || op == logical.ListOperation):
		return http.StatusNotFound
	case resp == nil:
		return http.StatusNoContent
	case resp.RawStatus != 0:
		return resp.RawStatus
	}
	return http.StatusOK
}

// mustDo runs a request and fails the test unless it gets wantStatus.
func (e *env) mustDo(wantStatus int, op logical.Operation, path string, data map[string]any) *logical.Response {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	if got := statusOf(op, resp, err); got != wantStatus {
		e.t.Fatalf("%s %s: status %d, want %d (err=%v, resp=%s)", op, path, got, wantStatus, err, dump(resp))
	}
	return resp
}

// errMsg returns the error message the client would see.
func errMsg(err error) string {
	if err == nil {
		return ""
	}
	_, msg := logical.StatusOf(err)
	return msg
}

func dump(resp *logical.Response) string {
	if resp == nil {
		return "<nil>"
	}
	if resp.Raw != nil {
		return string(resp.Raw)
	}
	b, _ := json.Marshal(map[string]any{"data": resp.Data, "warnings": resp.Warnings})
	return string(b)
}

// norm round-trips v through JSON so values compare as a client sees them.
func norm(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

func jsonEqual(t *testing.T, got, want any) bool {
	t.Helper()
	return reflect.DeepEqual(norm(t, got), norm(t, want))
}

// snapshot copies every entry in storage, for "nothing was written" checks.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := e.storage.List(context.Background(), prefix)
		if err != nil {
			e.t.Fatalf("list %q: %v", prefix, err)
		}
		for _, k := range keys {
			full := prefix + k
			if strings.HasSuffix(k, "/") {
				walk(full)
				continue
			}
			ent, err := e.storage.Get(context.Background(), full)
			if err != nil || ent == nil {
				e.t.Fatalf("get %q: %v", full, err)
			}
			out[full] = string(ent.Value)
		}
	}
	walk("")
	return out
}

func (e *env) storageKeys(prefix string) []string {
	e.t.Helper()
	var out []string
	for k := range e.snapshot() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// rawBody decodes a Raw response's JSON envelope.
func rawBody(t *testing.T, resp *logical.Response) map[string]any {
	t.Helper()
	if resp == nil || resp.Raw == nil {
		t.Fatalf("expected a raw response, got %s", dump(resp))
	}
	if resp.RawContentType != "application/json" {
		t.Fatalf("raw content type %q", resp.RawContentType)
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(resp.Raw))
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("decode raw body: %v", err)
	}
	return body
}

// put writes data to data/<path> and returns the new version number.
func (e *env) put(path string, data map[string]any) uint64 {
	e.t.Helper()
	resp := e.mustDo(200, logical.UpdateOperation, "data/"+path, map[string]any{"data": data})
	return resp.Data["version"].(uint64)
}

// get reads data/<path> and returns the secret's data and version metadata.
func (e *env) get(path string, query map[string]any) (map[string]any, map[string]any) {
	e.t.Helper()
	resp := e.mustDo(200, logical.ReadOperation, "data/"+path, query)
	data, _ := resp.Data["data"].(map[string]any)
	md, _ := resp.Data["metadata"].(map[string]any)
	return data, md
}

func (e *env) metadata(path string) map[string]any {
	e.t.Helper()
	return e.mustDo(200, logical.ReadOperation, "metadata/"+path, nil).Data
}

// assertUnchanged fails if storage differs from before.
func (e *env) assertUnchanged(before map[string]string) {
	e.t.Helper()
	if after := e.snapshot(); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("storage changed:\nbefore %v\nafter  %v", before, after)
	}
}

func bytesReader(s string) *bytes.Reader { return bytes.NewReader([]byte(s)) }
