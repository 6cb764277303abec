package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	apihttp "github.com/strongbox/strongbox/internal/http"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// probeEngine answers GET info with what its SystemView and the request
// say about its mount, and flags storage prefixes as local and seal-wrapped.
func probeEngine(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	sys := conf.System
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{LocalStorage: []string{"local/"}, SealWrapStorage: []string{"keys/"}},
		Paths: []*logical.Path{{
			Pattern: "info",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(_ context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					return &logical.Response{Data: map[string]any{
						"mount_uuid":          sys.MountUUID(),
						"mount_accessor":      sys.MountAccessor(),
						"local":               sys.LocalMount(),
						"replication_state":   sys.ReplicationState().String(),
						"default_lease_ttl":   int64(sys.DefaultLeaseTTL() / time.Second),
						"max_lease_ttl":       int64(sys.MaxLeaseTTL() / time.Second),
						"request_accessor":    req.MountAccessor,
						"request_namespace":   req.Namespace,
						"request_mount_point": req.MountPoint,
					}}, nil
				},
			},
		}},
	}, nil
}

// startEngineServer serves a core with the probe engine registered over
// HTTP on 127.0.0.1, initialized and unsealed; it returns a root client.
func startEngineServer(t *testing.T) (*vault.Client, string) {
	t.Helper()
	engines := builtin.SecretEngines()
	engines["probe"] = probeEngine
	url := serveCore(t, core.Config{SecretEngines: engines, AuthMethods: builtin.AuthMethods()})
	return rootClient(t, url), url
}

// serveCore serves a new core built from conf (inmem storage, a quiet
// logger and the audit devices unless conf sets them) over HTTP on
// 127.0.0.1, sealed, until the test ends; it returns the base URL.
func serveCore(t testing.TB, conf core.Config) string {
	t.Helper()
	if conf.Physical == nil {
		conf.Physical, conf.StorageType = inmem.New(), "inmem"
	}
	if conf.Logger == nil {
		conf.Logger = quietLogger()
	}
	if conf.AuditDevices == nil {
		conf.AuditDevices = audit.Factories()
	}
	c, err := core.New(conf)
	if err != nil {
		t.Fatal(err)
	}
	h := apihttp.NewHandler(c, apihttp.Options{Logger: quietLogger()})
	api := httptest.NewServer(h)
	t.Cleanup(func() {
		api.Close()
		h.Close()
		_ = c.Seal(context.Background())
	})
	return api.URL
}

// rootClient initializes (one share) and unseals the server at url and
// returns a client holding the root token.
func rootClient(t testing.TB, url string) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = url
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	init, err := client.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Sys().Unseal(init.Keys[0]); err != nil {
		t.Fatal(err)
	}
	client.SetToken(init.RootToken)
	return client
}

// TestEngineSeesItsMount: through the HTTP API, an engine's SystemView and
// requests carry its mount's UUID, accessor and local flag as sys/mounts
// reports them, the tuned TTLs, replication "disabled" and the root
// namespace; the storage prefixes it flags show in sys/mounts/<path>.
func TestEngineSeesItsMount(t *testing.T) {
	client, _ := startEngineServer(t)
	if err := client.Sys().Mount("probe", &vault.MountInput{Type: "probe", Local: true}); err != nil {
		t.Fatal(err)
	}
	mounts, err := client.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	m := mounts["probe/"]
	if m == nil || m.UUID == "" || m.Accessor == "" {
		t.Fatalf("sys/mounts probe/: %+v", m)
	}
	info := func() map[string]any {
		t.Helper()
		s, err := client.Logical().Read("probe/info")
		if err != nil || s == nil {
			t.Fatalf("read probe/info: %v %v", s, err)
		}
		return s.Data
	}
	got := info()
	want := map[string]any{
		"mount_uuid": m.UUID, "mount_accessor": m.Accessor, "request_accessor": m.Accessor,
		"local": true, "replication_state": "disabled", "request_namespace": "",
		"request_mount_point": "probe/", "default_lease_ttl": json.Number("2764800"),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}

	// Tuning shows at once in the engine's view.
	if err := client.Sys().TuneMount("probe", vault.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "2h"}); err != nil {
		t.Fatal(err)
	}
	got = info()
	if got["default_lease_ttl"] != json.Number("3600") || got["max_lease_ttl"] != json.Number("7200") {
		t.Fatalf("after tune: default %v max %v", got["default_lease_ttl"], got["max_lease_ttl"])
	}

	// The flagged storage prefixes are visible, not silently dropped.
	s, err := client.Logical().Read("sys/mounts/probe")
	if err != nil || s == nil {
		t.Fatalf("read sys/mounts/probe: %v %v", s, err)
	}
	if !sameStrings(s.Data["local_storage_paths"], "local/") || !sameStrings(s.Data["seal_wrap_storage_paths"], "keys/") {
		t.Fatalf("sys/mounts/probe: local_storage_paths %v, seal_wrap_storage_paths %v", s.Data["local_storage_paths"], s.Data["seal_wrap_storage_paths"])
	}
	// A mount whose engine flags nothing shows no such keys.
	if err := client.Sys().Mount("plain", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	s, err = client.Logical().Read("sys/mounts/plain")
	if err != nil || s == nil {
		t.Fatalf("read sys/mounts/plain: %v %v", s, err)
	}
	for _, k := range []string{"local_storage_paths", "seal_wrap_storage_paths"} {
		if _, ok := s.Data[k]; ok {
			t.Fatalf("a kv mount shows %s: %v", k, s.Data)
		}
	}
}

func sameStrings(v any, want ...string) bool {
	list, ok := v.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i, w := range want {
		if list[i] != w {
			return false
		}
	}
	return true
}

// TestKVv1LeaseDurationRendered: a KV version 1 read still renders its
// "ttl" as lease_duration (not renewable, no lease id) now that it comes
// through the kv secret type, and the secret's internal data stays out of
// the response.
func TestKVv1LeaseDurationRendered(t *testing.T) {
	client, url := startEngineServer(t)
	if err := client.Sys().Mount("kv1", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data map[string]any
		want int
	}{
		{"ttl field", map[string]any{"pw": "x", "ttl": "30m"}, 1800},
		{"mount default", map[string]any{"pw": "x"}, 2764800},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := client.Logical().Write("kv1/app", tc.data); err != nil {
				t.Fatal(err)
			}
			s, err := client.Logical().Read("kv1/app")
			if err != nil || s == nil {
				t.Fatalf("read: %v %v", s, err)
			}
			if s.LeaseDuration != tc.want || s.Renewable || s.LeaseID != "" {
				t.Fatalf("lease_duration %d renewable %v lease_id %q; want %d, false, empty", s.LeaseDuration, s.Renewable, s.LeaseID, tc.want)
			}
			req, _ := http.NewRequest(http.MethodGet, url+"/v1/kv1/app", nil)
			req.Header.Set("X-Vault-Token", client.Token())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), logical.SecretTypeKey) {
				t.Fatalf("the response shows the secret's internal data: %s", body)
			}
		})
	}
}
