package token

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// fakeClock is a settable clock; tests move it forward instead of sleeping.
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

type harness struct {
	t       testing.TB
	ctx     context.Context
	storage *logical.InmemStorage
	clock   *fakeClock
	store   *Store
	backend logical.Backend
	rootTok string
	root    *Entry

	mu      sync.Mutex
	revoked map[string]int // entry ID → OnRevoke calls
	hookErr error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, Options{})
}

func newHarnessWith(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		ctx:     context.Background(),
		storage: logical.NewInmemStorage(),
		clock:   &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		revoked: map[string]int{},
	}
	opts.Now = h.clock.Now
	opts.OnRevoke = func(_ context.Context, e *Entry) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.hookErr != nil {
			return h.hookErr
		}
		h.revoked[e.ID]++
		return nil
	}
	s, err := New(h.ctx, h.storage, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.store = s
	h.backend = s.Backend()
	h.rootTok, h.root, err = s.CreateRoot(h.ctx)
	if err != nil {
		t.Fatalf("CreateRoot: %v", err)
	}
	return h
}

func (h *harness) revokeCount(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.revoked[id]
}

func (h *harness) setHookErr(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hookErr = err
}

// call sends one request to the backend as the core would.
func (h *harness) call(op logical.Operation, path, clientTok string, sudo bool, data map[string]any) (*logical.Response, error) {
	h.t.Helper()
	return h.backend.HandleRequest(h.ctx, &logical.Request{
		Operation:   op,
		Path:        path,
		Data:        data,
		MountPoint:  "auth/token/",
		ClientToken: clientTok,
		Sudo:        sudo,
	})
}

// create makes a token through auth/token/create and fails the test on
// error.
func (h *harness) create(clientTok string, sudo bool, data map[string]any) (string, *logical.Auth) {
	h.t.Helper()
	resp, err := h.call(logical.UpdateOperation, "create", clientTok, sudo, data)
	if err != nil {
		h.t.Fatalf("create %v: %v", data, err)
	}
	if resp == nil || resp.Auth == nil || resp.Auth.ClientToken == "" {
		h.t.Fatalf("create %v: no auth in %+v", data, resp)
	}
	return resp.Auth.ClientToken, resp.Auth
}

// rootCreate creates a child of the root token.
func (h *harness) rootCreate(data map[string]any) (string, *logical.Auth) {
	h.t.Helper()
	return h.create(h.rootTok, true, data)
}

func (h *harness) lookup(tok string) *Entry {
	h.t.Helper()
	e, err := h.store.Lookup(h.ctx, tok)
	if err != nil {
		h.t.Fatalf("Lookup: %v", err)
	}
	return e
}

// dump returns every key and value in storage, as a storage dump would.
func (h *harness) dump() map[string][]byte {
	h.t.Helper()
	out := map[string][]byte{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := h.storage.List(h.ctx, prefix)
		if err != nil {
			h.t.Fatalf("List(%q): %v", prefix, err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			se, err := h.storage.Get(h.ctx, prefix+k)
			if err != nil {
				h.t.Fatalf("Get: %v", err)
			}
			if se != nil {
				out[prefix+k] = se.Value
			}
		}
	}
	walk("")
	return out
}

// keysUnder lists the dumped keys with the prefix.
func (h *harness) keysUnder(prefix string) []string {
	h.t.Helper()
	var out []string
	for k := range h.dump() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	code, _ := logical.StatusOf(err)
	return code
}

func messageOf(err error) string {
	if err == nil {
		return ""
	}
	_, msg := logical.StatusOf(err)
	return msg
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var errHook = errors.New("hook failed")
