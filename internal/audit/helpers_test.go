package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Values that must never appear in clear in an HMAC'ing device's file.
const (
	secretToken       = "hvs.CALLERTOKENsecret0001"
	secretAccessor    = "accessorCALLER0001"
	secretReqValue    = "request-password-s3cr3t"
	secretNested      = "nested-api-key-4242"
	secretListItem    = "list-item-secret-77"
	secretRespValue   = "response-db-password-99"
	secretNewToken    = "hvs.NEWLOGINTOKENsecret02"
	secretNewAccessor = "accessorNEWLOGIN0002"
	secretWrapToken   = "hvs.WRAPPINGTOKENsecret3"
	secretHeaderValue = "header-secret-value-5"
)

// newDevice builds a file device writing to a new file in a temp dir.
func newDevice(t testing.TB, opts map[string]string, storage logical.Storage) (*device, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	o := map[string]string{"file_path": path}
	for k, v := range opts {
		o[k] = v
	}
	if storage == nil {
		storage = logical.NewInmemStorage()
	}
	d, err := NewFile(context.Background(), &DeviceConfig{Path: "file/", Options: o, SaltStorage: storage})
	if err != nil {
		t.Fatalf("NewFile: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d.(*device), path
}

// sampleInput is a login-like request carrying every kind of secret, with
// its response. Built fresh on each call so tests can compare against an
// untouched copy.
func sampleInput() *LogInput {
	return &LogInput{
		Request: &logical.Request{
			ID:                  "req-1234",
			Operation:           logical.UpdateOperation,
			Path:                "creds/app",
			MountPoint:          "secret/",
			MountType:           "kv",
			ClientToken:         secretToken,
			ClientTokenAccessor: secretAccessor,
			Data: map[string]any{
				"password": secretReqValue,
				"ttl":      json.Number("3600"),
				"count":    7,
				"enabled":  true,
				"nothing":  nil,
				"config":   map[string]any{"api_key": secretNested, "port": 8200.0},
				"list":     []any{secretListItem, 1.5, map[string]any{"inner": secretNested}},
				"names":    []string{secretListItem},
				"labels":   map[string]string{"k": secretNested},
				"blob":     []byte(secretNested),
			},
			Headers: http.Header{
				"X-Vault-Token":    {secretToken},
				"X-Correlation-Id": {"corr-1"},
				"X-Custom":         {secretHeaderValue},
			},
			Connection: &logical.Connection{RemoteAddr: "10.1.2.3:54321"},
		},
		Auth: &logical.Auth{
			ClientToken:   secretToken,
			Accessor:      secretAccessor,
			DisplayName:   "token-app",
			Policies:      []string{"default", "app"},
			TokenPolicies: []string{"default", "app"},
			Metadata:      map[string]string{"team": "blue"},
			EntityID:      "entity-1",
			TokenType:     "service",
			LeaseDuration: 768 * time.Hour,
		},
		Response: &logical.Response{
			Data: map[string]any{
				"password": secretRespValue,
				"version":  3,
				"keys":     []string{secretListItem},
			},
			Secret: &logical.Secret{LeaseID: "secret/creds/app/lease1", LeaseOptions: logical.LeaseOptions{TTL: time.Hour}},
			Auth: &logical.Auth{
				ClientToken:   secretNewToken,
				Accessor:      secretNewAccessor,
				Policies:      []string{"default"},
				TokenPolicies: []string{"default"},
				NumUses:       3,
				LeaseDuration: time.Hour,
			},
			Warnings: []string{"a warning"},
		},
		WrapInfo: &WrapInfo{
			Token:        secretWrapToken,
			Accessor:     "wrap-accessor-1",
			TTL:          5 * time.Minute,
			CreationTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
			CreationPath: "creds/app",
		},
		OuterErr: errors.New("1 error occurred"),
	}
}

// readEntries parses every line of the file at path as a JSON object.
func readEntries(t testing.TB, path, prefix string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read audit file: %v", err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(prefix)) {
			t.Fatalf("line %q lacks prefix %q", line, prefix)
		}
		var m map[string]any
		if err := json.Unmarshal(line[len(prefix):], &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// get walks a decoded entry along keys.
func get(t testing.TB, m map[string]any, keys ...string) any {
	t.Helper()
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %T is not an object (path %v)", k, cur, keys)
		}
		cur, ok = mm[k]
		if !ok {
			t.Fatalf("missing %v in %v", keys, m)
		}
	}
	return cur
}

// has reports whether the entry has a value at keys.
func has(m map[string]any, keys ...string) bool {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = mm[k]; !ok {
			return false
		}
	}
	return true
}

// failingStorage fails every call until healed.
type failingStorage struct {
	*logical.InmemStorage
	fail bool
}

var errStorage = errors.New("storage unavailable")

func (s *failingStorage) Get(ctx context.Context, k string) (*logical.StorageEntry, error) {
	if s.fail {
		return nil, errStorage
	}
	return s.InmemStorage.Get(ctx, k)
}

func (s *failingStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	if s.fail {
		return errStorage
	}
	return s.InmemStorage.Put(ctx, e)
}
