package wrapping

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// fakeHost keeps tokens in a map and cubbyholes in memory; failPut makes
// cubbyhole writes fail.
type fakeHost struct {
	mu      sync.Mutex
	n       int
	tokens  map[string]*fakeToken // by raw value
	cubbies map[string]logical.Storage
	keys    logical.Storage
	failPut bool
}

type fakeToken struct {
	Token
	uses    int
	revoked bool
}

func newFakeHost() *fakeHost {
	return &fakeHost{tokens: map[string]*fakeToken{}, cubbies: map[string]logical.Storage{}}
}

func (h *fakeHost) CreateToken(_ context.Context, ttl time.Duration, path string) (string, *Token, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	raw := fmt.Sprintf("tok%d", h.n)
	ft := &fakeToken{Token: Token{ID: "id" + raw, Accessor: "acc" + raw, CreationTime: time.Unix(100, 0), Wrapping: true}, uses: 1}
	h.tokens[raw] = ft
	tk := ft.Token
	return raw, &tk, nil
}

func (h *fakeHost) LookupToken(_ context.Context, raw string) (*Token, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ft := h.tokens[raw]
	if ft == nil || ft.revoked || ft.uses == 0 {
		return nil, nil
	}
	tk := ft.Token
	return &tk, nil
}

func (h *fakeHost) SpendToken(_ context.Context, raw string) (func(context.Context), bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ft := h.tokens[raw]
	if ft == nil || ft.revoked || ft.uses == 0 {
		return nil, false, nil
	}
	ft.uses = 0
	return func(context.Context) {
		h.mu.Lock()
		defer h.mu.Unlock()
		ft.revoked = true
		delete(h.cubbies, ft.ID)
	}, true, nil
}

func (h *fakeHost) Cubbyhole(id string) logical.Storage {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cubbies[id] == nil {
		h.cubbies[id] = logical.NewInmemStorage()
	}
	if h.failPut {
		return failingStorage{h.cubbies[id]}
	}
	return h.cubbies[id]
}

func (h *fakeHost) KeyStorage() logical.Storage {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.keys == nil {
		h.keys = logical.NewInmemStorage()
	}
	return h.keys
}

func (h *fakeHost) APIAddr() string { return "https://node1:8200" }

type failingStorage struct{ logical.Storage }

func (failingStorage) Put(context.Context, *logical.StorageEntry) error {
	return errors.New("disk full")
}

// TestWrapTTL: the shorter positive of the request's and the backend's
// ask wins; the backend's creation path replaces the request's.
func TestWrapTTL(t *testing.T) {
	req := func(ttl time.Duration) *logical.Request {
		r := &logical.Request{Path: "secret/x"}
		if ttl != 0 {
			r.WrapInfo = &logical.RequestWrapInfo{TTL: ttl}
		}
		return r
	}
	resp := func(ttl time.Duration, path string) *logical.Response {
		return &logical.Response{WrapInfo: &logical.ResponseWrapInfo{TTL: ttl, CreationPath: path}}
	}
	cases := []struct {
		req      *logical.Request
		resp     *logical.Response
		ttl      time.Duration
		wantPath string
	}{
		{req(0), &logical.Response{}, 0, "secret/x"},
		{req(time.Minute), nil, time.Minute, "secret/x"},
		{req(time.Minute), resp(time.Hour, ""), time.Minute, "secret/x"},
		{req(time.Hour), resp(time.Minute, "orig/path"), time.Minute, "orig/path"},
		{req(0), resp(time.Minute, ""), time.Minute, "secret/x"},
	}
	for i, c := range cases {
		ttl, path := WrapTTL(c.req, c.resp)
		if ttl != c.ttl || path != c.wantPath {
			t.Errorf("case %d: %v %q, want %v %q", i, ttl, path, c.ttl, c.wantPath)
		}
	}
}

// TestWrapLeavesUnaskedResponses: without a wrap TTL the response passes
// through untouched and no token is created.
func TestWrapLeavesUnaskedResponses(t *testing.T) {
	h := newFakeHost()
	m := New(h)
	in := &logical.Response{Data: map[string]any{"a": 1}}
	out, err := m.Wrap(context.Background(), &logical.Request{Path: "secret/x"}, in, "kv")
	if err != nil || out != in || h.n != 0 {
		t.Fatalf("Wrap: %v %v, %d tokens", out, err, h.n)
	}
	if out, err := m.Wrap(context.Background(), &logical.Request{Path: "secret/x", WrapInfo: &logical.RequestWrapInfo{TTL: time.Minute}}, nil, "kv"); out != nil || err != nil || h.n != 0 {
		t.Fatalf("Wrap of no response: %v %v, %d tokens", out, err, h.n)
	}
}

// TestWrapFailedStoreRevokes: a wrapping token whose cubbyhole cannot be
// written is revoked, and the request fails.
func TestWrapFailedStoreRevokes(t *testing.T) {
	h := newFakeHost()
	h.failPut = true
	m := New(h)
	_, err := m.Wrap(context.Background(), &logical.Request{Path: "secret/x", WrapInfo: &logical.RequestWrapInfo{TTL: time.Minute}},
		&logical.Response{Data: map[string]any{"a": 1}}, "kv")
	if err == nil {
		t.Fatal("Wrap succeeded without storing the response")
	}
	if ft := h.tokens["tok1"]; ft == nil || !ft.revoked {
		t.Fatalf("the token was not revoked: %+v", ft)
	}
}

// TestRawResponseRoundTrip: a response that is not an envelope comes back
// from unwrap with its status, content type and body, also after a rewrap.
func TestRawResponseRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newFakeHost()
	m := New(h)
	wrapped, err := m.Wrap(ctx, &logical.Request{Path: "pki/ca/pem", WrapInfo: &logical.RequestWrapInfo{TTL: time.Minute}},
		&logical.Response{Raw: []byte("-----BEGIN"), RawContentType: "application/pem-certificate-chain", RawStatus: 200}, "pki")
	if err != nil {
		t.Fatal(err)
	}
	call := func(path string, fn logical.OperationFunc, tok string) *logical.Response {
		t.Helper()
		req := &logical.Request{Path: path, Data: map[string]any{"token": tok}}
		d := &logical.FieldData{Raw: req.Data, Schema: map[string]*logical.FieldSchema{"token": {Type: logical.TypeString}}}
		resp, err := fn(ctx, req, d)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	re := call("sys/wrapping/rewrap", m.handleRewrap, wrapped.WrapInfo.Token)
	rewrapped, err := m.Wrap(ctx, &logical.Request{Path: "sys/wrapping/rewrap"}, re, "system")
	if err != nil {
		t.Fatal(err)
	}
	if rewrapped.WrapInfo.CreationPath != "pki/ca/pem" || rewrapped.WrapInfo.TTL != time.Minute {
		t.Fatalf("rewrap %+v", rewrapped.WrapInfo)
	}
	got := call("sys/wrapping/unwrap", m.handleUnwrap, rewrapped.WrapInfo.Token)
	if string(got.Raw) != "-----BEGIN" || got.RawContentType != "application/pem-certificate-chain" || got.RawStatus != 200 {
		t.Fatalf("unwrapped %+v", got)
	}
}
