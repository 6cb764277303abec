package kv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/logical"
)

// vaultShim is a minimal stand-in for the HTTP layer and core, just enough
// to drive the engine with the official Go client: it maps verbs to
// operations, runs the existence check, and renders Vault's envelope.
type vaultShim struct {
	mounts map[string]*env // mount path ("secret/") → engine
}

func (s *vaultShim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	full := strings.TrimPrefix(r.URL.Path, "/v1/")
	var e *env
	var mount string
	for m, me := range s.mounts {
		if strings.HasPrefix(full, m) {
			e, mount = me, m
		}
	}
	if e == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"no handler for route"}})
		return
	}
	req := &logical.Request{ID: "shim", Path: strings.TrimPrefix(full, mount), Storage: e.storage, MountPoint: mount, MountType: "kv"}
	switch r.Method {
	case http.MethodGet:
		req.Operation = logical.ReadOperation
		if r.URL.Query().Get("list") == "true" {
			req.Operation = logical.ListOperation
		}
		req.Data = map[string]any{}
		for k, v := range r.URL.Query() {
			if k != "list" {
				req.Data[k] = v[0]
			}
		}
	case "LIST":
		req.Operation = logical.ListOperation
	case http.MethodPut, http.MethodPost:
		req.Operation = logical.UpdateOperation
	case http.MethodPatch:
		req.Operation = logical.PatchOperation
		if ct := r.Header.Get("Content-Type"); ct != "application/merge-patch+json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"errors": []string{"bad content type " + ct}})
			return
		}
	case http.MethodDelete:
		req.Operation = logical.DeleteOperation
	}
	if req.Operation == logical.ListOperation && !strings.HasSuffix(req.Path, "/") {
		req.Path += "/"
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch {
		body, _ := io.ReadAll(r.Body)
		if len(body) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.UseNumber()
			if err := dec.Decode(&req.Data); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{err.Error()}})
				return
			}
		}
	}
	ctx := r.Context()
	if req.Operation == logical.UpdateOperation {
		if ok, exists, err := e.b.ExistenceCheck(ctx, req); err == nil && ok && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	resp, err := e.b.HandleRequest(ctx, req)
	switch {
	case err != nil:
		status, msg := logical.StatusOf(err)
		writeJSON(w, status, map[string]any{"errors": []string{msg}})
	case resp != nil && resp.Raw != nil:
		w.Header().Set("Content-Type", resp.RawContentType)
		w.WriteHeader(resp.RawStatus)
		_, _ = w.Write(resp.Raw)
	case resp == nil && (req.Operation == logical.ReadOperation || req.Operation == logical.ListOperation):
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}})
	case resp == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		env := map[string]any{"request_id": "shim", "lease_id": "", "renewable": false, "lease_duration": 0,
			"data": resp.Data, "warnings": resp.Warnings, "mount_type": "kv"}
		if resp.Secret != nil {
			env["lease_duration"] = int(resp.Secret.TTL / time.Second)
			env["renewable"] = resp.Secret.Renewable
		}
		writeJSON(w, http.StatusOK, env)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newClient(t *testing.T, mounts map[string]*env) *vault.Client {
	t.Helper()
	srv := httptest.NewServer(&vaultShim{mounts: mounts})
	t.Cleanup(srv.Close)
	for _, k := range []string{"VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_AGENT_ADDR", "VAULT_MAX_RETRIES"} {
		t.Setenv(k, "")
	}
	cfg := vault.DefaultConfig()
	cfg.Address = srv.URL
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.SetToken("test-token")
	return c
}

func TestGoClientKVv2(t *testing.T) {
	e := newV2(t)
	c := newClient(t, map[string]*env{"secret/": e})
	kv := c.KVv2("secret")
	ctx := context.Background()

	s, err := kv.Put(ctx, "app/db", map[string]any{"user": "u1", "pass": "p1"})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if s.VersionMetadata.Version != 1 || !s.VersionMetadata.CreatedTime.Equal(e.clock.Now()) {
		t.Fatalf("Put metadata %+v", s.VersionMetadata)
	}
	e.clock.Advance(time.Second)
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "u2"}, vault.WithCheckAndSet(1)); err != nil {
		t.Fatalf("Put with cas: %v", err)
	}
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "u3"}, vault.WithCheckAndSet(1)); err == nil || !strings.Contains(err.Error(), "check-and-set parameter did not match") {
		t.Fatalf("stale cas: %v", err)
	}

	got, err := kv.Get(ctx, "app/db")
	if err != nil || got.Data["user"] != "u2" || got.VersionMetadata.Version != 2 {
		t.Fatalf("Get: %+v %v", got, err)
	}
	old, err := kv.GetVersion(ctx, "app/db", 1)
	if err != nil || old.Data["pass"] != "p1" {
		t.Fatalf("GetVersion 1: %+v %v", old, err)
	}

	// Patch uses HTTP PATCH with a JSON merge patch.
	if _, err := kv.Patch(ctx, "app/db", map[string]any{"pass": "p3"}); err != nil {
		t.Fatalf("Patch: %v", err)
	}
	got, _ = kv.Get(ctx, "app/db")
	if got.Data["user"] != "u2" || got.Data["pass"] != "p3" || got.VersionMetadata.Version != 3 {
		t.Fatalf("after Patch: %+v", got.Data)
	}
	if _, err := kv.Patch(ctx, "nope", map[string]any{"a": "b"}); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("Patch missing: %v", err)
	}

	if _, err := kv.Rollback(ctx, "app/db", 1); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	got, _ = kv.Get(ctx, "app/db")
	if got.Data["user"] != "u1" || got.VersionMetadata.Version != 4 {
		t.Fatalf("after Rollback: %+v v%d", got.Data, got.VersionMetadata.Version)
	}

	// Metadata.
	if err := kv.PutMetadata(ctx, "app/db", vault.KVMetadataPutInput{
		MaxVersions: 6, DeleteVersionAfter: 48 * time.Hour, CustomMetadata: map[string]any{"owner": "ops"},
	}); err != nil {
		t.Fatalf("PutMetadata: %v", err)
	}
	maxV := 8
	if err := kv.PatchMetadata(ctx, "app/db", vault.KVMetadataPatchInput{MaxVersions: &maxV, CustomMetadata: map[string]any{"team": "core"}}); err != nil {
		t.Fatalf("PatchMetadata: %v", err)
	}
	md, err := kv.GetMetadata(ctx, "app/db")
	if err != nil {
		t.Fatalf("GetMetadata: %v", err)
	}
	if md.MaxVersions != 8 || md.CurrentVersion != 4 || md.DeleteVersionAfter != 48*time.Hour || len(md.Versions) != 4 ||
		md.CustomMetadata["owner"] != "ops" || md.CustomMetadata["team"] != "core" {
		t.Fatalf("GetMetadata %+v", md)
	}
	list, err := kv.GetVersionsAsList(ctx, "app/db")
	if err != nil || len(list) != 4 || list[0].Version != 1 || list[3].Version != 4 {
		t.Fatalf("GetVersionsAsList %+v %v", list, err)
	}
	got, _ = kv.Get(ctx, "app/db")
	if got.CustomMetadata["owner"] != "ops" {
		t.Fatalf("Get custom metadata %v", got.CustomMetadata)
	}

	// Soft delete: Get returns the metadata with a deletion time, no data.
	if err := kv.Delete(ctx, "app/db"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got, err = kv.Get(ctx, "app/db")
	if err != nil || got.Data != nil || got.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("Get deleted: %+v %v", got, err)
	}
	if err := kv.Undelete(ctx, "app/db", []int{4}); err != nil {
		t.Fatalf("Undelete: %v", err)
	}
	if got, _ = kv.Get(ctx, "app/db"); got.Data["user"] != "u1" {
		t.Fatalf("after Undelete: %+v", got)
	}
	if err := kv.DeleteVersions(ctx, "app/db", []int{1, 2}); err != nil {
		t.Fatalf("DeleteVersions: %v", err)
	}
	if got, err = kv.GetVersion(ctx, "app/db", 2); err != nil || got.Data != nil {
		t.Fatalf("GetVersion deleted: %+v %v", got, err)
	}
	if err := kv.Destroy(ctx, "app/db", []int{3}); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if got, err = kv.GetVersion(ctx, "app/db", 3); err != nil || !got.VersionMetadata.Destroyed {
		t.Fatalf("GetVersion destroyed: %+v %v", got, err)
	}

	// Listing goes through metadata/.
	if _, err := kv.Put(ctx, "app/cache", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	ls, err := c.Logical().ListWithContext(ctx, "secret/metadata/app")
	if err != nil || ls == nil {
		t.Fatalf("List: %v %v", ls, err)
	}
	if keys := ls.Data["keys"].([]any); len(keys) != 2 || keys[0] != "cache" || keys[1] != "db" {
		t.Fatalf("List keys %v", keys)
	}

	if err := kv.DeleteMetadata(ctx, "app/db"); err != nil {
		t.Fatalf("DeleteMetadata: %v", err)
	}
	if _, err := kv.Get(ctx, "app/db"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("Get after DeleteMetadata: %v", err)
	}
	if _, err := kv.GetMetadata(ctx, "app/db"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("GetMetadata after DeleteMetadata: %v", err)
	}

	// Subkeys have no client helper; read them raw.
	sk, err := c.Logical().ReadWithContext(ctx, "secret/subkeys/app/cache")
	if err != nil || sk == nil {
		t.Fatalf("subkeys: %v %v", sk, err)
	}
	if subs := sk.Data["subkeys"].(map[string]any); len(subs) != 1 || subs["k"] != nil {
		t.Fatalf("subkeys %v", subs)
	}
}

func TestGoClientKVv1(t *testing.T) {
	e := newV1(t, sysView(768*time.Hour))
	c := newClient(t, map[string]*env{"kv1/": e})
	kv := c.KVv1("kv1")
	ctx := context.Background()
	if err := kv.Put(ctx, "app/db", map[string]any{"user": "u", "ttl": "1h"}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := kv.Get(ctx, "app/db")
	if err != nil || got.Data["user"] != "u" || got.Raw.LeaseDuration != 3600 || got.Raw.Renewable {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if err := kv.Delete(ctx, "app/db"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := kv.Get(ctx, "app/db"); !errors.Is(err, vault.ErrSecretNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}
