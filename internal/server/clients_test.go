package server

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

// TestClientRequestShapes replays, byte for byte, the bodies that real client
// libraries send for the everyday setup calls: hvac sends every optional
// parameter, null when unset; node-vault sends its whole argument object
// (path parameters included); the Go client sends its structs. Each must be
// accepted and have its effect.
func TestClientRequestShapes(t *testing.T) {
	srv, c := startDev(t)
	dir := t.TempDir()
	auditPath := func(name string) string { return filepath.Join(dir, name+".log") }
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	policy := `path "*" { capabilities = ["create", "read", "update", "list"] }`
	steps := []struct {
		client, what, method, path, body string
	}{
		// hvac: sys.enable_secrets_engine, enable_auth_method (1.x, before
		// remove_nones), enable_audit_device, create_or_update_policy, the
		// 0.x create_token, kv v2 create_or_update_secret and update_metadata.
		{"hvac", "enable kv v2", "POST", "/v1/sys/mounts/hvac-kv",
			`{"type": "kv", "description": null, "config": null, "options": {"version": "2"}, "plugin_name": null, "local": false, "seal_wrap": false}`},
		{"hvac", "enable kv v1", "POST", "/v1/sys/mounts/hvac-kv1",
			`{"type": "kv", "description": null, "config": null, "options": null, "plugin_name": null, "local": false, "seal_wrap": false}`},
		{"hvac", "enable audit", "POST", "/v1/sys/audit/hvac-file",
			`{"type": "file", "description": null, "options": {"file_path": ` + js(auditPath("hvac")) + `}}`},
		{"hvac", "tune mount", "POST", "/v1/sys/mounts/hvac-kv/tune",
			`{"default_lease_ttl": "1h", "max_lease_ttl": null, "description": null, "listing_visibility": null}`},
		{"hvac", "write policy", "PUT", "/v1/sys/policy/hvac-pol", `{"policy": ` + js(policy) + `}`},
		{"hvac", "create token (0.x)", "POST", "/v1/auth/token/create",
			`{"id": null, "policies": ["hvac-pol"], "meta": null, "no_parent": false, "display_name": null, "num_uses": null, "no_default_policy": false, "renewable": null, "ttl": "1h"}`},
		{"hvac", "kv v2 put", "POST", "/v1/hvac-kv/data/app", `{"options": {}, "data": {"password": "p1"}}`},
		{"hvac", "kv v2 put (null options)", "POST", "/v1/hvac-kv/data/app2", `{"options": null, "data": {"password": "p2"}}`},
		{"hvac", "kv v2 metadata", "POST", "/v1/hvac-kv/metadata/app",
			`{"max_versions": 5, "cas_required": null, "delete_version_after": null, "custom_metadata": null}`},
		{"hvac", "kv v1 put", "POST", "/v1/hvac-kv1/app", `{"password": "p1"}`},
		// node-vault: mount, enableAuth, enableAudit, addPolicy (rules),
		// tokenCreate, write; the path parameters ride in the body.
		{"node-vault", "mount", "POST", "/v1/sys/mounts/nv-kv",
			`{"mount_point": "nv-kv", "type": "kv", "description": "just a test"}`},
		{"node-vault", "enable audit", "PUT", "/v1/sys/audit/nv-file",
			`{"name": "nv-file", "type": "file", "description": null, "options": {"file_path": ` + js(auditPath("nv")) + `}}`},
		{"node-vault", "add policy", "PUT", "/v1/sys/policy/nv-pol", `{"name": "nv-pol", "rules": ` + js(policy) + `}`},
		{"node-vault", "create token", "POST", "/v1/auth/token/create", `{"policies": ["nv-pol"], "ttl": "1h", "meta": null}`},
		{"node-vault", "write", "PUT", "/v1/nv-kv/app", `{"value": "v1"}`},
	}
	tokens := map[string]string{}
	for _, s := range steps {
		code, out := rawCall(t, srv, s.method, s.path, devRoot, []byte(s.body))
		if code/100 != 2 {
			t.Errorf("%s %s: %s %s: status %d, body %v", s.client, s.what, s.method, s.path, code, out)
			continue
		}
		if auth, ok := out["auth"].(map[string]any); ok {
			tokens[s.client] = auth["client_token"].(string)
		}
	}

	// The Go client's own structs for the same calls.
	ctx := context.Background()
	if err := c.Sys().Mount("go-kv", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Errorf("go: mount: %v", err)
	}
	if err := c.Sys().EnableAuditWithOptions("go-file", &vault.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": auditPath("go")},
	}); err != nil {
		t.Errorf("go: enable audit: %v", err)
	}
	if err := c.Sys().PutPolicy("go-pol", policy); err != nil {
		t.Errorf("go: policy: %v", err)
	}
	sec, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"go-pol"}, TTL: "1h"})
	if err != nil {
		t.Fatalf("go: token create: %v", err)
	}
	tokens["go"] = sec.Auth.ClientToken
	if _, err := c.KVv2("go-kv").Put(ctx, "app", map[string]any{"password": "p1"}); err != nil {
		t.Errorf("go: kv put: %v", err)
	}

	// Effects: the mounts have the asked-for types and versions, the audit
	// devices exist, and each client's token reads what its client wrote.
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	for path, version := range map[string]string{"hvac-kv/": "2", "hvac-kv1/": "", "nv-kv/": "", "go-kv/": "2"} {
		m := mounts[path]
		if m == nil {
			t.Errorf("mount %s missing", path)
			continue
		}
		if m.Type != "kv" || m.Options["version"] != version {
			t.Errorf("mount %s: type %q options %v, want kv version %q", path, m.Type, m.Options, version)
		}
	}
	if m := mounts["hvac-kv/"]; m != nil && m.Config.DefaultLeaseTTL != 3600 {
		t.Errorf("hvac-kv default_lease_ttl after tune = %d, want 3600", m.Config.DefaultLeaseTTL)
	}
	// The clients' auth-enable bodies, nulls included, enable userpass.
	authBodies := map[string]string{
		"hvac":       `{"type": "userpass", "description": null, "config": null, "plugin_name": null, "local": false}`,
		"node-vault": `{"mount_point": "nv-userpass", "type": "userpass", "description": null}`,
	}
	for client, body := range authBodies {
		code, out := rawCall(t, srv, "POST", "/v1/sys/auth/"+client+"-userpass", devRoot, []byte(body))
		if code != 204 {
			t.Errorf("%s enable auth: %d %v, want 204", client, code, out)
		}
	}
	auths, err := c.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"hvac-userpass/", "node-vault-userpass/"} {
		if a := auths[p]; a == nil || a.Type != "userpass" {
			t.Errorf("auth method %s: %+v", p, a)
		}
	}
	audits, err := c.Sys().ListAudit()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"hvac-file/", "nv-file/", "go-file/"} {
		if audits[p] == nil {
			t.Errorf("audit device %s missing (have %v)", p, audits)
		}
	}
	reads := map[string]string{"hvac": "/v1/hvac-kv/data/app", "node-vault": "/v1/nv-kv/app", "go": "/v1/go-kv/data/app"}
	for client, path := range reads {
		tok := tokens[client]
		if tok == "" {
			t.Errorf("%s: no token was created", client)
			continue
		}
		if code, out := rawCall(t, srv, "GET", path, tok, nil); code != 200 {
			t.Errorf("%s: read %s with its token: %d %v", client, path, code, out)
		}
	}
	if code, out := rawCall(t, srv, "GET", "/v1/hvac-kv/metadata/app", devRoot, nil); code != 200 {
		t.Errorf("metadata: %d %v", code, out)
	} else if d, _ := out["data"].(map[string]any); asJSON(d["max_versions"]) != "5" || d["cas_required"] != false {
		t.Errorf("metadata after null fields: %v", d)
	}
}
