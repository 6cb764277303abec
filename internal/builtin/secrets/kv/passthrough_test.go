package kv

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func sysView(def time.Duration) logical.StaticSystemView {
	return logical.StaticSystemView{DefaultLeaseTTLVal: def}
}

func TestFactoryVersions(t *testing.T) {
	cases := []struct {
		version string
		wantErr bool
		v2      bool
	}{
		{version: "", v2: false},
		{version: "1", v2: false},
		{version: "2", v2: true},
		{version: "3", wantErr: true},
		{version: "two", wantErr: true},
	}
	for _, tc := range cases {
		t.Run("version="+tc.version, func(t *testing.T) {
			b, err := Factory(context.Background(), &logical.BackendConfig{Config: map[string]string{"version": tc.version}})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error for version %q", tc.version)
				}
				return
			}
			if err != nil {
				t.Fatalf("Factory: %v", err)
			}
			// Only v2 has a config endpoint; v1 treats "config" as a key.
			req := &logical.Request{Operation: logical.ReadOperation, Path: "config", Storage: logical.NewInmemStorage()}
			resp, err := b.HandleRequest(context.Background(), req)
			if err != nil {
				t.Fatalf("read config: %v", err)
			}
			if got := resp != nil; got != tc.v2 {
				t.Fatalf("config readable = %v, want %v", got, tc.v2)
			}
		})
	}
	if _, err := Factory(context.Background(), nil); err == nil {
		t.Fatal("nil config: want error")
	}
}

func TestV1CRUD(t *testing.T) {
	e := newV1(t, sysView(768*time.Hour))

	e.mustDo(http.StatusNotFound, logical.ReadOperation, "app/db", nil)
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "app/db", map[string]any{"user": "u", "n": 3})
	resp := e.mustDo(http.StatusOK, logical.ReadOperation, "app/db", nil)
	if !jsonEqual(t, resp.Data, map[string]any{"user": "u", "n": 3}) {
		t.Fatalf("read data %v", resp.Data)
	}
	if resp.Secret == nil || resp.Secret.TTL != 768*time.Hour || resp.Secret.Renewable || resp.Secret.LeaseID != "" {
		t.Fatalf("secret %+v, want 768h non-renewable without lease id", resp.Secret)
	}

	// A write replaces the whole entry.
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "app/db", map[string]any{"user": "v"})
	resp = e.mustDo(http.StatusOK, logical.ReadOperation, "app/db", nil)
	if !jsonEqual(t, resp.Data, map[string]any{"user": "v"}) {
		t.Fatalf("after overwrite %v", resp.Data)
	}

	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "app/db", nil)
	e.mustDo(http.StatusNotFound, logical.ReadOperation, "app/db", nil)
	// Deleting what is not there is fine.
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "app/db", nil)
}

func TestV1TTL(t *testing.T) {
	cases := []struct {
		name  string
		sys   logical.SystemView
		mount time.Duration
		data  map[string]any
		want  time.Duration
	}{
		{name: "ttl string", sys: sysView(time.Hour), data: map[string]any{"k": "v", "ttl": "30m"}, want: 30 * time.Minute},
		{name: "ttl seconds", sys: sysView(time.Hour), data: map[string]any{"k": "v", "ttl": 90}, want: 90 * time.Second},
		{name: "legacy lease", sys: sysView(time.Hour), data: map[string]any{"k": "v", "lease": "2h"}, want: 2 * time.Hour},
		{name: "unparseable ttl falls back", sys: sysView(time.Hour), data: map[string]any{"k": "v", "ttl": "soon"}, want: time.Hour},
		{name: "system default", sys: sysView(5 * time.Hour), data: map[string]any{"k": "v"}, want: 5 * time.Hour},
		{name: "mount default wins", sys: sysView(5 * time.Hour), mount: 10 * time.Minute, data: map[string]any{"k": "v"}, want: 10 * time.Minute},
		{name: "no system view", data: map[string]any{"k": "v"}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newV1(t, tc.sys)
			e.mustDo(http.StatusNoContent, logical.UpdateOperation, "s", tc.data)
			req := &logical.Request{Operation: logical.ReadOperation, Path: "s", Storage: e.storage,
				MountConfig: logical.MountConfig{DefaultLeaseTTL: tc.mount}}
			resp, err := e.b.HandleRequest(context.Background(), req)
			if err != nil || resp == nil {
				t.Fatalf("read: %v %v", resp, err)
			}
			if resp.Secret.TTL != tc.want {
				t.Fatalf("lease duration %s, want %s", resp.Secret.TTL, tc.want)
			}
			// The ttl key stays in the data, as in Vault.
			if !jsonEqual(t, resp.Data, tc.data) {
				t.Fatalf("data %v, want %v", resp.Data, tc.data)
			}
		})
	}
}

func TestV1BadWrites(t *testing.T) {
	e := newV1(t, nil)
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "keep", map[string]any{"a": "b"})
	before := e.snapshot()
	cases := []struct {
		name string
		path string
		data map[string]any
	}{
		{name: "no data", path: "x", data: nil},
		{name: "empty data", path: "x", data: map[string]any{}},
		{name: "empty path", path: "", data: map[string]any{"a": "b"}},
		{name: "folder path", path: "dir/", data: map[string]any{"a": "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.mustDo(http.StatusBadRequest, logical.UpdateOperation, tc.path, tc.data)
			e.assertUnchanged(before)
		})
	}
}

func TestV1List(t *testing.T) {
	e := newV1(t, nil)
	for _, p := range []string{"a", "dir/b", "dir/c", "dir/sub/d", "other/e"} {
		e.mustDo(http.StatusNoContent, logical.UpdateOperation, p, map[string]any{"v": p})
	}
	cases := []struct {
		path string
		want []string
	}{
		{path: "", want: []string{"a", "dir/", "other/"}},
		{path: "dir", want: []string{"b", "c", "sub/"}},
		{path: "dir/", want: []string{"b", "c", "sub/"}},
		{path: "dir/sub/", want: []string{"d"}},
		{path: "nothing/", want: nil},
	}
	for _, tc := range cases {
		t.Run("list "+tc.path, func(t *testing.T) {
			resp, err := e.do(logical.ListOperation, tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if resp != nil {
					t.Fatalf("want 404, got %s", dump(resp))
				}
				return
			}
			if !jsonEqual(t, resp.Data, map[string]any{"keys": tc.want}) {
				t.Fatalf("list %q = %v, want %v", tc.path, resp.Data, tc.want)
			}
		})
	}
}

func TestV1ExistenceAndUnsupported(t *testing.T) {
	e := newV1(t, nil)
	ctx := context.Background()
	req := &logical.Request{Operation: logical.UpdateOperation, Path: "k", Storage: e.storage}
	supported, exists, err := e.b.ExistenceCheck(ctx, req)
	if err != nil || !supported || exists {
		t.Fatalf("before write: supported=%v exists=%v err=%v", supported, exists, err)
	}
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "k", map[string]any{"a": 1})
	if _, exists, _ = e.b.ExistenceCheck(ctx, req); !exists {
		t.Fatal("after write: exists = false")
	}
	_, err = e.do(logical.PatchOperation, "k", map[string]any{"a": 2})
	if !errors.Is(err, logical.ErrUnsupportedOperation) {
		t.Fatalf("patch on v1: %v, want ErrUnsupportedOperation", err)
	}
}

// A request without storage falls back to the mount's view.
func TestFactoryStorageViewFallback(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		view := logical.NewInmemStorage()
		b, err := Factory(context.Background(), &logical.BackendConfig{StorageView: view, Config: map[string]string{"version": version}})
		if err != nil {
			t.Fatal(err)
		}
		path, body := "k", map[string]any{"a": "b"}
		if version == "2" {
			path, body = "data/k", map[string]any{"data": body}
		}
		ctx := context.Background()
		req := &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: body}
		if _, exists, err := b.ExistenceCheck(ctx, req); err != nil || exists {
			t.Fatalf("v%s existence: %v %v", version, exists, err)
		}
		if _, err := b.HandleRequest(ctx, req); err != nil {
			t.Fatalf("v%s write: %v", version, err)
		}
		if req.Storage != nil {
			t.Fatal("caller's request was modified")
		}
		keys, _ := view.List(ctx, "")
		if len(keys) == 0 {
			t.Fatalf("v%s: nothing written to the view", version)
		}
	}
}

// TestV1SecretType: a version 1 read carries a secret of type "kv" (not
// renewable, as Vault's kv without lease generation); renewing it re-reads
// the secret, so the TTL follows its current "ttl" field; revoking has
// nothing to undo.
func TestV1SecretType(t *testing.T) {
	e := newV1(t, sysView(time.Hour))
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "app/db", map[string]any{"pw": "a", "ttl": "30m"})
	read, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.ReadOperation, Path: "app/db", Storage: e.storage})
	if err != nil || read == nil || read.Secret == nil {
		t.Fatalf("read: %+v %v", read, err)
	}
	if read.Secret.InternalData[logical.SecretTypeKey] != "kv" || read.Secret.Renewable || read.Secret.TTL != 30*time.Minute {
		t.Fatalf("read secret %+v", read.Secret)
	}
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "app/db", map[string]any{"pw": "b", "ttl": "2h"})

	cases := []struct {
		name    string
		op      logical.Operation
		path    string
		status  int // 0: success
		wantTTL time.Duration
		wantPW  string
	}{
		{name: "renew re-reads", op: logical.RenewOperation, path: "app/db", wantTTL: 2 * time.Hour, wantPW: "b"},
		{name: "renew of a deleted secret", op: logical.RenewOperation, path: "app/gone", status: http.StatusNotFound},
		{name: "revoke is a no-op", op: logical.RevokeOperation, path: "app/db"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.b.HandleRequest(context.Background(), &logical.Request{
				Operation: tc.op, Path: tc.path, Storage: e.storage, Secret: read.Secret,
			})
			if tc.status != 0 {
				if st, _ := logical.StatusOf(err); st != tc.status {
					t.Fatalf("status %d (%v), want %d", st, err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.op == logical.RevokeOperation {
				if resp != nil {
					t.Fatalf("revoke answered %+v", resp)
				}
				return
			}
			if resp.Secret == nil || resp.Secret.TTL != tc.wantTTL || resp.Data["pw"] != tc.wantPW {
				t.Fatalf("renew: secret %+v data %v", resp.Secret, resp.Data)
			}
		})
	}
}
